//! The command line, with nwaku's flag names. Every field is optional so that only flags the
//! operator gave override the lower layers (file, environment).

use std::{net::IpAddr, path::PathBuf, process::ExitCode};

use clap::{ArgAction, Parser};

use crate::profile::Profile;

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(format!("{other:?} is not a boolean (true or false)")),
    }
}

/// Boolean flags take nwaku's forms: `--flag`, `--flag=true`, `--flag=false`.
/// Defined once, used for all three binaries.
#[derive(Debug, Parser, Default)]
#[command(version, about = "rwaku: a Waku v2 node", long_about = None)]
pub struct CliArgs {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// TOML configuration file; keys are the flag names (tcp-port = 60000).
    #[arg(long, value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    pub dump_config: bool,

    /// Cluster id; peers of other clusters are disconnected. [default: 0]
    #[arg(long)]
    pub cluster_id: Option<u16>,
    /// Shard to relay (repeatable). [default: every autosharding shard]
    #[arg(long, action = ArgAction::Append)]
    pub shard: Option<Vec<u16>>,
    /// Shards in the network for autosharding; 0 for static sharding only. [default: 1]
    #[arg(long)]
    pub num_shards_in_network: Option<u16>,
    /// secp256k1 private key, 64 hex chars. [default: generated and kept in the data dir]
    #[arg(long)]
    pub nodekey: Option<String>,
    /// Address to listen on. [default: 0.0.0.0]
    #[arg(long)]
    pub listen_address: Option<IpAddr>,
    /// libp2p TCP port. [default: 60000]
    #[arg(long)]
    pub tcp_port: Option<u16>,
    /// Added to every port. [default: 0]
    #[arg(long)]
    pub ports_shift: Option<u16>,
    /// Listen for WebSocket connections. [default: false]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_bool)]
    pub websocket_support: Option<bool>,
    /// WebSocket port. [default: 8000]
    #[arg(long)]
    pub websocket_port: Option<u16>,
    /// Peer multiaddr with /p2p/<id> to dial and keep connected (repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub staticnode: Option<Vec<String>>,
    /// Maximum connections. [default: 50]
    #[arg(long)]
    pub max_connections: Option<u32>,
    /// Agent string announced over identify.
    #[arg(long)]
    pub agent_string: Option<String>,
    /// Mount relay. [default: true]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_bool)]
    pub relay: Option<bool>,
    /// Mount the store (archive + store v3 server). [default: false]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_bool)]
    pub store: Option<bool>,
    /// Store database: sqlite://<path> or postgres://user:pass@host:port/db. [default: sqlite://<data-dir>/store.sqlite3]
    #[arg(long)]
    pub store_message_db_url: Option<String>,
    /// time:<seconds>, capacity:<n>, size:<N>MB|GB or none. [default: time:172800]
    #[arg(long)]
    pub store_message_retention_policy: Option<String>,
    /// PostgreSQL connections. [default: 50]
    #[arg(long)]
    pub store_max_num_db_connections: Option<u32>,
    /// Mount the filter v2 server. [default: false]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_bool)]
    pub filter: Option<bool>,
    /// Peers the filter server serves at once. [default: 1000]
    #[arg(long)]
    pub filter_max_peers_to_serve: Option<u32>,
    /// (pubsub, content topic) pairs per filter peer. [default: 1000]
    #[arg(long)]
    pub filter_max_criteria: Option<u32>,
    /// Seconds a filter subscription lives without ping or refresh. [default: 300]
    #[arg(long)]
    pub filter_subscription_timeout: Option<u64>,
    /// Remote filter server (multiaddr with /p2p/<id>) for the /filter/v2 REST routes.
    #[arg(long)]
    pub filternode: Option<String>,
    /// Remote lightpush server (multiaddr with /p2p/<id>) for the /lightpush REST routes.
    #[arg(long)]
    pub lightpushnode: Option<String>,
    /// Peer (multiaddr with /p2p/<id>) to ask for peers over peer exchange at start.
    #[arg(long)]
    pub peer_exchange_node: Option<String>,
    /// ENR (enr:…) of a known node (repeatable); seeds the peer-exchange cache.
    #[arg(long, action = ArgAction::Append)]
    pub discv5_bootstrap_node: Option<Vec<String>>,
    /// Mount the lightpush v3 and v2 servers (needs relay). [default: false]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_bool)]
    pub lightpush: Option<bool>,
    /// Mount the peer-exchange responder. [default: true]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_bool)]
    pub peer_exchange: Option<bool>,
    /// [proto:]volume/period<h|m|s|ms>, proto in store, storev3, lightpush, px, filter (repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub rate_limit: Option<Vec<String>>,
    /// <shard>:<public key hex>; only messages signed with that key are relayed (repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub protected_shard: Option<Vec<String>>,
    /// Messages cached per topic for GET /relay/v1/messages. [default: 50]
    #[arg(long)]
    pub rest_relay_cache_capacity: Option<u32>,
    /// Serve the REST API. [default: true]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_bool)]
    pub rest: Option<bool>,
    /// REST address. [default: 127.0.0.1]
    #[arg(long)]
    pub rest_address: Option<IpAddr>,
    /// REST port. [default: 8645]
    #[arg(long)]
    pub rest_port: Option<u16>,
    /// Mount /admin/v1/*. [default: false]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_bool)]
    pub rest_admin: Option<bool>,
    /// Serve Prometheus metrics. [default: false]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_bool)]
    pub metrics_server: Option<bool>,
    /// Metrics address. [default: 127.0.0.1]
    #[arg(long)]
    pub metrics_server_address: Option<IpAddr>,
    /// Metrics port. [default: 8008]
    #[arg(long)]
    pub metrics_server_port: Option<u16>,
    /// TRACE, DEBUG, INFO, NOTICE, WARN, ERROR or FATAL. [default: INFO]
    #[arg(long)]
    pub log_level: Option<String>,
    /// Directory for the node key and the embedded store. [default: ./rwaku-data]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Deprecated in nwaku and ignored.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", hide = true, value_parser = parse_bool)]
    pub keep_alive: Option<bool>,
    /// Deprecated in nwaku (removed): a pubsub topic; its shard is relayed.
    #[arg(long, hide = true, action = ArgAction::Append)]
    pub pubsub_topic: Option<Vec<String>>,
}

