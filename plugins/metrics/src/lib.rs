//! The metrics plugin: a Prometheus recorder for the `metrics` facade every crate writes to,
//! served at `/metrics` on `--metrics-server-address:--metrics-server-port` like nwaku's.
//! The recorder is installed before the node starts, so nothing counted at start-up is lost.

use std::{net::SocketAddr, time::Duration};

use axum::{Router, routing::get};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rwaku_actors::NodeContext;
use rwaku_core::{Plugin, PluginError};

pub const NAME: &str = "metrics";

pub struct MetricsPlugin {
    handle: PrometheusHandle,
}

impl MetricsPlugin {
    /// Installs the process-wide recorder. Call once, before the node starts.
    pub fn install() -> Result<Self, PluginError> {
        let handle = PrometheusBuilder::new().install_recorder().map_err(|e| {
            PluginError::new(NAME, format!("cannot install the metrics recorder: {e}"))
        })?;
        Ok(Self { handle })
    }
}

impl Plugin<NodeContext> for MetricsPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        let address = SocketAddr::new(
            ctx.config.metrics_server_address,
            ctx.config.shifted(ctx.config.metrics_server_port),
        );
        let std_listener = std::net::TcpListener::bind(address).map_err(|e| {
            PluginError::new(
                NAME,
                format!("cannot bind the metrics server on {address}: {e}"),
            )
        })?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| PluginError::new(NAME, e.to_string()))?;
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|e| PluginError::new(NAME, e.to_string()))?;
        let render = self.handle.clone();
        let router =
            Router::new().route("/metrics", get(move || std::future::ready(render.render())));
        let upkeep = self.handle;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                upkeep.run_upkeep();
            }
        });
        tracing::info!(%address, "metrics server listening");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "metrics server stopped");
            }
        });
        Ok(())
    }
}
