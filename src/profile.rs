//! Which plugins a binary runs. The build's cargo features say what is linked in; the
//! binary (full, relay-only, store) says what it offers; the configuration says what is on.
//! Asking for something the build lacks stops the node with the feature to build with.

use rwaku_actors::NodePlugin;
use rwaku_core::{ConfigError, NodeConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `rwaku`: everything the build has.
    Full,
    /// `rwaku-relay`: relay and its companions, never a store.
    Relay,
    /// `rwaku-store`: relay plus the store, with `--store` on by default.
    Store,
}

impl Profile {
    pub fn binary(self) -> &'static str {
        match self {
            Self::Full => "rwaku",
            Self::Relay => "rwaku-relay",
            Self::Store => "rwaku-store",
        }
    }
}

#[allow(dead_code)] // unused in builds that have every feature
fn missing(key: &str, feature: &str) -> ConfigError {
    ConfigError::new(
        key,
        format!(
            "this binary was built without the `{feature}` feature; rebuild with `cargo build --release --features {feature}` (or the full-node default)"
        ),
    )
}

/// The plugins to start, in start order (REST last, so every route is in place when it
/// starts serving).
pub fn plugins_for(profile: Profile, config: &NodeConfig) -> Result<Vec<NodePlugin>, ConfigError> {
    let mut plugins: Vec<NodePlugin> = Vec::new();
    if config.store && profile == Profile::Relay {
        return Err(ConfigError::new(
            "store",
            "rwaku-relay is the relay-only binary; run rwaku or rwaku-store for a store node",
        ));
    }
    if !config.protected_shard.is_empty() {
        #[cfg(feature = "dos-validator")]
        plugins.push(Box::new(rwaku_plugin_dos_validator::DosValidatorPlugin));
        #[cfg(not(feature = "dos-validator"))]
        return Err(missing("protected-shard", "dos-validator"));
    }
    if config.relay {
        #[cfg(feature = "relay")]
        plugins.push(Box::new(rwaku_plugin_relay::RelayPlugin));
        #[cfg(not(feature = "relay"))]
        return Err(missing("relay", "relay"));
    }
    if config.store {
        #[cfg(feature = "store")]
        plugins.push(Box::new(rwaku_plugin_store::StorePlugin));
        #[cfg(not(feature = "store"))]
        return Err(missing("store", "store"));
    }
    if config.filter || config.filternode.is_some() {
        #[cfg(feature = "filter")]
        plugins.push(Box::new(rwaku_plugin_filter::FilterPlugin));
        #[cfg(not(feature = "filter"))]
        return Err(missing("filter", "filter"));
    }
    if config.lightpush || config.lightpushnode.is_some() {
        #[cfg(feature = "lightpush")]
        plugins.push(Box::new(rwaku_plugin_lightpush::LightpushPlugin));
        #[cfg(not(feature = "lightpush"))]
        return Err(missing("lightpush", "lightpush"));
    }
    // The responder is on by default as in nwaku, so a build without it simply does not
    // answer; asking a peer for peers needs the feature.
    #[cfg(feature = "peer-exchange")]
    if config.peer_exchange || config.peer_exchange_node.is_some() {
        plugins.push(Box::new(rwaku_plugin_peer_exchange::PeerExchangePlugin));
    }
    #[cfg(not(feature = "peer-exchange"))]
    if config.peer_exchange_node.is_some() {
        return Err(missing("peer-exchange-node", "peer-exchange"));
    }
    if config.metrics_server {
        #[cfg(feature = "metrics")]
        plugins.push(Box::new(
            rwaku_plugin_metrics::MetricsPlugin::install()
                .map_err(|e| ConfigError::new("metrics-server", e.reason))?,
        ));
        #[cfg(not(feature = "metrics"))]
        return Err(missing("metrics-server", "metrics"));
    }
    if config.rest {
        #[cfg(feature = "rest-api")]
        plugins.push(Box::new(rwaku_plugin_rest_api::RestApiPlugin));
        #[cfg(not(feature = "rest-api"))]
        return Err(missing("rest", "rest-api"));
    }
    Ok(plugins)
}
