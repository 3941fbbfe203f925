//! Store benchmark (performance-anchors §8c): N messages of 2 KB payload on 1,000 content
//! topics with Zipf(1.1) popularity over 30 days, on SQLite and PostgreSQL. Prints ingest rate,
//! disk bytes per message, query p50/p99 at 1, 10 and 25 clients, and the cost of dropping one
//! day (plus query p99 during the drop). Not a pass/fail test.
//!
//! Environment: RWAKU_BENCH_MESSAGES (default 1000000), RWAKU_BENCH_BACKENDS (default
//! "sqlite,postgres"), RWAKU_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test),
//! RWAKU_BENCH_QUERY_SECS (seconds per query scenario, default 5), RWAKU_BENCH_DIR (where the
//! SQLite file goes, default a temporary directory), RWAKU_BENCH_KEEP (keep the PostgreSQL
//! schema `rwaku_bench` afterwards, for EXPLAIN), RWAKU_BENCH_REUSE (query the kept schema
//! instead of ingesting again; the drop phase then removes a day from it),
//! RWAKU_BENCH_SQLITE_FROM (a store file of an earlier run with the same message count: a copy
//! of it is queried instead of ingesting again; `RWAKU_BENCH_SQLITE_KEEP` keeps a run's file
//! there), RWAKU_BENCH_PG_POOL (connection pool size, default the node's), RWAKU_BENCH_ONLY (run only
//! the query scenarios whose name contains this text, e.g. "page 100").

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use rwaku_core::time::now_ns;
use rwaku_core::{MessageHash, WakuMessage};
use rwaku_plugin_store::{
    ArchivedMessage, MessageStore, PgConfig, PgStore, RetentionPolicy, SqliteConfig, SqliteStore,
    StoreQuery, postgres::PgInsertMethod,
};

const PUBSUB: &str = "/waku/2/rs/16/32";
const TOPICS: usize = 1000;
const PAYLOAD: usize = 2048;
const DAY_NS: i64 = 86_400 * 1_000_000_000;
const DAYS: i64 = 30;
/// Ingest is driven the way the node's `StoreArchiver` writes: up to 8 inserts in flight of
/// up to 256 messages each (`plugins/store/src/archiver.rs`).
const PRODUCERS: usize = 8;
const PRODUCER_BATCH: usize = 256;

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: fast, deterministic, good enough for payloads and choices.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Zipf(1.1) over topic ranks 0..TOPICS, by inverse CDF.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for k in 1..=n {
            sum += 1.0 / (k as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Self(cdf)
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.0.partition_point(|c| *c < u).min(self.0.len() - 1)
    }
}

fn topic(rank: usize) -> String {
    format!("/bench/1/topic-{rank}/proto")
}

struct Dataset {
    n: usize,
    start_ns: i64,
    zipf: Arc<Zipf>,
}

impl Dataset {
    fn message(&self, i: usize) -> ArchivedMessage {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64).wrapping_mul(0x1000_0000_01b3) | 1);
        let rank = self.zipf.sample(&mut rng);
        let mut payload = Vec::with_capacity(PAYLOAD);
        while payload.len() < PAYLOAD {
            payload.extend_from_slice(&rng.next().to_le_bytes());
        }
        let span = DAYS * DAY_NS;
        let ts = self.start_ns + ((i as i128 * span as i128) / self.n as i128) as i64;
        ArchivedMessage::new(
            PUBSUB,
            WakuMessage {
                payload: Bytes::from(payload),
                content_topic: topic(rank),
                version: Some(0),
                timestamp: Some(ts),
                meta: None,
                rate_limit_proof: None,
                ephemeral: None,
            },
        )
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Ingests every message from PRODUCERS concurrent callers; returns msgs/s and samples of
/// stored hashes for the queries.
async fn ingest<S: MessageStore>(
    store: &Arc<S>,
    data: &Arc<Dataset>,
    range: std::ops::Range<usize>,
) -> (f64, Vec<MessageHash>) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    let chunks: Vec<usize> = range.clone().step_by(PRODUCER_BATCH).collect();
    let chunks = Arc::new(chunks);
    for p in 0..PRODUCERS {
        let (store, data, chunks) = (Arc::clone(store), Arc::clone(data), Arc::clone(&chunks));
        let end = range.end;
        tasks.push(tokio::spawn(async move {
            let mut sample = Vec::new();
            let mut k = p;
            while k < chunks.len() {
                let from = chunks[k];
                let batch: Vec<_> = (from..(from + PRODUCER_BATCH).min(end))
                    .map(|i| data.message(i))
                    .collect();
                sample.push(batch[0].hash);
                store.insert(batch).await.expect("insert");
                k += PRODUCERS;
            }
            sample
        }));
    }
    let mut sample = Vec::new();
    for t in tasks {
        sample.extend(t.await.expect("producer"));
    }
    let rate = range.len() as f64 / started.elapsed().as_secs_f64();
    (rate, sample)
}

