//! rwaku-actors: the runtime every plugin runs in. One tokio task (the `NetworkDriver`) owns
//! the libp2p Swarm; actors hold a cloneable `NetworkHandle` and get events over bounded
//! channels. The `Supervisor` starts the configured plugins, watches critical tasks and shuts
//! the node down cleanly.

pub mod bus;
pub mod context;
pub mod health;
pub mod local_enr;
pub mod metadata;
pub mod network;
pub mod node_key;
pub mod rate_limit;
pub mod relay_port;
pub mod rest_message;
pub mod rest_routes;
pub mod runtime;
pub mod service_rate_limit;
pub mod stream_server;
pub mod supervisor;
pub mod validation;

pub use bus::EventBus;
pub use context::NodeContext;
pub use health::HealthRegistry;
pub use network::{NetworkCommand, NetworkEvent, NetworkHandle};
pub use rate_limit::PeerRateLimiter;
pub use relay_port::{PublishError, PublishReceipt, RelayPort, RelayPublish};
pub use service_rate_limit::ServiceRateLimiter;
pub use supervisor::Supervisor;
pub use validation::{ValidateMessage, ValidationOutcome, ValidatorRegistry};

/// A plugin as the runtime starts it.
pub type NodePlugin = Box<dyn rwaku_core::Plugin<NodeContext>>;

/// Re-exported so plugins name one libp2p version.
pub use libp2p;
pub use libp2p_stream;
