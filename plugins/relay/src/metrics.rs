//! The relay's metric names in one place, nwaku's where nwaku has one, so dashboards built for
//! nwaku keep working and the names cannot drift between the files that emit them.

/// nwaku: bytes of relay messages per shard, `type` = gross (everything received or sent)
/// or net (accepted), `direction` = in or out.
pub const NETWORK_BYTES: &str = "waku_relay_network_bytes";
/// nwaku: messages the node handled, `type="relay"` for accepted relay messages.
pub const NODE_MESSAGES: &str = "waku_node_messages";
/// Messages per shard and direction (in = received from gossip, out = published by us).
pub const MESSAGES: &str = "rwaku_relay_messages_total";
/// Verdicts per shard: outcome = accept, reject or ignore, with the reason.
pub const VALIDATION_OUTCOMES: &str = "rwaku_relay_validation_outcomes_total";
/// Validations waiting on a shard validator right now.
pub const VALIDATION_IN_FLIGHT: &str = "rwaku_relay_validation_in_flight";
/// Gossip messages waiting in the driver → shard queue.
pub const VALIDATION_QUEUE: &str = "rwaku_relay_validation_queue";
/// Messages ignored because the shard had too many validations in flight.
pub const VALIDATION_OVERLOAD: &str = "rwaku_relay_validation_overload_total";
/// From driver receipt to verdict, seconds.
pub const VALIDATION_SECONDS: &str = "rwaku_relay_validation_duration_seconds";
/// nim-libp2p: mesh peers per topic.
pub const MESH_PEERS: &str = "libp2p_gossipsub_peers_per_topic_mesh";
/// nim-libp2p: peers subscribed to the topic (mesh or not).
pub const TOPIC_PEERS: &str = "libp2p_gossipsub_peers_per_topic_gossipsub";
/// Shards the node relays.
pub const SHARDS: &str = "rwaku_relay_shards";
/// Publishes through the REST API or the control handle that were refused, by reason.
pub const PUBLISH_REFUSED: &str = "rwaku_relay_publish_refused_total";
/// Messages held in the REST cache, by kind (pubsub or content).
pub const REST_CACHE_MESSAGES: &str = "rwaku_relay_rest_cache_messages";
/// Messages the REST cache dropped (oldest first) because a topic's queue was full.
pub const REST_CACHE_EVICTED: &str = "rwaku_relay_rest_cache_evicted_total";
/// REST cache subscriptions refused because the cache tracks its maximum number of topics.
pub const REST_CACHE_TOPICS_REFUSED: &str = "rwaku_relay_rest_cache_topics_refused_total";
