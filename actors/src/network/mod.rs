//! The network: one `NetworkDriver` task owns the libp2p Swarm; everyone else holds a
//! `NetworkHandle`.

mod behaviour;
mod driver;
mod gossipsub_config;
mod handle;
pub mod inbound_streams;
mod peers;
mod transport;

pub use behaviour::{NodeBehaviour, NodeBehaviourEvent};
pub use driver::{NetworkConfig, NetworkDriver, StartError, TransportKind};
pub use gossipsub_config::{
    GRAYLIST_THRESHOLD, WAKU_MAX_TRANSMIT_SIZE, waku_gossipsub, waku_topic_score_params,
};
pub use handle::{
    GossipMessage, NetworkCommand, NetworkEvent, NetworkHandle, NodeInfo, PeerSummary,
    PublishError, Verdict,
};
pub use inbound_streams::{AlreadyServed, InboundStreams};
pub use peers::PeerBook;
