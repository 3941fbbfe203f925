//! Benchmark: filter v2 fan-out of the real `rwaku` binary (issue 5).
//!
//! What runs where:
//! * The service node is the `rwaku` release binary, started as a child process with
//!   `--filter` on cluster 16, shard 32, loopback TCP, `--max-connections=1500`,
//!   `--filter-max-peers-to-serve=2000` and `--rate-limit=filter:100/1s`. Its RSS is read from
//!   `/proc/<pid>/status` (VmRSS): idle, after the subscriptions, and every 500 ms during each
//!   load phase (the maximum is reported).
//! * A relay publisher runs in the bench process (an in-process node with the relay plugin and
//!   the service as its static peer) and publishes on `/waku/2/rs/16/32` at a fixed rate.
//!   Message `m` goes to content topic `/rwaku-bench/1/fanout-{m % 10}/proto`; its payload
//!   starts with the send time (ns since the UNIX epoch, LE) and the sequence number (LE).
//! * 1,000 filter subscribers run in the bench process too: in-process nodes without relay
//!   and without plugins, over loopback TCP. Subscriber `i` subscribes to content topic
//!   `fanout-{i % 10}`, so every message matches 10 % of them (100), and accepts the
//!   `filter-push` protocol itself, recording publish → push-received latency (one clock: the
//!   publisher and the subscribers share the process).
//!
//! Phases:
//! * A: 2 KB payloads at 150 msg/s for 20 s → 15,000 pushes/s offered. Prints pushes
//!   received, pushes/s (received / publish duration), drops (expected − received, with the
//!   per-subscriber min/max missing), latency p50/p99/max and the service RSS.
//! * B: 150 KB messages (the 150 KiB maximum, encoded) at 10 msg/s for 20 s. Not 150 msg/s:
//!   that would be 150 × 150 KB × 100 subscribers ≈ 2.2 GB/s of pushes over loopback, which
//!   measures the 2-core machine's Noise and copy speed rather than the service's memory.
//!   Prints the service RSS at the start, halfway, the maximum and at the end. The first
//!   150 KB messages grow the buffers and allocator arenas once; "flat" means the RSS no longer
//!   grows after that: the maximum stays within 16 MiB of the halfway value (a bench-chosen
//!   bound; a leak of one copy per push would add over 1 GB in the second half).
//! * Subscriptions held, first and without the network: a `FilterService` with a sink that
//!   discards pushes takes 10,000 random peers with 1 content topic each, then another 10,000
//!   with 10 each; the bench process RSS before and after gives the bytes per subscription.
//!
//! The service, the publisher and the 1,000 subscribers share this machine's cores, so the
//! subscribers' own work (Noise, yamux, decoding) competes with the service: figures are
//! from one run and noisy; latency percentiles are over every push of the phase.
//!
//! Run: `cargo bench --bench filter_fanout` (release). Environment overrides:
//! `FILTER_BENCH_SUBSCRIBERS` (1000), `FILTER_BENCH_RATE` (150), `FILTER_BENCH_SECONDS` (20),
//! `FILTER_BENCH_LARGE_RATE` (10), `FILTER_BENCH_LARGE_SECONDS` (= FILTER_BENCH_SECONDS),
//! `FILTER_BENCH_HELD` (10000), `FILTER_BENCH_BATCH` (50 subscribers started at once).

