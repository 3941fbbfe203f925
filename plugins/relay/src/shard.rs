//! `RelayShard`: the actor of one subscribed shard. It judges each gossip message the driver
//! hands it (validator calls run outside its mailbox, so many are in flight), publishes the
//! messages this node originates on the shard, and polls the driver for the shard's mesh.

use std::{sync::Arc, time::Duration};

use actix::{
    Actor, ActorContext, AsyncContext, Context, Handler, Message, ResponseFuture, StreamHandler,
};
use bytes::Bytes;
use prost::Message as _;
use tokio::sync::mpsc;

use rwaku_actors::{
    EventBus, NetworkHandle,
    network::{GossipMessage, PublishError as NetworkPublishError},
};
use rwaku_core::{MessageAccepted, MessageHash, PubsubTopic, time::now_ns};

use crate::{
    delivery::{Delivery, Received},
    metrics as names,
    publish::{Publish, PublishError, PublishReceipt},
    stats::ShardStats,
    validation::{Judgement, ShardValidation, Step},
};

/// How often the shard asks the driver for its mesh and subscribed peers.
pub const PEER_POLL: Duration = Duration::from_secs(5);

/// Stops the shard (the set sends it after unsubscribing from the network).
#[derive(Debug, Clone, Copy)]
pub struct StopShard;

impl Message for StopShard {
    type Result = ();
}

pub struct RelayShard {
    delivery: Delivery,
    validation: ShardValidation,
    /// The driver's end of the gossip queue, to read its depth without keeping it open.
    queue: mpsc::WeakSender<GossipMessage>,
}

impl RelayShard {
    pub(crate) fn new(
        delivery: Delivery,
        validation: ShardValidation,
        queue: mpsc::WeakSender<GossipMessage>,
    ) -> Self {
        Self {
            delivery,
            validation,
            queue,
        }
    }

    pub fn topic(&self) -> &PubsubTopic {
        &self.delivery.topic
    }

    pub fn stats(&self) -> Arc<ShardStats> {
        self.delivery.stats.clone()
    }

    fn gauge_queue(&self) {
        if let Some(tx) = self.queue.upgrade() {
            let depth = tx.max_capacity().saturating_sub(tx.capacity());
            metrics::gauge!(names::VALIDATION_QUEUE, "topic" => self.delivery.topic_text.clone())
                .set(depth as f64);
        }
    }

    fn poll_peers(&self) {
        let network = self.delivery.network.clone();
        let topic = self.delivery.topic_text.clone();
        let stats = self.delivery.stats.clone();
        tokio::spawn(async move {
            let (mesh, subscribed) = network.topic_peers(topic.clone()).await;
            stats.set_peers(mesh.len(), subscribed.len());
            metrics::gauge!(names::MESH_PEERS, "topic" => topic.clone()).set(mesh.len() as f64);
            metrics::gauge!(names::TOPIC_PEERS, "topic" => topic).set(subscribed.len() as f64);
        });
    }
}

impl Actor for RelayShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.poll_peers();
        ctx.run_interval(PEER_POLL, |shard, _| shard.poll_peers());
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        let topic = self.delivery.topic_text.clone();
        for gauge in [
            names::MESH_PEERS,
            names::TOPIC_PEERS,
            names::VALIDATION_QUEUE,
        ] {
            metrics::gauge!(gauge, "topic" => topic.clone()).set(0.0);
        }
        tracing::info!(%topic, "relay shard stopped");
    }
}