#[derive(Clone, Copy, Debug)]
enum Scenario {
    Hashes10,
    Range24h(u64),
    Latest50,
}

impl Scenario {
    fn name(self) -> String {
        match self {
            Self::Hashes10 => "(a) 10-hash lookup".into(),
            Self::Range24h(p) => format!("(b) 24 h, 1-10 topics, page {p}"),
            Self::Latest50 => "(c) latest 50 on one topic".into(),
        }
    }

    fn query(self, rng: &mut Rng, data: &Dataset, hashes: &[MessageHash]) -> StoreQuery {
        match self {
            Self::Hashes10 => StoreQuery {
                message_hashes: (0..10).map(|_| hashes[rng.below(hashes.len())]).collect(),
                include_data: true,
                ..Default::default()
            },
            Self::Range24h(page) => {
                let k = 1 + rng.below(10);
                let mut topics: Vec<String> =
                    (0..k).map(|_| topic(data.zipf.sample(rng))).collect();
                topics.sort();
                topics.dedup();
                let start = data.start_ns
                    + rng.below(DAYS as usize - 1) as i64 * DAY_NS
                    + rng.below(86_400) as i64 * 1_000_000_000;
                StoreQuery {
                    include_data: true,
                    pubsub_topic: Some(PUBSUB.into()),
                    content_topics: topics,
                    time_start: Some(start),
                    time_end: Some(start + DAY_NS),
                    forward: true,
                    limit: Some(page),
                    ..Default::default()
                }
            }
            Self::Latest50 => StoreQuery {
                include_data: true,
                pubsub_topic: Some(PUBSUB.into()),
                content_topics: vec![topic(data.zipf.sample(rng))],
                forward: false,
                limit: Some(50),
                ..Default::default()
            },
        }
    }
}

/// `clients` tasks issue queries back to back for `secs`; returns sorted latencies.
async fn load<S: MessageStore>(
    store: &Arc<S>,
    data: &Arc<Dataset>,
    hashes: &Arc<Vec<MessageHash>>,
    scenarios: &[Scenario],
    clients: usize,
    stop: Arc<AtomicBool>,
) -> Vec<(Instant, Duration)> {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (store, data, hashes, stop) = (
            Arc::clone(store),
            Arc::clone(data),
            Arc::clone(hashes),
            Arc::clone(&stop),
        );
        let scenarios = scenarios.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0xdead_beef ^ ((c as u64 + 1) * 0x9e37_79b9));
            let mut out = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let q = scenarios[i % scenarios.len()].query(&mut rng, &data, &hashes);
                let t = Instant::now();
                let page = store.query(&q).await.expect("query");
                out.push((t, t.elapsed()));
                std::hint::black_box(page);
                i += 1;
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    all
}

async fn timed_load<S: MessageStore>(
    store: &Arc<S>,
    data: &Arc<Dataset>,
    hashes: &Arc<Vec<MessageHash>>,
    scenario: Scenario,
    clients: usize,
    secs: f64,
) -> Vec<Duration> {
    let stop = Arc::new(AtomicBool::new(false));
    let scenarios = [scenario];
    let run = load(store, data, hashes, &scenarios, clients, Arc::clone(&stop));
    let timer = async {
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        stop.store(true, Ordering::Relaxed);
    };
    let (samples, ()) = tokio::join!(run, timer);
    let mut lat: Vec<Duration> = samples.into_iter().map(|(_, d)| d).collect();
    lat.sort();
    lat
}

struct Report {
    backend: &'static str,
    ingest: f64,
    bytes_per_msg: f64,
    p99_at_25: Duration,
    drop_day: Duration,
    drop_base_p99: Duration,
    drop_during_p99: Duration,
}

