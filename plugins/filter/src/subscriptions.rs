//! `FilterSubscriptions`: which peer is subscribed to which (pubsub topic, content topic)
//! criteria, with the limits nwaku applies (peers served, criteria per peer, content topics per
//! request, time to live without a ping). Sans-I/O: the server actor owns one and asks it.
//!
//! An index keyed by pubsub topic then content topic gives the subscribers of a message in
//! time proportional to how many match, whatever the number of subscribers.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use rwaku_actors::libp2p::PeerId;
use rwaku_protocols::filter::{MAX_CONTENT_TOPICS_PER_REQUEST, status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionLimits {
    /// Peers holding a subscription at once (`--filter-max-peers-to-serve`).
    pub max_peers: usize,
    /// Criteria one peer may hold (`--filter-max-criteria`).
    pub max_criteria_per_peer: usize,
    /// How long a peer's subscription lives without a ping or subscribe.
    pub timeout: Duration,
}

impl Default for SubscriptionLimits {
    fn default() -> Self {
        Self {
            max_peers: 1000,
            max_criteria_per_peer: 1000,
            timeout: Duration::from_secs(300),
        }
    }
}

/// Why a subscribe request was refused, with the filter status code it is answered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("BAD_REQUEST: a pubsub topic and at least one content topic are required")]
    MissingCriteria,
    #[error("BAD_REQUEST: {count} content topics, at most {max} per request")]
    TooManyContentTopics { count: usize, max: usize },
    #[error("NOT_FOUND: peer has no subscriptions")]
    NotSubscribed,
    #[error("NOT_FOUND: peer has no subscription to these criteria")]
    CriteriaNotSubscribed,
    #[error("SERVICE_UNAVAILABLE: already serving the maximum of {max} peers")]
    TooManyPeers { max: usize },
    #[error("SERVICE_UNAVAILABLE: peer would hold {would_hold} criteria, at most {max}")]
    TooManyCriteria { would_hold: usize, max: usize },
}

impl SubscriptionError {
    pub fn status_code(&self) -> u32 {
        match self {
            Self::MissingCriteria | Self::TooManyContentTopics { .. } => status::BAD_REQUEST,
            Self::NotSubscribed | Self::CriteriaNotSubscribed => status::NOT_FOUND,
            Self::TooManyPeers { .. } | Self::TooManyCriteria { .. } => status::SERVICE_UNAVAILABLE,
        }
    }

    /// The `type` label under `waku_filter_errors`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::MissingCriteria | Self::TooManyContentTopics { .. } => "bad_request",
            Self::NotSubscribed | Self::CriteriaNotSubscribed => "not_found",
            Self::TooManyPeers { .. } => "max_peers",
            Self::TooManyCriteria { .. } => "max_criteria",
        }
    }
}

#[derive(Debug)]
struct PeerSubscription {
    /// pubsub topic → content topics.
    criteria: HashMap<String, HashSet<String>>,
    criteria_count: usize,
    last_seen: Instant,
}

/// What an unsubscribe left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribed {
    /// Criteria actually removed.
    pub removed: usize,
    /// True when the peer holds no criteria any more and was forgotten.
    pub peer_gone: bool,
}

#[derive(Debug, Default)]
pub struct FilterSubscriptions {
    limits: SubscriptionLimits,
    peers: HashMap<PeerId, PeerSubscription>,
    /// pubsub topic → content topic → subscribed peers.
    index: HashMap<String, HashMap<String, HashSet<PeerId>>>,
    total_criteria: usize,
}

/// The criteria of one request, checked: a non-empty pubsub topic and 1..=100 content
/// topics, duplicates removed.
fn checked_criteria<'a>(
    pubsub_topic: Option<&'a str>,
    content_topics: &'a [String],
) -> Result<(&'a str, HashSet<&'a str>), SubscriptionError> {
    let pubsub = pubsub_topic
        .filter(|t| !t.is_empty())
        .ok_or(SubscriptionError::MissingCriteria)?;
    if content_topics.is_empty() {
        return Err(SubscriptionError::MissingCriteria);
    }
    if content_topics.len() > MAX_CONTENT_TOPICS_PER_REQUEST {
        return Err(SubscriptionError::TooManyContentTopics {
            count: content_topics.len(),
            max: MAX_CONTENT_TOPICS_PER_REQUEST,
        });
    }
    Ok((pubsub, content_topics.iter().map(String::as_str).collect()))
}

impl FilterSubscriptions {
    pub fn new(limits: SubscriptionLimits) -> Self {
        Self {
            limits,
            ..Default::default()
        }
    }

