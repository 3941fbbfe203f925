//! Real nodes for the lightpush tests: each on the memory transport with its own node key and
//! data directory, a log of what its bus accepted, and a way to get at the REST routes its
//! plugins added.

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use bytes::Bytes;
use rwaku_actors::{
    NodeContext, NodePlugin, Supervisor, libp2p::PeerId, rest_routes::RestRoutes,
    supervisor::RunningNode,
};
use rwaku_core::{
    NodeConfig, Plugin, PluginError, PubsubTopic, ShardId, SharedMessage, WakuMessage, time::now_ns,
};
use rwaku_plugin_lightpush::{LightpushClient, LightpushPlugin};
use rwaku_plugin_relay::RelayPlugin;

pub const CLUSTER: u16 = 16;

/// Memory-transport ports are process-wide; each node takes the next one.
static NEXT_PORT: AtomicU64 = AtomicU64::new(52_000);

pub fn run<F, T>(test: F) -> anyhow::Result<T>
where
    F: Future<Output = anyhow::Result<T>>,
{
    // RUST_LOG=debug shows the nodes' logs under the failing test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    rwaku_actors::runtime::run_in_system(Some(2), test)?
}

pub fn shard(shard: ShardId) -> PubsubTopic {
    PubsubTopic::static_shard(CLUSTER, shard)
}

pub fn message(text: &str) -> WakuMessage {
    WakuMessage {
        payload: Bytes::from(text.as_bytes().to_vec()),
        content_topic: "/test/1/lightpush/proto".into(),
        timestamp: Some(now_ns()),
        ..Default::default()
    }
}

/// A configuration for cluster 16, static sharding, relaying `shards` (none: relay off).
pub fn config(shards: &[ShardId]) -> NodeConfig {
    NodeConfig {
        cluster_id: CLUSTER,
        num_shards_in_network: 0,
        shard: shards.to_vec(),
        relay: !shards.is_empty(),
        rest: false,
        ..Default::default()
    }
}

/// What a node's bus accepted, in order.
#[derive(Clone, Default)]
pub struct AcceptedLog(Arc<Mutex<Vec<SharedMessage>>>);

impl AcceptedLog {
    pub fn payloads(&self) -> Vec<Bytes> {
        self.0
            .lock()
            .map(|l| l.iter().map(|m| m.message.payload.clone()).collect())
            .unwrap_or_default()
    }

    pub fn count_of(&self, payload: &[u8]) -> usize {
        self.payloads()
            .iter()
            .filter(|p| p.as_ref() == payload)
            .count()
    }
}

/// Hands out the node's REST route table (the REST plugin is not started in tests).
struct CaptureRoutes(Arc<Mutex<Option<RestRoutes>>>);

impl Plugin<NodeContext> for CaptureRoutes {
    fn name(&self) -> &'static str {
        "capture-routes"
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(ctx.rest.clone());
        }
        Ok(())
    }
}

pub struct TestNode {
    pub node: RunningNode,
    pub peer_id: PeerId,
    /// `/memory/<port>/p2p/<peer id>`.
    pub address: String,
    pub accepted: AcceptedLog,
    routes: Option<RestRoutes>,
    _dir: tempfile::TempDir,
}

impl TestNode {
    /// A lightpush client on this node's network.
    pub fn client(&self) -> LightpushClient {
        LightpushClient::new(self.node.network.stream_control())
    }

    /// Serves the REST routes the plugins added on a loopback port; returns its base URL.
    pub async fn serve_rest(&mut self) -> anyhow::Result<String> {
        let router = self
            .routes
            .take()
            .context("routes already served")?
            .merged();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(format!("http://{address}"))
    }

    pub async fn connected_to(&self, peer: &PeerId) -> bool {
        self.node
            .network
            .peers()
            .await
            .iter()
            .any(|p| p.peer_id == *peer && p.connected)
    }

