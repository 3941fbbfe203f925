//! `RecentHashes`: the message hashes pushed in the last couple of minutes, so a message the
//! node hears twice (relay and lightpush, say) is pushed once. Bounded by count and by age.

use std::{
    collections::{HashSet, VecDeque},
    time::{Duration, Instant},
};

use rwaku_core::MessageHash;

use crate::metrics as names;

/// nwaku's `MessageCacheTTL` for filter pushes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(120);
/// Hashes remembered at most; the oldest go first.
pub const DEFAULT_CAPACITY: usize = 100_000;

#[derive(Debug)]
pub struct RecentHashes {
    ttl: Duration,
    capacity: usize,
    order: VecDeque<(Instant, MessageHash)>,
    seen: HashSet<MessageHash>,
}

impl Default for RecentHashes {
    fn default() -> Self {
        Self::new(DEFAULT_TTL, DEFAULT_CAPACITY)
    }
}

impl RecentHashes {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// Records `hash`; false when it was already seen within the TTL.
    pub fn insert(&mut self, hash: MessageHash, now: Instant) -> bool {
        while let Some((at, old)) = self.order.front() {
            if now.saturating_duration_since(*at) <= self.ttl && self.order.len() < self.capacity {
                break;
            }
            self.seen.remove(old);
            self.order.pop_front();
        }
        let fresh = self.seen.insert(hash);
        if fresh {
            self.order.push_back((now, hash));
        }
        metrics::gauge!(names::RECENT_HASHES).set(self.order.len() as f64);
        fresh
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u8) -> MessageHash {
        MessageHash([n; 32])
    }

    #[test]
    fn a_hash_is_fresh_once_within_the_ttl() {
        let mut recent = RecentHashes::new(Duration::from_secs(10), 100);
        let t0 = Instant::now();
        assert!(recent.insert(hash(1), t0));
        assert!(!recent.insert(hash(1), t0 + Duration::from_secs(5)));
        assert!(
            recent.insert(hash(1), t0 + Duration::from_secs(11)),
            "after the TTL it is new again"
        );
    }

    #[test]
    fn the_set_stays_bounded() {
        let mut recent = RecentHashes::new(Duration::from_secs(600), 3);
        let t0 = Instant::now();
        for n in 0..10 {
            assert!(recent.insert(hash(n), t0));
        }
        assert_eq!(recent.len(), 3);
        assert!(recent.insert(hash(0), t0), "the oldest was forgotten");
    }
}