    pub fn limits(&self) -> SubscriptionLimits {
        self.limits
    }

    /// Adds `content_topics` on `pubsub_topic` to the peer's criteria (or refreshes them).
    pub fn subscribe(
        &mut self,
        peer: PeerId,
        pubsub_topic: Option<&str>,
        content_topics: &[String],
        now: Instant,
    ) -> Result<(), SubscriptionError> {
        let (pubsub, topics) = checked_criteria(pubsub_topic, content_topics)?;
        let existing = self.peers.get(&peer);
        if existing.is_none() && self.peers.len() >= self.limits.max_peers {
            return Err(SubscriptionError::TooManyPeers {
                max: self.limits.max_peers,
            });
        }
        let held = existing.map_or(0, |p| p.criteria_count);
        let new = match existing.and_then(|p| p.criteria.get(pubsub)) {
            Some(set) => topics.iter().filter(|t| !set.contains(**t)).count(),
            None => topics.len(),
        };
        if held + new > self.limits.max_criteria_per_peer {
            return Err(SubscriptionError::TooManyCriteria {
                would_hold: held + new,
                max: self.limits.max_criteria_per_peer,
            });
        }
        let entry = self.peers.entry(peer).or_insert_with(|| PeerSubscription {
            criteria: HashMap::new(),
            criteria_count: 0,
            last_seen: now,
        });
        entry.last_seen = now;
        let set = entry.criteria.entry(pubsub.to_string()).or_default();
        let by_content = self.index.entry(pubsub.to_string()).or_default();
        for topic in topics {
            if set.insert(topic.to_string()) {
                entry.criteria_count += 1;
                self.total_criteria += 1;
                by_content
                    .entry(topic.to_string())
                    .or_default()
                    .insert(peer);
            }
        }
        Ok(())
    }

    /// Refreshes the peer's subscription; `NotSubscribed` when it has none.
    pub fn ping(&mut self, peer: PeerId, now: Instant) -> Result<(), SubscriptionError> {
        let entry = self
            .peers
            .get_mut(&peer)
            .ok_or(SubscriptionError::NotSubscribed)?;
        entry.last_seen = now;
        Ok(())
    }

    /// Removes the given criteria; `CriteriaNotSubscribed` when the peer held none of them.
    pub fn unsubscribe(
        &mut self,
        peer: PeerId,
        pubsub_topic: Option<&str>,
        content_topics: &[String],
        now: Instant,
    ) -> Result<Unsubscribed, SubscriptionError> {
        let (pubsub, topics) = checked_criteria(pubsub_topic, content_topics)?;
        let entry = self
            .peers
            .get_mut(&peer)
            .ok_or(SubscriptionError::NotSubscribed)?;
        let mut removed = 0;
        if let Some(set) = entry.criteria.get_mut(pubsub) {
            for topic in topics {
                if set.remove(topic) {
                    removed += 1;
                    Self::unindex(&mut self.index, pubsub, topic, &peer);
                }
            }
            if set.is_empty() {
                entry.criteria.remove(pubsub);
            }
        }
        if removed == 0 {
            return Err(SubscriptionError::CriteriaNotSubscribed);
        }
        entry.criteria_count -= removed;
        entry.last_seen = now;
        self.total_criteria -= removed;
        let peer_gone = entry.criteria_count == 0;
        if peer_gone {
            self.peers.remove(&peer);
        }
        Ok(Unsubscribed { removed, peer_gone })
    }

    /// Forgets everything the peer subscribed to; `NotSubscribed` when it had nothing.
    pub fn unsubscribe_all(&mut self, peer: PeerId) -> Result<usize, SubscriptionError> {
        let entry = self
            .peers
            .remove(&peer)
            .ok_or(SubscriptionError::NotSubscribed)?;
        for (pubsub, topics) in &entry.criteria {
            for topic in topics {
                Self::unindex(&mut self.index, pubsub, topic, &peer);
            }
        }
        self.total_criteria -= entry.criteria_count;
        Ok(entry.criteria_count)
    }

