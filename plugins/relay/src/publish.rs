//! Publishing a message this node originates (REST, the control handle): the typed request a
//! `RelayShard` answers, what comes back, and the ways it can be refused.

use actix::Message;
use rwaku_core::{MessageHash, WakuMessage};

/// Publish `message` on the shard that receives this. The shard runs its own validators
/// first, so the node never relays what it would reject from a peer.
#[derive(Debug, Clone)]
pub struct Publish {
    pub message: WakuMessage,
}

impl Message for Publish {
    type Result = Result<PublishReceipt, PublishError>;
}

/// A published message: its deterministic hash and the relay peers it was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishReceipt {
    pub hash: MessageHash,
    pub peers: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("Node not subscribed to topic: {0}")]
    NotSubscribed(String),
    /// The node's own validators reject it (it would cost the peers' score of whoever relays it).
    #[error("message is invalid: {0}")]
    Invalid(String),
    /// Not judged right now (e.g. the shard validator is overloaded); try again later.
    #[error("message not validated: {0}")]
    Unavailable(String),
    #[error("no relay peers on {0}")]
    NoPeers(String),
    #[error("message already published")]
    Duplicate,
    #[error("publish failed: {0}")]
    Network(String),
    #[error("relay is not running")]
    Stopped,
}

impl PublishError {
    /// The label counted in `rwaku_relay_publish_refused_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::NotSubscribed(_) => "not_subscribed",
            Self::Invalid(_) => "invalid",
            Self::Unavailable(_) => "unavailable",
            Self::NoPeers(_) => "no_peers",
            Self::Duplicate => "duplicate",
            Self::Network(_) => "network",
            Self::Stopped => "stopped",
        }
    }
}
