//! Waku Relay: one `RelayShard` actor per subscribed shard, all over the one gossipsub
//! behaviour in the network driver. Each shard validates its messages (manual gossipsub
//! validation), reports the verdict, and publishes accepted messages on the bus.

mod checks;
mod shard;

pub use checks::{RelayCheckError, check_generic};
pub use shard::RelayShard;

use actix::Actor;
use rwaku_actors::NodeContext;
use rwaku_core::{HealthState, Plugin, PluginError, PubsubTopic};

pub const NAME: &str = "relay";

#[derive(Default)]
pub struct RelayPlugin;

impl Plugin<NodeContext> for RelayPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        if !ctx.config.relay {
            ctx.health
                .set_protocol("Relay", HealthState::NotMounted, None);
            return Ok(());
        }
        for shard in ctx.config.relay_shards() {
            let topic = PubsubTopic::static_shard(ctx.config.cluster_id, shard);
            RelayShard::new(topic, ctx.network.clone(), ctx.bus.clone()).start();
        }
        ctx.health.set_protocol("Relay", HealthState::Ready, None);
        Ok(())
    }
}
