//! Benchmark: lightpush v3 throughput and latency with signed 2 KB messages on a protected
//! shard, from 500 light clients at once.
//!
//! Everything runs in this one process on the memory transport: a service node (DoS validator
//! on protected shard 32 of cluster 16, relay, lightpush), a relay peer for it to publish to,
//! and 500 client nodes (relay off), each a real libp2p node with its own connection to the
//! service. Messages are signed before the clock starts. Each client sends its requests one
//! after another; all clients run at once. Every request goes through the whole service path:
//! stream, decode, size and topic checks, the relay's generic checks, the secp256k1 signature
//! check on the validator pool, gossipsub publish, the answer. The clients and the relay peer
//! share the same 2 cores, so the figure is a lower bound for the service alone.
//!
//! Two phases: closed loop (each client sends as soon as its last answer is in), which gives
//! the highest rate, and open loop at an offered 5,000 req/s (each client one request every
//! 100 ms from a random phase), which gives the latency at the goal's rate. In a closed loop
//! the latency is just the clients in flight divided by the rate (Little's law).
//!
//! Run: `cargo bench --bench lightpush` (release). `LIGHTPUSH_CLIENTS` and
//! `LIGHTPUSH_REQUESTS` (per client) override 500 and 20; `LIGHTPUSH_ROUNDS` (3) repeats each
//! phase and the medians are printed; `LIGHTPUSH_OFFERED_RATE` overrides 5000.

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use bytes::Bytes;
use rwaku_actors::{NodePlugin, Supervisor, supervisor::RunningNode};
use rwaku_core::{NodeConfig, PubsubTopic, WakuMessage, time::now_ns};
use rwaku_plugin_dos_validator::{DosValidatorPlugin, ShardSigningKey, SignatureScheme};
use rwaku_plugin_lightpush::{LightpushClient, LightpushPlugin};
use rwaku_plugin_relay::RelayPlugin;

const CLUSTER: u16 = 16;
const SHARD: u16 = 32;
const PAYLOAD: usize = 2048 - 160;
const CONTENT_TOPIC: &str = "/rwaku-bench/1/lightpush/proto";

static NEXT_PORT: AtomicU64 = AtomicU64::new(61_000);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn topic() -> PubsubTopic {
    PubsubTopic::static_shard(CLUSTER, SHARD)
}

async fn start(
    config: NodeConfig,
    plugins: Vec<NodePlugin>,
) -> anyhow::Result<(RunningNode, String, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
    let config = NodeConfig {
        cluster_id: CLUSTER,
        num_shards_in_network: 0,
        rest: false,
        max_connections: 2000,
        data_dir: dir.path().to_path_buf(),
        ..config
    };
    let node = Supervisor::new(config, plugins)
        .with_memory_transport(port)
        .start()
        .await?;
    let address = format!("/memory/{port}/p2p/{}", node.info.peer_id);
    Ok((node, address, dir))
}

fn signed_messages(
    key: &ShardSigningKey,
    count: usize,
    round: usize,
) -> anyhow::Result<Vec<WakuMessage>> {
    let topic = topic().to_string();
    (0..count)
        .map(|i| {
            let mut payload = format!("round {round} message {i} ").into_bytes();
            payload.resize(PAYLOAD, b'x');
            let mut message = WakuMessage {
                payload: Bytes::from(payload),
                content_topic: CONTENT_TOPIC.into(),
                timestamp: Some(now_ns()),
                ..Default::default()
            };
            let meta = key.sign(&message, &topic)?;
            message.meta = Some(Bytes::copy_from_slice(&meta));
            Ok(message)
        })
        .collect()
}

/// A fraction in [0, 1) from the clock, enough to spread client phases.
fn rand_fraction() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let mut x = STATE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

struct Round {
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    failures: usize,
}

