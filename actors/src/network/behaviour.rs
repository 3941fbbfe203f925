//! The composed libp2p behaviour. Request/response protocols (metadata, store, filter,
//! lightpush, peer exchange) are raw streams, so each protocol actor owns its streams end to
//! end: inbound ones arrive through `InboundStreams` (queued), outbound ones are opened with
//! `libp2p_stream`. Gossipsub is toggled off for nodes that do not relay.

use super::inbound_streams::InboundStreams;
use libp2p::{
    connection_limits, gossipsub, identify, ping, swarm::NetworkBehaviour,
    swarm::behaviour::toggle::Toggle,
};

#[derive(NetworkBehaviour)]
pub struct NodeBehaviour {
    pub limits: connection_limits::Behaviour,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub gossipsub: Toggle<gossipsub::Behaviour>,
    pub streams: libp2p_stream::Behaviour,
    pub inbound: InboundStreams,
}
