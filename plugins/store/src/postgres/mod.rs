//! The PostgreSQL backend: a deadpool pool, a writer task with a bounded buffer, start-up that
//! keeps retrying an unreachable server in the background, time partitions, retention by
//! dropping partitions. Several store nodes may share one database (and schema).

mod partitions;
mod query_exec;
mod retention;
mod schema;
mod writer;

use std::{
    collections::BTreeSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::NoTls;

pub use partitions::Partition;

use crate::{
    entry::{ArchivedMessage, InsertOutcome, RetentionOutcome, StorePage},
    error::{SchemaError, StoreError},
    message_store::MessageStore,
    metrics,
    query::StoreQuery,
    retention::RetentionPolicy,
};

use writer::WriteRequest;

/// How a batch reaches the table. Both use `ON CONFLICT DO NOTHING`; see the benchmark for
/// which is faster on a given setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgInsertMethod {
    /// One `INSERT … SELECT * FROM unnest($1::bytea[], …)` with array parameters.
    Unnest,
    /// Binary COPY into a temporary table, then `INSERT … SELECT`.
    CopyTemp,
}

#[derive(Debug, Clone)]
pub struct PgConfig {
    /// Parsed URL; its Debug output redacts the password.
    pub pg: tokio_postgres::Config,
    /// The URL with the password replaced, for logs.
    pub target: String,
    /// Schema holding the store's tables (created if missing).
    pub schema: String,
    pub pool_size: usize,
    /// Messages per insert statement (group commit).
    pub max_batch: usize,
    /// Writer tasks, each with at most one insert statement in flight.
    pub writers: usize,
    /// Messages that may wait for their commit; beyond that `insert` refuses (and counts them
    /// as lost) instead of growing memory while the database is away.
    pub max_pending: usize,
    /// Partition width for a new store.
    pub partition_seconds: i64,
    /// Partitions created ahead of the current one by maintenance.
    pub partitions_ahead: u32,
    pub maintenance_interval: Duration,
    pub reconnect_backoff_max: Duration,
    pub insert_method: PgInsertMethod,
    /// Rows per DELETE when retention trims inside a partition.
    pub retention_delete_batch: i64,
    /// How long `close` waits for buffered messages to be written.
    pub close_timeout: Duration,
}

impl PgConfig {
    pub fn new(pg: tokio_postgres::Config, target: String) -> Self {
        Self {
            pg,
            target,
            schema: "public".into(),
            pool_size: default_pool_size(DEFAULT_WRITERS),
            max_batch: 2000,
            writers: DEFAULT_WRITERS,
            max_pending: 50_000,
            partition_seconds: 86_400,
            partitions_ahead: 2,
            maintenance_interval: Duration::from_secs(600),
            reconnect_backoff_max: Duration::from_secs(30),
            insert_method: PgInsertMethod::Unnest,
            retention_delete_batch: 5_000,
            close_timeout: Duration::from_secs(10),
        }
    }
}

/// Writer tasks by default: one commits while the other collects the next group.
const DEFAULT_WRITERS: usize = 2;

/// Two connections per core for queries (PostgreSQL's own rule of thumb), plus one per
/// writer. Measured on 2 cores with 25 concurrent query clients: a pool of 4 answered 1,116
/// pages of 100 per second at p99 29 ms, a pool of 8 983/s at 37 ms and 30 987/s at 46 ms;
/// more backends than cores only add context switches.
fn default_pool_size(writers: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    2 * cores + writers
}

#[derive(Debug, Clone, PartialEq)]
pub enum PgState {
    /// Not reached yet, or schema not checked yet; retrying in the background.
    Connecting,
    Ready,
    /// The database holds something we must not touch; fatal.
    Failed(SchemaError),
}

pub(crate) struct PgShared {
    pub(crate) config: PgConfig,
    pool: Pool,
    state: watch::Sender<PgState>,
    pub(crate) pending: AtomicUsize,
    /// Insert groups taken by a writer and not finished.
    pub(crate) in_flight: AtomicUsize,
    width_s: AtomicI64,
    /// This server's TOAST chunk size, where payloads are split (`schema.rs`).
    toast_chunk: AtomicUsize,
    known_partitions: Mutex<BTreeSet<i64>>,
    pub(crate) closed: AtomicBool,
    /// Held while detached partitions are being dropped in the background: the size, the
    /// next retention run and `close` wait for it, so none of them sees a half-freed disk.
    pub(crate) reclaiming: Arc<tokio::sync::Mutex<()>>,
}

