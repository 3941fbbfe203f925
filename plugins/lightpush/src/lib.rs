//! The lightpush v3 and v2 servers as a node plugin.

use rwaku_actors::NodeContext;
use rwaku_core::{Plugin, PluginError};

pub const NAME: &str = "lightpush";

#[derive(Default)]
pub struct LightpushPlugin;

impl Plugin<NodeContext> for LightpushPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, _ctx: &mut NodeContext) -> Result<(), PluginError> {
        Err(PluginError::new(NAME, "not built yet"))
    }
}
