//! The verdict rules for protected shards (nwaku `validator_signed.nim`, go-waku
//! `validators.go`): a message on a protected shard needs a timestamp within 5 minutes of now
//! and a 64-byte `meta` that signs its app hash with the shard's key. Other shards are not this
//! validator's business. The rules run cheapest first, so junk never reaches the curve math.

use std::collections::HashMap;

use rwaku_core::{ClusterId, PubsubTopic, ShardId, WakuMessage};

use crate::{
    app_hash::app_message_hash,
    ecdsa_secp256k1::Secp256k1Backend,
    key::ProtectedShardKey,
    metrics,
    protected_shard::ProtectedShard,
    verdict::{RejectReason, Verdict},
};

/// nwaku's `MessageWindowInSec` (5 min), in nanoseconds. A message exactly this far from now is
/// refused (nwaku's strict `<`; go-waku's `<=` differs only on that one nanosecond).
pub const MESSAGE_WINDOW_NS: u64 = 5 * 60 * 1_000_000_000;

/// The wall clock as Unix epoch nanoseconds, the unit of `WakuMessage::timestamp`.
pub fn unix_time_ns() -> i64 {
    rwaku_core::time::now_ns()
}

/// A set of protected shards that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorConfigError {
    #[error("shard {0} is protected twice with different keys")]
    ConflictingKeys(ShardId),
}

#[derive(Debug)]
pub(crate) struct ShardEntry {
    pub(crate) shard: ShardId,
    /// `/waku/2/rs/<cluster>/<shard>`, the exact text the app hash starts with.
    pub(crate) topic: String,
    pub(crate) key: ProtectedShardKey,
}

/// What the cheap checks concluded.
#[derive(Debug)]
pub(crate) enum Precheck {
    NotProtected,
    Rejected(RejectReason),
    /// Plausible: the signature must be verified with `entries[index]`.
    NeedsSignature(usize),
}

/// The timestamp and meta-length rules; no hashing, no curve math.
pub fn check_envelope(message: &WakuMessage, now_ns: i64) -> Result<(), RejectReason> {
    let timestamp = message.timestamp_or_zero();
    if timestamp == 0 {
        return Err(RejectReason::MissingTimestamp);
    }
    if now_ns.abs_diff(timestamp) >= MESSAGE_WINDOW_NS {
        return Err(RejectReason::OutsideTimeWindow);
    }
    match message.meta_bytes().len() {
        0 => Err(RejectReason::MissingMeta),
        64 => Ok(()),
        n => Err(RejectReason::WrongMetaLength(n)),
    }
}

/// Holds the protected shards of one cluster and judges messages against them.
#[derive(Debug)]
pub struct ProtectedShardValidator {
    cluster: ClusterId,
    entries: Vec<ShardEntry>,
    by_shard: HashMap<ShardId, usize>,
    backend: Secp256k1Backend,
}

impl ProtectedShardValidator {
    /// The shards of `cluster` (the node's `--cluster-id`) listed in `shards`. The same shard
    /// twice with the same key is fine; with different keys it is an error, since nwaku would
    /// silently use the first.
    pub fn new(
        cluster: ClusterId,
        shards: impl IntoIterator<Item = ProtectedShard>,
    ) -> Result<Self, ValidatorConfigError> {
        let mut entries: Vec<ShardEntry> = Vec::new();
        let mut by_shard: HashMap<ShardId, usize> = HashMap::new();
        for ProtectedShard { shard, key } in shards {
            if let Some(&index) = by_shard.get(&shard) {
                if entries[index].key != key {
                    return Err(ValidatorConfigError::ConflictingKeys(shard));
                }
                continue;
            }
            by_shard.insert(shard, entries.len());
            entries.push(ShardEntry {
                shard,
                topic: PubsubTopic::static_shard(cluster, shard).to_string(),
                key,
            });
        }
        Ok(Self {
            cluster,
            entries,
            by_shard,
            backend: Secp256k1Backend::PREFERRED,
        })
    }

    /// Uses `backend` for secp256k1 verification instead of [`Secp256k1Backend::PREFERRED`].
    pub fn with_backend(mut self, backend: Secp256k1Backend) -> Self {
        self.backend = backend;
        self
    }

    pub fn backend(&self) -> Secp256k1Backend {
        self.backend
    }

    pub fn cluster(&self) -> ClusterId {
        self.cluster
    }

    /// The protected shards and their keys, in configuration order.
    pub fn protected_shards(&self) -> impl Iterator<Item = (ShardId, &ProtectedShardKey)> {
        self.entries.iter().map(|e| (e.shard, &e.key))
    }

    fn index_of(&self, topic: &PubsubTopic) -> Option<usize> {
        match topic {
            PubsubTopic::StaticShard { cluster, shard } if *cluster == self.cluster => {
                self.by_shard.get(shard).copied()
            }
            _ => None,
        }
    }

    /// The key protecting `topic`, if it is one of this cluster's protected shards.
    pub fn key_for(&self, topic: &PubsubTopic) -> Option<&ProtectedShardKey> {
        self.index_of(topic).map(|i| &self.entries[i].key)
    }

    pub fn is_protected(&self, topic: &PubsubTopic) -> bool {
        self.index_of(topic).is_some()
    }

    pub(crate) fn entry(&self, index: usize) -> &ShardEntry {
        &self.entries[index]
    }

    /// Everything short of hashing and curve math.
    pub(crate) fn precheck(
        &self,
        topic: &PubsubTopic,
        message: &WakuMessage,
        now_ns: i64,
    ) -> Precheck {
        let Some(index) = self.index_of(topic) else {
            return Precheck::NotProtected;
        };
        let checks = check_envelope(message, now_ns).and_then(|()| {
            self.entries[index]
                .key
                .precheck_signature(message.meta_bytes())
        });
        match checks {
            Ok(()) => Precheck::NeedsSignature(index),
            Err(reason) => Precheck::Rejected(reason),
        }
    }

    /// Hashes and verifies a message that passed [`Self::precheck`] for `index`.
    pub(crate) fn verify_signature(&self, index: usize, message: &WakuMessage) -> Verdict {
        let entry = &self.entries[index];
        let digest = app_message_hash(&entry.topic, message);
        match entry
            .key
            .verify_digest(self.backend, &digest, message.meta_bytes())
        {
            Ok(()) => Verdict::Accept,
            Err(reason) => Verdict::Reject(reason),
        }
    }

    /// The whole verdict on the calling thread, metrics included. It costs one signature
    /// verify (tens of µs), so an async handler should use the `ValidationPool` instead.
    pub fn validate(&self, topic: &PubsubTopic, message: &WakuMessage, now_ns: i64) -> Verdict {
        let verdict = match self.precheck(topic, message, now_ns) {
            Precheck::NotProtected => return Verdict::Accept,
            Precheck::Rejected(reason) => Verdict::Reject(reason),
            Precheck::NeedsSignature(index) => self.verify_signature(index, message),
        };
        metrics::record_verdict(verdict);
        verdict
    }
}
