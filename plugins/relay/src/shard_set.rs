//! `RelayShardSet`: the registry of the shards this node relays. It starts one `RelayShard` per
//! subscribed shard and subscribes and unsubscribes shards at runtime. (Peers that forward
//! invalid messages are scored by gossipsub and disconnected by the network driver.)

use std::{collections::HashMap, sync::Arc};

use actix::{
    Actor, ActorFutureExt, Addr, AsyncContext, Context, Handler, Message, ResponseActFuture,
    ResponseFuture, WrapFuture,
};
use tokio::sync::mpsc;

use rwaku_actors::{
    PublishError, PublishReceipt, RelayPublish, metadata::AnnounceShards, network::GossipMessage,
};
use rwaku_core::{PubsubTopic, topics::MAX_SHARD_INDEX};

use crate::{
    delivery::Delivery,
    metrics as names,
    publish::Publish,
    shard::{RelayShard, ShardDeps, StopShard},
    stats::{ShardStats, ShardStatsSnapshot},
    validation::ShardValidation,
};

/// Gossip messages a shard may have waiting before the driver ignores new ones.
pub const SHARD_QUEUE: usize = 1024;

/// One shard per static shard index at most.
pub const MAX_SHARDS: usize = MAX_SHARD_INDEX as usize + 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("the relay has not started")]
    NotStarted,
    #[error("the relay is not running")]
    Stopped,
    #[error("cannot subscribe to {topic}: {reason}")]
    Subscribe { topic: String, reason: String },
    #[error("the node relays {MAX_SHARDS} shards already")]
    TooManyShards,
}

/// Subscribes a shard; `Ok(true)` if it was not subscribed before.
#[derive(Debug, Clone)]
pub struct SubscribeShard(pub PubsubTopic);

impl Message for SubscribeShard {
    type Result = Result<bool, RelayError>;
}

/// Unsubscribes a shard; `true` if it was subscribed.
#[derive(Debug, Clone)]
pub struct UnsubscribeShard(pub PubsubTopic);

impl Message for UnsubscribeShard {
    type Result = bool;
}

/// The subscribed shards, sorted.
#[derive(Debug, Clone, Copy)]
pub struct SubscribedShards;

impl Message for SubscribedShards {
    type Result = Vec<PubsubTopic>;
}

/// The actor of a subscribed shard.
#[derive(Debug, Clone)]
pub struct ShardFor(pub PubsubTopic);

impl Message for ShardFor {
    type Result = Option<Addr<RelayShard>>;
}

/// Every shard's counters.
#[derive(Debug, Clone, Copy)]
pub struct ShardStatsQuery;

impl Message for ShardStatsQuery {
    type Result = Vec<(PubsubTopic, ShardStatsSnapshot)>;
}

struct ShardEntry {
    addr: Addr<RelayShard>,
    stats: Arc<ShardStats>,
}

pub struct RelayShardSet {
    deps: ShardDeps,
    initial: Vec<PubsubTopic>,
    shards: HashMap<PubsubTopic, ShardEntry>,
}

impl RelayShardSet {
    /// A set that subscribes `initial` when it starts.
    pub fn new(deps: ShardDeps, initial: Vec<PubsubTopic>) -> Self {
        Self {
            deps,
            initial,
            shards: HashMap::new(),
        }
    }

    /// Starts the shard's actor and returns the sender to hand the driver.
    fn open(&mut self, topic: PubsubTopic) -> mpsc::Sender<GossipMessage> {
        let (tx, rx) = mpsc::channel(SHARD_QUEUE);
        let stats = Arc::new(ShardStats::default());
        let delivery = Delivery {
            topic_text: topic.to_string(),
            topic: topic.clone(),
            network: self.deps.network.clone(),
            bus: self.deps.bus.clone(),
            stats: stats.clone(),
        };
        let validation = ShardValidation::new(
            topic.clone(),
            self.deps.validators.clone(),
            self.deps.max_in_flight,
        );
        let weak = tx.downgrade();
        let addr = RelayShard::create(move |ctx| {
            ctx.add_stream(futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|m| (m, rx))
            }));
            RelayShard::new(delivery, validation, weak)
        });
        self.shards.insert(topic, ShardEntry { addr, stats });
        metrics::gauge!(names::SHARDS).set(self.shards.len() as f64);
        self.announce();
        tx
    }

    /// Tells the metadata protocol which shards are relayed now.
    fn announce(&self) {
        if let Some(metadata) = &self.deps.metadata {
            let shards = self
                .shards
                .keys()
                .filter_map(|t| t.shard().map(|(_, shard)| shard))
                .collect();
            metadata.do_send(AnnounceShards(shards));
        }
    }

    fn close(&mut self, topic: &PubsubTopic) -> bool {
        let Some(entry) = self.shards.remove(topic) else {
            return false;
        };
        entry.addr.do_send(StopShard);
        metrics::gauge!(names::SHARDS).set(self.shards.len() as f64);
        self.announce();
        true
    }
}

