//! In-process relay networks: N nodes on the memory transport inside one actix System, each
//! with a known node key (so every peer id, and so every `/memory/<port>/p2p/<id>` static node
//! address, is known before anything starts), a relay with a `RelayControl`, and a log of the
//! messages its bus accepted.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use rwaku_actors::{NodePlugin, Supervisor, libp2p::PeerId, node_key, supervisor::RunningNode};
use rwaku_core::{MessageHash, NodeConfig, PubsubTopic, ShardId, SharedMessage};
use rwaku_plugin_relay::{RelayControl, RelayPlugin, ShardStatsSnapshot};

use crate::eventually;

/// The cluster every mesh node is in (Status).
pub const CLUSTER: u16 = 16;

/// Memory-transport ports are process-wide; each node takes the next one.
static NEXT_PORT: AtomicU64 = AtomicU64::new(41_000);

pub fn next_memory_port() -> u64 {
    NEXT_PORT.fetch_add(1, Ordering::Relaxed)
}

/// A valid secp256k1 secret for `seed` (any seed from 1 up to far beyond what tests use).
pub fn node_key_for(seed: u64) -> String {
    format!("{:064x}", seed.max(1))
}

pub fn peer_id_for(node_key: &str) -> anyhow::Result<PeerId> {
    Ok(node_key::keypair_from_hex(node_key)?.public().to_peer_id())
}

pub fn shard_topic(shard: ShardId) -> PubsubTopic {
    PubsubTopic::static_shard(CLUSTER, shard)
}

/// A change to a node's configuration, applied before it starts.
pub type ConfigChange = Box<dyn FnOnce(&mut NodeConfig) + Send>;

/// One node to start.
pub struct NodeSpec {
    pub name: String,
    pub shards: Vec<ShardId>,
    /// `--protected-shard` values.
    pub protected_shard: Vec<String>,
    /// Indices of nodes this one keeps as static nodes (dialled at start, redialled).
    pub static_nodes: Vec<usize>,
    /// Plugins that start before relay (shard validators).
    pub before_relay: Vec<NodePlugin>,
    /// Plugins that start after relay (store, filter, lightpush).
    pub after_relay: Vec<NodePlugin>,
    /// Changes to the node's configuration beyond what the mesh sets.
    pub configure: Option<ConfigChange>,
}

impl NodeSpec {
    pub fn new(name: impl Into<String>, shards: &[ShardId]) -> Self {
        Self {
            name: name.into(),
            shards: shards.to_vec(),
            protected_shard: Vec::new(),
            static_nodes: Vec::new(),
            before_relay: Vec::new(),
            after_relay: Vec::new(),
            configure: None,
        }
    }

    /// Adds a plugin that starts after relay, with the configuration change it needs.
    pub fn with_plugin(
        mut self,
        plugin: NodePlugin,
        configure: impl FnOnce(&mut NodeConfig) + Send + 'static,
    ) -> Self {
        self.after_relay.push(plugin);
        let earlier = self.configure.take();
        self.configure = Some(Box::new(move |config| {
            if let Some(earlier) = earlier {
                earlier(config);
            }
            configure(config);
        }));
        self
    }

    pub fn static_nodes(mut self, nodes: &[usize]) -> Self {
        self.static_nodes = nodes.to_vec();
        self
    }

    pub fn protect(mut self, protected_shard: String, validator: NodePlugin) -> Self {
        self.protected_shard.push(protected_shard);
        self.before_relay.push(validator);
        self
    }
}

/// What a node's bus accepted, in order.
#[derive(Clone, Default)]
pub struct AcceptedLog(Arc<Mutex<Vec<SharedMessage>>>);

impl AcceptedLog {
    fn record(&self, message: SharedMessage) {
        if let Ok(mut log) = self.0.lock() {
            log.push(message);
        }
    }

    pub fn all(&self) -> Vec<SharedMessage> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// How many times each message hash was accepted.
    pub fn counts(&self) -> HashMap<MessageHash, usize> {
        let mut counts = HashMap::new();
        for m in self.all() {
            *counts.entry(m.hash).or_insert(0) += 1;
        }
        counts
    }