    /// Waits until this node sees `peer` in its mesh of `topic`.
    pub async fn wait_for_mesh(&self, topic: &PubsubTopic, peer: &PeerId) -> anyhow::Result<()> {
        let network = self.node.network.clone();
        let topic = topic.to_string();
        eventually(Duration::from_secs(20), "a relay mesh peer", || {
            let network = network.clone();
            let topic = topic.clone();
            async move {
                let (mesh, _) = network.topic_peers(topic).await;
                mesh.contains(peer).then_some(())
            }
        })
        .await
    }

    /// Dials `other` once both are up. (A static node is dialled while the node is still
    /// starting, before its metadata protocol is served, and the peer may then drop it.)
    pub async fn link_to(&self, other: &TestNode) -> anyhow::Result<()> {
        let address = other.address.parse()?;
        self.node
            .network
            .dial(address)
            .await
            .map_err(|e| anyhow::anyhow!("dialling {}: {e}", other.address))?;
        self.wait_for_connection(&other.peer_id).await
    }

    pub async fn wait_for_connection(&self, peer: &PeerId) -> anyhow::Result<()> {
        eventually(Duration::from_secs(20), "a connection", || async {
            self.connected_to(peer).await.then_some(())
        })
        .await
    }

    pub async fn shutdown(self) {
        self.node.shutdown().await;
    }
}

/// Starts a node with `plugins`, or with relay (when `config.relay`) and lightpush (when
/// `config.lightpush`) when `plugins` is empty.
pub async fn start(mut config: NodeConfig, plugins: Vec<NodePlugin>) -> anyhow::Result<TestNode> {
    let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
    let dir = tempfile::tempdir()?;
    config.nodekey = Some(format!("{:064x}", port));
    config.data_dir = dir.path().to_path_buf();
    let mut plugins = plugins;
    if plugins.is_empty() {
        if config.relay {
            plugins.push(Box::new(RelayPlugin));
        }
        if config.lightpush || config.lightpushnode.is_some() {
            plugins.push(Box::new(LightpushPlugin));
        }
    }
    let routes = Arc::new(Mutex::new(None));
    plugins.push(Box::new(CaptureRoutes(routes.clone())));
    let node = Supervisor::new(config, plugins)
        .with_memory_transport(port)
        .start()
        .await?;
    let peer_id = node.info.peer_id;
    let accepted = AcceptedLog::default();
    let log = accepted.clone();
    let mut bus = node.bus.subscribe_accepted();
    tokio::spawn(async move {
        while let Some(message) = bus.next("lightpush_test").await {
            if let Ok(mut l) = log.0.lock() {
                l.push(message);
            }
        }
    });
    let routes = routes.lock().ok().and_then(|mut r| r.take());
    Ok(TestNode {
        node,
        peer_id,
        address: format!("/memory/{port}/p2p/{peer_id}"),
        accepted,
        routes,
        _dir: dir,
    })
}

/// Polls `check` every 50 ms until it yields `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A service node (relay + lightpush on `shards`), optionally linked to a plain relay node,
/// and a client node (relay off) connected to the service.
pub struct Setup {
    pub relay: Option<TestNode>,
    pub service: TestNode,
    pub client: TestNode,
}

impl Setup {
    pub async fn start(
        shards: &[ShardId],
        with_relay_peer: bool,
        tweak: impl FnOnce(&mut NodeConfig),
    ) -> anyhow::Result<Self> {
        let relay = if with_relay_peer {
            Some(start(config(shards), Vec::new()).await?)
        } else {
            None
        };
        let mut service_config = config(shards);
        service_config.lightpush = true;
        tweak(&mut service_config);
        let service = start(service_config, Vec::new()).await?;
        if let Some(r) = &relay {
            service.link_to(r).await?;
            for &s in shards {
                service.wait_for_mesh(&shard(s), &r.peer_id).await?;
            }
        }
        let client = start(config(&[]), Vec::new()).await?;
        client.link_to(&service).await?;
        Ok(Self {
            relay,
            service,
            client,
        })
    }

    pub async fn shutdown(self) {
        self.client.shutdown().await;
        self.service.shutdown().await;
        if let Some(r) = self.relay {
            r.shutdown().await;
        }
    }
}
