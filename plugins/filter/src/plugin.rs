//! The filter as a node plugin. With `--filter` it serves filter v2 (subscribe protocol,
//! pushes of what the relay accepts). With `--filternode` it starts the filter client (it
//! accepts pushes from that node) and, with `--rest`, the `/filter/v2/*` routes that drive
//! it. With `--rest` and `--filter` but no `--filternode` the routes are mounted and answer
//! 503. Either part works without the other.

use std::{sync::Arc, time::Duration};

use actix::Actor;
use rwaku_actors::NodeContext;
use rwaku_core::{HealthState, Plugin, PluginError};

use crate::{
    client::FilterClient,
    fan_out::{DEFAULT_PUSH_TIMEOUT, FanOutConfig, StreamPushSink},
    inbox::InboxLimits,
    rest::{self, FilterNode, FilterRest},
    server::FilterServer,
    service::{DEFAULT_RATE_LIMIT, FilterService, FilterServiceConfig},
    subscriptions::SubscriptionLimits,
};

pub const NAME: &str = "filter";

#[derive(Default)]
pub struct FilterPlugin;

fn service_config(ctx: &NodeContext) -> FilterServiceConfig {
    let config = &ctx.config;
    let rate_limit = config
        .rate_limit_for("filter")
        .map(|spec| (spec.volume, spec.period))
        .unwrap_or(DEFAULT_RATE_LIMIT);
    FilterServiceConfig {
        limits: SubscriptionLimits {
            max_peers: config.filter_max_peers_to_serve as usize,
            max_criteria_per_peer: config.filter_max_criteria as usize,
            timeout: Duration::from_secs(config.filter_subscription_timeout),
        },
        fan_out: FanOutConfig::default(),
        rate_limit: Some(rate_limit),
    }
}

fn start_server(ctx: &NodeContext) -> actix::Addr<FilterServer> {
    ctx.health
        .set_protocol("Filter", HealthState::Initializing, None);
    let sink = Arc::new(StreamPushSink::new(
        ctx.network.stream_control(),
        DEFAULT_PUSH_TIMEOUT,
    ));
    let service = FilterService::new(service_config(ctx), sink);
    let health = ctx.health.clone();
    FilterServer::new(service, ctx.network.clone(), ctx.bus.subscribe_accepted())
        .on_served(move |served| match served {
            Ok(()) => health.set_protocol("Filter", HealthState::Ready, None),
            Err(e) => health.set_protocol("Filter", HealthState::NotReady, Some(e)),
        })
        .start()
}

impl Plugin<NodeContext> for FilterPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        // Fail on a bad --filternode before anything starts.
        let node = ctx
            .config
            .filternode
            .as_deref()
            .map(FilterNode::parse)
            .transpose()
            .map_err(|e| PluginError::new(NAME, format!("invalid value for `filternode`: {e}")))?;
        if ctx.config.filter {
            let server = start_server(ctx);
            if ctx.config.rest && ctx.config.rest_admin {
                ctx.rest.add(crate::admin::router(server));
            }
        }
        let target = match node {
            Some(node) => {
                let client = FilterClient::start(&ctx.network, InboxLimits::default())
                    .map_err(|e| PluginError::new(NAME, e.to_string()))?;
                ctx.health
                    .set_protocol("Filter Client", HealthState::Ready, None);
                crate::keep_alive(client.clone(), crate::KEEP_ALIVE_INTERVAL);
                Some((client, node))
            }
            None => None,
        };
        if ctx.config.rest && (target.is_some() || ctx.config.filter) {
            ctx.rest.add(rest::router(FilterRest {
                target,
                network: ctx.network.clone(),
                cluster_id: ctx.config.cluster_id,
                num_shards_in_network: ctx.config.num_shards_in_network,
            }));
        }
        Ok(())
    }
}
