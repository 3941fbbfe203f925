//! Waku Relay: a `RelayShardSet` registry runs one `RelayShard` actor per subscribed shard,
//! all over the one gossipsub behaviour in the network driver. Each shard validates what it
//! receives (generic rules, then the shard's registered validator), reports the verdict,
//! publishes accepted messages on the bus, and publishes what this node originates. The REST
//! plugin serves nwaku's `/relay/v1/*` routes, which this plugin adds.

mod checks;
pub mod control;
mod delivery;
pub mod metrics;
pub mod publish;
pub mod rest;
pub mod shard;
pub mod shard_set;
pub mod stats;
pub mod validation;

use std::sync::Arc;

use actix::Actor;
use rwaku_actors::NodeContext;
use rwaku_core::{HealthState, Plugin, PluginError, PubsubTopic};

pub use checks::{RelayCheckError, check_generic};
pub use control::RelayControl;
pub use publish::{Publish, PublishError, PublishReceipt};
pub use rest::{RelayMessageCache, RelayWakuMessage};
pub use shard::{RelayShard, ShardDeps};
pub use shard_set::{
    RelayError, RelayShardSet, ShardFor, ShardStatsQuery, SubscribeShard, SubscribedShards,
    UnsubscribeShard,
};
pub use stats::ShardStatsSnapshot;
pub use validation::{DEFAULT_MAX_IN_FLIGHT, Judgement};

pub const NAME: &str = "relay";

/// The relay plugin as the binaries start it.
#[derive(Default)]
pub struct RelayPlugin;

impl RelayPlugin {
    /// A relay plugin together with a handle on it, for code that embeds the node.
    pub fn with_control() -> (ControlledRelayPlugin, RelayControl) {
        let control = RelayControl::default();
        (
            ControlledRelayPlugin {
                control: control.clone(),
            },
            control,
        )
    }
}

/// The relay plugin whose `RelayControl` was handed out by `RelayPlugin::with_control`.
pub struct ControlledRelayPlugin {
    control: RelayControl,
}

impl Plugin<NodeContext> for RelayPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        start_relay(ctx, RelayControl::default())
    }
}

impl Plugin<NodeContext> for ControlledRelayPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        start_relay(ctx, self.control)
    }
}

fn start_relay(ctx: &mut NodeContext, control: RelayControl) -> Result<(), PluginError> {
    let config = ctx.config.clone();
    if !config.relay {
        ctx.health
            .set_protocol("Relay", HealthState::NotMounted, None);
        return Ok(());
    }
    // The binaries start the DoS validator whenever protected shards are configured; an
    // embedder that forgets it would relay those shards unchecked, so say so.
    if !config.protected_shard.is_empty() && ctx.validators.protected_topics().is_empty() {
        tracing::warn!(
            "protected shards are configured but no shard validator is registered; \
             start the dos-validator plugin before relay or their messages go unchecked"
        );
    }
    let shards: Vec<PubsubTopic> = config
        .relay_shards()
        .into_iter()
        .map(|s| PubsubTopic::static_shard(config.cluster_id, s))
        .collect();
    let deps = ShardDeps {
        network: ctx.network.clone(),
        bus: ctx.bus.clone(),
        validators: ctx.validators.clone(),
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        metadata: Some(ctx.metadata.clone()),
    };
    let set = RelayShardSet::new(deps, shards.clone()).start();
    ctx.relay.attach(set.clone().recipient());
    control.attach(set);

    if config.rest {
        let cache = Arc::new(RelayMessageCache::new(
            config.rest_relay_cache_capacity as usize,
        ));
        for topic in shards {
            cache.subscribe_pubsub(topic);
        }
        cache.clone().feed_from(&ctx.bus);
        ctx.rest.add(rest::router(rest::RelayRest {
            control,
            cache,
            cluster: config.cluster_id,
            num_shards_in_network: config.num_shards_in_network,
        }));
    }
    ctx.health.set_protocol("Relay", HealthState::Ready, None);
    Ok(())
}
