//! The SQLite backend: one file, one writer thread with group commit, a few read-only
//! connections on their own threads. See `schema.rs` for the layout and durability choices.

mod background;
mod query_exec;
mod reader;
mod retention;
mod schema;
mod writer;

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, atomic::Ordering},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::{
    entry::{ArchivedMessage, InsertOutcome, RetentionOutcome, StorePage},
    error::StoreError,
    message_store::MessageStore,
    metrics,
    query::StoreQuery,
    retention::RetentionPolicy,
};

use reader::ReaderPool;
use writer::{GroupLimits, WriteCommand, WriterStats};

#[derive(Debug, Clone)]
pub struct SqliteConfig {
    pub path: PathBuf,
    /// Reader threads (one read-only connection each).
    pub readers: usize,
    /// Most messages in one group-committed transaction.
    pub max_batch: usize,
    /// Longest time the writer keeps collecting queued inserts into one transaction.
    pub max_batch_delay: Duration,
    /// Insert requests that may wait for the writer; `insert` awaits room beyond that.
    pub queue_capacity: usize,
    /// Rows per retention DELETE transaction. Each runs at idle CPU priority on the writer
    /// thread, so inserts wait for at most one batch; on a machine busy with queries a batch
    /// only gets spare CPU, so it is kept small (dropping a day took as long in batches of
    /// 2,000 as of 10,000, measured).
    pub retention_batch: usize,
    /// Pause between retention steps, so queries get the CPU on a small machine.
    pub retention_pause: Duration,
    /// Pages freed per incremental_vacuum step (64 KiB each).
    pub vacuum_pages_per_step: u32,
    /// Page cache of the writer connection and of each reader, KiB.
    pub cache_kib: i64,
    /// Memory-mapped reads per reader connection, bytes.
    pub mmap_bytes: u64,
}

impl SqliteConfig {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            readers: 2,
            max_batch: 2000,
            max_batch_delay: Duration::from_millis(5),
            queue_capacity: 1024,
            retention_batch: 2_000,
            retention_pause: Duration::from_millis(10),
            vacuum_pages_per_step: 256,
            cache_kib: 64 * 1024,
            mmap_bytes: 1 << 30,
        }
    }
}

pub struct SqliteStore {
    config: SqliteConfig,
    writer: mpsc::Sender<WriteCommand>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    readers: ReaderPool,
    stats: Arc<WriterStats>,
}

impl SqliteStore {
    /// Opens or creates the database file. Fails with a `SchemaError` for a corrupt file, a
    /// database that is not an rwaku store, or one from a newer rwaku.
    pub async fn open(config: SqliteConfig) -> Result<Self, StoreError> {
        let path = config.path.clone();
        let cache = config.cache_kib;
        let (conn, rows) = tokio::task::spawn_blocking(move || {
            let conn = schema::open_writer(&path, cache)?;
            let rows: i64 = conn.query_row("SELECT count(*) FROM message", [], |r| r.get(0))?;
            Ok::<_, StoreError>((conn, rows))
        })
        .await
        .map_err(|e| StoreError::Config(format!("SQLite open task failed: {e}")))??;
        let stats = Arc::new(WriterStats::default());
        stats.rows.store(rows.max(0) as u64, Ordering::Relaxed);
        let readers = ReaderPool::start(
            &config.path,
            config.readers,
            config.cache_kib / 4,
            config.mmap_bytes,
        )?;
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let limits = GroupLimits {
            max_batch: config.max_batch.max(1),
            max_batch_delay: config.max_batch_delay,
        };
        let thread_stats = Arc::clone(&stats);
        let handle = std::thread::Builder::new()
            .name("store-sqlite-writer".into())
            .spawn(move || writer::run(conn, rx, thread_stats, limits))
            .map_err(|e| StoreError::Io {
                path: config.path.display().to_string(),
                source: e,
            })?;
        metrics::stored_messages(rows.max(0) as u64);
        tracing::info!(path = %config.path.display(), messages = rows, "SQLite store open");
        Ok(Self {
            config,
            writer: tx,
            writer_thread: Mutex::new(Some(handle)),
            readers,
            stats,
        })
    }

    pub fn config(&self) -> &SqliteConfig {
        &self.config
    }

    /// Runs `f` on the writer connection, between insert groups.
    async fn write_job<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let job: writer::WriteJob = Box::new(move |conn| {
            let _ = done.send(f(conn));
        });
        self.writer
            .send(WriteCommand::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    fn file_size(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        for suffix in ["", "-wal"] {
            let mut name = self.config.path.clone().into_os_string();
            name.push(suffix);
            match std::fs::metadata(&name) {
                Ok(m) => total += m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !suffix.is_empty() => {}
                Err(e) => {
                    return Err(StoreError::Io {
                        path: PathBuf::from(name).display().to_string(),
                        source: e,
                    });
                }
            }
        }
        Ok(total)
    }
}

impl MessageStore for SqliteStore {
    async fn ready(&self) -> Result<(), StoreError> {
        if self.writer.is_closed() {
            return Err(StoreError::Closed);
        }
        Ok(())
    }

    async fn insert(&self, batch: Vec<ArchivedMessage>) -> Result<InsertOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let n = batch.len();
        let pending = self.stats.pending.fetch_add(n, Ordering::Relaxed) + n;
        metrics::buffered(pending);
        let (ack, done) = oneshot::channel();
        if self
            .writer
            .send(WriteCommand::Insert { batch, ack })
            .await
            .is_err()
        {
            self.stats.pending.fetch_sub(n, Ordering::Relaxed);
            return Err(StoreError::Closed);
        }
        let result = done.await.map_err(|_| StoreError::Closed)?;
        metrics::buffered(self.stats.pending.load(Ordering::Relaxed));
        if result.is_ok() {
            metrics::stored_messages(self.stats.rows.load(Ordering::Relaxed));
        }
        result
    }

    async fn query(&self, query: &StoreQuery) -> Result<StorePage, StoreError> {
        let started = Instant::now();
        let valid = query.validate()?;
        let kind = valid.kind();
        let result = self
            .readers
            .run(move |conn| query_exec::run(conn, &valid))
            .await;
        match &result {
            Ok(_) => metrics::query_answered(kind, started.elapsed()),
            Err(e) => metrics::error(e.metric_label()),
        }
        result
    }

    async fn message_count(&self) -> Result<u64, StoreError> {
        Ok(self.stats.rows.load(Ordering::Relaxed))
    }

    async fn database_size(&self) -> Result<u64, StoreError> {
        let size = self.file_size()?;
        metrics::database_size(size);
        Ok(size)
    }

    async fn apply_retention(
        &self,
        policy: RetentionPolicy,
        now_ns: i64,
    ) -> Result<RetentionOutcome, StoreError> {
        let started = Instant::now();
        match self.retention(policy, now_ns).await {
            Ok(deleted) => {
                metrics::retention_run("ok", started.elapsed(), deleted, 0);
                metrics::stored_messages(self.stats.rows.load(Ordering::Relaxed));
                Ok(RetentionOutcome {
                    deleted_messages: deleted,
                    dropped_partitions: 0,
                })
            }
            Err(e) => {
                metrics::retention_run("error", started.elapsed(), 0, 0);
                metrics::error("retention_failure");
                Err(e)
            }
        }
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.readers.close();
        let (ack, done) = oneshot::channel();
        if self.writer.send(WriteCommand::Close { ack }).await.is_err() {
            return Err(StoreError::Closed);
        }
        let result = done.await.map_err(|_| StoreError::Closed)?;
        let handle = self.writer_thread.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        result
    }
}
