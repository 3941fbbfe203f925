//! The single SQLite writer thread and its group commit: insert requests arrive on a bounded
//! channel; the thread takes whatever is queued (up to `max_batch` messages, collecting for at
//! most `max_batch_delay`) into one transaction, commits once, then acks every caller. Under
//! load the queue fills while the previous commit runs, so batches grow on their own; an idle
//! node commits each message at once. Other jobs (retention steps, checkpoints) run between
//! groups on the same connection, so they never wait for a lock.

use std::{
    ops::ControlFlow,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::{
    entry::{ArchivedMessage, InsertOutcome},
    error::StoreError,
    metrics,
};

use super::schema::pragma;

pub(crate) type Ack<T> = oneshot::Sender<Result<T, StoreError>>;

/// A piece of work for the writer connection other than an insert.
pub(crate) type WriteJob = Box<dyn FnOnce(&mut Connection) + Send>;

pub(crate) enum WriteCommand {
    Insert {
        batch: Vec<ArchivedMessage>,
        ack: Ack<InsertOutcome>,
    },
    Job(WriteJob),
    Close {
        ack: Ack<()>,
    },
}

/// Counters the writer keeps for the async side.
#[derive(Default)]
pub(crate) struct WriterStats {
    /// Messages handed to `insert` and not yet committed or failed.
    pub pending: AtomicUsize,
    /// Rows in the table, kept exact by the writer (it is the only one changing them).
    pub rows: AtomicU64,
}

pub(crate) struct GroupLimits {
    pub max_batch: usize,
    pub max_batch_delay: Duration,
}

const INSERT_SQL: &str = "INSERT OR IGNORE INTO message \
    (messageHash, pubsubTopic, contentTopic, payload, version, timestamp, meta) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

pub(crate) fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<WriteCommand>,
    stats: Arc<WriterStats>,
    limits: GroupLimits,
) {
    while let Some(command) = rx.blocking_recv() {
        let flow = match command {
            WriteCommand::Insert { batch, ack } => {
                let mut group = vec![(batch, ack)];
                let deferred = collect_group(&mut rx, &mut group, &limits);
                commit_group(&mut conn, group, &stats);
                match deferred {
                    Some(other) => handle_other(&mut conn, other),
                    None => ControlFlow::Continue(()),
                }
            }
            other => handle_other(&mut conn, other),
        };
        if flow.is_break() {
            return;
        }
    }
    // Every sender is gone without a Close: still leave a small WAL behind.
    let _ = pragma(&conn, "wal_checkpoint(TRUNCATE)");
}

/// Adds queued inserts to `group`; returns the first non-insert command met, to run after it.
fn collect_group(
    rx: &mut mpsc::Receiver<WriteCommand>,
    group: &mut Vec<(Vec<ArchivedMessage>, Ack<InsertOutcome>)>,
    limits: &GroupLimits,
) -> Option<WriteCommand> {
    let deadline = Instant::now() + limits.max_batch_delay;
    let mut messages: usize = group.iter().map(|(b, _)| b.len()).sum();
    while messages < limits.max_batch && Instant::now() < deadline {
        match rx.try_recv() {
            Ok(WriteCommand::Insert { batch, ack }) => {
                messages += batch.len();
                group.push((batch, ack));
            }
            Ok(other) => return Some(other),
            Err(_) => break,
        }
    }
    None
}

fn handle_other(conn: &mut Connection, command: WriteCommand) -> ControlFlow<()> {
    match command {
        WriteCommand::Insert { batch, ack } => {
            // Not reached: inserts are grouped by the caller of this function.
            let _ = ack.send(insert_one(conn, &batch));
            ControlFlow::Continue(())
        }
        WriteCommand::Job(job) => {
            job(conn);
            ControlFlow::Continue(())
        }
        WriteCommand::Close { ack } => {
            let result = pragma(conn, "wal_checkpoint(TRUNCATE)").map_err(StoreError::from);
            let _ = ack.send(result);
            ControlFlow::Break(())
        }
    }
}

fn commit_group(
    conn: &mut Connection,
    group: Vec<(Vec<ArchivedMessage>, Ack<InsertOutcome>)>,
    stats: &WriterStats,
) {
    let started = Instant::now();
    let total: usize = group.iter().map(|(b, _)| b.len()).sum();
    match insert_all(conn, group.iter().map(|(b, _)| b.as_slice())) {
        Ok(outcomes) => {
            metrics::insert_committed(total, started.elapsed());
            let inserted: usize = outcomes.iter().map(|o| o.inserted).sum();
            stats.rows.fetch_add(inserted as u64, Ordering::Relaxed);
            stats.pending.fetch_sub(total, Ordering::Relaxed);
            for ((_, ack), outcome) in group.into_iter().zip(outcomes) {
                let _ = ack.send(Ok(outcome));
            }
        }
        Err(error) => {
            // One bad batch must not fail its neighbours: retry each caller on its own, so
            // each gets its own outcome or error.
            tracing::warn!(%error, callers = group.len(), "group commit failed; retrying per caller");
            for (batch, ack) in group {
                let started = Instant::now();
                let result = insert_one(conn, &batch);
                match &result {
                    Ok(o) => {
                        metrics::insert_committed(batch.len(), started.elapsed());
                        stats.rows.fetch_add(o.inserted as u64, Ordering::Relaxed);
                    }
                    Err(e) => metrics::error(e.metric_label()),
                }
                stats.pending.fetch_sub(batch.len(), Ordering::Relaxed);
                let _ = ack.send(result);
            }
        }
    }
}

fn insert_one(
    conn: &mut Connection,
    batch: &[ArchivedMessage],
) -> Result<InsertOutcome, StoreError> {
    insert_all(conn, std::iter::once(batch)).map(|mut v| v.pop().unwrap_or_default())
}

/// Inserts every batch in one transaction; one outcome per batch.
fn insert_all<'a>(
    conn: &mut Connection,
    batches: impl Iterator<Item = &'a [ArchivedMessage]>,
) -> Result<Vec<InsertOutcome>, StoreError> {
    let tx = conn.transaction()?;
    let mut outcomes = Vec::new();
    {
        let mut stmt = tx.prepare_cached(INSERT_SQL)?;
        for batch in batches {
            let mut outcome = InsertOutcome::default();
            for m in batch {
                let msg = &m.message;
                let changed = stmt.execute(rusqlite::params![
                    m.hash.0.as_slice(),
                    m.pubsub_topic,
                    msg.content_topic,
                    msg.payload.as_ref(),
                    i64::from(msg.version.unwrap_or(0)),
                    msg.timestamp_or_zero(),
                    msg.meta.as_deref(),
                ])?;
                if changed == 0 {
                    outcome.duplicates += 1;
                } else {
                    outcome.inserted += 1;
                }
            }
            outcomes.push(outcome);
        }
    }
    tx.commit()?;
    Ok(outcomes)
}
