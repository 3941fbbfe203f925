//! `PeerExchangeCache`: the ENRs this node may hand out. It keeps only records that verify,
//! advertise at least one `waku2` capability and, when they list shards, belong to this
//! node's cluster; at most `capacity` of them, the oldest forgotten first. It is fed by the
//! configured bootstrap ENRs and by peer-exchange answers (discv5 will feed it too).

use std::collections::{HashMap, VecDeque};

use rand::seq::SliceRandom;
use rwaku_actors::libp2p::PeerId;
use rwaku_core::ClusterId;
use rwaku_protocols::enr::{self, WakuEnr};

use crate::enr_peer;

/// nwaku and go-waku keep hundreds to a thousand; a response carries at most 60.
pub const DEFAULT_CAPACITY: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedEnr {
    #[error("the record has no waku2 capability")]
    NoCapabilities,
    #[error("the record belongs to cluster {0}")]
    OtherCluster(ClusterId),
    #[error("the record is this node's own")]
    Own,
    #[error("the record is unusable: {0}")]
    Invalid(String),
}

impl RefusedEnr {
    pub fn label(&self) -> &'static str {
        match self {
            Self::NoCapabilities => "no_capabilities",
            Self::OtherCluster(_) => "other_cluster",
            Self::Own => "own",
            Self::Invalid(_) => "invalid",
        }
    }
}

pub struct PeerExchangeCache {
    cluster: ClusterId,
    own: PeerId,
    capacity: usize,
    records: HashMap<PeerId, WakuEnr>,
    order: VecDeque<PeerId>,
}

impl PeerExchangeCache {
    pub fn new(cluster: ClusterId, own: PeerId, capacity: usize) -> Self {
        Self {
            cluster,
            own,
            capacity: capacity.max(1),
            records: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Adds or refreshes `record` (a higher sequence number replaces a lower one).
    pub fn insert(&mut self, record: WakuEnr) -> Result<PeerId, RefusedEnr> {
        let caps = enr::capabilities(&record).map_err(|e| RefusedEnr::Invalid(e.to_string()))?;
        if caps.is_none_or(|c| c.is_empty()) {
            return Err(RefusedEnr::NoCapabilities);
        }
        if let Some(shards) =
            enr::relay_shards(&record).map_err(|e| RefusedEnr::Invalid(e.to_string()))?
            && shards.cluster() != self.cluster
        {
            return Err(RefusedEnr::OtherCluster(shards.cluster()));
        }
        let peer = enr_peer::peer_id(&record).map_err(|e| RefusedEnr::Invalid(e.to_string()))?;
        if peer == self.own {
            return Err(RefusedEnr::Own);
        }
        match self.records.get(&peer) {
            Some(known) if known.seq() >= record.seq() => return Ok(peer),
            Some(_) => {
                self.records.insert(peer, record);
                return Ok(peer);
            }
            None => {}
        }
        if self.records.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.records.remove(&oldest);
        }
        self.records.insert(peer, record);
        self.order.push_back(peer);
        Ok(peer)
    }

    /// Forgets a peer that turned out to be unusable (wrong cluster, unreachable).
    pub fn remove(&mut self, peer: &PeerId) -> bool {
        if self.records.remove(peer).is_none() {
            return false;
        }
        self.order.retain(|p| p != peer);
        true
    }

    /// Up to `n` records picked at random, none of them `excluding` (the asker itself).
    pub fn sample(&self, n: usize, excluding: &PeerId) -> Vec<WakuEnr> {
        let mut peers: Vec<&PeerId> = self.records.keys().filter(|p| *p != excluding).collect();
        peers.shuffle(&mut rand::thread_rng());
        peers
            .into_iter()
            .take(n)
            .filter_map(|p| self.records.get(p).cloned())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rwaku_protocols::enr::{Capabilities, Fields, RelayShards, SigningKey};

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_slice(&[byte; 32]).expect("a valid secret key")
    }

    fn record(byte: u8, cluster: ClusterId, caps: Capabilities) -> WakuEnr {
        Fields {
            seq: 1,
            ip: Some([127, 0, 0, 1].into()),
            tcp: Some(60000 + u16::from(byte)),
            capabilities: caps,
            shards: Some(RelayShards::new(cluster, [0]).expect("shards")),
            ..Default::default()
        }
        .build(&key(byte))
        .expect("a record")
    }

    fn cache() -> PeerExchangeCache {
        PeerExchangeCache::new(1, PeerId::random(), 3)
    }

    #[test]
    fn keeps_records_of_its_cluster_with_capabilities() {
        let mut c = cache();
        assert!(c.insert(record(1, 1, Capabilities::RELAY)).is_ok());
        assert_eq!(
            c.insert(record(2, 16, Capabilities::RELAY)),
            Err(RefusedEnr::OtherCluster(16))
        );
        assert_eq!(
            c.insert(record(3, 1, Capabilities::empty())),
            Err(RefusedEnr::NoCapabilities)
        );
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn refuses_its_own_record() {
        let own = record(4, 1, Capabilities::RELAY);
        let own_peer = enr_peer::peer_id(&own).expect("peer id");
        let mut c = PeerExchangeCache::new(1, own_peer, 10);
        assert_eq!(c.insert(own), Err(RefusedEnr::Own));
    }

    #[test]
    fn is_bounded_and_forgets_the_oldest() {
        let mut c = cache();
        let first = c.insert(record(1, 1, Capabilities::RELAY)).expect("kept");
        for b in 2..=5 {
            c.insert(record(b, 1, Capabilities::RELAY)).expect("kept");
        }
        assert_eq!(c.len(), 3);
        assert!(!c.remove(&first), "the oldest was forgotten");
    }

    #[test]
    fn a_newer_sequence_number_replaces_the_record() {
        let mut c = cache();
        let mut r = record(1, 1, Capabilities::RELAY);
        let peer = c.insert(r.clone()).expect("kept");
        r.set_seq(9, &key(1)).expect("re-signed");
        c.insert(r).expect("kept");
        let sampled = c.sample(10, &PeerId::random());
        assert_eq!((sampled.len(), sampled[0].seq()), (1, 9));
        assert!(
            c.sample(10, &peer).is_empty(),
            "the asker never gets itself"
        );
    }
}
