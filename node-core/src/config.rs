//! `NodeConfig`: every setting of a node, named after nwaku's flags so an operator can move a
//! unit file or TOML file over. The binary layers defaults < TOML file < `RWAKU_*` environment
//! < CLI flags into this struct; `validate` then checks what serde cannot.

use std::{net::IpAddr, path::PathBuf};

use serde::{Deserialize, Serialize};

use crate::{
    rate_limit::RateLimitSpec,
    topics::{ClusterId, MAX_SHARD_INDEX, ShardId},
};

/// A configuration value that is present but wrong. Names the key, as the flag is spelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for `{key}`: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// The log levels nwaku accepts, in order of verbosity.
pub const LOG_LEVELS: [&str; 7] = ["TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "FATAL"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Peers of another cluster are disconnected after the metadata exchange.
    pub cluster_id: ClusterId,
    /// Shards to relay; empty means every shard of `num-shards-in-network`.
    pub shard: Vec<ShardId>,
    /// Shards of the cluster for autosharding; 0 means static sharding only.
    pub num_shards_in_network: u16,
    /// secp256k1 private key, 64 hex characters. Default: kept in the data directory.
    pub nodekey: Option<String>,
    pub listen_address: IpAddr,
    pub tcp_port: u16,
    /// Added to every port, handy for several nodes on one host.
    pub ports_shift: u16,
    pub websocket_support: bool,
    pub websocket_port: u16,
    /// Multiaddrs with `/p2p/<peer id>` to dial at start and keep connected.
    pub staticnode: Vec<String>,
    pub max_connections: u32,
    pub agent_string: String,
    pub relay: bool,
    /// `<shard>:<public key hex>`: only messages signed by that key are relayed on the shard.
    pub protected_shard: Vec<String>,
    /// Messages kept per topic for `GET /relay/v1/messages/{topic}`.
    pub rest_relay_cache_capacity: u32,
    pub store: bool,
    /// `sqlite://<path>` or `postgres://user:pass@host:port/db`; default
    /// `sqlite://<data-dir>/store.sqlite3`.
    pub store_message_db_url: Option<String>,
    /// `time:<seconds>`, `capacity:<n>`, `size:<N>MB|GB` or `none`.
    pub store_message_retention_policy: String,
    pub store_max_num_db_connections: u32,
    /// Mount the filter v2 server.
    pub filter: bool,
    /// Subscribed peers the filter server holds at once.
    pub filter_max_peers_to_serve: u32,
    /// (pubsub topic, content topic) pairs one peer may hold.
    pub filter_max_criteria: u32,
    /// Seconds a subscription lives without a ping or a refresh.
    pub filter_subscription_timeout: u64,
    /// Multiaddr with `/p2p/<id>` of a remote filter server the node subscribes with (for
    /// the `/filter/v2/*` REST routes).
    pub filternode: Option<String>,
    /// Mount the lightpush v3 and v2 servers (needs relay).
    pub lightpush: bool,
    /// Multiaddr with `/p2p/<id>` of a remote lightpush server (for the REST routes when the
    /// node has no lightpush server of its own).
    pub lightpushnode: Option<String>,
    /// Mount the peer-exchange responder.
    pub peer_exchange: bool,
    /// Multiaddr with `/p2p/<id>` of a peer to ask for peers at start.
    pub peer_exchange_node: Option<String>,
    /// ENRs (`enr:…`) of known nodes, repeatable. Without discv5 they seed the peer-exchange
    /// cache.
    pub discv5_bootstrap_node: Vec<String>,
    /// `[proto:]volume/period<h|m|s|ms>`, repeatable; proto is store, storev3, lightpush,
    /// px or filter; without proto the limit is global.
    pub rate_limit: Vec<String>,
    pub rest: bool,
    pub rest_address: IpAddr,
    pub rest_port: u16,
    /// Mounts `/admin/v1/*`.
    pub rest_admin: bool,
    pub metrics_server: bool,
    pub metrics_server_address: IpAddr,
    pub metrics_server_port: u16,
    pub log_level: String,
    /// Where the node key and the embedded store live.
    pub data_dir: PathBuf,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            cluster_id: 0,
            shard: Vec::new(),
            num_shards_in_network: 1,
            nodekey: None,
            listen_address: IpAddr::from([0, 0, 0, 0]),
            tcp_port: 60000,
            ports_shift: 0,
            websocket_support: false,
            websocket_port: 8000,
            staticnode: Vec::new(),
            max_connections: 50,
            agent_string: concat!("rwaku-", env!("CARGO_PKG_VERSION")).to_string(),
            relay: true,
            protected_shard: Vec::new(),
            rest_relay_cache_capacity: 50,
            store: false,
            store_message_db_url: None,
            store_message_retention_policy: "time:172800".to_string(),
            store_max_num_db_connections: 50,
            filter: false,
            filter_max_peers_to_serve: 1000,
            filter_max_criteria: 1000,
            filter_subscription_timeout: 300,
            filternode: None,
            lightpush: false,
            lightpushnode: None,
            peer_exchange: true,
            peer_exchange_node: None,
            discv5_bootstrap_node: Vec::new(),
            rate_limit: Vec::new(),
            rest: true,
            rest_address: IpAddr::from([127, 0, 0, 1]),
            rest_port: 8645,
            rest_admin: false,
            metrics_server: false,
            metrics_server_address: IpAddr::from([127, 0, 0, 1]),
            metrics_server_port: 8008,
            log_level: "INFO".to_string(),
            data_dir: PathBuf::from("./rwaku-data"),
        }
    }
}

