//! Peers that keep forwarding invalid messages get disconnected, as nwaku does for peers whose
//! gossipsub score falls below the graylist threshold (`disconnectBadPeers`). The driver's
//! gossipsub neither scores invalid deliveries on our topics (no per-topic score parameters are
//! set) nor closes connections of graylisted peers, so the relay, which issues the Reject
//! verdicts, keeps the same P4 arithmetic itself: score = weight · n² per topic, n decaying by
//! half every 12 s, disconnect below −10000 (waku-wire-facts §2.2).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use rwaku_actors::libp2p::PeerId;
use rwaku_core::PubsubTopic;

/// nwaku's P4 parameters and thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PenaltyParams {
    pub invalid_message_weight: f64,
    /// Fraction of the counter left after each decay interval.
    pub decay: f64,
    pub decay_interval: Duration,
    /// A counter below this decays to zero.
    pub decay_to_zero: f64,
    pub graylist_threshold: f64,
    /// Peers tracked at most; the least penalised one makes room for a new one.
    pub max_peers: usize,
}

impl Default for PenaltyParams {
    fn default() -> Self {
        Self {
            invalid_message_weight: -100.0,
            decay: 0.5,
            decay_interval: Duration::from_secs(12),
            decay_to_zero: 0.01,
            graylist_threshold: -10_000.0,
            max_peers: 4096,
        }
    }
}

#[derive(Debug)]
struct PeerRecord {
    /// Invalid deliveries per topic (P4 is per topic; the peer's score is their sum).
    topics: Vec<(PubsubTopic, f64)>,
    last_decay: Instant,
}

impl PeerRecord {
    fn decay(&mut self, now: Instant, params: &PenaltyParams) {
        let elapsed = now.saturating_duration_since(self.last_decay);
        let interval = params.decay_interval.max(Duration::from_millis(1));
        let steps = (elapsed.as_nanos() / interval.as_nanos()) as u32;
        if steps == 0 {
            return;
        }
        // Whole intervals only, as gossipsub's refresh does; the remainder carries over.
        self.last_decay += interval * steps;
        let factor = params.decay.powi(steps.min(1024) as i32);
        for (_, n) in &mut self.topics {
            *n *= factor;
            if *n < params.decay_to_zero {
                *n = 0.0;
            }
        }
        self.topics.retain(|(_, n)| *n > 0.0);
    }

    fn score(&self, params: &PenaltyParams) -> f64 {
        self.topics
            .iter()
            .map(|(_, n)| params.invalid_message_weight * n * n)
            .sum()
    }
}

#[derive(Debug, Default)]
pub struct SenderPenalties {
    params: PenaltyParams,
    peers: HashMap<PeerId, PeerRecord>,
}

impl SenderPenalties {
    pub fn new(params: PenaltyParams) -> Self {
        Self {
            params,
            peers: HashMap::new(),
        }
    }

    /// Counts one invalid message forwarded by `peer` on `topic`; true if the peer is now
    /// below the graylist threshold and should be disconnected.
    pub fn record_invalid(&mut self, peer: PeerId, topic: &PubsubTopic, now: Instant) -> bool {
        if !self.peers.contains_key(&peer) && self.peers.len() >= self.params.max_peers {
            self.evict_least_penalised(now);
        }
        let params = self.params;
        let record = self.peers.entry(peer).or_insert_with(|| PeerRecord {
            topics: Vec::new(),
            last_decay: now,
        });
        record.decay(now, &params);
        match record.topics.iter_mut().find(|(t, _)| t == topic) {
            Some((_, n)) => *n += 1.0,
            None => record.topics.push((topic.clone(), 1.0)),
        }
        record.score(&params) < params.graylist_threshold
    }

    /// Whether `peer` is below the graylist threshold now.
    pub fn is_graylisted(&mut self, peer: &PeerId, now: Instant) -> bool {
        let params = self.params;
        let Some(record) = self.peers.get_mut(peer) else {
            return false;
        };
        record.decay(now, &params);
        if record.topics.is_empty() {
            self.peers.remove(peer);
            return false;
        }
        record.score(&params) < params.graylist_threshold
    }

    /// The peer's penalty score now (0 when nothing is recorded).
    pub fn score(&mut self, peer: &PeerId, now: Instant) -> f64 {
        let params = self.params;
        self.peers
            .get_mut(peer)
            .map(|r| {
                r.decay(now, &params);
                r.score(&params)
            })
            .unwrap_or(0.0)
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    fn evict_least_penalised(&mut self, now: Instant) {
        let params = self.params;
        let victim = self
            .peers
            .iter_mut()
            .map(|(peer, record)| {
                record.decay(now, &params);
                (*peer, record.score(&params))
            })
            // Scores are ≤ 0: the largest is the least penalised.
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(peer, _)| peer);
        if let Some(peer) = victim {
            self.peers.remove(&peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> PubsubTopic {
        PubsubTopic::static_shard(16, 32)
    }

    #[test]
    fn eleven_invalid_messages_cross_the_graylist() {
        let mut p = SenderPenalties::default();
        let peer = PeerId::random();
        let now = Instant::now();
        // −100 · 10² = −10000 is not below −10000; the 11th message is.
        for i in 1..=10 {
            assert!(!p.record_invalid(peer, &topic(), now), "crossed after {i}");
        }
        assert!(p.record_invalid(peer, &topic(), now));
        assert!(p.is_graylisted(&peer, now));
        assert_eq!(p.score(&peer, now), -100.0 * 121.0);
    }

    #[test]
    fn penalties_decay_by_half_per_interval_and_then_vanish() {
        let mut p = SenderPenalties::default();
        let peer = PeerId::random();
        let start = Instant::now();
        for _ in 0..12 {
            p.record_invalid(peer, &topic(), start);
        }
        assert!(p.is_graylisted(&peer, start));
        // 12 → 6 after one interval: −3600, above the threshold again.
        let later = start + Duration::from_secs(12);
        assert!(!p.is_graylisted(&peer, later));
        assert_eq!(p.score(&peer, later), -3600.0);
        // Part of an interval does not decay.
        assert_eq!(p.score(&peer, later + Duration::from_secs(11)), -3600.0);
        // 6 · 0.5^10 < 0.01: gone.
        assert!(!p.is_graylisted(&peer, later + Duration::from_secs(120)));
        assert!(p.is_empty());
    }

    #[test]
    fn topics_add_up_and_other_peers_are_untouched() {
        let mut p = SenderPenalties::default();
        let (bad, good) = (PeerId::random(), PeerId::random());
        let now = Instant::now();
        let other = PubsubTopic::static_shard(16, 64);
        for _ in 0..8 {
            p.record_invalid(bad, &topic(), now);
        }
        for _ in 0..7 {
            p.record_invalid(bad, &other, now);
        }
        // 64·(−100) + 49·(−100) = −11300.
        assert!(p.is_graylisted(&bad, now));
        assert!(!p.is_graylisted(&good, now));
        assert_eq!(p.score(&good, now), 0.0);
    }

    #[test]
    fn the_table_is_bounded_and_keeps_the_worst() {
        let mut p = SenderPenalties::new(PenaltyParams {
            max_peers: 3,
            ..Default::default()
        });
        let now = Instant::now();
        let worst = PeerId::random();
        for _ in 0..20 {
            p.record_invalid(worst, &topic(), now);
        }
        for _ in 0..10 {
            p.record_invalid(PeerId::random(), &topic(), now);
        }
        assert_eq!(p.len(), 3);
        assert!(p.is_graylisted(&worst, now));
    }
}
