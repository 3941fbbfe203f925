//! The plugin contract. A plugin is one capability (relay, store, filter, …): it starts its
//! actors inside the context the runtime hands it and meets other plugins only through typed
//! messages. The context type belongs to the runtime crate, so this crate stays free of actix.

/// A plugin that failed to start. Names the plugin and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin {plugin} failed to start: {reason}")]
pub struct PluginError {
    pub plugin: &'static str,
    pub reason: String,
}

impl PluginError {
    pub fn new(plugin: &'static str, reason: impl Into<String>) -> Self {
        Self {
            plugin,
            reason: reason.into(),
        }
    }
}

pub trait Plugin<Ctx>: Send {
    /// A short stable name, used in logs and `/health`.
    fn name(&self) -> &'static str;

    /// Starts the plugin's actors. Called once, in dependency order, inside the actor system.
    fn start(self: Box<Self>, ctx: &mut Ctx) -> Result<(), PluginError>;
}
