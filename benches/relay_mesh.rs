//! Benchmark: a 50-node relay network in one process at 20 msgs/s of 2 KB for 10 s. Prints
//! p50/p99/max latency from publish to delivery on every other node, delivery loss, and the
//! bytes each node takes in per message against the Vac model's S·(D−1) plus gossip
//! (performance-anchors.md §1.3, §8(a)).
//!
//! Two runs over the same random topology: the memory transport (latency; it has no byte
//! counters, and gossipsub drops duplicate copies before the relay sees them, so relay
//! counters show one copy per node), then loopback TCP, where the kernel's per-socket
//! `bytes_received` (read with `ss`) gives what actually crossed the wire: every duplicate,
//! IHAVE/IWANT and control frame, with Noise and yamux framing.
//! Run: `cargo bench --bench relay_mesh` (release). `RELAY_MESH_NODES`, `RELAY_MESH_RATE`,
//! `RELAY_MESH_SECONDS` override 50, 20 and 10.

use std::{
    collections::HashSet,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use prost::Message as _;
use rwaku_actors::{Supervisor, libp2p::PeerId, node_key, supervisor::RunningNode};
use rwaku_core::time::now_ns;
use rwaku_core::{NodeConfig, PubsubTopic, WakuMessage};
use rwaku_plugin_relay::{RelayControl, RelayPlugin};

const CLUSTER: u16 = 16;
const SHARD: u16 = 32;
/// Encoded WakuMessage size (the model's S is 2 KB).
const MESSAGE_SIZE: usize = 2048;
/// Each node dials this many random earlier nodes (about 2× as many links per node).
const DIALS_PER_NODE: usize = 4;
const CONTENT_TOPIC: &str = "/rwaku-bench/1/mesh/proto";
/// Gossip keeps advertising a message for 3 heartbeats after it was sent.
const GOSSIP_TAIL: Duration = Duration::from_secs(4);

// The Vac model's parameters (performance-anchors.md §1.2).
const MODEL_D: f64 = 6.0;
const MODEL_D_LAZY: f64 = 6.0;
const MODEL_MCACHE_GOSSIP: f64 = 3.0;
const MODEL_IHAVE_BYTES: f64 = 50.0;
const MODEL_IWANT_FRACTION: f64 = 0.01;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*, so the topology and publishers are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// For each node, the earlier nodes it dials.
fn topology(nodes: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = Rng(seed);
    (0..nodes)
        .map(|i| {
            let mut picked = HashSet::new();
            while picked.len() < DIALS_PER_NODE.min(i) {
                picked.insert(rng.below(i));
            }
            let mut list: Vec<usize> = picked.into_iter().collect();
            list.sort_unstable();
            list
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Memory,
    Tcp,
}

struct BenchNode {
    node: RunningNode,
    relay: RelayControl,
    /// (sequence number, latency ns) of every message its bus accepted.
    deliveries: Arc<Mutex<Vec<(u32, i64)>>>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A message whose payload starts with its sequence number and publish time.
fn bench_message(seq: u32, payload_len: usize) -> WakuMessage {
    let mut payload = vec![0xa5u8; payload_len.max(12)];
    payload[..4].copy_from_slice(&seq.to_be_bytes());
    let sent = now_ns();
    payload[4..12].copy_from_slice(&sent.to_be_bytes());
    WakuMessage {
        payload: Bytes::from(payload),
        content_topic: CONTENT_TOPIC.into(),
        timestamp: Some(sent),
        ..Default::default()
    }
}

/// The payload length that makes the encoded message `MESSAGE_SIZE` bytes.
fn payload_len() -> usize {
    let overhead = bench_message(0, MESSAGE_SIZE).encoded_len() - MESSAGE_SIZE;
    MESSAGE_SIZE - overhead
}

fn decode_stamp(message: &WakuMessage) -> Option<(u32, i64)> {
    let p = message.payload.get(..12)?;
    let seq = u32::from_be_bytes(p[..4].try_into().ok()?);
    let sent = i64::from_be_bytes(p[4..12].try_into().ok()?);
    Some((seq, sent))
}

async fn start_network(
    transport: Transport,
    links: &[Vec<usize>],
    key_base: u64,
) -> anyhow::Result<(Vec<BenchNode>, Vec<u16>)> {
    let n = links.len();
    let keys: Vec<String> = (0..n)
        .map(|i| format!("{:064x}", key_base + i as u64))
        .collect();
    let ids: Vec<PeerId> = keys
        .iter()
        .map(|k| Ok(node_key::keypair_from_hex(k)?.public().to_peer_id()))
        .collect::<anyhow::Result<_>>()?;
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let memory_base = 60_000u64 + key_base % 1000 * 100;
    let address = |j: usize| match transport {
        Transport::Memory => format!("/memory/{}/p2p/{}", memory_base + j as u64, ids[j]),
        Transport::Tcp => format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", ports[j], ids[j]),
    };
    let topic = PubsubTopic::static_shard(CLUSTER, SHARD);
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let dir = tempfile::tempdir()?;
        let config = NodeConfig {
            cluster_id: CLUSTER,
            num_shards_in_network: 0,
            shard: vec![SHARD],
            nodekey: Some(keys[i].clone()),
            staticnode: links[i].iter().map(|&j| address(j)).collect(),
            listen_address: [127, 0, 0, 1].into(),
            tcp_port: ports[i],
            rest: false,
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let (plugin, relay) = RelayPlugin::with_control();
        let supervisor = Supervisor::new(config, vec![Box::new(plugin)]);
        let supervisor = match transport {
            Transport::Memory => supervisor.with_memory_transport(memory_base + i as u64),
            Transport::Tcp => supervisor,
        };
        let node = supervisor.start().await?;
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let log = deliveries.clone();
        let mut bus = node.bus.subscribe_accepted();
        let shard = topic.clone();
        tokio::spawn(async move {
            while let Some(m) = bus.next("relay_mesh_bench").await {
                let received = now_ns();
                if m.pubsub_topic != shard {
                    continue;
                }
                if let (Some((seq, sent)), Ok(mut log)) = (decode_stamp(&m.message), log.lock()) {
                    log.push((seq, received - sent));
                }
            }
        });
        nodes.push(BenchNode {
            node,
            relay,
            deliveries,
            _dir: dir,
        });
    }
    Ok((nodes, ports))
}

/// Waits until every node has all its links up and a mesh of min(3, links) on the shard
/// (not D_low: a node pruned by full neighbours waits out a 60 s backoff with fewer), and
/// returns the mesh sizes.
async fn wait_for_meshes(nodes: &[BenchNode], links: &[Vec<usize>]) -> anyhow::Result<Vec<usize>> {
    let mut degree = vec![0usize; links.len()];
    for (i, list) in links.iter().enumerate() {
        for &j in list {
            degree[i] += 1;
            degree[j] += 1;
        }
    }
    let topic = PubsubTopic::static_shard(CLUSTER, SHARD).to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut ready = 0;
        let mut lagging = Vec::new();
        let mut sizes = Vec::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            let (mesh, subscribed) = n.node.network.topic_peers(topic.clone()).await;
            sizes.push(mesh.len());
            // Two mesh peers at least: a late joiner whose neighbours already hold D_high
            // peers is pruned with a 60 s backoff and may sit at two for a while, which is
            // gossipsub working as specified; the mesh sizes are printed below.
            if subscribed.len() >= degree[i] && mesh.len() >= degree[i].min(2) {
                ready += 1;
            } else {
                let connected = n
                    .node
                    .network
                    .peers()
                    .await
                    .iter()
                    .filter(|p| p.connected)
                    .count();
                lagging.push(format!(
                    "node {i}: links {}, connected {connected}, subscribed {}, mesh {}",
                    degree[i],
                    subscribed.len(),
                    mesh.len()
                ));
            }
        }
        if ready == nodes.len() {
            return Ok(sizes);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "meshes not formed after 60 s ({ready}/{} nodes ready): {}",
            nodes.len(),
            lagging.join("; ")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Payload bytes received by every TCP socket between two of `ports`, from the kernel.
fn tcp_bytes_received(ports: &[u16]) -> anyhow::Result<u64> {
    let out = Command::new("ss")
        .args(["-tinH", "state", "established"])
        .output()?;
    anyhow::ensure!(out.status.success(), "ss failed");
    let ours: HashSet<u16> = ports.iter().copied().collect();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut total = 0u64;
    let mut counted = false;
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) {
            // "Recv-Q Send-Q local:port peer:port"
            let port = |field: Option<&str>| {
                field
                    .and_then(|f| f.rsplit(':').next())
                    .and_then(|p| p.parse::<u16>().ok())
            };
            let mut fields = line.split_whitespace().skip(2);
            let (local, peer) = (port(fields.next()), port(fields.next()));
            counted =
                local.is_some_and(|p| ours.contains(&p)) || peer.is_some_and(|p| ours.contains(&p));
        } else if counted {
            total += line
                .split_whitespace()
                .find_map(|f| f.strip_prefix("bytes_received:"))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}

struct Figures {
    messages: usize,
    expected: usize,
    delivered: usize,
    duplicates: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    relay_bytes_in_per_node_msg: f64,
}

async fn run_load(
    nodes: &[BenchNode],
    rate: usize,
    seconds: usize,
    seed: u64,
) -> anyhow::Result<Figures> {
    let len = payload_len();
    let total = rate * seconds;
    let mut rng = Rng(seed);
    let mut publishers = Vec::with_capacity(total);
    let before: Vec<u64> = relay_bytes_in(nodes).await;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    let mut tasks = Vec::with_capacity(total);
    for seq in 0..total as u32 {
        tick.tick().await;
        let from = rng.below(nodes.len());
        publishers.push(from);
        let relay = nodes[from].relay.clone();
        tasks.push(tokio::spawn(async move {
            relay
                .publish(
                    PubsubTopic::static_shard(CLUSTER, SHARD),
                    bench_message(seq, len),
                )
                .await
        }));
    }
    let mut published = 0;
    for t in tasks {
        if let Ok(Ok(_)) = t.await {
            published += 1;
        }
    }
    tokio::time::sleep(GOSSIP_TAIL).await;
    let after: Vec<u64> = relay_bytes_in(nodes).await;

    let mut latencies = Vec::new();
    let mut delivered = 0;
    let mut duplicates = 0;
    for (i, n) in nodes.iter().enumerate() {
        let log = n.deliveries.lock().map(|l| l.clone()).unwrap_or_default();
        let mut seen = HashSet::new();
        for (seq, latency) in log {
            if seq as usize >= total || publishers[seq as usize] == i {
                continue;
            }
            if !seen.insert(seq) {
                duplicates += 1;
                continue;
            }
            delivered += 1;
            latencies.push(latency);
        }
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map(|ns| *ns as f64 / 1e6)
            .unwrap_or(f64::NAN)
    };
    let bytes_in: u64 = after
        .iter()
        .zip(&before)
        .map(|(a, b)| a.saturating_sub(*b))
        .sum();
    Ok(Figures {
        messages: published,
        expected: published * (nodes.len() - 1),
        delivered,
        duplicates,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies
            .last()
            .map(|ns| *ns as f64 / 1e6)
            .unwrap_or(f64::NAN),
        relay_bytes_in_per_node_msg: bytes_in as f64
            / (nodes.len() as f64 * published.max(1) as f64),
    })
}

/// Each node's relay `bytes_in` counter on the shard.
async fn relay_bytes_in(nodes: &[BenchNode]) -> Vec<u64> {
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        let stats = n.relay.stats().await.unwrap_or_default();
        out.push(stats.iter().map(|(_, s)| s.bytes_in).sum());
    }
    out
}

fn print_meshes(label: &str, sizes: &[usize]) {
    let (min, max) = (
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0),
    );
    let avg = sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;
    println!("{label}: mesh size min {min}, avg {avg:.1}, max {max}");
}

fn print_latency(label: &str, f: &Figures) {
    println!(
        "{label}: {} messages, {}/{} deliveries ({:.2} % lost, {} duplicates), latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        f.messages,
        f.delivered,
        f.expected,
        100.0 * (f.expected.saturating_sub(f.delivered)) as f64 / f.expected.max(1) as f64,
        f.duplicates,
        f.p50_ms,
        f.p99_ms,
        f.max_ms
    );
}

async fn shutdown(nodes: Vec<BenchNode>) {
    for n in nodes {
        n.node.shutdown().await;
    }
}

fn model_bytes_per_node_msg() -> (f64, f64) {
    let s = MESSAGE_SIZE as f64;
    let push = s * (MODEL_D - 1.0);
    let ihave = MODEL_D_LAZY * MODEL_MCACHE_GOSSIP;
    (
        push,
        push + ihave * MODEL_IHAVE_BYTES + ihave * s * MODEL_IWANT_FRACTION,
    )
}

async fn bench() -> anyhow::Result<()> {
    let n = env_or("RELAY_MESH_NODES", 50).max(2);
    let rate = env_or("RELAY_MESH_RATE", 20).max(1);
    let seconds = env_or("RELAY_MESH_SECONDS", 10).max(1);
    let links = topology(n, 0x5eed_0001);
    let edges: usize = links.iter().map(Vec::len).sum();
    println!(
        "relay_mesh: {n} nodes, {edges} links (avg degree {:.1}), {rate} msgs/s of {MESSAGE_SIZE} B for {seconds} s, one shard, D 6/4/8",
        2.0 * edges as f64 / n as f64
    );
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(1, |c| c.get())
    );

    // Memory transport: latency.
    let started = Instant::now();
    let (nodes, _) = start_network(Transport::Memory, &links, 0x1000).await?;
    wait_for_meshes(&nodes, &links).await?;
    println!(
        "memory: started and meshed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    print_meshes("memory", &wait_for_meshes(&nodes, &links).await?);
    let memory = run_load(&nodes, rate, seconds, 0xfeed_0001).await?;
    print_latency("memory", &memory);
    println!(
        "memory: relay bytes in per node per message {:.0} B (first copies only; gossipsub drops duplicates before the relay)",
        memory.relay_bytes_in_per_node_msg
    );
    shutdown(nodes).await;

    // Loopback TCP: wire bytes.
    let (nodes, ports) = start_network(Transport::Tcp, &links, 0x2000).await?;
    wait_for_meshes(&nodes, &links).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tcp_meshes = wait_for_meshes(&nodes, &links).await?;
    print_meshes("tcp", &tcp_meshes);
    let mesh_avg = tcp_meshes.iter().sum::<usize>() as f64 / tcp_meshes.len().max(1) as f64;
    let idle_window = Duration::from_secs(5);
    let idle_start = tcp_bytes_received(&ports)?;
    tokio::time::sleep(idle_window).await;
    let idle = tcp_bytes_received(&ports)?.saturating_sub(idle_start);
    let load_start = Instant::now();
    let wire_start = tcp_bytes_received(&ports)?;
    let tcp = run_load(&nodes, rate, seconds, 0xfeed_0001).await?;
    let wire = tcp_bytes_received(&ports)?.saturating_sub(wire_start);
    let window = load_start.elapsed().as_secs_f64();
    print_latency("tcp", &tcp);
    let idle_share = idle as f64 * window / idle_window.as_secs_f64();
    let per = |bytes: f64| bytes / (n as f64 * tcp.messages.max(1) as f64);
    let gross = per(wire as f64);
    let net = per((wire as f64 - idle_share).max(0.0));
    let (push_model, full_model) = model_bytes_per_node_msg();
    println!(
        "tcp: wire bytes in per node per message {gross:.0} B gross, {net:.0} B without the idle background ({:.0} B/s per node idle)",
        idle as f64 / idle_window.as_secs_f64() / n as f64
    );
    println!(
        "model: S·(D−1) = {push_model:.0} B; with gossip (d_lazy·mcache_gossip·(g + a·S)) = {full_model:.0} B; measured/model = {:.2}× (push only {:.2}×)",
        net / full_model,
        net / push_model
    );
    println!(
        "model at the measured mesh degree {mesh_avg:.1}: S·(D̄−1) = {:.0} B; measured/model = {:.2}×",
        MESSAGE_SIZE as f64 * (mesh_avg - 1.0),
        net / (MESSAGE_SIZE as f64 * (mesh_avg - 1.0))
    );
    println!(
        "tcp: copies per node per message ≈ {:.2} (wire bytes / S, framing included)",
        net / MESSAGE_SIZE as f64
    );
    shutdown(nodes).await;
    Ok(())
}

fn main() {
    match rwaku_actors::runtime::run_in_system(Some(2), bench()) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("relay_mesh: {e}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("relay_mesh: runtime: {e}");
            std::process::exit(1);
        }
    }
}
