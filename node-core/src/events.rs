//! The typed messages that cross actor boundaries and are not specific to one plugin.

use std::sync::Arc;

use crate::{message::WakuMessage, message_hash::MessageHash, topics::PubsubTopic};

/// A message the relay accepted on one of the node's shards (or a lightpush published).
/// Published once on the bus; the store, filter and REST cache consume it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageAccepted {
    pub pubsub_topic: PubsubTopic,
    pub message: WakuMessage,
    pub hash: MessageHash,
    /// When this node received it, Unix epoch nanoseconds.
    pub received_at_ns: i64,
}

/// The bus carries accepted messages behind an `Arc`, so a fan-out copies a pointer.
pub type SharedMessage = Arc<MessageAccepted>;

/// A protocol's state as `/health` reports it, with nwaku's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    Initializing,
    Ready,
    NotReady,
    NotMounted,
    ShuttingDown,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initializing => "INITIALIZING",
            Self::Ready => "READY",
            Self::NotReady => "NOT_READY",
            Self::NotMounted => "NOT_MOUNTED",
            Self::ShuttingDown => "SHUTTING_DOWN",
        }
    }
}
