//! The lightpush plugin: with `--lightpush` it serves v3 and v2 through this node's relay
//! and mounts the REST routes on the local service; without it, but with
//! `--lightpushnode`, the REST routes push through that remote peer.

use std::sync::Arc;

use rwaku_actors::NodeContext;
use rwaku_core::{HealthState, Plugin, PluginError};

use crate::{
    rest::{self, RemoteLightpush, RestBackend},
    server::LightpushServer,
    service::LightpushService,
};

pub const NAME: &str = "lightpush";

/// nwaku's `/health` names for the two servers and the client.
const HEALTH_V3: &str = "Lightpush";
const HEALTH_V2: &str = "Legacy Lightpush";
const HEALTH_CLIENT: &str = "Lightpush Client";

#[derive(Default)]
pub struct LightpushPlugin;

impl Plugin<NodeContext> for LightpushPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        let config = ctx.config.clone();
        if config.lightpush {
            if !ctx.relay.is_attached() {
                return Err(PluginError::new(
                    NAME,
                    "the lightpush server publishes through relay; start the relay plugin first",
                ));
            }
            let service = Arc::new(LightpushService::from_config(&config, ctx.relay.clone()));
            LightpushServer::serve(service.clone(), &ctx.network)
                .map_err(|e| PluginError::new(NAME, e.to_string()))?;
            if config.rest {
                ctx.rest.add(rest::router(RestBackend::Local(service)));
            }
            ctx.health.set_protocol(HEALTH_V3, HealthState::Ready, None);
            ctx.health.set_protocol(HEALTH_V2, HealthState::Ready, None);
            tracing::info!("lightpush v3 and v2 served");
            return Ok(());
        }
        ctx.health
            .set_protocol(HEALTH_V3, HealthState::NotMounted, None);
        ctx.health
            .set_protocol(HEALTH_V2, HealthState::NotMounted, None);
        if let Some(address) = &config.lightpushnode {
            let remote = RemoteLightpush::new(ctx.network.clone(), address)
                .map_err(|e| PluginError::new(NAME, e.to_string()))?;
            if config.rest {
                ctx.rest
                    .add(rest::router(RestBackend::Remote(Arc::new(remote))));
            }
            ctx.health
                .set_protocol(HEALTH_CLIENT, HealthState::Ready, None);
        }
        Ok(())
    }
}
