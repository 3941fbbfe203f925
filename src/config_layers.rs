//! Layers the configuration: defaults < TOML file < `RWAKU_*` environment < CLI flags, into
//! one `NodeConfig`. Unknown keys are an error at every layer; nwaku's deprecated names are
//! accepted with a warning.

use std::path::Path;

use config::{Config, ConfigBuilder, File, FileFormat, builder::DefaultState};
use rwaku_core::{NodeConfig, PubsubTopic};

use crate::{cli::CliArgs, profile::Profile};

const ENV_PREFIX: &str = "RWAKU_";

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: [&str; 5] = [
    "shard",
    "staticnode",
    "protected-shard",
    "rate-limit",
    "discv5-bootstrap-node",
];

/// Deprecated keys that are ignored, with the warning to print.
const IGNORED_KEYS: [(&str, &str); 2] = [
    (
        "keep-alive",
        "keep-alive is deprecated in nwaku and ignored: connections are always kept alive",
    ),
    (
        "rest-private",
        "rest-private is deprecated in nwaku and ignored",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("configuration file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("configuration: {0}")]
    Layers(String),
    #[error(transparent)]
    Invalid(#[from] rwaku_core::ConfigError),
}

fn set(
    builder: ConfigBuilder<DefaultState>,
    key: &str,
    value: impl Into<config::Value>,
) -> Result<ConfigBuilder<DefaultState>, LoadError> {
    builder
        .set_override(key, value)
        .map_err(|e| LoadError::Layers(e.to_string()))
}

fn env_layer(
    mut builder: ConfigBuilder<DefaultState>,
    vars: &[(String, String)],
) -> Result<ConfigBuilder<DefaultState>, LoadError> {
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let key = rest.to_ascii_lowercase().replace('_', "-");
        if key == "config-file" {
            continue;
        }
        builder = if LIST_KEYS.contains(&key.as_str()) {
            let items: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            set(builder, &key, items)?
        } else {
            set(builder, &key, value.clone())?
        };
    }
    Ok(builder)
}

fn cli_layer(
    mut builder: ConfigBuilder<DefaultState>,
    args: &CliArgs,
) -> Result<ConfigBuilder<DefaultState>, LoadError> {
    macro_rules! over {
        ($key:literal, $value:expr) => {
            if let Some(v) = $value {
                builder = set(builder, $key, v)?;
            }
        };
    }
    over!("cluster-id", args.cluster_id.map(i64::from));
    over!(
        "shard",
        args.shard
            .as_ref()
            .map(|v| v.iter().map(|s| i64::from(*s)).collect::<Vec<_>>())
    );
    over!(
        "num-shards-in-network",
        args.num_shards_in_network.map(i64::from)
    );
    over!("nodekey", args.nodekey.clone());
    over!("listen-address", args.listen_address.map(|a| a.to_string()));
    over!("tcp-port", args.tcp_port.map(i64::from));
    over!("ports-shift", args.ports_shift.map(i64::from));
    over!("websocket-support", args.websocket_support);
    over!("websocket-port", args.websocket_port.map(i64::from));
    over!("staticnode", args.staticnode.clone());
    over!("max-connections", args.max_connections.map(i64::from));
    over!("agent-string", args.agent_string.clone());
    over!("relay", args.relay);
    over!("store", args.store);
    over!("store-message-db-url", args.store_message_db_url.clone());
    over!(
        "store-message-retention-policy",
        args.store_message_retention_policy.clone()
    );
    over!(
        "store-max-num-db-connections",
        args.store_max_num_db_connections.map(i64::from)
    );
    over!("filter", args.filter);
    over!(
        "filter-max-peers-to-serve",
        args.filter_max_peers_to_serve.map(i64::from)
    );
    over!(
        "filter-max-criteria",
        args.filter_max_criteria.map(i64::from)
    );
    over!(
        "filter-subscription-timeout",
        args.filter_subscription_timeout.map(|v| v as i64)
    );
    over!("filternode", args.filternode.clone());
    over!("lightpush", args.lightpush);
    over!("lightpushnode", args.lightpushnode.clone());
    over!("peer-exchange-node", args.peer_exchange_node.clone());
    over!("discv5-bootstrap-node", args.discv5_bootstrap_node.clone());
    over!("peer-exchange", args.peer_exchange);
    over!("rate-limit", args.rate_limit.clone());
    over!("protected-shard", args.protected_shard.clone());
    over!(
        "rest-relay-cache-capacity",
        args.rest_relay_cache_capacity.map(i64::from)
    );
    over!("rest", args.rest);
    over!("rest-address", args.rest_address.map(|a| a.to_string()));
    over!("rest-port", args.rest_port.map(i64::from));
    over!("rest-admin", args.rest_admin);
    over!("metrics-server", args.metrics_server);
    over!(
        "metrics-server-address",
        args.metrics_server_address.map(|a| a.to_string())
    );
    over!(
        "metrics-server-port",
        args.metrics_server_port.map(i64::from)
    );
    over!("log-level", args.log_level.clone());
    over!(
        "data-dir",
        args.data_dir.as_ref().map(|p| p.display().to_string())
    );
    over!("keep-alive", args.keep_alive);
    over!("pubsub-topic", args.pubsub_topic.clone());
    Ok(builder)
}

/// Removes deprecated keys from the merged table, warning about each, and turns
/// `pubsub-topic` values into shards.
fn apply_deprecated(table: &mut config::Map<String, config::Value>) -> Result<(), LoadError> {
    for (key, warning) in IGNORED_KEYS {
        if table.remove(key).is_some() {
            eprintln!("rwaku: warning: {warning}");
        }
    }
    if let Some(value) = table.remove("pubsub-topic") {
        let topics: Vec<String> = value
            .try_deserialize()
            .map_err(|e| rwaku_core::ConfigError::new("pubsub-topic", e.to_string()))?;
        let mut shards: Vec<config::Value> = match table.remove("shard") {
            Some(v) => v
                .into_array()
                .map_err(|e| rwaku_core::ConfigError::new("shard", e.to_string()))?,
            None => Vec::new(),
        };
        for topic in topics {
            let parsed: PubsubTopic = topic.parse().map_err(|e: rwaku_core::TopicError| {
                rwaku_core::ConfigError::new("pubsub-topic", e.to_string())
            })?;
            let Some((_, shard)) = parsed.shard() else {
                return Err(rwaku_core::ConfigError::new(
                    "pubsub-topic",
                    format!("{topic:?} is not a static shard topic"),
                )
                .into());
            };
            eprintln!("rwaku: warning: pubsub-topic is deprecated in nwaku; use shard = {shard}");
            shards.push(i64::from(shard).into());
        }
        table.insert("shard".into(), shards.into());
    }
    Ok(())
}

/// The defaults a binary starts from: `rwaku-store` has the store on.
fn defaults_for(profile: Profile) -> NodeConfig {
    NodeConfig {
        store: profile == Profile::Store,
        ..NodeConfig::default()
    }
}

/// Loads the effective configuration from the real environment.
pub fn load(args: &CliArgs, profile: Profile) -> Result<NodeConfig, LoadError> {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    load_with(args, profile, &vars)
}

/// Loads the effective configuration with `vars` as the environment.
pub fn load_with(
    args: &CliArgs,
    profile: Profile,
    vars: &[(String, String)],
) -> Result<NodeConfig, LoadError> {
    let defaults =
        Config::try_from(&defaults_for(profile)).map_err(|e| LoadError::Layers(e.to_string()))?;
    let mut builder = Config::builder().add_source(defaults);
    let file = args.config_file.clone().or_else(|| {
        vars.iter()
            .find(|(k, _)| k == "RWAKU_CONFIG_FILE")
            .map(|(_, v)| v.into())
    });
    if let Some(path) = &file {
        check_file(path)?;
        builder = builder.add_source(
            File::from(path.clone())
                .format(FileFormat::Toml)
                .required(true),
        );
    }
    builder = env_layer(builder, vars)?;
    builder = cli_layer(builder, args)?;
    let merged = builder.build().map_err(|e| match &file {
        Some(path) => LoadError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        },
        None => LoadError::Layers(e.to_string()),
    })?;
    let mut table: config::Map<String, config::Value> = merged
        .try_deserialize()
        .map_err(|e| LoadError::Layers(e.to_string()))?;
    apply_deprecated(&mut table)?;
    let config: NodeConfig = config::Value::from(table)
        .try_deserialize()
        .map_err(|e| LoadError::Layers(e.to_string()))?;
    config.validate()?;
    Ok(config)
}

fn check_file(path: &Path) -> Result<(), LoadError> {
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|e| LoadError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(list: &[&str]) -> CliArgs {
        CliArgs::try_parse_from(std::iter::once("rwaku").chain(list.iter().copied()))
            .expect("parses")
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_layers() {
        let c = load_with(&args(&[]), Profile::Full, &[]).expect("loads");
        assert_eq!(c, NodeConfig::default());
        let s = load_with(&args(&[]), Profile::Store, &[]).expect("loads");
        assert!(s.store);
    }

    #[test]
    fn cli_beats_env_beats_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            "tcp-port = 1000\nrest-port = 1001\ncluster-id = 16\nshard = [32, 64]\n",
        )
        .expect("write");
        let path_arg = path.display().to_string();
        let vars = env(&[
            ("RWAKU_REST_PORT", "2001"),
            ("RWAKU_WEBSOCKET_PORT", "2002"),
            (
                "RWAKU_STATICNODE",
                "/ip4/1.2.3.4/tcp/1/p2p/x,/ip4/1.2.3.5/tcp/1/p2p/y",
            ),
        ]);
        let c = load_with(
            &args(&[
                "--config-file",
                &path_arg,
                "--websocket-port=3002",
                "--num-shards-in-network=0",
            ]),
            Profile::Full,
            &vars,
        )
        .expect("loads");
        assert_eq!(
            (c.tcp_port, c.rest_port, c.websocket_port),
            (1000, 2001, 3002)
        );
        assert_eq!((c.cluster_id, c.shard.clone()), (16, vec![32, 64]));
        assert_eq!(c.staticnode.len(), 2);
    }

    #[test]
    fn boolean_flags_take_nwaku_forms() {
        for (list, expected) in [
            (vec!["--relay"], true),
            (vec!["--relay=true"], true),
            (vec!["--relay=false"], false),
        ] {
            let c = load_with(&args(&list), Profile::Full, &[]).expect("loads");
            assert_eq!(c.relay, expected, "{list:?}");
        }
        assert!(CliArgs::try_parse_from(["rwaku", "--relay=maybe"]).is_err());
        let c =
            load_with(&args(&[]), Profile::Full, &env(&[("RWAKU_RELAY", "false")])).expect("loads");
        assert!(!c.relay);
    }

    #[test]
    fn unknown_and_bad_values_name_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "tcp-prot = 1\n").expect("write");
        let err = load_with(
            &args(&["--config-file", &path.display().to_string()]),
            Profile::Full,
            &[],
        )
        .expect_err("unknown key");
        assert!(err.to_string().contains("tcp-prot"), "{err}");
        let err = load_with(
            &args(&[]),
            Profile::Full,
            &env(&[("RWAKU_TCP_PORT", "seventy")]),
        )
        .expect_err("bad number");
        assert!(err.to_string().contains("tcp-port"), "{err}");
        let err = load_with(
            &args(&[]),
            Profile::Full,
            &env(&[("RWAKU_NO_SUCH_FLAG", "1")]),
        )
        .expect_err("unknown env");
        assert!(err.to_string().contains("no-such-flag"), "{err}");
        let err = load_with(&args(&["--shard=2000"]), Profile::Full, &[]).expect_err("bad shard");
        assert!(err.to_string().contains("`shard`"), "{err}");
    }

    #[test]
    fn deprecated_names_are_accepted() {
        let c = load_with(
            &args(&[
                "--keep-alive=true",
                "--pubsub-topic=/waku/2/rs/16/32",
                "--num-shards-in-network=0",
                "--cluster-id=16",
            ]),
            Profile::Full,
            &[],
        )
        .expect("loads");
        assert_eq!(c.shard, vec![32]);
        assert!(
            load_with(
                &args(&["--pubsub-topic=/waku/2/default-waku/proto"]),
                Profile::Full,
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn every_shipped_profile_loads_and_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("configs/ exists") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let file = format!("--config-file={}", path.display());
            let config = load_with(&args(&[file.as_str()]), Profile::Full, &[])
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            config
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
        assert!(seen >= 5, "only {seen} profiles found");
    }
}