impl StreamHandler<GossipMessage> for RelayShard {
    fn handle(&mut self, gossip: GossipMessage, _ctx: &mut Self::Context) {
        let topic = self.delivery.topic_text.clone();
        let bytes = gossip.data.len();
        self.delivery.stats.received(bytes);
        metrics::counter!(names::NETWORK_BYTES, "topic" => topic.clone(), "type" => "gross", "direction" => "in")
            .increment(bytes as u64);
        metrics::counter!(names::MESSAGES, "topic" => topic, "direction" => "in").increment(1);
        self.gauge_queue();

        let received = Received {
            message_id: gossip.message_id,
            source: gossip.source,
            bytes,
            received_at_ns: gossip.received_at_ns,
        };
        match self.validation.begin(
            &gossip.data,
            gossip.received_at_ns,
            gossip.source.to_bytes(),
        ) {
            Step::Done(judgement) => self.delivery.finish(received, judgement),
            Step::Validate(pending) => {
                let delivery = self.delivery.clone();
                tokio::spawn(async move {
                    let judgement = pending.await;
                    delivery.finish(received, judgement);
                });
            }
        }
    }
}

impl Handler<StopShard> for RelayShard {
    type Result = ();

    fn handle(&mut self, _: StopShard, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

fn map_network_error(e: NetworkPublishError, topic: &str) -> PublishError {
    match e {
        NetworkPublishError::NoPeers => PublishError::NoPeers(topic.to_string()),
        NetworkPublishError::Duplicate => PublishError::Duplicate,
        NetworkPublishError::TooLarge => {
            PublishError::Invalid("message is over gossipsub's frame limit".into())
        }
        NetworkPublishError::NotSubscribed(t) => PublishError::NotSubscribed(t),
        NetworkPublishError::RelayDisabled | NetworkPublishError::DriverGone => {
            PublishError::Stopped
        }
        NetworkPublishError::Other(e) => PublishError::Network(e),
    }
}

/// Validates, publishes and delivers locally a message this node originates.
async fn publish(
    delivery: Delivery,
    validation: ShardValidation,
    message: rwaku_core::WakuMessage,
) -> Result<PublishReceipt, PublishError> {
    let data = Bytes::from(message.encode_to_vec());
    let created_ns = now_ns();
    let message = match validation.judge(&data, created_ns).await {
        Judgement::Accept(message) => message,
        Judgement::Reject { reason, .. } => return Err(PublishError::Invalid(reason)),
        Judgement::Ignore { reason, .. } => return Err(PublishError::Unavailable(reason)),
    };
    let topic = delivery.topic_text.clone();
    let peers = delivery
        .network
        .publish(topic.clone(), data.clone())
        .await
        .map_err(|e| map_network_error(e, &topic))?;
    delivery.stats.published(data.len());
    metrics::counter!(names::NETWORK_BYTES, "topic" => topic.clone(), "type" => "gross", "direction" => "out")
        .increment(data.len() as u64);
    metrics::counter!(names::MESSAGES, "topic" => topic, "direction" => "out").increment(1);
    // gossipsub never hands a node its own message back, so local consumers hear it here.
    let hash = MessageHash::compute(&delivery.topic_text, &message);
    delivery.bus.publish_accepted(Arc::new(MessageAccepted {
        pubsub_topic: delivery.topic.clone(),
        message,
        hash,
        received_at_ns: created_ns,
    }));
    Ok(PublishReceipt { hash, peers })
}

impl Handler<Publish> for RelayShard {
    type Result = ResponseFuture<Result<PublishReceipt, PublishError>>;

    fn handle(&mut self, request: Publish, _ctx: &mut Self::Context) -> Self::Result {
        let delivery = self.delivery.clone();
        let validation = self.validation.clone();
        Box::pin(async move {
            let outcome = publish(delivery, validation, request.message).await;
            if let Err(e) = &outcome {
                metrics::counter!(names::PUBLISH_REFUSED, "reason" => e.label()).increment(1);
            }
            outcome
        })
    }
}

/// The parts of a node a shard works with.
#[derive(Clone)]
pub struct ShardDeps {
    pub network: NetworkHandle,
    pub bus: EventBus,
    pub validators: rwaku_actors::ValidatorRegistry,
    pub max_in_flight: usize,
    /// Where the relayed shards are announced (the metadata protocol); `None` in harnesses
    /// that run no metadata service.
    pub metadata: Option<actix::Recipient<rwaku_actors::metadata::AnnounceShards>>,
}