async fn run_backend<S: MessageStore>(
    backend: &'static str,
    store: S,
    data: Arc<Dataset>,
    secs: f64,
    reuse: bool,
    reopen: impl AsyncFnOnce(Arc<S>) -> (Arc<S>, u64),
) -> Report {
    println!(
        "\n=== {backend}: {} messages of {PAYLOAD} B, {TOPICS} topics (Zipf 1.1), {DAYS} days ===",
        data.n
    );
    let store = Arc::new(store);
    let (rate, sample) = if reuse {
        // The same messages were ingested by an earlier run; rebuild the hash sample.
        let sample = (0..data.n)
            .step_by(PRODUCER_BATCH)
            .map(|i| data.message(i).hash)
            .collect();
        (f64::NAN, sample)
    } else {
        ingest(&store, &data, 0..data.n).await
    };
    println!(
        "ingest: {rate:.0} msgs/s ({PRODUCERS} concurrent callers, batches of {PRODUCER_BATCH})"
    );
    let (store, size) = reopen(store).await;
    let count = store.message_count().await.expect("count");
    let bytes_per_msg = size as f64 / count.max(1) as f64;
    println!("disk: {size} bytes for {count} messages = {bytes_per_msg:.0} bytes/message");
    let hashes = Arc::new(sample);
    let mut p99_at_25 = Duration::ZERO;
    let only: String = env_or("RWAKU_BENCH_ONLY", String::new());
    for scenario in [
        Scenario::Hashes10,
        Scenario::Range24h(20),
        Scenario::Range24h(100),
        Scenario::Latest50,
    ]
    .into_iter()
    .filter(|s| s.name().contains(&only))
    {
        for clients in [1, 10, 25] {
            let lat = timed_load(&store, &data, &hashes, scenario, clients, secs).await;
            let (p50, p99) = (pct(&lat, 0.5), pct(&lat, 0.99));
            if clients == 25 {
                p99_at_25 = p99_at_25.max(p99);
            }
            println!(
                "{:<32} clients {clients:>2}: p50 {:>9}  p99 {:>9}  ({:.0} q/s)",
                scenario.name(),
                ms(p50),
                ms(p99),
                lat.len() as f64 / secs
            );
        }
    }
    // Retention: drop the oldest day while 10 clients query (hash lookups + latest 50).
    let mix = [Scenario::Hashes10, Scenario::Latest50];
    let baseline = {
        let stop = Arc::new(AtomicBool::new(false));
        let run = load(&store, &data, &hashes, &mix, 10, Arc::clone(&stop));
        let timer = async {
            tokio::time::sleep(Duration::from_secs_f64(secs.min(3.0))).await;
            stop.store(true, Ordering::Relaxed);
        };
        let (s, ()) = tokio::join!(run, timer);
        let mut lat: Vec<Duration> = s.into_iter().map(|(_, d)| d).collect();
        lat.sort();
        lat
    };
    let stop = Arc::new(AtomicBool::new(false));
    let run = load(&store, &data, &hashes, &mix, 10, Arc::clone(&stop));
    let drop_day = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t0 = Instant::now();
        let out = store
            .apply_retention(
                RetentionPolicy::Time {
                    seconds: (DAYS as u64 - 1) * 86_400,
                },
                data.start_ns + DAYS * DAY_NS,
            )
            .await
            .expect("retention");
        let t1 = Instant::now();
        // PostgreSQL frees the files after answering; the size waits for that, and the
        // queries meanwhile count as "during" too.
        store.database_size().await.expect("size");
        let t2 = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        (t0, t1, t2, out)
    };
    let (samples, (t0, t1, t2, out)) = tokio::join!(run, drop_day);
    let mut during: Vec<Duration> = samples
        .iter()
        .filter(|(start, d)| *start + *d >= t0 && *start <= t2)
        .map(|(_, d)| *d)
        .collect();
    during.sort();
    let took = t1 - t0;
    let (base_p99, during_p99) = (pct(&baseline, 0.99), pct(&during, 0.99));
    println!(
        "retention, drop one day: {} ({} messages, {} partitions; space freed after {}); query p99 at 10 clients {} during ({} queries) vs {} baseline = {:.2}x",
        ms(took),
        out.deleted_messages,
        out.dropped_partitions,
        ms(t2 - t0),
        ms(during_p99),
        during.len(),
        ms(base_p99),
        during_p99.as_secs_f64() / base_p99.as_secs_f64().max(1e-9)
    );
    let after = store.database_size().await.expect("size");
    println!("disk after the drop: {after} bytes");
    store.close().await.expect("close");
    Report {
        backend,
        ingest: rate,
        bytes_per_msg,
        p99_at_25,
        drop_day: took,
        drop_base_p99: base_p99,
        drop_during_p99: during_p99,
    }
}

fn pg_config(url: &str, schema: &str, method: PgInsertMethod) -> PgConfig {
    let pg = tokio_postgres::Config::from_str(url).expect("RWAKU_BENCH_PG_URL");
    let mut c = PgConfig::new(pg, url.to_string());
    c.schema = schema.to_string();
    c.insert_method = method;
    c.pool_size = env_or("RWAKU_BENCH_PG_POOL", c.pool_size);
    c
}

async fn drop_schema(url: &str, schema: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await;
    }
}