use std::{
    collections::HashSet,
    future::Future,
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    pin::Pin,
    process::{Child, Command, Stdio},
    str::FromStr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use prost::Message as _;
use rwaku_actors::{
    Supervisor,
    libp2p::{Multiaddr, PeerId, StreamProtocol, futures::future::join_all},
    libp2p_stream,
    supervisor::RunningNode,
};
use rwaku_core::{NodeConfig, PubsubTopic, WakuMessage, time::now_ns};
use rwaku_plugin_filter::{
    FanOutConfig, FilterService, FilterServiceConfig, PushError, PushSink, SubscriptionLimits,
};
use rwaku_plugin_relay::{RelayControl, RelayPlugin};
use rwaku_protocols::{
    filter::{
        self, MAX_PUSH_SIZE, MAX_RESPONSE_SIZE, PUSH_PROTOCOL_ID, SUBSCRIBE_PROTOCOL_ID,
        pb::{FilterSubscribeRequest, FilterSubscribeResponse, FilterSubscribeType, MessagePush},
    },
    framing::{self, FrameError},
};

const CLUSTER: u16 = 16;
const SHARD: u16 = 32;
/// Content topics; each message matches the subscribers of one, i.e. 10 %.
const TOPICS: usize = 10;
const SMALL_PAYLOAD: usize = 2048;
/// Sequence numbers of phase B start here, so a late phase-A push cannot be miscounted.
const PHASE_B_SEQ_BASE: u64 = 1_000_000;
/// Pushes may still arrive this long after the last publish; waiting goes on while they do.
const MIN_GRACE: Duration = Duration::from_secs(3);
const MAX_GRACE: Duration = Duration::from_secs(15);
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(500);
const SUBSCRIBE_ATTEMPTS: usize = 4;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Bench-chosen meaning of "RSS stays flat" for phase B.
const FLAT_RSS_MARGIN_MIB: f64 = 16.0;
/// The goals of issue 5.
const GOAL_PUSHES_PER_S: f64 = 15_000.0;
const GOAL_P99_MS: f64 = 20.0;
const GOAL_RSS_BYTES: f64 = 500e6;
const GOAL_HELD: usize = 10_000;
/// Node keys: the publisher gets the base, subscriber `i` the base + 1 + i.
const KEY_BASE: u64 = 0x00f1_7e00_0000;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn shard_topic() -> PubsubTopic {
    PubsubTopic::static_shard(CLUSTER, SHARD)
}

fn content_topic(index: usize) -> String {
    format!("/rwaku-bench/1/fanout-{}/proto", index % TOPICS)
}

fn node_key(n: u64) -> String {
    format!("{:064x}", KEY_BASE + n)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// /proc readings

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// User + system CPU time of `pid` in clock ticks (fields 14 and 15 of `/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so fields 14 and 15 are at 11 and 12.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// Samples a process's RSS every 500 ms on its own thread and keeps the maximum since the
/// last `reset`.
struct RssSampler {
    pid: u32,
    max_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let max_kib = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let (max, flag) = (max_kib.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    max.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(RSS_SAMPLE_EVERY);
            }
        });
        Self {
            pid,
            max_kib,
            stop,
            thread: Some(thread),
        }
    }

    /// Starts a new window; returns the RSS now.
    fn reset(&self) -> u64 {
        let now = rss_kib(self.pid).unwrap_or(0);
        self.max_kib.store(now, Ordering::Relaxed);
        now
    }

    fn max(&self) -> u64 {
        let now = rss_kib(self.pid).unwrap_or(0);
        self.max_kib.fetch_max(now, Ordering::Relaxed).max(now)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The service node: the real binary

/// The `rwaku` child process; killed when dropped.
struct ServiceNode {
    child: Child,
    rest_port: u16,
    address: Multiaddr,
    peer: PeerId,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// A tiny HTTP/1.0 GET on loopback; the body, or `None`.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let (_, body) = response.split_once("\r\n\r\n")?;
    Some(body.to_string())
}

fn loopback_tcp_address(info: &str) -> anyhow::Result<String> {
    let info: serde_json::Value = serde_json::from_str(info)?;
    info["listenAddresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str())
        .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/") && !a.contains("/ws"))
        .map(String::from)
        .ok_or_else(|| anyhow::anyhow!("no loopback TCP address in /info: {info}"))
}

impl ServiceNode {
    fn start() -> anyhow::Result<Self> {
        let binary = env!("CARGO_BIN_EXE_rwaku");
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("service.log");
        let rest_port = free_port();
        let child = Command::new(binary)
            .args([
                format!("--cluster-id={CLUSTER}"),
                "--num-shards-in-network=0".into(),
                format!("--shard={SHARD}"),
                "--filter".into(),
                "--listen-address=127.0.0.1".into(),
                format!("--tcp-port={}", free_port()),
                format!("--rest-port={rest_port}"),
                "--max-connections=1500".into(),
                "--filter-max-peers-to-serve=2000".into(),
                // Longer than the whole run, so no subscription times out without a ping.
                "--filter-subscription-timeout=3600".into(),
                "--rate-limit=filter:100/1s".into(),
                format!("--data-dir={}", dir.path().join("data").display()),
                "--log-level=WARN".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log)?))
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {binary}: {e}"))?;
        let mut node = Self {
            child,
            rest_port,
            address: Multiaddr::empty(),
            peer: PeerId::random(),
            log,
            _dir: dir,
        };
        node.wait_ready(Duration::from_secs(30))?;
        let info = http_get(rest_port, "/info").ok_or_else(|| anyhow::anyhow!("no /info"))?;
        let address = loopback_tcp_address(&info)?;
        let peer = address
            .rsplit("/p2p/")
            .next()
            .ok_or_else(|| anyhow::anyhow!("{address} has no /p2p/"))?;
        node.peer = PeerId::from_str(peer)?;
        node.address = address.parse()?;
        Ok(node)
    }

    fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("service exited with {status}; log:\n{}", self.log_tail(40));
            }
            let health = http_get(self.rest_port, "/health").unwrap_or_default();
            if health.contains("\"nodeHealth\":\"READY\"") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        anyhow::bail!(
            "service not READY within {within:?}; log:\n{}",
            self.log_tail(40)
        )
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn log_tail(&self, n: usize) -> String {
        let lines = self.log_lines();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServiceNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Pushes received by the subscribers

#[derive(Debug, Clone, Copy)]
struct Delivery {
    subscriber: u32,
    seq: u64,
    latency_ns: i64,
}

/// Every push any subscriber received, plus the streams that went wrong.
#[derive(Default)]
struct Deliveries {
    log: Mutex<Vec<Delivery>>,
    bad_frames: AtomicU64,
    undecodable: AtomicU64,
}

impl Deliveries {
    fn record(&self, delivery: Delivery) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(delivery);
    }

    fn count(&self) -> usize {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn take(&self) -> Vec<Delivery> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The payload: send time (ns, LE), sequence number (LE), filler.
fn stamped_payload(seq: u64, len: usize) -> (Bytes, i64) {
    let mut payload = vec![0xa5u8; len.max(16)];
    let sent = now_ns();
    payload[..8].copy_from_slice(&sent.to_le_bytes());
    payload[8..16].copy_from_slice(&seq.to_le_bytes());
    (Bytes::from(payload), sent)
}

fn read_stamp(payload: &[u8]) -> Option<(i64, u64)> {
    let sent = i64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let seq = u64::from_le_bytes(payload.get(8..16)?.try_into().ok()?);
    Some((sent, seq))
}

/// Reads `MessagePush` frames from one push stream until it ends.
async fn read_pushes(
    subscriber: u32,
    mut stream: rwaku_actors::libp2p::Stream,
    out: Arc<Deliveries>,
) {
    loop {
        match framing::read_frame(&mut stream, MAX_PUSH_SIZE).await {
            Ok(body) => {
                let received = now_ns();
                match MessagePush::decode(body)
                    .ok()
                    .and_then(|push| read_stamp(&push.waku_message.payload))
                {
                    Some((sent, seq)) => out.record(Delivery {
                        subscriber,
                        seq,
                        latency_ns: received - sent,
                    }),
                    None => {
                        out.undecodable.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Err(FrameError::Eof) => return,
            Err(_) => {
                out.bad_frames.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// The subscriber's side of `filter-push`: every inbound stream gets its own reader task, so
/// the accept loop is always ready for the next one.
async fn accept_pushes(
    subscriber: u32,
    mut incoming: tokio::sync::mpsc::Receiver<(PeerId, rwaku_actors::libp2p::Stream)>,
    out: Arc<Deliveries>,
) {
    while let Some((_, stream)) = incoming.recv().await {
        tokio::spawn(read_pushes(subscriber, stream, out.clone()));
    }
}

// ---------------------------------------------------------------------------------------------
// In-process nodes: the subscribers and the publisher

struct Subscriber {
    index: usize,
    /// Kept so the node runs until the bench ends.
    _node: RunningNode,
    subscribed: bool,
}

fn subscriber_config(index: usize, dir: &Path) -> NodeConfig {
    NodeConfig {
        cluster_id: CLUSTER,
        num_shards_in_network: 0,
        shard: vec![SHARD],
        nodekey: Some(node_key(1 + index as u64)),
        listen_address: [127, 0, 0, 1].into(),
        tcp_port: 0,
        relay: false,
        rest: false,
        peer_exchange: false,
        data_dir: dir.to_path_buf(),
        ..Default::default()
    }
}

/// One SUBSCRIBE request and its status code.
async fn subscribe_once(
    control: &mut libp2p_stream::Control,
    service: PeerId,
    index: usize,
    attempt: usize,
) -> Result<(), String> {
    let body = FilterSubscribeRequest {
        request_id: format!("bench-{index}-{attempt}"),
        filter_subscribe_type: Some(FilterSubscribeType::Subscribe as i32),
        pubsub_topic: Some(shard_topic().to_string()),
        content_topics: vec![content_topic(index)],
    }
    .encode_to_vec();
    let response = rwaku_actors::stream_server::request(
        control,
        service,
        StreamProtocol::new(SUBSCRIBE_PROTOCOL_ID),
        &body,
        MAX_RESPONSE_SIZE,
        REQUEST_TIMEOUT,
    )
    .await
    .map_err(|e| e.to_string())?;
    let response = FilterSubscribeResponse::decode(response).map_err(|e| e.to_string())?;
    if response.status_code == filter::status::SUCCESS {
        Ok(())
    } else {
        Err(format!(
            "status {} {}",
            response.status_code,
            response.status_desc.unwrap_or_default()
        ))
    }
}

/// Subscribes with a few retries; the last error if every attempt failed.
async fn subscribe(
    control: &mut libp2p_stream::Control,
    service: PeerId,
    index: usize,
) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..SUBSCRIBE_ATTEMPTS {
        match subscribe_once(control, service, index, attempt).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                let wait = if e.contains("status 429") { 1100 } else { 500 };
                last = e;
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
        }
    }
    Err(last)
}

/// Starts subscriber `index`, dials the service and subscribes. A node that could not start
/// is an error; a failed subscription is reported in `subscribe_error`.
async fn start_subscriber(
    index: usize,
    root: &Path,
    service: &ServiceNode,
    out: Arc<Deliveries>,
) -> anyhow::Result<(Subscriber, Option<String>)> {
    let dir = root.join(format!("subscriber-{index}"));
    std::fs::create_dir_all(&dir)?;
    let node = Supervisor::new(subscriber_config(index, &dir), Vec::new())
        .start()
        .await?;
    let mut control = node.network.stream_control();
    let incoming = node
        .network
        .accept_streams(StreamProtocol::new(PUSH_PROTOCOL_ID))
        .map_err(|e| anyhow::anyhow!("filter-push already accepted: {e}"))?;
    tokio::spawn(accept_pushes(index as u32, incoming, out));
    let outcome = match node.network.dial(service.address.clone()).await {
        Ok(()) => subscribe(&mut control, service.peer, index).await,
        Err(e) => Err(format!("dial: {e}")),
    };
    let subscriber = Subscriber {
        index,
        _node: node,
        subscribed: outcome.is_ok(),
    };
    Ok((subscriber, outcome.err()))
}

struct Subscribers {
    nodes: Vec<Subscriber>,
    start_failures: Vec<String>,
    subscribe_failures: Vec<String>,
    /// Subscribed subscribers per content topic.
    per_topic: [usize; TOPICS],
    elapsed: Duration,
}

async fn start_subscribers(
    count: usize,
    batch: usize,
    root: &Path,
    service: &ServiceNode,
    out: &Arc<Deliveries>,
) -> Subscribers {
    let started = Instant::now();
    let mut all = Subscribers {
        nodes: Vec::with_capacity(count),
        start_failures: Vec::new(),
        subscribe_failures: Vec::new(),
        per_topic: [0; TOPICS],
        elapsed: Duration::ZERO,
    };
    let mut next = 0;
    while next < count {
        let end = (next + batch.max(1)).min(count);
        // Joined, not spawned: node start-up starts actors, which live on this thread.
        let results =
            join_all((next..end).map(|i| start_subscriber(i, root, service, out.clone()))).await;
        for (i, result) in (next..end).zip(results) {
            match result {
                Ok((node, error)) => {
                    if node.subscribed {
                        all.per_topic[i % TOPICS] += 1;
                    }
                    if let Some(e) = error {
                        all.subscribe_failures.push(format!("subscriber {i}: {e}"));
                    }
                    all.nodes.push(node);
                }
                Err(e) => all.start_failures.push(format!("subscriber {i}: {e}")),
            }
        }
        next = end;
        if next % 200 == 0 || next == count {
            println!(
                "  subscribers: {next}/{count} started, {} subscribed ({:.1} s)",
                all.per_topic.iter().sum::<usize>(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    all.elapsed = started.elapsed();
    all
}

struct Publisher {
    _node: RunningNode,
    relay: RelayControl,
}

async fn start_publisher(root: &Path, service: &ServiceNode) -> anyhow::Result<Publisher> {
    let dir = root.join("publisher");
    std::fs::create_dir_all(&dir)?;
    let config = NodeConfig {
        cluster_id: CLUSTER,
        num_shards_in_network: 0,
        shard: vec![SHARD],
        nodekey: Some(node_key(0)),
        staticnode: vec![service.address.to_string()],
        listen_address: [127, 0, 0, 1].into(),
        tcp_port: 0,
        rest: false,
        peer_exchange: false,
        data_dir: dir,
        ..Default::default()
    };
    let (plugin, relay) = RelayPlugin::with_control();
    let node = Supervisor::new(config, vec![Box::new(plugin)])
        .start()
        .await?;
    wait_for_mesh(&node, service.peer).await?;
    Ok(Publisher { _node: node, relay })
}

/// Waits until the service is in the publisher's mesh on the shard (it is subscribed first;
/// the mesh follows within a heartbeat or two). Subscribed-only after 20 s is enough to go on:
/// gossipsub's flood publish still reaches it.
async fn wait_for_mesh(node: &RunningNode, service: PeerId) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (mesh, subscribed) = node.network.topic_peers(shard_topic().to_string()).await;
        if mesh.contains(&service) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::ensure!(
                subscribed.contains(&service),
                "the service never subscribed to {} at the publisher",
                shard_topic()
            );
            println!("  publisher: service subscribed but not in the mesh after 20 s; going on");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Held subscriptions, without the network

/// A push sink that discards every push.
struct DiscardSink;

impl PushSink for DiscardSink {
    fn push(
        &self,
        _peer: PeerId,
        _frame: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<(), PushError>> + Send + 'static>> {
        Box::pin(async { Ok(()) })
    }
}

struct Held {
    peers: usize,
    criteria: usize,
    rss_delta_kib: i64,
    elapsed: Duration,
}

impl Held {
    fn bytes_per_peer(&self) -> f64 {
        self.rss_delta_kib as f64 * 1024.0 / self.peers.max(1) as f64
    }

    fn bytes_per_criterion(&self) -> f64 {
        self.rss_delta_kib as f64 * 1024.0 / self.criteria.max(1) as f64
    }
}

/// Registers `peers` random peers with `topics_per_peer` content topics each (drawn from 100)
/// and measures the process RSS before and after. The service is returned so that the next
/// measurement can be made on top of it, not in the memory it would free.
async fn hold_subscriptions(
    peers: usize,
    topics_per_peer: usize,
) -> anyhow::Result<(Held, FilterService)> {
    let pid = std::process::id();
    let before = rss_kib(pid).unwrap_or(0);
    let config = FilterServiceConfig {
        limits: SubscriptionLimits {
            max_peers: peers * 2,
            max_criteria_per_peer: 1000,
            timeout: Duration::from_secs(3600),
        },
        fan_out: FanOutConfig::default(),
        rate_limit: None,
    };
    let mut service = FilterService::new(config, Arc::new(DiscardSink));
    let pubsub = shard_topic().to_string();
    let now = Instant::now();
    let started = Instant::now();
    for p in 0..peers {
        let topics: Vec<String> = (0..topics_per_peer)
            .map(|k| format!("/rwaku-bench/1/held-{}/proto", (p + k) % 100))
            .collect();
        service.subscribe(PeerId::random(), &pubsub, &topics, now)?;
    }
    let elapsed = started.elapsed();
    // Let every sender task run once and park on its empty queue.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid).unwrap_or(0);
    let held = Held {
        peers: service.subscriptions().peer_count(),
        criteria: service.subscriptions().criteria_count(),
        rss_delta_kib: after as i64 - before as i64,
        elapsed,
    };
    Ok((held, service))
}

fn print_held(label: &str, held: &Held) {
    println!(
        "  {label}: {} peers, {} criteria held (subscribed in {:.0} ms); bench RSS {:+.1} MiB → {:.0} B per subscription, {:.0} B per criterion",
        held.peers,
        held.criteria,
        held.elapsed.as_secs_f64() * 1000.0,
        held.rss_delta_kib as f64 / 1024.0,
        held.bytes_per_peer(),
        held.bytes_per_criterion()
    );
}

// ---------------------------------------------------------------------------------------------
// Load phases

struct PhaseConfig {
    label: &'static str,
    rate: usize,
    seconds: usize,
    payload_len: usize,
    seq_base: u64,
}

struct Published {
    /// Sequence numbers the publisher accepted.
    seqs: Vec<u64>,
    failures: Vec<String>,
    duration: Duration,
}

async fn publish_at_rate(publisher: &Publisher, phase: &PhaseConfig) -> Published {
    let total = phase.rate * phase.seconds;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / phase.rate.max(1) as f64));
    let mut tasks = Vec::with_capacity(total);
    let started = Instant::now();
    for n in 0..total as u64 {
        tick.tick().await;
        let seq = phase.seq_base + n;
        let (payload, sent) = stamped_payload(seq, phase.payload_len);
        let message = WakuMessage {
            payload,
            content_topic: content_topic(seq as usize),
            timestamp: Some(sent),
            ..Default::default()
        };
        let relay = publisher.relay.clone();
        // Spawned, so a slow publish never delays the next tick.
        tasks.push(tokio::spawn(async move {
            (seq, relay.publish(shard_topic(), message).await)
        }));
    }
    let duration = started.elapsed();
    let mut published = Published {
        seqs: Vec::with_capacity(total),
        failures: Vec::new(),
        duration,
    };
    for task in tasks {
        match task.await {
            Ok((seq, Ok(_))) => published.seqs.push(seq),
            Ok((seq, Err(e))) => published.failures.push(format!("message {seq}: {e}")),
            Err(e) => published.failures.push(format!("publish task: {e}")),
        }
    }
    published
}

/// Waits at least `MIN_GRACE`, then as long as pushes keep arriving (up to `MAX_GRACE`).
async fn wait_for_stragglers(out: &Deliveries) -> Duration {
    let started = Instant::now();
    tokio::time::sleep(MIN_GRACE).await;
    let mut last = out.count();
    while started.elapsed() < MAX_GRACE {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = out.count();
        if now == last {
            break;
        }
        last = now;
    }
    started.elapsed()
}

struct PhaseFigures {
    messages: usize,
    publish_failures: Vec<String>,
    publish_seconds: f64,
    expected: usize,
    received: usize,
    duplicates: usize,
    missing_min: usize,
    missing_max: usize,
    pushes_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    grace: Duration,
    rss_start_kib: u64,
    /// Halfway through publishing: once buffers and allocator arenas have warmed up, a flat
    /// RSS does not grow from here to the end.
    rss_mid_kib: u64,
    rss_max_kib: u64,
    rss_end_kib: u64,
    service_cpu_percent: f64,
    bench_cpu_percent: f64,
}

fn percentile_ms(sorted_ns: &[i64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted_ns.len() as f64 * p) as usize).min(sorted_ns.len() - 1);
    sorted_ns[index] as f64 / 1e6
}

/// The pushes of one phase, counted against what the subscriptions promise.
struct Tally {
    expected: usize,
    /// Distinct (subscriber, message) pushes of messages the publisher accepted.
    received: usize,
    duplicates: usize,
    missing_min: usize,
    missing_max: usize,
    /// Sorted, ns.
    latencies: Vec<i64>,
}

fn tally(deliveries: &[Delivery], published: &Published, subscribers: &Subscribers) -> Tally {
    let seqs: HashSet<u64> = published.seqs.iter().copied().collect();
    let mut per_topic_messages = [0usize; TOPICS];
    for seq in &published.seqs {
        per_topic_messages[*seq as usize % TOPICS] += 1;
    }
    let expected: usize = (0..TOPICS)
        .map(|t| per_topic_messages[t] * subscribers.per_topic[t])
        .sum();
    let mut seen = HashSet::with_capacity(deliveries.len());
    let slots = subscribers
        .nodes
        .iter()
        .map(|s| s.index + 1)
        .max()
        .unwrap_or(0);
    let mut per_subscriber = vec![0usize; slots];
    let mut latencies = Vec::with_capacity(deliveries.len());
    let mut duplicates = 0;
    for d in deliveries {
        if !seqs.contains(&d.seq) {
            continue;
        }
        if !seen.insert((d.subscriber, d.seq)) {
            duplicates += 1;
            continue;
        }
        if let Some(count) = per_subscriber.get_mut(d.subscriber as usize) {
            *count += 1;
        }
        latencies.push(d.latency_ns);
    }
    let missing: Vec<usize> = subscribers
        .nodes
        .iter()
        .filter(|s| s.subscribed)
        .map(|s| per_topic_messages[s.index % TOPICS].saturating_sub(per_subscriber[s.index]))
        .collect();
    let missing_min = missing.iter().min().copied().unwrap_or(0);
    let missing_max = missing.iter().max().copied().unwrap_or(0);
    latencies.sort_unstable();
    Tally {
        expected,
        received: seen.len(),
        duplicates,
        missing_min,
        missing_max,
        latencies,
    }
}

/// What every load phase works with.
struct Bench<'a> {
    service_pid: u32,
    sampler: &'a RssSampler,
    publisher: &'a Publisher,
    subscribers: &'a Subscribers,
    deliveries: &'a Arc<Deliveries>,
    ticks_per_s: f64,
}

async fn run_phase(bench: &Bench<'_>, phase: &PhaseConfig) -> PhaseFigures {
    let service_pid = bench.service_pid;
    let bench_pid = std::process::id();
    bench.deliveries.take();
    let rss_start_kib = bench.sampler.reset();
    let cpu_start = (cpu_ticks(service_pid), cpu_ticks(bench_pid));
    let started = Instant::now();
    let halfway = async {
        tokio::time::sleep(Duration::from_secs_f64(phase.seconds as f64 / 2.0)).await;
        rss_kib(service_pid).unwrap_or(0)
    };
    let (published, rss_mid_kib) = tokio::join!(publish_at_rate(bench.publisher, phase), halfway);
    let grace = wait_for_stragglers(bench.deliveries).await;
    let wall = started.elapsed().as_secs_f64();
    let cpu_percent = |start: Option<u64>, pid: u32| match (start, cpu_ticks(pid)) {
        (Some(a), Some(b)) => (b.saturating_sub(a)) as f64 / bench.ticks_per_s / wall * 100.0,
        _ => f64::NAN,
    };
    let service_cpu_percent = cpu_percent(cpu_start.0, service_pid);
    let bench_cpu_percent = cpu_percent(cpu_start.1, bench_pid);
    let rss_max_kib = bench.sampler.max();
    let rss_end_kib = rss_kib(service_pid).unwrap_or(0);
    let deliveries = bench.deliveries.take();
    let counted = tally(&deliveries, &published, bench.subscribers);
    let publish_seconds = published.duration.as_secs_f64();
    let figures = PhaseFigures {
        messages: published.seqs.len(),
        publish_failures: published.failures,
        publish_seconds,
        expected: counted.expected,
        received: counted.received,
        duplicates: counted.duplicates,
        missing_min: counted.missing_min,
        missing_max: counted.missing_max,
        pushes_per_s: counted.received as f64 / publish_seconds.max(1e-9),
        p50_ms: percentile_ms(&counted.latencies, 0.50),
        p99_ms: percentile_ms(&counted.latencies, 0.99),
        max_ms: counted
            .latencies
            .last()
            .map_or(f64::NAN, |ns| *ns as f64 / 1e6),
        grace,
        rss_start_kib,
        rss_mid_kib,
        rss_max_kib,
        rss_end_kib,
        service_cpu_percent,
        bench_cpu_percent,
    };
    print_phase(phase, &figures, bench.deliveries);
    figures
}

fn print_phase(phase: &PhaseConfig, f: &PhaseFigures, out: &Deliveries) {
    let drops = f.expected.saturating_sub(f.received);
    println!(
        "  {}: published {} messages of {} B payload in {:.2} s ({:.1} msg/s, {} publish failures)",
        phase.label,
        f.messages,
        phase.payload_len,
        f.publish_seconds,
        f.messages as f64 / f.publish_seconds.max(1e-9),
        f.publish_failures.len()
    );
    for failure in f.publish_failures.iter().take(3) {
        println!("    publish failure: {failure}");
    }
    println!(
        "  {}: pushes received {}/{} expected → {:.0} pushes/s; drops {} ({:.3} %), missing per subscriber min {} max {}; duplicates {}; waited {:.1} s for stragglers",
        phase.label,
        f.received,
        f.expected,
        f.pushes_per_s,
        drops,
        100.0 * drops as f64 / f.expected.max(1) as f64,
        f.missing_min,
        f.missing_max,
        f.duplicates,
        f.grace.as_secs_f64()
    );
    println!(
        "  {}: latency relay publish → push received: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        phase.label, f.p50_ms, f.p99_ms, f.max_ms
    );
    println!(
        "  {}: service RSS start {:.1} MiB, halfway {:.1} MiB, max {:.1} MiB, end {:.1} MiB; CPU service {:.0} %, bench process {:.0} % (of one core)",
        phase.label,
        mib(f.rss_start_kib),
        mib(f.rss_mid_kib),
        mib(f.rss_max_kib),
        mib(f.rss_end_kib),
        f.service_cpu_percent,
        f.bench_cpu_percent
    );
    let (bad, undecodable) = (
        out.bad_frames.swap(0, Ordering::Relaxed),
        out.undecodable.swap(0, Ordering::Relaxed),
    );
    if bad + undecodable > 0 {
        println!(
            "  {}: {bad} push streams ended inside a frame or errored, {undecodable} pushes undecodable",
            phase.label
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Summary

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

fn print_summary(
    subscribers: usize,
    a: &PhaseFigures,
    b: &PhaseFigures,
    b_rate: usize,
    held: &Held,
    held10: &Held,
) {
    let drops_a = a.expected.saturating_sub(a.received);
    let rss_a_bytes = a.rss_max_kib as f64 * 1024.0;
    let b_growth_mib = mib(b.rss_max_kib.saturating_sub(b.rss_mid_kib));
    let rows = [
        (
            format!("fan-out, {subscribers} subscribers, 150 msg/s × 2 KB, 10 % match: pushes/s"),
            format!("{:.0} pushes/s, {drops_a} drops", a.pushes_per_s),
            "≥ 15,000 pushes/s, zero drops".to_string(),
            a.pushes_per_s >= GOAL_PUSHES_PER_S && drops_a == 0,
        ),
        (
            "same: relay-in → push p99".into(),
            format!("{:.2} ms", a.p99_ms),
            "≤ 20 ms".into(),
            a.p99_ms <= GOAL_P99_MS,
        ),
        (
            "same: service RSS (max)".into(),
            format!("{:.1} MiB", mib(a.rss_max_kib)),
            "≤ 500 MB (476.8 MiB)".into(),
            rss_a_bytes <= GOAL_RSS_BYTES,
        ),
        (
            format!("150 KB messages ({b_rate} msg/s): service RSS"),
            format!(
                "{:.1} → halfway {:.1} → max {:.1} → end {:.1} MiB (+{b_growth_mib:.1} in the second half)",
                mib(b.rss_start_kib),
                mib(b.rss_mid_kib),
                mib(b.rss_max_kib),
                mib(b.rss_end_kib)
            ),
            format!("stays flat (second half grows ≤ {FLAT_RSS_MARGIN_MIB:.0} MiB)"),
            b_growth_mib <= FLAT_RSS_MARGIN_MIB,
        ),
        (
            "subscriptions held".into(),
            format!(
                "{}, {:.0} B/subscription (10 topics: {:.0} B)",
                held.peers,
                held.bytes_per_peer(),
                held10.bytes_per_peer()
            ),
            "≥ 10,000, memory per subscription".into(),
            held.peers >= GOAL_HELD && held10.peers >= GOAL_HELD,
        ),
    ];
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let value_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    println!("summary (one run on a noisy shared 2-core machine; latency over all pushes):");
    for (figure, value, goal, met) in &rows {
        println!(
            "  {figure:<width$}  {value:<value_width$}  goal {goal:<40}  {}",
            verdict(*met)
        );
    }
}

// ---------------------------------------------------------------------------------------------

/// The payload length that makes the encoded message exactly `encoded` bytes.
fn payload_len_for(encoded: usize) -> usize {
    let probe = WakuMessage {
        payload: Bytes::from(vec![0u8; encoded]),
        content_topic: content_topic(0),
        timestamp: Some(now_ns()),
        ..Default::default()
    };
    encoded.saturating_sub(probe.encoded_len() - encoded)
}

fn print_failures(label: &str, failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    println!("  {label}: {} (first ones below)", failures.len());
    for f in failures.iter().take(5) {
        println!("    {f}");
    }
}

async fn bench() -> anyhow::Result<()> {
    let subscriber_count = env_or("FILTER_BENCH_SUBSCRIBERS", 1000).max(1);
    let rate = env_or("FILTER_BENCH_RATE", 150).max(1);
    let seconds = env_or("FILTER_BENCH_SECONDS", 20).max(1);
    let large_rate = env_or("FILTER_BENCH_LARGE_RATE", 10).max(1);
    let large_seconds = env_or("FILTER_BENCH_LARGE_SECONDS", seconds).max(1);
    let held_peers = env_or("FILTER_BENCH_HELD", GOAL_HELD).max(1);
    let batch = env_or("FILTER_BENCH_BATCH", 50).max(1);
    println!(
        "filter_fanout: service = the rwaku release binary (child process, --filter, loopback TCP); \
         publisher and {subscriber_count} subscribers in-process in this bench, over loopback TCP"
    );
    println!(
        "  cores: {}; open files limit: {}",
        std::thread::available_parallelism().map_or(1, |c| c.get()),
        open_files_limit().map_or("?".into(), |n| n.to_string())
    );

    // Subscriptions held: first, while this process is quiet, so its RSS delta is clean.
    println!("subscriptions held (FilterService in this process, pushes discarded, no network):");
    let (held, first) = hold_subscriptions(held_peers, 1).await?;
    print_held("1 content topic each", &held);
    let (held10, second) = hold_subscriptions(held_peers, 10).await?;
    print_held("10 content topics each", &held10);
    // Their idle sender tasks would only weigh on the load phases.
    drop((first, second));

    println!("setup:");
    let mut service = ServiceNode::start()?;
    let pid = service.pid();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_kib = rss_kib(pid).unwrap_or(0);
    println!(
        "  service pid {pid} at {} READY; idle RSS {:.1} MiB",
        service.address,
        mib(idle_kib)
    );
    let sampler = RssSampler::start(pid);
    let root = tempfile::tempdir()?;
    let deliveries = Arc::new(Deliveries::default());
    let publisher = start_publisher(root.path(), &service).await?;
    println!("  publisher: service in its mesh on {}", shard_topic());
    let subscribers =
        start_subscribers(subscriber_count, batch, root.path(), &service, &deliveries).await;
    let subscribed: usize = subscribers.per_topic.iter().sum();
    println!(
        "  subscribers: {} started, {subscribed} subscribed in {:.1} s ({} batches of {batch})",
        subscribers.nodes.len(),
        subscribers.elapsed.as_secs_f64(),
        subscriber_count.div_ceil(batch)
    );
    print_failures("subscriber start failures", &subscribers.start_failures);
    print_failures("subscribe failures", &subscribers.subscribe_failures);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let subscribed_kib = rss_kib(pid).unwrap_or(0);
    println!(
        "  service RSS after {subscribed} subscriptions {:.1} MiB (+{:.1} MiB: {:.1} KiB per connected subscriber, connection included); bench process RSS {:.1} MiB",
        mib(subscribed_kib),
        mib(subscribed_kib.saturating_sub(idle_kib)),
        subscribed_kib.saturating_sub(idle_kib) as f64 / subscribed.max(1) as f64,
        mib(rss_kib(std::process::id()).unwrap_or(0))
    );
    let before_run_max = sampler.max();

    let run = Bench {
        service_pid: pid,
        sampler: &sampler,
        publisher: &publisher,
        subscribers: &subscribers,
        deliveries: &deliveries,
        ticks_per_s: clock_ticks_per_second(),
    };
    println!("phase A: {rate} msg/s of {SMALL_PAYLOAD} B payload for {seconds} s");
    let a = run_phase(
        &run,
        &PhaseConfig {
            label: "A",
            rate,
            seconds,
            payload_len: SMALL_PAYLOAD,
            seq_base: 0,
        },
    )
    .await;
    let large_payload = payload_len_for(rwaku_core::MAX_WAKU_MESSAGE_SIZE);
    println!(
        "phase B: {large_rate} msg/s of {large_payload} B payload ({} B encoded, the maximum) for {large_seconds} s",
        rwaku_core::MAX_WAKU_MESSAGE_SIZE
    );
    let b = run_phase(
        &run,
        &PhaseConfig {
            label: "B",
            rate: large_rate,
            seconds: large_seconds,
            payload_len: large_payload,
            seq_base: PHASE_B_SEQ_BASE,
        },
    )
    .await;

    println!(
        "service RSS: idle {:.1} MiB, after subscribe {:.1} MiB, max during setup {:.1} MiB, max phase A {:.1} MiB, max phase B {:.1} MiB",
        mib(idle_kib),
        mib(subscribed_kib),
        mib(before_run_max),
        mib(a.rss_max_kib),
        mib(b.rss_max_kib)
    );
    if !service.is_running() {
        println!("service: exited during the run!");
    }
    let warnings = service.log_lines();
    println!("service log: {} lines at WARN or above", warnings.len());
    for line in warnings.iter().take(5) {
        println!("    {line}");
    }
    print_summary(subscriber_count, &a, &b, large_rate, &held, &held10);
    drop(sampler);
    drop(service);
    Ok(())
}

fn main() {
    match rwaku_actors::runtime::run_in_system(Some(2), bench()) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("filter_fanout: {e}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("filter_fanout: runtime: {e}");
            std::process::exit(1);
        }
    }
}
