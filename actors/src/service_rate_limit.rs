//! nwaku's service rate limit for store, lightpush and peer exchange: one token bucket for the
//! whole node, sized from a `--rate-limit` entry, plus a bucket per peer so that one peer cannot
//! take the whole budget. (Filter limits each peer on its own: `rate_limit.rs`.)
//!
//! The arithmetic is nwaku's (`waku/common/rate_limit/request_limiter.nim`): with a period up
//! to 1 s the ratio is 10, up to 1 min 3, longer 2.
//! * The node's bucket refills `volume` per `period` continuously, holds up to
//!   `volume × ratio`, and starts with `volume`.
//! * Each peer may take `trunc(volume × ratio × 0.75)` requests per `period × ratio`, counted
//!   in whole windows; a peer quiet for two windows is forgotten.
//! * A request must pass the peer's bucket and then the node's.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use libp2p::PeerId;
use rwaku_core::RateLimitSpec;

use crate::rate_limit::MAX_TRACKED_PEERS;

const PER_PEER_SHARE: f64 = 0.75;

fn ratio_for(period: Duration) -> u32 {
    if period <= Duration::from_secs(1) {
        10
    } else if period <= Duration::from_secs(60) {
        3
    } else {
        2
    }
}

#[derive(Debug, Clone, Copy)]
struct PeerWindow {
    started: Instant,
    used: u32,
    last_seen: Instant,
}

#[derive(Debug)]
pub struct ServiceRateLimiter {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last_refill: Option<Instant>,
    peer_volume: u32,
    peer_window: Duration,
    peers: HashMap<PeerId, PeerWindow>,
    max_peers: usize,
}

impl ServiceRateLimiter {
    /// `volume` requests per `period` for the node.
    pub fn new(volume: u32, period: Duration) -> Self {
        let volume = volume.max(1);
        let period = period.max(Duration::from_millis(1));
        let ratio = ratio_for(period);
        let capacity = f64::from(volume) * f64::from(ratio);
        Self {
            capacity,
            per_second: f64::from(volume) / period.as_secs_f64(),
            tokens: f64::from(volume),
            last_refill: None,
            peer_volume: (capacity * PER_PEER_SHARE) as u32,
            peer_window: period * ratio,
            peers: HashMap::new(),
            max_peers: MAX_TRACKED_PEERS,
        }
    }

    pub fn from_spec(spec: &RateLimitSpec) -> Self {
        Self::new(spec.volume, spec.period)
    }

    /// Requests one peer may make per window.
    pub fn peer_volume(&self) -> u32 {
        self.peer_volume
    }

    /// Takes one request from `peer`'s and the node's budget; false when either is spent.
    pub fn allow(&mut self, peer: PeerId, now: Instant) -> bool {
        if !self.take_peer(peer, now) {
            return false;
        }
        // The node's bucket starts (with `volume`) at the first request.
        let last = *self.last_refill.get_or_insert(now);
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last_refill = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn take_peer(&mut self, peer: PeerId, now: Instant) -> bool {
        if !self.peers.contains_key(&peer) && self.peers.len() >= self.max_peers {
            self.forget_idle(now);
        }
        let window = self.peer_window;
        let entry = self.peers.entry(peer).or_insert(PeerWindow {
            started: now,
            used: 0,
            last_seen: now,
        });
        let since = now.saturating_duration_since(entry.started);
        if since >= window {
            // Whole windows only, so a steady peer's windows stay aligned.
            let windows = (since.as_nanos() / window.as_nanos().max(1)) as u32;
            entry.started += window * windows;
            entry.used = 0;
        }
        entry.last_seen = now;
        if entry.used < self.peer_volume {
            entry.used += 1;
            true
        } else {
            false
        }
    }

    fn forget_idle(&mut self, now: Instant) {
        let idle = self.peer_window * 2;
        self.peers
            .retain(|_, w| now.saturating_duration_since(w.last_seen) < idle);
        if self.peers.len() >= self.max_peers {
            let quietest = self
                .peers
                .iter()
                .min_by_key(|(_, w)| w.last_seen)
                .map(|(p, _)| *p);
            if let Some(p) = quietest {
                self.peers.remove(&p);
            }
        }
    }

    pub fn tracked_peers(&self) -> usize {
        self.peers.len()
    }

    #[cfg(test)]
    fn with_max_peers(mut self, max: usize) -> Self {
        self.max_peers = max.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_budget_starts_at_the_volume_and_refills_at_its_rate() {
        // lightpush:2/1m: ratio 3, the node starts with 2 and refills 2 per minute.
        let mut limiter = ServiceRateLimiter::new(2, Duration::from_secs(60));
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert!(limiter.allow(peer, t0));
        assert!(limiter.allow(peer, t0));
        assert!(!limiter.allow(peer, t0), "the third request of the minute");
        assert!(
            limiter.allow(peer, t0 + Duration::from_secs(30)),
            "half a minute refills one"
        );
    }

    #[test]
    fn the_node_budget_is_shared_by_all_peers() {
        let mut limiter = ServiceRateLimiter::new(10, Duration::from_secs(1));
        let t0 = Instant::now();
        let allowed = (0..11)
            .filter(|_| limiter.allow(PeerId::random(), t0))
            .count();
        assert_eq!(
            allowed, 10,
            "ten peers share ten requests, the eleventh is refused"
        );
    }

    #[test]
    fn one_peer_gets_at_most_three_quarters_of_the_burst() {
        // 4/1s: ratio 10, burst 40, one peer at most 30 per 10 s.
        let mut limiter = ServiceRateLimiter::new(4, Duration::from_secs(1));
        assert_eq!(limiter.peer_volume(), 30);
        let (greedy, other) = (PeerId::random(), PeerId::random());
        let t0 = Instant::now();
        // Let the node's bucket fill up to its burst first.
        assert!(limiter.allow(other, t0));
        let t1 = t0 + Duration::from_secs(20);
        let greedy_got = (0..40).filter(|_| limiter.allow(greedy, t1)).count();
        assert_eq!(greedy_got, 30);
        assert!(
            limiter.allow(other, t1),
            "the rest of the burst is left for others"
        );
        // A new window for the greedy peer once its 10 s are over.
        assert!(limiter.allow(greedy, t1 + Duration::from_secs(10)));
    }

    #[test]
    fn the_peer_map_stays_bounded() {
        let mut limiter = ServiceRateLimiter::new(1000, Duration::from_secs(1)).with_max_peers(4);
        let t0 = Instant::now();
        for i in 0..10 {
            limiter.allow(PeerId::random(), t0 + Duration::from_millis(i));
        }
        assert_eq!(limiter.tracked_peers(), 4);
    }
}