impl Actor for RelayShardSet {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        for topic in std::mem::take(&mut self.initial) {
            if self.shards.contains_key(&topic) {
                continue;
            }
            let tx = self.open(topic.clone());
            let network = self.deps.network.clone();
            ctx.spawn(
                async move {
                    let text = topic.to_string();
                    match network.subscribe(text.clone(), tx).await {
                        Ok(()) => tracing::info!(topic = %text, "relay subscribed"),
                        Err(e) => {
                            tracing::error!(topic = %text, error = %e, "relay subscription failed")
                        }
                    }
                }
                .into_actor(self),
            );
        }
    }
}

impl Handler<SubscribeShard> for RelayShardSet {
    type Result = ResponseActFuture<Self, Result<bool, RelayError>>;

    fn handle(
        &mut self,
        SubscribeShard(topic): SubscribeShard,
        _: &mut Self::Context,
    ) -> Self::Result {
        if self.shards.contains_key(&topic) {
            return Box::pin(actix::fut::ready(Ok(false)));
        }
        if self.shards.len() >= MAX_SHARDS {
            return Box::pin(actix::fut::ready(Err(RelayError::TooManyShards)));
        }
        let tx = self.open(topic.clone());
        let network = self.deps.network.clone();
        let text = topic.to_string();
        Box::pin(
            async move {
                network
                    .subscribe(text.clone(), tx)
                    .await
                    .map_err(|reason| (text, reason))
            }
            .into_actor(self)
            .map(move |outcome, set, _| match outcome {
                Ok(()) => {
                    tracing::info!(%topic, "relay subscribed");
                    Ok(true)
                }
                Err((text, reason)) => {
                    set.close(&topic);
                    Err(RelayError::Subscribe {
                        topic: text,
                        reason,
                    })
                }
            }),
        )
    }
}

impl Handler<UnsubscribeShard> for RelayShardSet {
    type Result = ResponseFuture<bool>;

    fn handle(
        &mut self,
        UnsubscribeShard(topic): UnsubscribeShard,
        _: &mut Self::Context,
    ) -> Self::Result {
        let was = self.close(&topic);
        let network = self.deps.network.clone();
        Box::pin(async move {
            if was {
                // The driver drops the shard's queue, which also ends the shard's stream.
                network.unsubscribe(topic.to_string()).await;
                tracing::info!(%topic, "relay unsubscribed");
            }
            was
        })
    }
}

impl Handler<SubscribedShards> for RelayShardSet {
    type Result = Vec<PubsubTopic>;

    fn handle(&mut self, _: SubscribedShards, _: &mut Self::Context) -> Self::Result {
        let mut topics: Vec<PubsubTopic> = self.shards.keys().cloned().collect();
        topics.sort();
        topics
    }
}

impl Handler<ShardFor> for RelayShardSet {
    type Result = Option<Addr<RelayShard>>;

    fn handle(&mut self, ShardFor(topic): ShardFor, _: &mut Self::Context) -> Self::Result {
        self.shards.get(&topic).map(|e| e.addr.clone())
    }
}

impl Handler<ShardStatsQuery> for RelayShardSet {
    type Result = Vec<(PubsubTopic, ShardStatsSnapshot)>;