    pub fn len(&self) -> usize {
        self.0.lock().map(|l| l.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct MeshNode {
    pub name: String,
    pub shards: Vec<ShardId>,
    pub peer_id: PeerId,
    /// `/memory/<port>/p2p/<peer id>`.
    pub address: String,
    pub node: RunningNode,
    pub relay: RelayControl,
    pub accepted: AcceptedLog,
    _data_dir: tempfile::TempDir,
}

impl MeshNode {
    pub fn relays(&self, shard: ShardId) -> bool {
        self.shards.contains(&shard)
    }

    /// The counters of one shard (zero if it is not subscribed).
    pub async fn shard_stats(&self, shard: ShardId) -> ShardStatsSnapshot {
        let topic = shard_topic(shard);
        self.relay
            .stats()
            .await
            .unwrap_or_default()
            .into_iter()
            .find(|(t, _)| *t == topic)
            .map(|(_, s)| s)
            .unwrap_or_default()
    }

    pub async fn is_connected_to(&self, peer: &PeerId) -> bool {
        self.node
            .network
            .peers()
            .await
            .iter()
            .any(|p| p.peer_id == *peer && p.connected)
    }
}

/// Starts every node of `specs`, in order, with staticnode addresses computed up front.
pub async fn start_mesh(specs: Vec<NodeSpec>) -> anyhow::Result<Vec<MeshNode>> {
    let base_seed = NEXT_PORT.load(Ordering::Relaxed);
    let plan: Vec<(u64, String, PeerId)> = (0..specs.len())
        .map(|i| {
            let port = next_memory_port();
            let key = node_key_for(base_seed + 7 + i as u64);
            let peer = peer_id_for(&key)?;
            Ok((port, key, peer))
        })
        .collect::<anyhow::Result<_>>()?;
    let address = |i: usize| format!("/memory/{}/p2p/{}", plan[i].0, plan[i].2);

    let mut nodes = Vec::with_capacity(specs.len());
    for (i, spec) in specs.into_iter().enumerate() {
        let (port, key, peer_id) = plan[i].clone();
        let dir = tempfile::tempdir()?;
        let staticnode = spec
            .static_nodes
            .iter()
            .filter(|&&j| j < plan.len() && j != i)
            .map(|&j| address(j))
            .collect();
        let mut config = NodeConfig {
            cluster_id: CLUSTER,
            num_shards_in_network: 0,
            shard: spec.shards.clone(),
            nodekey: Some(key),
            staticnode,
            protected_shard: spec.protected_shard.clone(),
            rest: false,
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        if let Some(configure) = spec.configure {
            configure(&mut config);
        }
        let (relay_plugin, relay) = RelayPlugin::with_control();
        let mut plugins = spec.before_relay;
        plugins.push(Box::new(relay_plugin));
        plugins.extend(spec.after_relay);
        let node = Supervisor::new(config, plugins)
            .with_memory_transport(port)
            .start()
            .await
            .with_context(|| format!("starting {}", spec.name))?;
        anyhow::ensure!(
            node.info.peer_id == peer_id,
            "{}: unexpected peer id",
            spec.name
        );
        let accepted = AcceptedLog::default();
        let log = accepted.clone();
        let mut bus = node.bus.subscribe_accepted();
        tokio::spawn(async move {
            while let Some(message) = bus.next("mesh_test").await {
                log.record(message);
            }
        });
        nodes.push(MeshNode {
            name: spec.name,
            shards: spec.shards,
            peer_id,
            address: address(i),
            node,
            relay,
            accepted,
            _data_dir: dir,
        });
    }
    Ok(nodes)
}

/// The peers each node is linked to through static nodes (in either direction).
pub fn neighbours(static_nodes: &[Vec<usize>]) -> Vec<BTreeSet<usize>> {
    let mut out = vec![BTreeSet::new(); static_nodes.len()];
    for (i, list) in static_nodes.iter().enumerate() {
        for &j in list {
            if j < out.len() && j != i {
                out[i].insert(j);
                out[j].insert(i);
            }
        }
    }
    out
}

/// Waits until every node sees each of its shards' expected subscribed neighbours, with a
/// mesh of at least min(D_low, neighbours) on each.
pub async fn wait_for_meshes(
    nodes: &[MeshNode],
    links: &[BTreeSet<usize>],
    timeout: Duration,
) -> anyhow::Result<()> {
    for (i, node) in nodes.iter().enumerate() {
        for &shard in &node.shards {
            let expected = links[i].iter().filter(|&&j| nodes[j].relays(shard)).count();
            let topic = shard_topic(shard).to_string();
            let network = node.node.network.clone();
            let last = Arc::new(Mutex::new((0, 0)));
            let seen = last.clone();
            let outcome = eventually(
                timeout,
                &format!("{}: mesh on shard {shard}", node.name),
                || {
                    let network = network.clone();
                    let topic = topic.clone();
                    let seen = seen.clone();
                    async move {
                        let (mesh, subscribed) = network.topic_peers(topic).await;
                        if let Ok(mut s) = seen.lock() {
                            *s = (mesh.len(), subscribed.len());
                        }
                        (subscribed.len() >= expected && mesh.len() >= expected.min(4))
                            .then_some(())
                    }
                },
            )
            .await;
            if let Err(e) = outcome {
                let (mesh, subscribed) = last.lock().map(|s| *s).unwrap_or_default();
                let peers = node.node.network.peers().await;
                let connected: Vec<String> = peers
                    .iter()
                    .filter(|p| p.connected)
                    .map(|p| p.peer_id.to_string())
                    .collect();
                anyhow::bail!(
                    "{e}: mesh {mesh}, subscribed {subscribed}, expected {expected}; connected: {connected:?}"
                );
            }
        }
    }
    Ok(())
}

/// A light node (relay off, no plugins) of the mesh's cluster on the memory transport, for
/// tests that query or push as a light client would. Keep the directory alive with it.
pub async fn start_light_node() -> anyhow::Result<(RunningNode, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let node = Supervisor::new(
        NodeConfig {
            cluster_id: CLUSTER,
            relay: false,
            rest: false,
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        },
        Vec::new(),
    )
    .with_memory_transport(next_memory_port())
    .start()
    .await?;
    Ok((node, dir))
}

/// Stops every node.
/// A store v3 query from `light` to `store` over the wire, dialling it first.
pub async fn store_query(
    light: &RunningNode,
    store: &MeshNode,
    request: &rwaku_protocols::store::pb::StoreQueryRequest,
) -> anyhow::Result<rwaku_protocols::store::pb::StoreQueryResponse> {
    light
        .network
        .dial(store.address.parse()?)
        .await
        .map_err(anyhow::Error::msg)?;
    let mut control = light.network.stream_control();
    Ok(rwaku_plugin_store::client::query(
        &mut control,
        store.peer_id,
        request,
        std::time::Duration::from_secs(5),
    )
    .await?)
}

pub async fn shutdown(nodes: Vec<MeshNode>) {
    for node in nodes {
        node.node.shutdown().await;
    }
}
