//! What goes into the store (`ArchivedMessage`) and what comes out (`StoredEntry`, `StorePage`).

use rwaku_core::{MessageAccepted, MessageHash, WakuMessage};

/// A message to archive, with its pubsub topic and its deterministic hash (the store key).
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedMessage {
    pub hash: MessageHash,
    pub pubsub_topic: String,
    pub message: WakuMessage,
}

impl ArchivedMessage {
    /// Computes the hash, for callers that do not have it yet.
    pub fn new(pubsub_topic: impl Into<String>, message: WakuMessage) -> Self {
        let pubsub_topic = pubsub_topic.into();
        let hash = MessageHash::compute(&pubsub_topic, &message);
        Self {
            hash,
            pubsub_topic,
            message,
        }
    }

    /// The sort key: message timestamp (absent reads as 0, like nwaku), then hash.
    pub fn timestamp(&self) -> i64 {
        self.message.timestamp_or_zero()
    }
}

impl From<&MessageAccepted> for ArchivedMessage {
    fn from(accepted: &MessageAccepted) -> Self {
        Self {
            hash: accepted.hash,
            pubsub_topic: accepted.pubsub_topic.to_string(),
            message: accepted.message.clone(),
        }
    }
}

/// One result of a query. `message` is `None` when the query had `include_data = false`; the
/// store v3 layer must then leave out the pubsub topic too (fields 2 and 3 come together).
///
/// A stored message comes back without `ephemeral` and `rate_limit_proof` (not kept, as in
/// nwaku) and with `version` and `timestamp` always present; its hash is unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    pub hash: MessageHash,
    pub pubsub_topic: String,
    pub message: Option<WakuMessage>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StorePage {
    /// Always in chronological (timestamp, hash) order, even for backward queries.
    pub entries: Vec<StoredEntry>,
    /// Present iff more results exist: the last entry for forward queries, the first (oldest)
    /// for backward ones.
    pub cursor: Option<MessageHash>,
}

/// What one `insert` call did. `inserted + duplicates` is the batch length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InsertOutcome {
    pub inserted: usize,
    /// Already stored (by this node or another sharing the database), or repeated in the batch.
    pub duplicates: usize,
}

/// What one retention run removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionOutcome {
    pub deleted_messages: u64,
    /// PostgreSQL only: whole partitions dropped.
    pub dropped_partitions: u64,
}
