//! Test fixtures: message builders, a SQLite store on a temporary file, and a PostgreSQL store
//! in a fresh schema (dropped when the fixture goes away, even after a failed assertion).

use std::{
    str::FromStr,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use bytes::Bytes;
use rwaku_core::WakuMessage;
use rwaku_plugin_store::{
    ArchivedMessage, MessageStore, PgConfig, PgStore, SqliteConfig, SqliteStore, StoreQuery,
    StoredEntry,
};

pub const PUBSUB_A: &str = "/waku/2/rs/16/32";
pub const PUBSUB_B: &str = "/waku/2/rs/16/64";
/// 2023-11-14T22:13:20Z; all test data lives in a few days from here.
pub const BASE_NS: i64 = 1_700_000_000_000_000_000;
pub const SECOND: i64 = 1_000_000_000;
pub const DAY: i64 = 86_400 * SECOND;

pub fn message(pubsub: &str, content: &str, ts: i64, seed: u64, size: usize) -> ArchivedMessage {
    let mut payload = Vec::with_capacity(size.max(8));
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1);
    while payload.len() < size.max(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        payload.extend_from_slice(&x.to_le_bytes());
    }
    payload.truncate(size.max(8));
    ArchivedMessage::new(
        pubsub,
        WakuMessage {
            payload: Bytes::from(payload),
            content_topic: content.to_string(),
            version: Some((seed % 3) as u32),
            timestamp: Some(ts),
            meta: seed
                .is_multiple_of(2)
                .then(|| Bytes::from(seed.to_be_bytes().to_vec())),
            rate_limit_proof: None,
            ephemeral: Some(false),
        },
    )
}

pub fn hashes(entries: &[StoredEntry]) -> Vec<[u8; 32]> {
    entries.iter().map(|e| e.hash.0).collect()
}

/// Every entry, paging forward with the store's cursor.
pub async fn all_forward<S: MessageStore>(store: &S, mut q: StoreQuery) -> Vec<StoredEntry> {
    q.forward = true;
    q.limit = Some(100);
    let mut out = Vec::new();
    loop {
        let page = store.query(&q).await.expect("query");
        out.extend(page.entries);
        match page.cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

pub struct SqliteFixture {
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
}

impl SqliteFixture {
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("store.sqlite3")
    }

    pub async fn close(self) {
        self.store.close().await.expect("close");
    }
}

pub async fn sqlite() -> SqliteFixture {
    sqlite_with(|_| {}).await
}

pub async fn sqlite_with(tune: impl FnOnce(&mut SqliteConfig)) -> SqliteFixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = SqliteConfig::new(dir.path().join("store.sqlite3"));
    tune(&mut config);
    let store = SqliteStore::open(config).await.expect("open sqlite");
    SqliteFixture { dir, store }
}

pub fn pg_url() -> String {
    std::env::var("RWAKU_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

static SCHEMA_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Drops the test schema when dropped, from its own thread and runtime so it also runs while
/// a failed test unwinds.
pub struct SchemaGuard {
    pub schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let schema = self.schema.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(client) = admin_client().await {
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}

pub async fn admin_client() -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Whether the server answers. Without it: fail under CI, skip loudly otherwise.
pub async fn pg_reachable() -> bool {
    let result = tokio::time::timeout(Duration::from_secs(3), admin_client()).await;
    let error = match result {
        Ok(Ok(client)) => match client.simple_query("SELECT 1").await {
            Ok(_) => return true,
            Err(e) => e.to_string(),
        },
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".to_string(),
    };
    if std::env::var_os("CI").is_some() {
        panic!(
            "PostgreSQL not reachable at {} ({error}) and CI is set",
            pg_url()
        );
    }
    eprintln!(
        "SKIPPED: PostgreSQL not reachable at {} ({error})",
        pg_url()
    );
    false
}

pub fn fresh_schema() -> SchemaGuard {
    let n = SCHEMA_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    SchemaGuard {
        schema: format!("rwaku_it_{}_{n}_{nanos}", std::process::id()),
    }
}

pub fn pg_config(schema: &str) -> PgConfig {
    let mut pg = tokio_postgres::Config::from_str(&pg_url()).expect("test URL");
    pg.application_name(schema);
    let mut config = PgConfig::new(pg, pg_url());
    config.schema = schema.to_string();
    config.pool_size = 4;
    config
}

pub struct PgFixture {
    pub store: PgStore,
    pub guard: SchemaGuard,
}

impl PgFixture {
    pub async fn close(self) {
        self.store.close().await.expect("close");
    }
}

pub async fn pg() -> Option<PgFixture> {
    pg_with(|_| {}).await
}

pub async fn pg_with(tune: impl FnOnce(&mut PgConfig)) -> Option<PgFixture> {
    if !pg_reachable().await {
        return None;
    }
    let guard = fresh_schema();
    let mut config = pg_config(&guard.schema);
    tune(&mut config);
    let store = tokio::time::timeout(Duration::from_secs(30), PgStore::open(config))
        .await
        .expect("PostgreSQL store ready in time")
        .expect("open postgres");
    Some(PgFixture { store, guard })
}
