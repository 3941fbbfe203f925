//! The REST API plugin: binds the REST listener and serves every plugin's routes together
//! with the core ones (`/health`, `/info`, `/version`, and `/admin/v1/*` with `--rest-admin`),
//! in nwaku's paths and JSON shapes.

mod admin;
mod core_routes;

use std::net::SocketAddr;

use axum::{Router, http::StatusCode};
use rwaku_actors::NodeContext;
use rwaku_core::{Plugin, PluginError};

pub const NAME: &str = "rest-api";

/// nwaku's answer to an unknown path or method.
const BAD_PATH: &str = "Bad request initiated. Invalid path or method used.";

#[derive(Default)]
pub struct RestApiPlugin;

impl Plugin<NodeContext> for RestApiPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        let config = ctx.config.clone();
        let address = SocketAddr::new(config.rest_address, config.shifted(config.rest_port));
        let std_listener = std::net::TcpListener::bind(address)
            .map_err(|e| PluginError::new(NAME, format!("cannot bind REST on {address}: {e}")))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| PluginError::new(NAME, e.to_string()))?;
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|e| PluginError::new(NAME, e.to_string()))?;

        let mut router: Router = core_routes::router(
            ctx.network.clone(),
            ctx.health.clone(),
            ctx.local_enr.as_ref().map(|e| e.text.to_string()),
        );
        if config.rest_admin {
            router = router.merge(admin::router(ctx.network.clone()));
        }
        let router = router
            .merge(ctx.rest.merged())
            .fallback(|| async { (StatusCode::BAD_REQUEST, BAD_PATH) });
        tracing::info!(%address, "REST API listening");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "REST server stopped");
            }
        });
        Ok(())
    }
}
