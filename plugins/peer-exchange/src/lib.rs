//! The peer exchange responder as a node plugin.

use rwaku_actors::NodeContext;
use rwaku_core::{Plugin, PluginError};

pub const NAME: &str = "peer-exchange";

#[derive(Default)]
pub struct PeerExchangePlugin;

impl Plugin<NodeContext> for PeerExchangePlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, _ctx: &mut NodeContext) -> Result<(), PluginError> {
        // Work in progress (issue 5): the responder is not served yet.
        tracing::warn!("peer exchange is not served by this build yet");
        Ok(())
    }
}
