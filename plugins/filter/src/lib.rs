//! The filter v2 server as a node plugin.

use rwaku_actors::NodeContext;
use rwaku_core::{Plugin, PluginError};

pub const NAME: &str = "filter";

#[derive(Default)]
pub struct FilterPlugin;

impl Plugin<NodeContext> for FilterPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, _ctx: &mut NodeContext) -> Result<(), PluginError> {
        Err(PluginError::new(NAME, "not built yet"))
    }
}
