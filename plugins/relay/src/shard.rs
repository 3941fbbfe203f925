//! `RelayShard`: the actor of one shard. It subscribes the shard's pubsub topic, validates
//! each gossip message the driver hands it, reports the verdict back, and publishes what it
//! accepted on the bus.

use std::sync::Arc;

use actix::{Actor, AsyncContext, Context, StreamHandler, WrapFuture};
use tokio::sync::mpsc;

use rwaku_actors::{
    EventBus, NetworkHandle,
    network::{GossipMessage, Verdict},
};
use rwaku_core::{MessageAccepted, MessageHash, PubsubTopic};

use crate::checks::check_generic;

/// Gossip messages a shard may have waiting for validation before the driver drops new ones.
const VALIDATION_QUEUE: usize = 1024;

pub struct RelayShard {
    topic: PubsubTopic,
    topic_text: String,
    network: NetworkHandle,
    bus: EventBus,
}

impl RelayShard {
    pub fn new(topic: PubsubTopic, network: NetworkHandle, bus: EventBus) -> Self {
        Self {
            topic_text: topic.to_string(),
            topic,
            network,
            bus,
        }
    }
}

impl Actor for RelayShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let (tx, rx) = mpsc::channel(VALIDATION_QUEUE);
        ctx.add_stream(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|m| (m, rx))
        }));
        let network = self.network.clone();
        let topic = self.topic_text.clone();
        ctx.spawn(
            async move {
                match network.subscribe(topic.clone(), tx).await {
                    Ok(()) => tracing::info!(%topic, "relay subscribed"),
                    Err(e) => tracing::error!(%topic, error = %e, "relay subscription failed"),
                }
            }
            .into_actor(self),
        );
    }
}

impl StreamHandler<GossipMessage> for RelayShard {
    fn handle(&mut self, gossip: GossipMessage, _ctx: &mut Self::Context) {
        let shard = self.topic_text.as_str();
        metrics::counter!("waku_relay_network_bytes", "topic" => shard.to_string(), "direction" => "in")
            .increment(gossip.data.len() as u64);
        let verdict = match check_generic(&gossip.data) {
            Ok(message) => {
                let hash = MessageHash::compute(shard, &message);
                self.bus.publish_accepted(Arc::new(MessageAccepted {
                    pubsub_topic: self.topic.clone(),
                    message,
                    hash,
                    received_at_ns: gossip.received_at_ns,
                }));
                metrics::counter!("rwaku_relay_messages_accepted_total", "topic" => shard.to_string()).increment(1);
                Verdict::Accept
            }
            Err(e) => {
                tracing::debug!(peer = %gossip.source, topic = shard, error = %e, "relay message rejected");
                metrics::counter!("rwaku_relay_messages_refused_total", "topic" => shard.to_string(), "reason" => e.label())
                    .increment(1);
                Verdict::Reject
            }
        };
        self.network
            .report_validation(gossip.message_id, gossip.source, verdict);
    }
}
