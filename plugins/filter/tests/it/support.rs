//! Shared pieces of the filter tests: in-process nodes on the memory transport (a filter
//! service with relay, a relay publisher, relay-less clients), fixtures' topics, and a
//! wait-until helper.

use std::{
    future::Future,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use rwaku_actors::{
    NodePlugin, Supervisor,
    libp2p::{Multiaddr, PeerId},
    supervisor::RunningNode,
};
use rwaku_core::{NodeConfig, PubsubTopic, WakuMessage};
use rwaku_plugin_filter::{FilterClient, FilterPlugin, InboxLimits};
use rwaku_plugin_relay::{RelayControl, RelayPlugin};

/// The js-waku fixtures' network: cluster 1, shard 0.
pub const CLUSTER: u16 = 1;
pub const PUBSUB: &str = "/waku/2/rs/1/0";
pub const CONTENT: &str = "/test/1/probe/proto";

static NEXT_PORT: AtomicU64 = AtomicU64::new(57_000);

pub fn run<F: Future<Output = T>, T>(body: F) -> T {
    rwaku_actors::runtime::run_in_system(Some(2), body)
        .unwrap_or_else(|e| panic!("actix system: {e}"))
}

pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub struct TestNode {
    pub node: RunningNode,
    pub peer: PeerId,
    pub address: Multiaddr,
    pub relay: Option<RelayControl>,
    _dir: tempfile::TempDir,
}

fn base_config(dir: &tempfile::TempDir) -> NodeConfig {
    NodeConfig {
        cluster_id: CLUSTER,
        num_shards_in_network: 8,
        shard: vec![0],
        rest: false,
        relay: false,
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    }
}

async fn start(
    config: NodeConfig,
    plugins: Vec<NodePlugin>,
    relay: Option<RelayControl>,
    dir: tempfile::TempDir,
) -> TestNode {
    let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
    let node = Supervisor::new(config, plugins)
        .with_memory_transport(port)
        .start()
        .await
        .unwrap_or_else(|e| panic!("node start: {e}"));
    let address = node
        .info
        .listen_addresses
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("node has no listen address"));
    TestNode {
        peer: node.info.peer_id,
        node,
        address,
        relay,
        _dir: dir,
    }
}

/// A relay + filter service node; `edit` adjusts its configuration.
pub async fn service_node(edit: impl FnOnce(&mut NodeConfig)) -> TestNode {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut config = base_config(&dir);
    config.relay = true;
    config.filter = true;
    edit(&mut config);
    let (relay_plugin, relay) = RelayPlugin::with_control();
    start(
        config,
        vec![Box::new(relay_plugin), Box::new(FilterPlugin)],
        Some(relay),
        dir,
    )
    .await
}

/// A relay-only node that keeps `peer` as a static node: the publisher.
pub async fn publisher_node(service: &TestNode) -> TestNode {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut config = base_config(&dir);
    config.relay = true;
    config.staticnode = vec![service.address.to_string()];
    let (relay_plugin, relay) = RelayPlugin::with_control();
    start(config, vec![Box::new(relay_plugin)], Some(relay), dir).await
}

/// A node with neither relay nor filter server, holding a `FilterClient`, connected to
/// `service`.
pub async fn client_node(service: &TestNode) -> (TestNode, FilterClient) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let config = base_config(&dir);
    let node = start(config, Vec::new(), None, dir).await;
    let client = FilterClient::start(&node.node.network, InboxLimits::default())
        .unwrap_or_else(|e| panic!("filter client: {e}"));
    node.node
        .network
        .dial(service.address.clone())
        .await
        .unwrap_or_else(|e| panic!("dial the service: {e}"));
    (node, client)
}

pub fn message(payload: &str) -> WakuMessage {
    WakuMessage {
        payload: payload.as_bytes().to_vec().into(),
        content_topic: CONTENT.into(),
        version: Some(0),
        timestamp: Some(rwaku_core::time::now_ns()),
        ..Default::default()
    }
}

pub fn shard_topic() -> PubsubTopic {
    PubsubTopic::static_shard(CLUSTER, 0)
}

/// Publishes through `publisher`'s relay once gossipsub knows `service` is on the topic.
pub async fn publish(publisher: &TestNode, service: &TestNode, message: WakuMessage) {
    let relay = publisher
        .relay
        .as_ref()
        .unwrap_or_else(|| panic!("publisher has no relay"));
    let network = &publisher.node.network;
    eventually(
        Duration::from_secs(20),
        "the service on the publisher's topic",
        || async {
            let (mesh, all) = network.topic_peers(PUBSUB.to_string()).await;
            (mesh.contains(&service.peer) || all.contains(&service.peer)).then_some(())
        },
    )
    .await;
    relay
        .publish(shard_topic(), message)
        .await
        .unwrap_or_else(|e| panic!("publish: {e}"));
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A `PushSink` that records every push it is given, in order.
#[derive(Default)]
pub struct RecordingSink {
    pushes: std::sync::Mutex<Vec<(PeerId, bytes::Bytes)>>,
}

impl RecordingSink {
    pub fn pushes(&self) -> Vec<(PeerId, bytes::Bytes)> {
        self.pushes.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

impl rwaku_plugin_filter::PushSink for RecordingSink {
    fn push(
        &self,
        peer: PeerId,
        frame: bytes::Bytes,
    ) -> futures::future::BoxFuture<'static, Result<(), rwaku_plugin_filter::PushError>> {
        if let Ok(mut pushes) = self.pushes.lock() {
            pushes.push((peer, frame));
        }
        Box::pin(async { Ok(()) })
    }
}