impl PgShared {
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Pool(e.to_string()))
    }

    pub(crate) fn partition_seconds(&self) -> i64 {
        self.width_s.load(Ordering::Relaxed)
    }

    pub(crate) fn toast_chunk(&self) -> usize {
        self.toast_chunk.load(Ordering::Relaxed)
    }

    /// Resolves once Ready; a fatal schema error is returned.
    pub(crate) async fn wait_ready(&self) -> Result<(), SchemaError> {
        let mut rx = self.state.subscribe();
        loop {
            match &*rx.borrow_and_update() {
                PgState::Ready => return Ok(()),
                PgState::Failed(e) => return Err(e.clone()),
                PgState::Connecting => {}
            }
            if rx.changed().await.is_err() {
                return Err(SchemaError::BadMetadata("store dropped".into()));
            }
        }
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(StoreError::Closed);
        }
        match &*self.state.borrow() {
            PgState::Ready => Ok(()),
            PgState::Failed(e) => Err(StoreError::Schema(e.clone())),
            PgState::Connecting => Err(StoreError::Unavailable(format!(
                "connecting to {}",
                self.config.target
            ))),
        }
    }

    pub(crate) async fn ensure_partitions(
        &self,
        client: &mut deadpool_postgres::Client,
        starts: Vec<i64>,
    ) -> Result<(), StoreError> {
        let mut known = self
            .known_partitions
            .lock()
            .map(|k| k.clone())
            .unwrap_or_default();
        if starts.iter().all(|s| known.contains(s)) {
            return Ok(());
        }
        let result = partitions::ensure(
            client,
            &self.config.schema,
            self.partition_seconds(),
            starts,
            &mut known,
        )
        .await;
        if let Ok(mut k) = self.known_partitions.lock() {
            *k = known;
        }
        result
    }

    pub(crate) fn forget_partitions(&self) {
        if let Ok(mut k) = self.known_partitions.lock() {
            k.clear();
        }
    }

    /// Creates the partitions for now − 1 … now + `partitions_ahead`, and refreshes the cache
    /// of those that exist.
    pub(crate) async fn maintain(&self, now_ns: i64) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let width = self.partition_seconds();
        let existing = partitions::attached(&client, &self.config.schema).await?;
        if let Ok(mut k) = self.known_partitions.lock() {
            *k = existing.iter().map(|p| p.start_s).collect();
        }
        let current = Partition::containing(now_ns, width).start_s;
        let starts = (-1..=i64::from(self.config.partitions_ahead))
            .map(|i| current.saturating_add(i.saturating_mul(width)))
            .collect();
        self.ensure_partitions(&mut client, starts).await
    }
}

/// A PostgreSQL-backed store. Cheap to share behind an `Arc`.
pub struct PgStore {
    shared: Arc<PgShared>,
    writer: mpsc::UnboundedSender<WriteRequest>,
}

