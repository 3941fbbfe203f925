//! What the driver knows about peers: addresses, identify results, metadata. Bounded: peers
//! that are not connected are forgotten oldest-first once the book is full.

use std::collections::{HashMap, HashSet};

use libp2p::{Multiaddr, PeerId};

use rwaku_core::{ClusterId, ShardId};

use super::handle::PeerSummary;

/// Addresses kept per peer.
const MAX_ADDRESSES_PER_PEER: usize = 8;

#[derive(Debug, Default, Clone)]
struct PeerRecord {
    addresses: Vec<Multiaddr>,
    protocols: Vec<String>,
    agent: Option<String>,
    cluster: Option<ClusterId>,
    shards: Vec<ShardId>,
    connections: usize,
    /// Order of last change, for eviction.
    touched: u64,
}

#[derive(Debug)]
pub struct PeerBook {
    peers: HashMap<PeerId, PeerRecord>,
    static_peers: HashSet<PeerId>,
    capacity: usize,
    clock: u64,
}

impl PeerBook {
    pub fn new(capacity: usize) -> Self {
        Self {
            peers: HashMap::new(),
            static_peers: HashSet::new(),
            capacity: capacity.max(1),
            clock: 0,
        }
    }

    fn record(&mut self, peer: PeerId) -> &mut PeerRecord {
        self.clock += 1;
        if !self.peers.contains_key(&peer) && self.peers.len() >= self.capacity {
            self.evict_one();
        }
        let clock = self.clock;
        let record = self.peers.entry(peer).or_default();
        record.touched = clock;
        record
    }

    fn evict_one(&mut self) {
        let victim = self
            .peers
            .iter()
            .filter(|(id, r)| r.connections == 0 && !self.static_peers.contains(id))
            .min_by_key(|(_, r)| r.touched)
            .map(|(id, _)| *id);
        if let Some(id) = victim {
            self.peers.remove(&id);
        }
    }

    pub fn mark_static(&mut self, peer: PeerId, address: Multiaddr) {
        self.static_peers.insert(peer);
        self.add_address(peer, address);
    }

    pub fn is_static(&self, peer: &PeerId) -> bool {
        self.static_peers.contains(peer)
    }

    pub fn add_address(&mut self, peer: PeerId, address: Multiaddr) {
        let record = self.record(peer);
        if !record.addresses.contains(&address) {
            if record.addresses.len() >= MAX_ADDRESSES_PER_PEER {
                record.addresses.remove(0);
            }
            record.addresses.push(address);
        }
    }

    /// Counts a new connection; true if it is the first one to this peer.
    pub fn connected(&mut self, peer: PeerId, address: Multiaddr) -> bool {
        self.add_address(peer, address);
        let record = self.record(peer);
        record.connections += 1;
        record.connections == 1
    }

    /// Counts a closed connection; true if it was the last one.
    pub fn disconnected(&mut self, peer: PeerId) -> bool {
        let record = self.record(peer);
        record.connections = record.connections.saturating_sub(1);
        record.connections == 0
    }

    pub fn identified(&mut self, peer: PeerId, protocols: Vec<String>, agent: String) {
        let record = self.record(peer);
        record.protocols = protocols;
        record.agent = Some(agent);
    }

    pub fn set_metadata(&mut self, peer: PeerId, cluster: Option<ClusterId>, shards: Vec<ShardId>) {
        let record = self.record(peer);
        record.cluster = cluster;
        record.shards = shards;
    }

    pub fn summaries(&self) -> Vec<PeerSummary> {
        let mut out: Vec<PeerSummary> = self
            .peers
            .iter()
            .map(|(id, r)| PeerSummary {
                peer_id: *id,
                addresses: r.addresses.clone(),
                protocols: r.protocols.clone(),
                agent: r.agent.clone(),
                cluster: r.cluster,
                shards: r.shards.clone(),
                connected: r.connections > 0,
                is_static: self.static_peers.contains(id),
            })
            .collect();
        out.sort_by_key(|p| p.peer_id);
        out
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> Multiaddr {
        "/ip4/127.0.0.1/tcp/1".parse().expect("multiaddr")
    }

    #[test]
    fn first_and_last_connection_are_reported() {
        let mut book = PeerBook::new(10);
        let p = PeerId::random();
        assert!(book.connected(p, addr()));
        assert!(!book.connected(p, addr()));
        assert!(!book.disconnected(p));
        assert!(book.disconnected(p));
    }

    #[test]
    fn book_is_bounded_and_keeps_connected_peers() {
        let mut book = PeerBook::new(3);
        let connected = PeerId::random();
        book.connected(connected, addr());
        for _ in 0..10 {
            book.add_address(PeerId::random(), addr());
        }
        assert!(book.len() <= 3);
        assert!(
            book.summaries()
                .iter()
                .any(|s| s.peer_id == connected && s.connected)
        );
    }
}