/// One round: every client sends `per_client` requests, back to back (`pace` None: as fast
/// as answers come, for the highest rate) or one every `pace` from a random phase (an
/// offered load of clients / pace, for latency at that rate).
async fn round(
    service: &RunningNode,
    clients: &[(RunningNode, String, tempfile::TempDir)],
    key: &ShardSigningKey,
    per_client: usize,
    index: usize,
    pace: Option<Duration>,
) -> anyhow::Result<Round> {
    let messages = signed_messages(key, clients.len() * per_client, index)?;
    let mut batches: Vec<Vec<WakuMessage>> = messages
        .chunks(per_client)
        .map(<[WakuMessage]>::to_vec)
        .collect();
    let peer = service.info.peer_id;
    let topic = topic();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (client, _, _) in clients {
        let batch = batches.pop().unwrap_or_default();
        let lightpush = LightpushClient::new(client.network.stream_control())
            .with_timeout(Duration::from_secs(30));
        let topic = topic.clone();
        let phase = pace.map(|p| p.mul_f64(rand_fraction()));
        tasks.push(tokio::spawn(async move {
            let mut ticks = pace.map(|p| {
                let mut t = tokio::time::interval_at(
                    tokio::time::Instant::now() + phase.unwrap_or_default(),
                    p,
                );
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            let mut latencies = Vec::with_capacity(batch.len());
            let mut failures: BTreeMap<String, usize> = BTreeMap::new();
            for message in batch {
                if let Some(ticks) = ticks.as_mut() {
                    ticks.tick().await;
                }
                let sent = Instant::now();
                let why = match lightpush.push(peer, Some(&topic), message).await {
                    Ok(reply) if reply.is_success() => {
                        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                        continue;
                    }
                    Ok(reply) => format!(
                        "{} {}",
                        reply.status_code,
                        reply.status_desc.unwrap_or_default()
                    ),
                    Err(e) => e.to_string(),
                };
                *failures.entry(why).or_default() += 1;
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks {
        let (l, f) = task.await?;
        latencies.extend(l);
        for (why, n) in f {
            *reasons.entry(why).or_default() += n;
        }
    }
    let failures = reasons.values().sum();
    for (why, n) in &reasons {
        println!("    failed x{n}: {why}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(Round {
        requests_per_s: latencies.len() as f64 / elapsed,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        failures,
    })
}

fn print_round(i: usize, r: &Round) {
    println!(
        "  round {}: {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  failures {}",
        i + 1,
        r.requests_per_s,
        r.p50_ms,
        r.p99_ms,
        r.failures
    );
}

async fn bench() -> anyhow::Result<()> {
    let clients_n = env_or("LIGHTPUSH_CLIENTS", 500);
    let per_client = env_or("LIGHTPUSH_REQUESTS", 20);
    let rounds = env_or("LIGHTPUSH_ROUNDS", 3);
    let key = ShardSigningKey::generate(SignatureScheme::Secp256k1);
    let protected = format!("{SHARD}:{}", key.public_key().to_hex());

    let (service, service_address, _sd) = start(
        NodeConfig {
            shard: vec![SHARD],
            protected_shard: vec![protected],
            lightpush: true,
            ..Default::default()
        },
        vec![
            Box::new(DosValidatorPlugin),
            Box::new(RelayPlugin),
            Box::new(LightpushPlugin),
        ],
    )
    .await?;
    let (relay_peer, _, _rd) = start(
        NodeConfig {
            shard: vec![SHARD],
            staticnode: vec![service_address.clone()],
            ..Default::default()
        },
        vec![Box::new(RelayPlugin)],
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while service
        .network
        .topic_peers(topic().to_string())
        .await
        .1
        .is_empty()
    {
        anyhow::ensure!(Instant::now() < deadline, "the relay peer never subscribed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let setup = Instant::now();
    let mut clients = Vec::with_capacity(clients_n);
    for _ in 0..clients_n {
        let client = start(
            NodeConfig {
                relay: false,
                staticnode: vec![service_address.clone()],
                ..Default::default()
            },
            Vec::new(),
        )
        .await?;
        clients.push(client);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let connected = service
            .network
            .peers()
            .await
            .iter()
            .filter(|p| p.connected)
            .count();
        if connected > clients_n {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {connected} of {} peers connected to the service",
            clients_n + 1
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "lightpush bench: {clients_n} clients x {per_client} signed 2 KB requests, {rounds} rounds \
         (clients connected in {:.1} s); memory transport, one process, 2 cores shared by all",
        setup.elapsed().as_secs_f64()
    );

    println!("closed loop (each client sends its next request when the answer is in):");
    let mut results = Vec::new();
    for i in 0..rounds {
        let r = round(&service, &clients, &key, per_client, i, None).await?;
        print_round(i, &r);
        results.push(r);
    }
    let offered = env_or("LIGHTPUSH_OFFERED_RATE", 5000).max(1);
    let pace = Duration::from_secs_f64(clients_n as f64 / offered as f64);
    println!(
        "open loop at {offered} req/s offered ({clients_n} clients, one request every {:.0} ms each):",
        pace.as_secs_f64() * 1e3
    );
    let mut paced = Vec::new();
    for i in 0..rounds {
        let r = round(&service, &clients, &key, per_client, rounds + i, Some(pace)).await?;
        print_round(i, &r);
        paced.push(r);
    }
    let rate = median(results.iter().map(|r| r.requests_per_s).collect());
    let closed_p99 = median(results.iter().map(|r| r.p99_ms).collect());
    let p99 = median(paced.iter().map(|r| r.p99_ms).collect());
    let p50 = median(paced.iter().map(|r| r.p50_ms).collect());
    let failures: usize = results.iter().chain(&paced).map(|r| r.failures).sum();
    println!();
    println!("| figure | measured (median of rounds) | goal | |");
    println!("|---|---|---|---|");
    println!(
        "| lightpush requests/s, signed 2 KB, {clients_n} clients | {rate:.0} | >= 5,000 | {} |",
        if rate >= 5000.0 { "met" } else { "not met" }
    );
    println!(
        "| lightpush p99 at {offered} req/s offered | {p99:.2} ms (p50 {p50:.2} ms) | <= 20 ms | {} |",
        if p99 <= 20.0 { "met" } else { "not met" }
    );
    println!(
        "| lightpush p99, closed loop at full rate | {closed_p99:.2} ms (= {clients_n} requests in flight / rate) | | |"
    );
    println!("| failed requests | {failures} | 0 | |");

    for (client, _, _) in clients {
        client.shutdown().await;
    }
    relay_peer.shutdown().await;
    service.shutdown().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // RUST_LOG=info shows the nodes' logs.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    rwaku_actors::runtime::run_in_system(None, bench())?
}