impl NodeConfig {
    /// Checks the values serde accepted but the node cannot run with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(bad) = self.shard.iter().find(|s| **s > MAX_SHARD_INDEX) {
            return Err(ConfigError::new(
                "shard",
                format!("{bad} is above the highest shard index {MAX_SHARD_INDEX}"),
            ));
        }
        if self.num_shards_in_network > MAX_SHARD_INDEX + 1 {
            return Err(ConfigError::new(
                "num-shards-in-network",
                format!(
                    "{} is more than the 1024 shards of a cluster",
                    self.num_shards_in_network
                ),
            ));
        }
        if let Some(bad) = self
            .shard
            .iter()
            .find(|s| self.num_shards_in_network > 0 && **s >= self.num_shards_in_network)
        {
            return Err(ConfigError::new(
                "shard",
                format!(
                    "{bad} is outside the {} shards of num-shards-in-network (set it to 0 for static sharding)",
                    self.num_shards_in_network
                ),
            ));
        }
        if !LOG_LEVELS.contains(&self.log_level.to_ascii_uppercase().as_str()) {
            return Err(ConfigError::new(
                "log-level",
                format!(
                    "{:?} is not one of {}",
                    self.log_level,
                    LOG_LEVELS.join(", ")
                ),
            ));
        }
        if let Some(key) = &self.nodekey {
            let digits = key.strip_prefix("0x").unwrap_or(key);
            if digits.len() != 64 || hex::decode(digits).is_err() {
                return Err(ConfigError::new(
                    "nodekey",
                    "expected 64 hex characters (a secp256k1 private key)",
                ));
            }
        }
        for (key, port) in [
            ("tcp-port", self.tcp_port),
            ("websocket-port", self.websocket_port),
            ("rest-port", self.rest_port),
            ("metrics-server-port", self.metrics_server_port),
        ] {
            if port != 0 && port.checked_add(self.ports_shift).is_none() {
                return Err(ConfigError::new(
                    key,
                    format!(
                        "{port} plus ports-shift {} is above 65535",
                        self.ports_shift
                    ),
                ));
            }
        }
        if self.store_max_num_db_connections == 0 {
            return Err(ConfigError::new(
                "store-max-num-db-connections",
                "must be at least 1",
            ));
        }
        for (key, value) in [
            (
                "filter-max-peers-to-serve",
                self.filter_max_peers_to_serve as u64,
            ),
            ("filter-max-criteria", self.filter_max_criteria as u64),
            (
                "filter-subscription-timeout",
                self.filter_subscription_timeout,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::new(key, "must be at least 1"));
            }
        }
        for spec in &self.rate_limit {
            RateLimitSpec::parse(spec)
                .map_err(|e| ConfigError::new("rate-limit", e.to_string()))?;
        }
        if self.lightpush && !self.relay {
            return Err(ConfigError::new(
                "lightpush",
                "the lightpush server publishes through relay; turn relay on (as nwaku requires)",
            ));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::new("max-connections", "must be at least 1"));
        }
        Ok(())
    }

    /// A port with `ports-shift` applied; 0 stays 0 (let the OS choose).
    pub fn shifted(&self, port: u16) -> u16 {
        if port == 0 {
            0
        } else {
            port.saturating_add(self.ports_shift)
        }
    }

    /// The store database URL, with the embedded SQLite default filled in.
    pub fn store_db_url(&self) -> String {
        self.store_message_db_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("store.sqlite3").display())
        })
    }

    /// The `--rate-limit` entry for `protocol` (a protocol entry wins over the global one).
    pub fn rate_limit_for(&self, protocol: &str) -> Option<RateLimitSpec> {
        self.rate_limit_for_any(&[protocol])
    }

    /// The first `--rate-limit` entry naming one of `protocols` (in that order of
    /// preference), else the global one: store v3 takes `storev3`, then `store`.
    pub fn rate_limit_for_any(&self, protocols: &[&str]) -> Option<RateLimitSpec> {
        let specs: Vec<RateLimitSpec> = self
            .rate_limit
            .iter()
            .filter_map(|s| RateLimitSpec::parse(s).ok())
            .collect();
        protocols
            .iter()
            .find_map(|p| specs.iter().find(|s| s.protocol.as_deref() == Some(*p)))
            .or_else(|| specs.iter().find(|s| s.protocol.is_none()))
            .cloned()
    }

    /// The shards this node relays: the configured ones, or every autosharding shard.
    pub fn relay_shards(&self) -> Vec<ShardId> {
        if !self.shard.is_empty() {
            let mut shards = self.shard.clone();
            shards.sort_unstable();
            shards.dedup();
            return shards;
        }
        (0..self.num_shards_in_network).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_prefer_the_named_protocol_then_the_global_entry() {
        let config = NodeConfig {
            rate_limit: vec!["9/1s".into(), "store:5/1m".into(), "lightpush:2/1s".into()],
            ..Default::default()
        };
        let volume = |protocols: &[&str]| config.rate_limit_for_any(protocols).map(|s| s.volume);
        assert_eq!(volume(&["storev3", "store"]), Some(5));
        assert_eq!(volume(&["lightpush"]), Some(2));
        assert_eq!(volume(&["px"]), Some(9), "the global entry");
        let none = NodeConfig::default();
        assert_eq!(none.rate_limit_for("filter"), None);
    }

    #[test]
    fn defaults_follow_nwaku() {
        let c = NodeConfig::default();
        assert_eq!(
            (
                c.tcp_port,
                c.websocket_port,
                c.rest_port,
                c.metrics_server_port
            ),
            (60000, 8000, 8645, 8008)
        );
        assert!(c.relay && c.rest && !c.store && !c.metrics_server);
        assert_eq!(c.relay_shards(), vec![0]);
        c.validate().expect("defaults are valid");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err =
            serde_json::from_str::<NodeConfig>(r#"{"tcp-prot": 1}"#).expect_err("unknown key");
        assert!(err.to_string().contains("tcp-prot"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases: [(&str, NodeConfig); 4] = [
            (
                "shard",
                NodeConfig {
                    shard: vec![1024],
                    ..Default::default()
                },
            ),
            (
                "shard",
                NodeConfig {
                    shard: vec![3],
                    num_shards_in_network: 2,
                    ..Default::default()
                },
            ),
            (
                "log-level",
                NodeConfig {
                    log_level: "LOUD".into(),
                    ..Default::default()
                },
            ),
            (
                "nodekey",
                NodeConfig {
                    nodekey: Some("abc".into()),
                    ..Default::default()
                },
            ),
        ];
        for (key, config) in cases {
            assert_eq!(config.validate().expect_err("invalid").key, key);
        }
    }

    #[test]
    fn static_shards_are_sorted_and_unique() {
        let c = NodeConfig {
            shard: vec![64, 32, 64],
            num_shards_in_network: 0,
            ..Default::default()
        };
        c.validate().expect("valid");
        assert_eq!(c.relay_shards(), vec![32, 64]);
    }
}