    fn handle(&mut self, _: ShardStatsQuery, _: &mut Self::Context) -> Self::Result {
        let mut all: Vec<_> = self
            .shards
            .iter()
            .map(|(t, e)| (t.clone(), e.stats.snapshot()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// Publishing for the other plugins (lightpush): forwarded to the topic's shard, which
/// validates and publishes it.
impl Handler<RelayPublish> for RelayShardSet {
    type Result = ResponseFuture<Result<PublishReceipt, PublishError>>;

    fn handle(&mut self, msg: RelayPublish, _ctx: &mut Self::Context) -> Self::Result {
        let shard = self.shards.get(&msg.topic).map(|e| e.addr.clone());
        Box::pin(async move {
            let shard = shard.ok_or_else(|| PublishError::NotSubscribed(msg.topic.to_string()))?;
            shard
                .send(Publish {
                    message: msg.message,
                })
                .await
                .map_err(|_| PublishError::Stopped)?
        })
    }
}

#[cfg(test)]
mod tests {

    use actix::{Actor, Context, Handler, MessageResult};
    use rwaku_actors::{
        EventBus, ValidateMessage, ValidationOutcome, ValidatorRegistry,
        libp2p::{Multiaddr, identity::Keypair, multiaddr::Protocol},
        network::{NetworkConfig, NetworkDriver, TransportKind},
    };
    use rwaku_core::WakuMessage;

    use super::*;
    use crate::{control::RelayControl, publish::PublishError};

    /// Refuses every message.
    struct RefuseAll;

    impl Actor for RefuseAll {
        type Context = Context<Self>;
    }

    impl Handler<ValidateMessage> for RefuseAll {
        type Result = MessageResult<ValidateMessage>;

        fn handle(&mut self, _: ValidateMessage, _: &mut Self::Context) -> Self::Result {
            MessageResult(ValidationOutcome::Reject("not signed".into()))
        }
    }

    /// A relay over a real driver with no peers, on the memory transport.
    async fn lonely_relay(port: u64, validators: ValidatorRegistry) -> RelayControl {
        let config = NetworkConfig {
            keypair: Keypair::generate_secp256k1(),
            transport: TransportKind::Memory,
            listen: vec![Multiaddr::empty().with(Protocol::Memory(port))],
            static_peers: Vec::new(),
            max_connections: 10,
            relay: true,
            agent_version: "relay-unit-test".into(),
        };
        let (driver, network) = NetworkDriver::start(config).await.expect("driver starts");
        tokio::spawn(driver.run());
        let deps = ShardDeps {
            network,
            bus: EventBus::default(),
            validators,
            max_in_flight: 4,
            metadata: None,
        };
        let control = RelayControl::default();
        control.attach(RelayShardSet::new(deps, vec![PubsubTopic::static_shard(16, 32)]).start());
        control
    }

    fn message() -> WakuMessage {
        WakuMessage {
            payload: bytes::Bytes::from_static(b"hi"),
            content_topic: "/a/1/b/proto".into(),
            timestamp: Some(1),
            ..Default::default()
        }
    }

    #[actix::test]
    async fn shards_come_and_go_at_runtime() {
        let relay = lonely_relay(71_001, ValidatorRegistry::default()).await;
        let (s32, s64) = (
            PubsubTopic::static_shard(16, 32),
            PubsubTopic::static_shard(16, 64),
        );
        assert_eq!(relay.shards().await, Ok(vec![s32.clone()]));
        assert_eq!(relay.subscribe(s64.clone()).await, Ok(true));
        assert_eq!(relay.subscribe(s64.clone()).await, Ok(false));
        assert_eq!(relay.shards().await, Ok(vec![s32.clone(), s64.clone()]));
        assert_eq!(relay.unsubscribe(s64.clone()).await, Ok(true));
        assert_eq!(relay.unsubscribe(s64.clone()).await, Ok(false));
        assert_eq!(relay.shards().await, Ok(vec![s32]));
        assert_eq!(
            relay.publish(s64.clone(), message()).await,
            Err(PublishError::NotSubscribed(s64.to_string()))
        );
    }

    #[actix::test]
    async fn publishing_runs_the_nodes_own_checks_first() {
        let validators = ValidatorRegistry::default();
        let s32 = PubsubTopic::static_shard(16, 32);
        validators.register(s32.clone(), RefuseAll.start().recipient());
        let relay = lonely_relay(71_002, validators).await;
        // The registered validator refuses: invalid, never handed to gossipsub.
        assert_eq!(
            relay.publish(s32.clone(), message()).await,
            Err(PublishError::Invalid("not signed".into()))
        );
        let long_meta = WakuMessage {
            meta: Some(bytes::Bytes::from(vec![0u8; 65])),
            ..message()
        };
        assert!(matches!(
            relay.publish(s32.clone(), long_meta).await,
            Err(PublishError::Invalid(reason)) if reason.contains("64-byte")
        ));
        let stats = relay.stats().await.expect("stats");
        assert_eq!(stats[0].1.messages_out, 0);
    }

    #[actix::test]
    async fn a_valid_message_with_no_relay_peer_is_not_published() {
        let relay = lonely_relay(71_003, ValidatorRegistry::default()).await;
        let s32 = PubsubTopic::static_shard(16, 32);
        assert_eq!(
            relay.publish(s32.clone(), message()).await,
            Err(PublishError::NoPeers(s32.to_string()))
        );
    }
}
