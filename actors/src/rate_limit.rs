//! Per-peer token buckets, sized from a `--rate-limit` entry: filter's limit, which nwaku too
//! applies to each peer alone (store, lightpush and peer exchange share a node-wide budget:
//! `service_rate_limit.rs`). A peer that asks faster than its bucket
//! refills is told TOO_MANY_REQUESTS by the protocol; the map of buckets is bounded, and the
//! peers that have been quiet longest are forgotten first.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use libp2p::PeerId;
use rwaku_core::RateLimitSpec;

/// Buckets kept at most; a forgotten peer starts again with a full bucket, which is the
/// same as a peer that waited a whole period.
pub const MAX_TRACKED_PEERS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug)]
pub struct PeerRateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: HashMap<PeerId, Bucket>,
    max_peers: usize,
}

impl PeerRateLimiter {
    /// `volume` requests per `period` for each peer, bursting up to `volume`.
    pub fn new(volume: u32, period: Duration) -> Self {
        let volume = f64::from(volume.max(1));
        Self {
            capacity: volume,
            per_second: volume / period.as_secs_f64().max(1e-3),
            buckets: HashMap::new(),
            max_peers: MAX_TRACKED_PEERS,
        }
    }

    pub fn from_spec(spec: &RateLimitSpec) -> Self {
        Self::new(spec.volume, spec.period)
    }

    pub fn with_max_peers(mut self, max_peers: usize) -> Self {
        self.max_peers = max_peers.max(1);
        self
    }

    /// Takes one token for `peer`; false when its bucket is empty.
    pub fn allow(&mut self, peer: PeerId, now: Instant) -> bool {
        if !self.buckets.contains_key(&peer) && self.buckets.len() >= self.max_peers {
            self.forget_quietest();
        }
        let capacity = self.capacity;
        let per_second = self.per_second;
        let bucket = self.buckets.entry(peer).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub fn tracked_peers(&self) -> usize {
        self.buckets.len()
    }

    fn forget_quietest(&mut self) {
        // Rare (only when the map is full), so a linear scan keeps the structure simple.
        let quietest = self
            .buckets
            .iter()
            .min_by_key(|(_, b)| b.last)
            .map(|(peer, _)| *peer);
        if let Some(peer) = quietest {
            self.buckets.remove(&peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_gets_its_volume_then_waits_for_refill() {
        let mut limiter = PeerRateLimiter::new(3, Duration::from_secs(1));
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow(peer, t0)));
        assert!(
            !limiter.allow(peer, t0),
            "a fourth request in the same instant"
        );
        assert!(
            limiter.allow(peer, t0 + Duration::from_millis(400)),
            "a third of a second refills one token"
        );
        assert!(!limiter.allow(peer, t0 + Duration::from_millis(400)));
    }

    #[test]
    fn peers_have_their_own_buckets() {
        let mut limiter = PeerRateLimiter::new(1, Duration::from_secs(60));
        let (a, b) = (PeerId::random(), PeerId::random());
        let now = Instant::now();
        assert!(limiter.allow(a, now));
        assert!(!limiter.allow(a, now));
        assert!(limiter.allow(b, now), "b is not limited by a's traffic");
    }

    #[test]
    fn the_map_stays_bounded() {
        let mut limiter = PeerRateLimiter::new(1, Duration::from_secs(60)).with_max_peers(4);
        let now = Instant::now();
        for i in 0..10 {
            limiter.allow(PeerId::random(), now + Duration::from_millis(i));
        }
        assert_eq!(limiter.tracked_peers(), 4);
    }
}
