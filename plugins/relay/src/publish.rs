//! Publishing a message this node originates (REST, the control handle): the typed request a
//! `RelayShard` answers, what comes back, and the ways it can be refused.

use actix::Message;
use rwaku_core::WakuMessage;

/// Publish `message` on the shard that receives this. The shard runs its own validators
/// first, so the node never relays what it would reject from a peer.
#[derive(Debug, Clone)]
pub struct Publish {
    pub message: WakuMessage,
}

impl Message for Publish {
    type Result = Result<PublishReceipt, PublishError>;
}

pub use rwaku_actors::relay_port::{PublishError, PublishReceipt};
