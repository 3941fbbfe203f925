//! PostgreSQL-specific checks: two store instances sharing one database, partitions dropped
//! by retention, foreign or newer schemas refused, and a server that is away at start or goes
//! away at runtime (through a TCP proxy the test can cut).

use std::{
    str::FromStr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use rwaku_plugin_store::{
    MessageStore, PgStore, RetentionPolicy, SchemaError, StoreError, StoreQuery, postgres::PgState,
    status,
};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::fixtures::{
    self, BASE_NS, DAY, PUBSUB_A, SECOND, admin_client, all_forward, fresh_schema, message,
    pg_config, pg_reachable,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_database_without_duplicates() {
    let Some(a) = fixtures::pg().await else {
        return;
    };
    let b = PgStore::open(pg_config(&a.guard.schema))
        .await
        .expect("second instance");
    let messages: Vec<_> = (0..2000i64)
        .map(|i| {
            message(
                PUBSUB_A,
                &format!("/app/1/t{}/proto", i % 7),
                BASE_NS + i * 1000,
                i as u64,
                200,
            )
        })
        .collect();
    // Both instances receive every message (as two relays would), in different orders.
    let mut reversed = messages.clone();
    reversed.reverse();
    let a_store = Arc::new(a.store);
    let b_store = Arc::new(b);
    let mut tasks = Vec::new();
    for (store, list) in [
        (Arc::clone(&a_store), messages.clone()),
        (Arc::clone(&b_store), reversed),
    ] {
        for chunk in list.chunks(50).map(|c| c.to_vec()) {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move { store.insert(chunk).await }));
        }
    }
    let mut inserted = 0;
    for t in tasks {
        inserted += t.await.expect("task").expect("insert").inserted;
    }
    assert_eq!(
        inserted, 2000,
        "each message inserted exactly once across both instances"
    );
    for store in [&a_store, &b_store] {
        assert_eq!(store.message_count().await.expect("count"), 2000);
        let all = all_forward(store.as_ref(), StoreQuery::default()).await;
        let mut want = messages.clone();
        want.sort_by_key(|m| (m.timestamp(), m.hash));
        assert_eq!(
            all.iter().map(|e| e.hash).collect::<Vec<_>>(),
            want.iter().map(|m| m.hash).collect::<Vec<_>>()
        );
    }
    a_store.close().await.expect("close a");
    b_store.close().await.expect("close b");
    drop(a.guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_whole_partitions() {
    let Some(f) = fixtures::pg().await else {
        return;
    };
    for day in 0..4i64 {
        let batch: Vec<_> = (0..100i64)
            .map(|i| {
                message(
                    PUBSUB_A,
                    "/app/1/p/proto",
                    BASE_NS + day * DAY + i * SECOND,
                    (day * 1000 + i) as u64,
                    2048,
                )
            })
            .collect();
        f.store.insert(batch).await.expect("insert");
    }
    let before = f.store.partitions().await.expect("partitions");
    let old: Vec<_> = before
        .iter()
        .filter(|p| p.end_s * SECOND <= BASE_NS + 3 * DAY)
        .collect();
    assert!(old.len() >= 2, "{before:?}");
    let size_before = f.store.database_size().await.expect("size");
    let out = f
        .store
        .apply_retention(RetentionPolicy::Time { seconds: 86_400 }, BASE_NS + 4 * DAY)
        .await
        .expect("retention");
    let after = f.store.partitions().await.expect("partitions");
    let size_after = f.store.database_size().await.expect("size");
    println!(
        "postgres retention: {} -> {} partitions, {size_before} -> {size_after} bytes, {out:?}",
        before.len(),
        after.len()
    );
    for p in &old {
        assert!(!after.contains(p), "partition {} still attached", p.name);
    }
    assert!(out.dropped_partitions >= 2);
    assert!(size_after < size_before);
    // Nothing left behind, detached or not.
    let client = admin_client().await.expect("admin");
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = ANY($2)",
            &[
                &f.guard.schema,
                &old.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
            ],
        )
        .await
        .expect("catalog")
        .get(0);
    assert_eq!(tables, 0);
    let left = f.store.message_count().await.expect("count");
    assert!((100..=200).contains(&left), "{left}");
    f.close().await;
}

async fn open_error(setup: &str) -> Option<StoreError> {
    if !pg_reachable().await {
        return None;
    }
    let guard = fresh_schema();
    let client = admin_client().await.expect("admin");
    let s = format!("\"{}\"", guard.schema);
    client
        .batch_execute(&format!("CREATE SCHEMA {s}; {}", setup.replace("{s}", &s)))
        .await
        .expect("setup");
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        PgStore::open(pg_config(&guard.schema)),
    )
    .await
    .expect("answers in time");
    drop(guard);
    Some(result.err().expect("open must fail"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_table_is_a_typed_error() {
    let Some(err) = open_error(
        "CREATE TABLE {s}.messages (pubsubTopic VARCHAR, contentTopic VARCHAR, payload VARCHAR, messageHash VARCHAR);",
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(&err, StoreError::Schema(SchemaError::ForeignTable { table }) if table.ends_with(".messages")),
        "{err:?}"
    );
    assert_eq!(err.status_code(), status::BAD_RESPONSE);
}

/// Schema version 1 as rwaku 0.1 created it: the whole payload in one column.
const SCHEMA_V1: &str = "
    CREATE TABLE {s}.rwaku_store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO {s}.rwaku_store_meta VALUES ('owner', 'rwaku-store'), ('schema_version', '1'),
        ('partition_seconds', '86400');
    CREATE TABLE {s}.messages (
        messageHash BYTEA NOT NULL, pubsubTopic TEXT NOT NULL, contentTopic TEXT NOT NULL,
        payload BYTEA NOT NULL, version INTEGER NOT NULL, timestamp BIGINT NOT NULL, meta BYTEA,
        PRIMARY KEY (timestamp, messageHash)
    ) PARTITION BY RANGE (timestamp);
    CREATE INDEX messages_hash ON {s}.messages (messageHash);
    CREATE INDEX messages_topic ON {s}.messages (contentTopic, pubsubTopic, timestamp, messageHash);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_store_is_upgraded_and_keeps_its_messages() {
    if !pg_reachable().await {
        return;
    }
    let guard = fresh_schema();
    let client = admin_client().await.expect("admin");
    let s = format!("\"{}\"", guard.schema);
    let old = message(PUBSUB_A, "/app/1/old/proto", BASE_NS, 1, 5000);
    let day_start = BASE_NS.div_euclid(DAY) * DAY;
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {s}; {}
             CREATE TABLE {s}.messages_p{lo}_{hi} PARTITION OF {s}.messages
                 FOR VALUES FROM ({day_start}) TO ({day_end});",
            SCHEMA_V1.replace("{s}", &s),
            lo = day_start / SECOND,
            hi = (day_start + DAY) / SECOND,
            day_end = day_start + DAY,
        ))
        .await
        .expect("v1 schema");
    client
        .execute(
            &format!("INSERT INTO {s}.messages VALUES ($1, $2, $3, $4, 0, $5, NULL)"),
            &[
                &old.hash.0.as_slice(),
                &old.pubsub_topic,
                &old.message.content_topic,
                &old.message.payload.as_ref(),
                &old.timestamp(),
            ],
        )
        .await
        .expect("v1 row");
    let store = PgStore::open(pg_config(&guard.schema))
        .await
        .expect("upgrade");
    let new = message(PUBSUB_A, "/app/1/new/proto", BASE_NS + SECOND, 2, 5000);
    let dup = old.clone();
    let outcome = store.insert(vec![new.clone(), dup]).await.expect("insert");
    assert_eq!((outcome.inserted, outcome.duplicates), (1, 1));
    let all = all_forward(
        &store,
        StoreQuery {
            include_data: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all.len(), 2);
    for (entry, want) in all.iter().zip([&old, &new]) {
        assert_eq!(entry.hash, want.hash);
        let got = entry.message.as_ref().expect("data");
        assert_eq!(got.payload, want.message.payload);
    }
    let version: String = client
        .query_one(
            &format!("SELECT value FROM {s}.rwaku_store_meta WHERE key = 'schema_version'"),
            &[],
        )
        .await
        .expect("version")
        .get(0);
    assert_eq!(version, "2");
    store.close().await.expect("close");
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_around_the_toast_chunk_size_read_back_whole() {
    let Some(f) = fixtures::pg().await else {
        return;
    };
    // The payload is stored split at whole TOAST chunks (1,996 bytes on 8 KiB pages).
    let sizes = [0usize, 1, 1995, 1996, 1997, 2048, 3991, 3992, 3993, 150_000];
    let batch: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let mut m = message(
                PUBSUB_A,
                "/app/1/sizes/proto",
                BASE_NS + i as i64,
                i as u64,
                8,
            );
            let payload: Vec<u8> = (0..size).map(|b| (b * 31 + i) as u8).collect();
            m.message.payload = payload.into();
            rwaku_plugin_store::ArchivedMessage::new(PUBSUB_A, m.message)
        })
        .collect();
    f.store.insert(batch.clone()).await.expect("insert");
    let all = all_forward(
        &f.store,
        StoreQuery {
            include_data: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all.len(), sizes.len());
    for (entry, want) in all.iter().zip(&batch) {
        let got = entry.message.as_ref().expect("data");
        assert_eq!(got.payload.len(), want.message.payload.len());
        assert_eq!(got.payload, want.message.payload);
    }
    f.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_schema_version_is_a_typed_error() {
    let Some(err) = open_error(
        "CREATE TABLE {s}.rwaku_store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO {s}.rwaku_store_meta VALUES ('owner', 'rwaku-store'), ('schema_version', '7');",
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(
            err,
            StoreError::Schema(SchemaError::NewerVersion { found: 7, known: 2 })
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_columns_are_a_typed_error() {
    let Some(err) = open_error(
        "CREATE TABLE {s}.rwaku_store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO {s}.rwaku_store_meta VALUES ('owner', 'rwaku-store'), ('schema_version', '2'), ('partition_seconds', '86400');
         CREATE TABLE {s}.messages (messageHash BYTEA, extra INT);",
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(
            err,
            StoreError::Schema(SchemaError::UnexpectedColumns { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_starting_together_migrate_once() {
    if !pg_reachable().await {
        return;
    }
    let guard = fresh_schema();
    let (a, b) = tokio::join!(
        PgStore::open(pg_config(&guard.schema)),
        PgStore::open(pg_config(&guard.schema))
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    a.insert(vec![message(PUBSUB_A, "/app/1/m/proto", BASE_NS, 1, 10)])
        .await
        .expect("insert");
    assert_eq!(b.message_count().await.expect("count"), 1);
    a.close().await.expect("close");
    b.close().await.expect("close");
}

/// A TCP proxy to the test server that can refuse and cut connections.
struct Proxy {
    port: u16,
    enabled: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let enabled = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::new(Mutex::new(Vec::new()));
        let (en, cs) = (Arc::clone(&enabled), Arc::clone(&conns));
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !en.load(Ordering::SeqCst) {
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut upstream) = tokio::net::TcpStream::connect("127.0.0.1:5432").await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upstream).await;
                    }
                });
                if let Ok(mut list) = cs.lock() {
                    list.push(task);
                }
            }
        });
        Self {
            port,
            enabled,
            conns,
        }
    }

    fn open(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }

    /// Refuses new connections and kills the open ones.
    fn cut(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        if let Ok(mut list) = self.conns.lock() {
            for t in list.drain(..) {
                t.abort();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_at_start_and_lost_at_runtime() {
    if !pg_reachable().await {
        return;
    }
    let guard = fresh_schema();
    let proxy = Proxy::start().await;
    let mut config = pg_config(&guard.schema);
    let mut pg = tokio_postgres::Config::from_str(&format!(
        "postgres://postgres@127.0.0.1:{}/test",
        proxy.port
    ))
    .expect("url");
    pg.application_name(&guard.schema);
    pg.connect_timeout(Duration::from_secs(2));
    config.pg = pg;
    config.max_pending = 300;
    config.reconnect_backoff_max = Duration::from_millis(400);
    let store = Arc::new(PgStore::connect(config).expect("connect returns at once"));
    assert_eq!(store.state(), PgState::Connecting);

    // Away at start: inserts wait in the buffer, queries say 503, overflow is refused.
    let first: Vec<_> = (0..200i64)
        .map(|i| message(PUBSUB_A, "/app/1/r/proto", BASE_NS + i, i as u64, 64))
        .collect();
    let s = Arc::clone(&store);
    let pending = tokio::spawn({
        let first = first.clone();
        async move { s.insert(first).await }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(store.state(), PgState::Connecting);
    assert_eq!(store.buffered_messages(), 200);
    let q = store.query(&StoreQuery::default()).await.err();
    assert_eq!(
        q.map(|e| e.status_code()),
        Some(status::SERVICE_UNAVAILABLE)
    );
    let overflow: Vec<_> = (0..101i64)
        .map(|i| {
            message(
                PUBSUB_A,
                "/app/1/r/proto",
                BASE_NS + 10_000 + i,
                10_000 + i as u64,
                64,
            )
        })
        .collect();
    assert!(matches!(
        store.insert(overflow).await,
        Err(StoreError::BufferFull { refused: 101, .. })
    ));
    proxy.open();
    let outcome = tokio::time::timeout(Duration::from_secs(20), pending)
        .await
        .expect("committed after the server came back")
        .expect("task")
        .expect("insert");
    assert_eq!(outcome.inserted, 200);
    assert_eq!(store.state(), PgState::Ready);

    // Lost at runtime: cut every connection while more inserts are in flight.
    let second: Vec<_> = (0..200i64)
        .map(|i| {
            message(
                PUBSUB_A,
                "/app/1/r/proto",
                BASE_NS + 20_000 + i,
                20_000 + i as u64,
                64,
            )
        })
        .collect();
    proxy.cut();
    let mut tasks = Vec::new();
    for chunk in second.chunks(20).map(|c| c.to_vec()) {
        let s = Arc::clone(&store);
        tasks.push(tokio::spawn(async move { s.insert(chunk).await }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        store.buffered_messages() > 0,
        "inserts wait while the server is away"
    );
    proxy.open();
    let mut inserted = 0;
    for t in tasks {
        let r = tokio::time::timeout(Duration::from_secs(20), t)
            .await
            .expect("reconnected in time")
            .expect("task");
        let o = r.expect("insert after reconnect");
        inserted += o.inserted + o.duplicates;
    }
    assert_eq!(inserted, 200);
    // Re-sending everything (as a retrying caller might) writes no duplicates.
    store.insert(second.clone()).await.expect("resend");
    assert_eq!(store.message_count().await.expect("count"), 400);
    store.close().await.expect("close");
    drop(guard);
}
