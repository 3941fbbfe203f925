//! rwaku-core: the vocabulary every rwaku crate shares — Waku messages and their hashes,
//! pubsub and content topics, autosharding, the node configuration, the typed events actors
//! exchange and the plugin contract. It does no I/O and knows nothing of actix or libp2p.

pub mod autosharding;
pub mod config;
pub mod events;
pub mod message;
pub mod message_hash;
pub mod plugin;
pub mod rate_limit;
pub mod time;
pub mod topics;

pub use autosharding::shard_for_content_topic;
pub use config::{ConfigError, NodeConfig};
pub use events::{HealthState, MessageAccepted, SharedMessage};
pub use message::{MAX_META_SIZE, MAX_WAKU_MESSAGE_SIZE, WakuMessage};
pub use message_hash::MessageHash;
pub use plugin::{Plugin, PluginError};
pub use rate_limit::RateLimitSpec;
pub use topics::{ClusterId, ContentTopic, PubsubTopic, ShardId, TopicError};