impl PgStore {
    /// Returns at once; connecting, migrating and creating partitions happen in a background
    /// task that retries an unreachable server with exponential backoff (logging each
    /// attempt) until it answers. Inserts made meanwhile wait in the bounded buffer; queries
    /// answer `Unavailable` (503). Must be called inside a tokio runtime.
    pub fn connect(config: PgConfig) -> Result<Self, StoreError> {
        if !schema::valid_schema_name(&config.schema) {
            return Err(StoreError::Config(format!(
                "schema name {:?} must be lower-case letters, digits and _",
                config.schema
            )));
        }
        // Generic plans for our prepared statements: a custom plan re-plans every partition
        // on each execution (~10 ms with 30 partitions, measured), while a generic plan prunes
        // partitions at executor start from the parameters. No bitmap scans: a generic plan
        // of the hash lookup picked a bitmap scan per partition, 15 % fewer lookups/s than
        // plain index scans at 25 clients (measured); our lookups fetch a few rows each.
        let mut pg = config.pg.clone();
        const SESSION: &str = "-c plan_cache_mode=force_generic_plan -c enable_bitmapscan=off";
        let options = match pg.get_options() {
            Some(o) => format!("{o} {SESSION}"),
            None => SESSION.to_string(),
        };
        pg.options(&options);
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(5)))
            .wait_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Config(format!("PostgreSQL pool: {e}")))?;
        let (state, _) = watch::channel(PgState::Connecting);
        let shared = Arc::new(PgShared {
            width_s: AtomicI64::new(config.partition_seconds.max(1)),
            // 8 KiB pages until the server's block size is read at start.
            toast_chunk: AtomicUsize::new(1996),
            config,
            pool,
            state,
            pending: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            known_partitions: Mutex::new(BTreeSet::new()),
            closed: AtomicBool::new(false),
            reclaiming: Arc::default(),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..shared.config.writers.max(1) {
            tokio::spawn(writer::run(Arc::clone(&shared), Arc::clone(&rx)));
        }
        tokio::spawn(bring_up(Arc::clone(&shared)));
        Ok(Self { shared, writer: tx })
    }

    /// `connect` and wait until ready (or a fatal schema error).
    pub async fn open(config: PgConfig) -> Result<Self, StoreError> {
        let store = Self::connect(config)?;
        store.ready().await?;
        Ok(store)
    }

    pub fn state(&self) -> PgState {
        self.shared.state.borrow().clone()
    }

    /// Messages accepted by `insert` and not yet committed.
    pub fn buffered_messages(&self) -> usize {
        self.shared.pending.load(Ordering::Relaxed)
    }

    /// The maintenance step (also run every `maintenance_interval` in the background).
    pub async fn maintain(&self, now_ns: i64) -> Result<(), StoreError> {
        self.shared.check_ready()?;
        self.shared.maintain(now_ns).await
    }

    /// The partitions attached to `messages`, oldest first.
    pub async fn partitions(&self) -> Result<Vec<Partition>, StoreError> {
        self.shared.check_ready()?;
        let client = self.shared.client().await?;
        partitions::attached(&client, &self.shared.config.schema).await
    }

    pub fn config(&self) -> &PgConfig {
        &self.shared.config
    }

    /// `VACUUM (ANALYZE)` of every partition: fresh planner statistics and visibility maps
    /// (index-only scans). Autovacuum does it eventually; a node may schedule it daily as nwaku
    /// does with ANALYZE.
    pub async fn vacuum_analyze(&self) -> Result<(), StoreError> {
        self.shared.check_ready()?;
        let client = self.shared.client().await?;
        let s = schema::quote(&self.shared.config.schema);
        client
            .batch_execute(&format!("VACUUM (ANALYZE) {s}.messages"))
            .await?;
        Ok(())
    }
}

