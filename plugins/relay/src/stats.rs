//! Per-shard counters a caller can read directly, next to the process-wide Prometheus metrics:
//! in-process networks (tests, the mesh benchmark) run many nodes in one process, where the
//! global recorder cannot tell the nodes apart.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::validation::Judgement;

#[derive(Debug, Default)]
pub struct ShardStats {
    messages_in: AtomicU64,
    bytes_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_out: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    ignored: AtomicU64,
    mesh_peers: AtomicU64,
    topic_peers: AtomicU64,
}

/// A copy of a shard's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardStatsSnapshot {
    /// Gossip messages received (first copies; gossipsub drops duplicates before us).
    pub messages_in: u64,
    pub bytes_in: u64,
    /// Messages this node published on the shard.
    pub messages_out: u64,
    pub bytes_out: u64,
    /// Verdicts on received gossip.
    pub accepted: u64,
    pub rejected: u64,
    pub ignored: u64,
    /// From the last poll of the driver.
    pub mesh_peers: u64,
    pub topic_peers: u64,
}

impl ShardStats {
    pub(crate) fn received(&self, bytes: usize) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn published(&self, bytes: usize) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn judged(&self, judgement: &Judgement) {
        let counter = match judgement {
            Judgement::Accept(_) => &self.accepted,
            Judgement::Reject { .. } => &self.rejected,
            Judgement::Ignore { .. } => &self.ignored,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_peers(&self, mesh: usize, subscribed: usize) {
        self.mesh_peers.store(mesh as u64, Ordering::Relaxed);
        self.topic_peers.store(subscribed as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ShardStatsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ShardStatsSnapshot {
            messages_in: load(&self.messages_in),
            bytes_in: load(&self.bytes_in),
            messages_out: load(&self.messages_out),
            bytes_out: load(&self.bytes_out),
            accepted: load(&self.accepted),
            rejected: load(&self.rejected),
            ignored: load(&self.ignored),
            mesh_peers: load(&self.mesh_peers),
            topic_peers: load(&self.topic_peers),
        }
    }
}