    /// Forgets the peers not seen within the timeout; returns them.
    pub fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let timeout = self.limits.timeout;
        let stale: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last_seen) > timeout)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in &stale {
            let _ = self.unsubscribe_all(*peer);
        }
        stale
    }

    fn unindex(
        index: &mut HashMap<String, HashMap<String, HashSet<PeerId>>>,
        pubsub: &str,
        content: &str,
        peer: &PeerId,
    ) {
        let Some(by_content) = index.get_mut(pubsub) else {
            return;
        };
        if let Some(peers) = by_content.get_mut(content) {
            peers.remove(peer);
            if peers.is_empty() {
                by_content.remove(content);
            }
        }
        if by_content.is_empty() {
            index.remove(pubsub);
        }
    }

    /// The peers subscribed to exactly this pubsub topic and content topic.
    pub fn subscribers<'a>(
        &'a self,
        pubsub_topic: &str,
        content_topic: &str,
    ) -> impl Iterator<Item = PeerId> + 'a {
        self.index
            .get(pubsub_topic)
            .and_then(|by_content| by_content.get(content_topic))
            .into_iter()
            .flat_map(|peers| peers.iter().copied())
    }

    pub fn is_subscribed(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    /// Peers holding at least one criterion.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Criteria held over all peers.
    pub fn criteria_count(&self) -> usize {
        self.total_criteria
    }

    /// Criteria held by one peer.
    pub fn criteria_of(&self, peer: &PeerId) -> usize {
        self.peers.get(peer).map_or(0, |p| p.criteria_count)
    }

    /// Every peer with its (pubsub topic, content topic) criteria, for admin views.
    pub fn snapshot(&self) -> Vec<(PeerId, Vec<(String, String)>)> {
        self.peers
            .iter()
            .map(|(peer, s)| {
                let mut criteria: Vec<(String, String)> = s
                    .criteria
                    .iter()
                    .flat_map(|(p, topics)| topics.iter().map(move |c| (p.clone(), c.clone())))
                    .collect();
                criteria.sort();
                (*peer, criteria)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARD: &str = "/waku/2/rs/1/0";

    fn topics(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn limits(max_peers: usize, max_criteria: usize) -> SubscriptionLimits {
        SubscriptionLimits {
            max_peers,
            max_criteria_per_peer: max_criteria,
            timeout: Duration::from_secs(300),
        }
    }

    #[test]
    fn subscribe_indexes_and_unsubscribe_unindexes() {
        let mut subs = FilterSubscriptions::new(SubscriptionLimits::default());
        let (a, b) = (PeerId::random(), PeerId::random());
        let now = Instant::now();
        subs.subscribe(
            a,
            Some(SHARD),
            &topics(&["/x/1/a/proto", "/x/1/b/proto"]),
            now,
        )
        .expect("a subscribes");
        subs.subscribe(b, Some(SHARD), &topics(&["/x/1/a/proto"]), now)
            .expect("b subscribes");
        let mut matching: Vec<PeerId> = subs.subscribers(SHARD, "/x/1/a/proto").collect();
        matching.sort();
        let mut expected = vec![a, b];
        expected.sort();
        assert_eq!(matching, expected);
        assert_eq!(subs.subscribers(SHARD, "/x/1/b/proto").count(), 1);
        assert_eq!(
            subs.subscribers("/waku/2/rs/1/1", "/x/1/a/proto").count(),
            0,
            "pubsub topic must match too"
        );
        assert_eq!(subs.criteria_count(), 3);

        let out = subs
            .unsubscribe(a, Some(SHARD), &topics(&["/x/1/a/proto"]), now)
            .expect("a unsubscribes from one");
        assert_eq!(
            out,
            Unsubscribed {
                removed: 1,
                peer_gone: false
            }
        );
        assert_eq!(
            subs.subscribers(SHARD, "/x/1/a/proto").collect::<Vec<_>>(),
            vec![b]
        );
        assert_eq!(subs.unsubscribe_all(a), Ok(1));
        assert!(!subs.is_subscribed(&a));
        assert_eq!(
            subs.unsubscribe_all(a),
            Err(SubscriptionError::NotSubscribed)
        );
        assert_eq!(subs.criteria_count(), 1);
    }

    #[test]
    fn missing_or_too_many_criteria_is_a_bad_request() {
        let mut subs = FilterSubscriptions::new(SubscriptionLimits::default());
        let peer = PeerId::random();
        let now = Instant::now();
        for (pubsub, content) in [
            (None, topics(&["/x/1/a/proto"])),
            (Some(""), topics(&["/x/1/a/proto"])),
            (Some(SHARD), vec![]),
        ] {
            let e = subs
                .subscribe(peer, pubsub, &content, now)
                .expect_err("refused");
            assert_eq!(e.status_code(), status::BAD_REQUEST);
            let e = subs
                .unsubscribe(peer, pubsub, &content, now)
                .expect_err("refused");
            assert_eq!(e.status_code(), status::BAD_REQUEST);
        }
        let many: Vec<String> = (0..101).map(|i| format!("/x/1/t{i}/proto")).collect();
        assert_eq!(
            subs.subscribe(peer, Some(SHARD), &many, now),
            Err(SubscriptionError::TooManyContentTopics {
                count: 101,
                max: 100
            })
        );
        assert!(
            subs.subscribe(peer, Some(SHARD), &many[..100], now).is_ok(),
            "exactly 100 is allowed"
        );
    }

    #[test]
    fn ping_and_unsubscribe_without_subscription_are_not_found() {
        let mut subs = FilterSubscriptions::new(SubscriptionLimits::default());
        let peer = PeerId::random();
        let now = Instant::now();
        assert_eq!(subs.ping(peer, now), Err(SubscriptionError::NotSubscribed));
        assert_eq!(
            subs.unsubscribe(peer, Some(SHARD), &topics(&["/x/1/a/proto"]), now)
                .map_err(|e| e.status_code()),
            Err(status::NOT_FOUND)
        );
        subs.subscribe(peer, Some(SHARD), &topics(&["/x/1/a/proto"]), now)
            .expect("subscribes");
        assert_eq!(subs.ping(peer, now), Ok(()));
        assert_eq!(
            subs.unsubscribe(peer, Some(SHARD), &topics(&["/x/1/other/proto"]), now),
            Err(SubscriptionError::CriteriaNotSubscribed)
        );
        assert_eq!(
            subs.unsubscribe(
                peer,
                Some("/waku/2/rs/1/5"),
                &topics(&["/x/1/a/proto"]),
                now
            ),
            Err(SubscriptionError::CriteriaNotSubscribed)
        );
    }

    #[test]
    fn max_peers_and_max_criteria_are_service_unavailable() {
        let mut subs = FilterSubscriptions::new(limits(2, 3));
        let now = Instant::now();
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        subs.subscribe(a, Some(SHARD), &topics(&["/x/1/a/proto"]), now)
            .expect("a");
        subs.subscribe(b, Some(SHARD), &topics(&["/x/1/a/proto"]), now)
            .expect("b");
        assert_eq!(
            subs.subscribe(c, Some(SHARD), &topics(&["/x/1/a/proto"]), now),
            Err(SubscriptionError::TooManyPeers { max: 2 })
        );
        // A subscribed peer may still add criteria up to its own limit.
        subs.subscribe(
            a,
            Some(SHARD),
            &topics(&["/x/1/b/proto", "/x/1/c/proto"]),
            now,
        )
        .expect("a reaches 3");
        let e = subs
            .subscribe(a, Some(SHARD), &topics(&["/x/1/d/proto"]), now)
            .expect_err("a's fourth criterion");
        assert_eq!(e.status_code(), status::SERVICE_UNAVAILABLE);
        // Re-subscribing to held criteria is a refresh, not new criteria.
        subs.subscribe(
            a,
            Some(SHARD),
            &topics(&["/x/1/a/proto", "/x/1/c/proto"]),
            now,
        )
        .expect("refresh");
        assert_eq!(subs.criteria_of(&a), 3);
        // Once b leaves, c fits.
        subs.unsubscribe_all(b).expect("b leaves");
        subs.subscribe(c, Some(SHARD), &topics(&["/x/1/a/proto"]), now)
            .expect("c");
    }

    #[test]
    fn peers_expire_unless_pinged() {
        let mut subs = FilterSubscriptions::new(SubscriptionLimits {
            timeout: Duration::from_secs(10),
            ..SubscriptionLimits::default()
        });
        let t0 = Instant::now();
        let (a, b) = (PeerId::random(), PeerId::random());
        subs.subscribe(a, Some(SHARD), &topics(&["/x/1/a/proto"]), t0)
            .expect("a");
        subs.subscribe(b, Some(SHARD), &topics(&["/x/1/a/proto"]), t0)
            .expect("b");
        subs.ping(b, t0 + Duration::from_secs(8)).expect("b pings");
        assert!(subs.expire(t0 + Duration::from_secs(9)).is_empty());
        assert_eq!(subs.expire(t0 + Duration::from_secs(15)), vec![a]);
        assert!(!subs.is_subscribed(&a));
        assert_eq!(
            subs.subscribers(SHARD, "/x/1/a/proto").collect::<Vec<_>>(),
            vec![b]
        );
        assert_eq!(subs.expire(t0 + Duration::from_secs(30)), vec![b]);
        assert_eq!(subs.criteria_count(), 0);
        assert_eq!(subs.peer_count(), 0);
    }
}