async fn bring_up(shared: Arc<PgShared>) {
    let mut delay = Duration::from_millis(250);
    let mut attempt: u32 = 1;
    loop {
        let result = async {
            let mut client = shared.client().await?;
            let width = schema::migrate(
                &mut client,
                &shared.config.schema,
                shared.config.partition_seconds,
            )
            .await?;
            shared.width_s.store(width, Ordering::Relaxed);
            let chunk = schema::toast_chunk_size(&client).await?;
            shared.toast_chunk.store(chunk, Ordering::Relaxed);
            drop(client);
            shared.maintain(now_ns()).await
        }
        .await;
        match result {
            Ok(()) => {
                tracing::info!(target_db = %shared.config.target, schema = %shared.config.schema, "PostgreSQL store ready");
                shared.state.send_replace(PgState::Ready);
                break;
            }
            Err(StoreError::Schema(e)) => {
                tracing::error!(target_db = %shared.config.target, error = %e, "PostgreSQL store refused");
                shared.state.send_replace(PgState::Failed(e));
                return;
            }
            Err(e) => {
                tracing::warn!(
                    target_db = %shared.config.target,
                    attempt,
                    error = %e,
                    "PostgreSQL not reachable; retrying in {delay:?}"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(shared.config.reconnect_backoff_max);
                attempt += 1;
            }
        }
        if shared.closed.load(Ordering::Relaxed) {
            return;
        }
    }
    // Periodic maintenance while the store lives.
    let weak = Arc::downgrade(&shared);
    drop(shared);
    loop {
        let interval = match weak.upgrade() {
            Some(s) => s.config.maintenance_interval,
            None => return,
        };
        tokio::time::sleep(interval).await;
        let Some(s) = weak.upgrade() else { return };
        if s.closed.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = s.maintain(now_ns()).await {
            tracing::warn!(error = %e, "store partition maintenance failed; will retry");
            metrics::error("maintenance_failure");
        }
    }
}

pub(crate) use rwaku_core::time::now_ns;

impl MessageStore for PgStore {
    async fn ready(&self) -> Result<(), StoreError> {
        self.shared.wait_ready().await.map_err(StoreError::Schema)
    }

    async fn insert(&self, batch: Vec<ArchivedMessage>) -> Result<InsertOutcome, StoreError> {
        if self.shared.closed.load(Ordering::Relaxed) {
            return Err(StoreError::Closed);
        }
        if let PgState::Failed(e) = &*self.shared.state.borrow() {
            return Err(StoreError::Schema(e.clone()));
        }
        if batch.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let n = batch.len();
        let before = self.shared.pending.fetch_add(n, Ordering::Relaxed);
        if before + n > self.shared.config.max_pending {
            self.shared.pending.fetch_sub(n, Ordering::Relaxed);
            metrics::lost(n);
            return Err(StoreError::BufferFull {
                pending: before,
                refused: n,
            });
        }
        metrics::buffered(before + n);
        let (ack, done) = oneshot::channel();
        if self
            .writer
            .send(WriteRequest::Insert { batch, ack })
            .is_err()
        {
            self.shared.pending.fetch_sub(n, Ordering::Relaxed);
            return Err(StoreError::Closed);
        }
        done.await.map_err(|_| StoreError::Closed)?
    }

    async fn query(&self, query: &StoreQuery) -> Result<StorePage, StoreError> {
        let started = Instant::now();
        let valid = query.validate()?;
        let kind = valid.kind();
        self.shared.check_ready()?;
        let result = async {
            let client = self.shared.client().await?;
            query_exec::run(&client, &self.shared.config.schema, &valid).await
        }
        .await;
        match &result {
            Ok(_) => metrics::query_answered(kind, started.elapsed()),
            Err(e) => metrics::error(e.metric_label()),
        }
        result
    }

    async fn message_count(&self) -> Result<u64, StoreError> {
        self.shared.check_ready()?;
        let client = self.shared.client().await?;
        let s = schema::quote(&self.shared.config.schema);
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {s}.messages"), &[])
            .await?
            .get(0);
        let n = u64::try_from(n).unwrap_or(0);
        metrics::stored_messages(n);
        Ok(n)
    }

    async fn database_size(&self) -> Result<u64, StoreError> {
        self.shared.check_ready()?;
        let _reclaimed = self.shared.reclaiming.lock().await;
        let client = self.shared.client().await?;
        let n: i64 = client
            .query_one(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind = 'r' \
                 AND (c.relname LIKE 'messages\\_p%' OR c.relname = 'rwaku_store_meta')",
                &[&self.shared.config.schema],
            )
            .await?
            .get(0);
        let n = u64::try_from(n).unwrap_or(0);
        metrics::database_size(n);
        Ok(n)
    }

    async fn apply_retention(
        &self,
        policy: RetentionPolicy,
        now_ns: i64,
    ) -> Result<RetentionOutcome, StoreError> {
        self.shared.check_ready()?;
        let started = Instant::now();
        let result = retention::run(&self.shared, policy, now_ns).await;
        match &result {
            Ok(Some(o)) => metrics::retention_run(
                "ok",
                started.elapsed(),
                o.deleted_messages,
                o.dropped_partitions,
            ),
            Ok(None) => metrics::retention_run("skipped", started.elapsed(), 0, 0),
            Err(_) => {
                metrics::retention_run("error", started.elapsed(), 0, 0);
                metrics::error("retention_failure");
            }
        }
        result.map(Option::unwrap_or_default)
    }

    async fn close(&self) -> Result<(), StoreError> {
        // Everything queued before the flush marker is written (or failed) before it is acked.
        let (ack, done) = oneshot::channel();
        let sent = self.writer.send(WriteRequest::Flush { ack }).is_ok();
        self.shared.closed.store(true, Ordering::Relaxed);
        let flushed = if sent {
            tokio::time::timeout(self.shared.config.close_timeout, done).await
        } else {
            Ok(Ok(()))
        };
        let _ = tokio::time::timeout(
            self.shared.config.close_timeout,
            self.shared.reclaiming.lock(),
        )
        .await;
        self.shared.pool.close();
        match flushed {
            Ok(_) => Ok(()),
            Err(_) => Err(StoreError::Unavailable(format!(
                "{} buffered messages not written before close",
                self.shared.pending.load(Ordering::Relaxed)
            ))),
        }
    }
}
