//! How the light protocols (lightpush, the REST lightpush route) publish through the relay
//! without depending on the relay crate: the relay plugin attaches a recipient of
//! `RelayPublish` to the context's `RelayPort` when it starts, and whoever publishes sends it
//! a typed message. The relay validates with the shard's own rules and validators first, so
//! nothing is published that the node would reject from a peer.

use std::sync::{Arc, OnceLock};

use actix::{Message, Recipient};
use rwaku_core::{MessageHash, PubsubTopic, WakuMessage};

/// Publish `message` on `topic` through the relay shard of that topic.
#[derive(Debug, Clone)]
pub struct RelayPublish {
    pub topic: PubsubTopic,
    pub message: WakuMessage,
}

impl Message for RelayPublish {
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
    /// The label counted in refusal metrics.
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

/// The slot the relay plugin fills; cloneable, shared by every plugin of one node.
#[derive(Clone, Default)]
pub struct RelayPort {
    publisher: Arc<OnceLock<Recipient<RelayPublish>>>,
}

impl RelayPort {
    /// Called once by the relay plugin.
    pub fn attach(&self, publisher: Recipient<RelayPublish>) {
        let _ = self.publisher.set(publisher);
    }

    /// Whether a relay is running in this node.
    pub fn is_attached(&self) -> bool {
        self.publisher.get().is_some()
    }

    pub async fn publish(
        &self,
        topic: PubsubTopic,
        message: WakuMessage,
    ) -> Result<PublishReceipt, PublishError> {
        let publisher = self.publisher.get().ok_or(PublishError::Stopped)?;
        publisher
            .send(RelayPublish { topic, message })
            .await
            .map_err(|_| PublishError::Stopped)?
    }
}