/// Unnest vs COPY on a fresh schema each, same messages.
async fn compare_pg_insert_methods(url: &str, data: &Arc<Dataset>, n: usize) {
    for method in [PgInsertMethod::Unnest, PgInsertMethod::CopyTemp] {
        let schema = "rwaku_bench_method";
        drop_schema(url, schema).await;
        let store = Arc::new(
            PgStore::open(pg_config(url, schema, method))
                .await
                .expect("open"),
        );
        let (rate, _) = ingest(&store, data, 0..n).await;
        println!("postgres insert method {method:?}: {rate:.0} msgs/s over {n} messages");
        store.close().await.expect("close");
        drop_schema(url, schema).await;
    }
}

fn main() {
    let n: usize = env_or("RWAKU_BENCH_MESSAGES", 1_000_000);
    let secs: f64 = env_or("RWAKU_BENCH_QUERY_SECS", 5.0);
    let backends: String = env_or("RWAKU_BENCH_BACKENDS", "sqlite,postgres".to_string());
    let url: String = env_or(
        "RWAKU_BENCH_PG_URL",
        "postgres://postgres@127.0.0.1:5432/test".to_string(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Day-aligned, ending today, so PostgreSQL day partitions line up with "drop one day".
    let today = now_ns().div_euclid(DAY_NS) * DAY_NS;
    let data = Arc::new(Dataset {
        n,
        start_ns: today - DAYS * DAY_NS,
        zipf: Arc::new(Zipf::new(TOPICS, 1.1)),
    });
    println!(
        "rwaku store benchmark: {} cores, {n} messages, {secs} s per query scenario",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let mut reports = Vec::new();
    rt.block_on(async {
        if backends.contains("sqlite") {
            let dir = match std::env::var_os("RWAKU_BENCH_DIR") {
                Some(d) => tempfile::tempdir_in(d),
                None => tempfile::tempdir(),
            }
            .expect("tempdir");
            let path = dir.path().join("bench.sqlite3");
            let from = std::env::var_os("RWAKU_BENCH_SQLITE_FROM");
            let reuse = from.is_some();
            if let Some(from) = &from {
                std::fs::copy(from, &path).expect("copy RWAKU_BENCH_SQLITE_FROM");
            }
            let store = SqliteStore::open(SqliteConfig::new(&path))
                .await
                .expect("sqlite");
            let reopen_path = path.clone();
            reports.push(
                run_backend(
                    "sqlite",
                    store,
                    Arc::clone(&data),
                    secs,
                    reuse,
                    async move |s: Arc<SqliteStore>| {
                        // Close to checkpoint the WAL into the file, then measure and reopen.
                        s.close().await.expect("close");
                        drop(s);
                        if let Some(keep) = std::env::var_os("RWAKU_BENCH_SQLITE_KEEP") {
                            std::fs::copy(&reopen_path, keep).expect("RWAKU_BENCH_SQLITE_KEEP");
                        }
                        let size = std::fs::metadata(&reopen_path)
                            .map(|m| m.len())
                            .unwrap_or(0);
                        let s = SqliteStore::open(SqliteConfig::new(&reopen_path))
                            .await
                            .expect("reopen");
                        (Arc::new(s), size)
                    },
                )
                .await,
            );
        }
        if backends.contains("postgres") {
            let schema = "rwaku_bench";
            let reuse = std::env::var_os("RWAKU_BENCH_REUSE").is_some();
            if !reuse {
                compare_pg_insert_methods(&url, &data, n.min(100_000)).await;
                drop_schema(&url, schema).await;
            }
            let store = PgStore::open(pg_config(&url, schema, PgInsertMethod::Unnest))
                .await
                .expect("postgres");
            reports.push(
                run_backend(
                    "postgres",
                    store,
                    Arc::clone(&data),
                    secs,
                    reuse,
                    async |s: Arc<PgStore>| {
                        // What autovacuum would do: statistics and visibility maps.
                        s.vacuum_analyze().await.expect("vacuum");
                        let size = s.database_size().await.expect("size");
                        (s, size)
                    },
                )
                .await,
            );
            if std::env::var_os("RWAKU_BENCH_KEEP").is_none() && !reuse {
                drop_schema(&url, schema).await;
            }
        }
    });
    println!("\n=== summary (goal) ===");
    for r in &reports {
        println!(
            "{:<8} ingest {:>8.0} msgs/s (>= 20000) | disk {:>5.0} B/msg (<= 2560) | worst p99 at 25 clients {} (<= 20 ms) | drop one day {} (PG <= 100 ms) | p99 during drop {:.2}x baseline (<= 2x)",
            r.backend,
            r.ingest,
            r.bytes_per_msg,
            ms(r.p99_at_25),
            ms(r.drop_day),
            r.drop_during_p99.as_secs_f64() / r.drop_base_p99.as_secs_f64().max(1e-9)
        );
    }
}