/// Tools for community owners; without a subcommand the binary runs a node.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Prints a new protected-shard key pair as hex (JSON).
    Keygen(KeygenArgs),
    /// Signs a message for a protected shard and prints the JSON body of
    /// POST /relay/v1/messages/{pubsubTopic}.
    Sign(SignArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SchemeArg {
    /// ECDSA over secp256k1, checked by nwaku, go-waku and rwaku.
    Secp256k1,
    /// Ed25519, checked by rwaku only.
    Ed25519,
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    #[arg(long, value_enum, default_value = "secp256k1")]
    pub scheme: SchemeArg,
}

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The shard's secret key, 64 hex chars.
    #[arg(long)]
    pub key: String,
    #[arg(long, value_enum, default_value = "secp256k1")]
    pub scheme: SchemeArg,
    #[arg(long)]
    pub pubsub_topic: String,
    #[arg(long)]
    pub content_topic: String,
    #[arg(long)]
    pub payload_base64: String,
    /// Unix epoch nanoseconds. [default: now]
    #[arg(long)]
    pub timestamp: Option<i64>,
    #[arg(long)]
    pub ephemeral: bool,
}

pub struct Invocation {
    pub args: CliArgs,
}

/// Parses the process arguments; on `--help`, `--version` or a usage error returns the exit
/// code after clap has printed its message.
pub fn parse(profile: Profile) -> Result<Invocation, ExitCode> {
    let command = <CliArgs as clap::CommandFactory>::command().name(profile.binary());
    let matches = command.try_get_matches().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })?;
    let args = <CliArgs as clap::FromArgMatches>::from_arg_matches(&matches).map_err(|e| {
        let _ = e.print();
        ExitCode::from(2)
    })?;
    Ok(Invocation { args })
}
