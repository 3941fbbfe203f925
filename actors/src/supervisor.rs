//! The Supervisor: loads the node key, starts the network driver and the metadata service,
//! then the configured plugins in order; watches the critical tasks; and shuts the node down
//! cleanly on SIGINT/SIGTERM (exit 0) or on a critical failure (a clear log line, exit 1).

use std::{net::IpAddr, sync::Arc, time::Duration};

use actix::Actor;
use libp2p::{Multiaddr, multiaddr::Protocol};
use tokio::sync::mpsc;

use rwaku_core::{ConfigError, HealthState, NodeConfig};

use crate::{
    NodePlugin,
    bus::EventBus,
    context::{CriticalFailure, CriticalFailures, NodeContext, ShutdownHook},
    health::HealthRegistry,
    local_enr::{self, LocalEnr},
    metadata::MetadataService,
    network::{
        NetworkCommand, NetworkConfig, NetworkDriver, NetworkHandle, NodeInfo, TransportKind,
    },
    node_key,
    rest_routes::RestRoutes,
};

const SHUTDOWN_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("node key: {0}")]
    NodeKey(#[from] node_key::NodeKeyError),
    #[error(transparent)]
    Network(#[from] crate::network::StartError),
    #[error(transparent)]
    Plugin(#[from] rwaku_core::PluginError),
}

pub struct Supervisor {
    config: NodeConfig,
    plugins: Vec<NodePlugin>,
    transport: TransportKind,
    /// Overrides the configured listen addresses (in-process networks use `/memory/N`).
    listen_override: Option<Vec<Multiaddr>>,
}

/// Why a running node stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Signal,
    Critical(String),
    Requested,
}

pub struct RunningNode {
    pub network: NetworkHandle,
    pub info: NodeInfo,
    /// The node's ENR, when its key is secp256k1 (always, for keys rwaku makes).
    pub enr: Option<LocalEnr>,
    pub bus: EventBus,
    pub health: HealthRegistry,
    critical: mpsc::UnboundedReceiver<CriticalFailure>,
    shutdown_hooks: Vec<(&'static str, ShutdownHook)>,
    driver: tokio::task::JoinHandle<()>,
}

fn ip_protocol(ip: IpAddr) -> Protocol<'static> {
    match ip {
        IpAddr::V4(v4) => Protocol::Ip4(v4),
        IpAddr::V6(v6) => Protocol::Ip6(v6),
    }
}

/// The listen addresses the configuration asks for: TCP, and WebSocket if enabled.
pub fn listen_addresses(config: &NodeConfig) -> Vec<Multiaddr> {
    let tcp = Multiaddr::empty()
        .with(ip_protocol(config.listen_address))
        .with(Protocol::Tcp(config.shifted(config.tcp_port)));
    let mut out = vec![tcp];
    if config.websocket_support {
        out.push(
            Multiaddr::empty()
                .with(ip_protocol(config.listen_address))
                .with(Protocol::Tcp(config.shifted(config.websocket_port)))
                .with(Protocol::Ws("/".into())),
        );
    }
    out
}

fn static_peers(config: &NodeConfig) -> Result<Vec<Multiaddr>, ConfigError> {
    config
        .staticnode
        .iter()
        .map(|text| {
            let address: Multiaddr = text.parse().map_err(|e| {
                ConfigError::new("staticnode", format!("{text:?} is not a multiaddr: {e}"))
            })?;
            if !address.iter().any(|p| matches!(p, Protocol::P2p(_))) {
                return Err(ConfigError::new(
                    "staticnode",
                    format!("{text:?} has no /p2p/<peer id>"),
                ));
            }
            Ok(address)
        })
        .collect()
}

impl Supervisor {
    pub fn new(config: NodeConfig, plugins: Vec<NodePlugin>) -> Self {
        Self {
            config,
            plugins,
            transport: TransportKind::Tcp,
            listen_override: None,
        }
    }

    /// Runs on the memory transport, listening on `/memory/<port>` (for in-process networks).
    pub fn with_memory_transport(mut self, port: u64) -> Self {
        self.transport = TransportKind::Memory;
        self.listen_override = Some(vec![Multiaddr::empty().with(Protocol::Memory(port))]);
        self
    }

    /// Starts the node inside the current actix System and returns once every listener is
    /// bound and every plugin has started, with the node READY.
    pub async fn start(self) -> Result<RunningNode, SupervisorError> {
        let config = self.config;
        config.validate()?;
        let keypair = node_key::load_or_create(config.nodekey.as_deref(), &config.data_dir)?;
        let enr_key = keypair.clone();
        let listen = self
            .listen_override
            .unwrap_or_else(|| listen_addresses(&config));
        let network_config = NetworkConfig {
            keypair,
            transport: self.transport,
            listen,
            static_peers: static_peers(&config)?,
            max_connections: config.max_connections,
            relay: config.relay,
            agent_version: config.agent_string.clone(),
        };
        let health = HealthRegistry::default();
        let (driver, network) = NetworkDriver::start(network_config).await?;
        let driver = tokio::spawn(driver.run());
        let bound = network
            .info()
            .await
            .map(|i| i.listen_addresses)
            .unwrap_or_default();
        let enr = match local_enr::build(&enr_key, &config, &bound) {
            Ok(enr) => {
                tracing::info!(enr = %enr.text, "node record");
                Some(enr)
            }
            Err(e) => {
                tracing::warn!(error = %e, "no ENR for this node");
                None
            }
        };

        let relayed_shards = if config.relay {
            config.relay_shards()
        } else {
            Vec::new()
        };
        let metadata =
            MetadataService::new(config.cluster_id, relayed_shards, network.clone()).start();

        let (critical_tx, critical) = mpsc::unbounded_channel();
        let mut ctx = NodeContext {
            config: Arc::new(config),
            network: network.clone(),
            bus: EventBus::default(),
            health: health.clone(),
            rest: RestRoutes::default(),
            validators: Default::default(),
            relay: Default::default(),
            local_enr: enr.clone(),
            metadata: metadata.recipient(),
            critical: CriticalFailures(critical_tx),
            shutdown_hooks: Vec::new(),
        };
        for plugin in self.plugins {
            let name = plugin.name();
            tracing::debug!(plugin = name, "starting plugin");
            plugin.start(&mut ctx)?;
        }
        network.send(NetworkCommand::DialStaticPeers).await;
        let info = network.info().await.unwrap_or(NodeInfo {
            peer_id: network.local_peer_id(),
            listen_addresses: Vec::new(),
        });
        health.set_node(HealthState::Ready);
        tracing::info!(peer_id = %info.peer_id, "node ready");
        Ok(RunningNode {
            network,
            info,
            enr,
            bus: ctx.bus,
            health,
            critical,
            shutdown_hooks: ctx.shutdown_hooks,
            driver,
        })
    }

    /// For binaries: builds the actix System, runs the node until SIGINT/SIGTERM or a
    /// critical failure, shuts down, and returns the process exit code.
    pub fn run_until_signal(self) -> i32 {
        let outcome = crate::runtime::run_in_system(None, async move {
            let mut node = match self.start().await {
                Ok(node) => node,
                Err(e) => {
                    tracing::error!(error = %e, "node failed to start");
                    eprintln!("rwaku: {e}");
                    return 1;
                }
            };
            let reason = node.wait_for_stop().await;
            node.shutdown().await;
            match reason {
                StopReason::Critical(reason) => {
                    eprintln!("rwaku: stopped after a critical failure: {reason}");
                    1
                }
                StopReason::Signal | StopReason::Requested => 0,
            }
        });
        match outcome {
            Ok(code) => code,
            Err(e) => {
                eprintln!("rwaku: runtime error: {e}");
                1
            }
        }
    }
}

async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl RunningNode {
    /// Waits for a signal, a critical failure or the driver's end.
    pub async fn wait_for_stop(&mut self) -> StopReason {
        tokio::select! {
            _ = termination_signal() => {
                tracing::info!("termination signal received; shutting down");
                StopReason::Signal
            }
            Some(failure) = self.critical.recv() => {
                StopReason::Critical(format!("{}: {}", failure.component, failure.reason))
            }
            _ = &mut self.driver => StopReason::Critical("network driver stopped".into()),
        }
    }

    /// Stops the node: health goes to SHUTTING_DOWN, shutdown hooks run (newest first), then
    /// the network driver stops.
    pub async fn shutdown(mut self) {
        self.health.set_node(HealthState::ShuttingDown);
        while let Some((name, hook)) = self.shutdown_hooks.pop() {
            if tokio::time::timeout(SHUTDOWN_HOOK_TIMEOUT, hook())
                .await
                .is_err()
            {
                tracing::warn!(hook = name, "shutdown hook timed out");
            }
        }
        self.network.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.driver).await;
        tracing::info!("node stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_follow_the_flags() {
        let config = NodeConfig {
            websocket_support: true,
            ports_shift: 1,
            ..Default::default()
        };
        let addrs: Vec<String> = listen_addresses(&config)
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(
            addrs,
            vec!["/ip4/0.0.0.0/tcp/60001", "/ip4/0.0.0.0/tcp/8001/ws"]
        );
    }

    #[test]
    fn static_nodes_need_a_peer_id() {
        let mut config = NodeConfig {
            staticnode: vec!["/ip4/127.0.0.1/tcp/60000".into()],
            ..Default::default()
        };
        assert_eq!(
            static_peers(&config).expect_err("no peer id").key,
            "staticnode"
        );
        config.staticnode = vec!["not a multiaddr".into()];
        assert_eq!(static_peers(&config).expect_err("bad").key, "staticnode");
    }
}
