//! The PostgreSQL write path: one task takes insert requests from a queue bounded in
//! messages, groups what is queued into one statement (one commit), and acks each caller
//! after the commit. If the database is unreachable the group is retried with backoff while
//! new requests wait in the bounded buffer; once it is full, `insert` refuses at once and the
//! refused messages are counted as lost. `ON CONFLICT DO NOTHING` makes a retry after an
//! ambiguous failure (commit sent, connection lost before the answer) write no duplicates.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use futures::pin_mut;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::{binary_copy::BinaryCopyInWriter, error::SqlState, types::Type};

use crate::{
    entry::{ArchivedMessage, InsertOutcome},
    error::StoreError,
    metrics,
};

use super::{PgInsertMethod, PgShared, partitions::Partition, schema::quote};

pub(crate) enum WriteRequest {
    Insert {
        batch: Vec<ArchivedMessage>,
        ack: oneshot::Sender<Result<InsertOutcome, StoreError>>,
    },
    Flush {
        ack: oneshot::Sender<()>,
    },
}

type Group = Vec<(
    Vec<ArchivedMessage>,
    oneshot::Sender<Result<InsertOutcome, StoreError>>,
)>;

/// One of `PgConfig::writers` tasks sharing the queue: while one waits for PostgreSQL to
/// commit its group, another collects and sends the next, so both cores stay busy.
pub(crate) async fn run(
    shared: Arc<PgShared>,
    rx: Arc<Mutex<mpsc::UnboundedReceiver<WriteRequest>>>,
) {
    loop {
        let mut group: Group = Vec::new();
        let mut messages = 0;
        let mut flush = None;
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                None => return,
                Some(WriteRequest::Flush { ack }) => flush = Some(ack),
                Some(WriteRequest::Insert { batch, ack }) => {
                    messages += batch.len();
                    group.push((batch, ack));
                    while messages < shared.config.max_batch {
                        match rx.try_recv() {
                            Ok(WriteRequest::Insert { batch, ack }) => {
                                messages += batch.len();
                                group.push((batch, ack));
                            }
                            Ok(WriteRequest::Flush { ack }) => {
                                flush = Some(ack);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                }
            }
            // Counted while the queue is still locked, so a flush taken later sees it.
            if !group.is_empty() {
                shared.in_flight.fetch_add(1, Ordering::SeqCst);
            }
        }
        if !group.is_empty() {
            write_with_retry(&shared, group, messages).await;
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(ack) = flush {
            // Every group taken before the flush marker must be done.
            while shared.in_flight.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let _ = ack.send(());
        }
    }
}

async fn write_with_retry(shared: &PgShared, group: Group, messages: usize) {
    let mut delay = Duration::from_millis(100);
    let mut failures: u32 = 0;
    loop {
        if let Err(fatal) = shared.wait_ready().await {
            finish(shared, group, messages, |_| {
                Err(StoreError::Schema(fatal.clone()))
            });
            return;
        }
        let started = Instant::now();
        let batches: Vec<&[ArchivedMessage]> = group.iter().map(|(b, _)| b.as_slice()).collect();
        match write_group(shared, &batches).await {
            Ok(outcomes) => {
                metrics::insert_committed(messages, started.elapsed());
                if failures > 0 {
                    tracing::info!(failures, "PostgreSQL writes resumed");
                }
                let mut outcomes = outcomes.into_iter();
                finish(shared, group, messages, |_| {
                    Ok(outcomes.next().unwrap_or_default())
                });
                return;
            }
            Err(e) if is_transient(&e) && shared.closed.load(Ordering::Relaxed) => {
                tracing::warn!(error = %e, messages, "store closed while PostgreSQL is away; batch not written");
                metrics::lost(messages);
                finish(shared, group, messages, |_| Err(StoreError::Closed));
                return;
            }
            Err(e) if is_transient(&e) => {
                failures += 1;
                metrics::write_retry();
                metrics::error("insert_failure");
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(
                        target_db = %shared.config.target,
                        error = %e,
                        failures,
                        buffered = shared.pending.load(Ordering::Relaxed),
                        "PostgreSQL write failed; keeping the batch and retrying in {delay:?}"
                    );
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(shared.config.reconnect_backoff_max);
            }
            Err(e) => {
                tracing::error!(error = %e, "PostgreSQL insert failed; batch dropped");
                metrics::error("insert_failure");
                let text = e.to_string();
                finish(shared, group, messages, |_| {
                    Err(StoreError::InsertRefused(text.clone()))
                });
                return;
            }
        }
    }
}

fn finish(
    shared: &PgShared,
    group: Group,
    messages: usize,
    mut result: impl FnMut(usize) -> Result<InsertOutcome, StoreError>,
) {
    let left = shared.pending.fetch_sub(messages, Ordering::Relaxed) - messages;
    metrics::buffered(left);
    for (i, (_, ack)) in group.into_iter().enumerate() {
        let _ = ack.send(result(i));
    }
}

/// Connection-level failures worth retrying; data errors are not.
pub(crate) fn is_transient(e: &StoreError) -> bool {
    match e {
        StoreError::Pool(_) | StoreError::Unavailable(_) => true,
        StoreError::Postgres(pg) => match pg.code() {
            None => true,
            Some(code) => {
                let c = code.code();
                c.starts_with("08")
                    || c.starts_with("57P")
                    || *code == SqlState::TOO_MANY_CONNECTIONS
                    || *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED
                    // No partition for the row: another node's retention dropped one we had
                    // cached; the retry re-creates it.
                    || *code == SqlState::CHECK_VIOLATION
                    || *code == SqlState::UNDEFINED_TABLE
            }
        },
        _ => false,
    }
}

/// Inserts all batches with one statement (so one commit); one outcome per batch. A hash
/// repeated across the group is credited to its first batch.
async fn write_group(
    shared: &PgShared,
    batches: &[&[ArchivedMessage]],
) -> Result<Vec<InsertOutcome>, StoreError> {
    let mut client = shared.client().await?;
    let mut seen = HashSet::new();
    let mut unique: Vec<&ArchivedMessage> = Vec::new();
    let mut owner: Vec<usize> = Vec::new();
    for (i, batch) in batches.iter().enumerate() {
        for m in batch.iter() {
            if seen.insert(m.hash) {
                unique.push(m);
                owner.push(i);
            }
        }
    }
    let width = shared.partition_seconds();
    let starts: Vec<i64> = unique
        .iter()
        .map(|m| Partition::containing(m.timestamp(), width).start_s)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    shared.ensure_partitions(&mut client, starts).await?;
    let inserted: HashSet<[u8; 32]> = match shared.config.insert_method {
        PgInsertMethod::Unnest => insert_unnest(shared, &client, &unique).await,
        PgInsertMethod::CopyTemp => insert_copy(shared, &mut client, &unique).await,
    }
    .inspect_err(|e| {
        if matches!(e, StoreError::Postgres(pg) if pg.code() == Some(&SqlState::CHECK_VIOLATION)) {
            shared.forget_partitions();
        }
    })?;
    let mut outcomes = vec![InsertOutcome::default(); batches.len()];
    let mut credited: HashMap<[u8; 32], usize> = HashMap::new();
    for (m, i) in unique.iter().zip(&owner) {
        credited.insert(m.hash.0, *i);
    }
    for (i, batch) in batches.iter().enumerate() {
        for m in batch.iter() {
            let mine = credited.get(&m.hash.0) == Some(&i) && inserted.contains(&m.hash.0);
            if mine {
                credited.remove(&m.hash.0);
                outcomes[i].inserted += 1;
            } else {
                outcomes[i].duplicates += 1;
            }
        }
    }
    Ok(outcomes)
}

async fn insert_unnest(
    shared: &PgShared,
    client: &deadpool_postgres::Client,
    rows: &[&ArchivedMessage],
) -> Result<HashSet<[u8; 32]>, StoreError> {
    let s = quote(&shared.config.schema);
    let stmt = client
        .prepare_cached(&format!(
            "INSERT INTO {s}.messages \
             (messageHash, pubsubTopic, contentTopic, payloadHead, version, timestamp, meta, \
              payloadTail) \
             SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::bytea[], \
                                  $5::int4[], $6::int8[], $7::bytea[], $8::bytea[]) \
             ON CONFLICT DO NOTHING RETURNING messageHash"
        ))
        .await?;
    let hashes: Vec<&[u8]> = rows.iter().map(|m| m.hash.0.as_slice()).collect();
    let pubsub: Vec<&str> = rows.iter().map(|m| m.pubsub_topic.as_str()).collect();
    let content: Vec<&str> = rows
        .iter()
        .map(|m| m.message.content_topic.as_str())
        .collect();
    let chunk = shared.toast_chunk();
    let (head, tail): (Vec<&[u8]>, Vec<&[u8]>) =
        rows.iter().map(|m| split_payload(m, chunk)).unzip();
    let version: Vec<i32> = rows.iter().map(|m| version_of(m)).collect();
    let ts: Vec<i64> = rows.iter().map(|m| m.timestamp()).collect();
    let meta: Vec<Option<&[u8]>> = rows.iter().map(|m| m.message.meta.as_deref()).collect();
    let returned = client
        .query(
            &stmt,
            &[
                &hashes, &pubsub, &content, &head, &version, &ts, &meta, &tail,
            ],
        )
        .await?;
    returned_hashes(&returned)
}

/// COPY into a per-connection temporary table, then one INSERT … SELECT with the same
/// conflict rule. Chosen by configuration; the benchmark measures both.
async fn insert_copy(
    shared: &PgShared,
    client: &mut deadpool_postgres::Client,
    rows: &[&ArchivedMessage],
) -> Result<HashSet<[u8; 32]>, StoreError> {
    let s = quote(&shared.config.schema);
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS rwaku_ingest (LIKE {s}.messages) ON COMMIT DELETE ROWS"
    ))
    .await?;
    let sink = tx
        .copy_in(
            "COPY rwaku_ingest (messageHash, pubsubTopic, contentTopic, payloadHead, version, \
             timestamp, meta, payloadTail) FROM STDIN BINARY",
        )
        .await?;
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
            Type::BYTEA,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
            Type::INT4,
            Type::INT8,
            Type::BYTEA,
            Type::BYTEA,
        ],
    );
    let chunk = shared.toast_chunk();
    pin_mut!(writer);
    for m in rows {
        let hash = m.hash.0.as_slice();
        let (head, tail) = split_payload(m, chunk);
        let meta: Option<&[u8]> = m.message.meta.as_deref();
        writer
            .as_mut()
            .write(&[
                &hash,
                &m.pubsub_topic,
                &m.message.content_topic,
                &head,
                &version_of(m),
                &m.timestamp(),
                &meta,
                &tail,
            ])
            .await?;
    }
    writer.finish().await?;
    let returned = tx
        .query(
            &format!(
                "INSERT INTO {s}.messages SELECT * FROM rwaku_ingest \
                 ON CONFLICT DO NOTHING RETURNING messageHash"
            ),
            &[],
        )
        .await?;
    tx.commit().await?;
    returned_hashes(&returned)
}

/// The payload as stored: the largest whole number of TOAST chunks, then the rest
/// (`schema.rs` says why).
fn split_payload(m: &ArchivedMessage, chunk: usize) -> (&[u8], &[u8]) {
    let payload = m.message.payload.as_ref();
    let head = payload.len() / chunk.max(1) * chunk.max(1);
    payload.split_at(head)
}

fn version_of(m: &ArchivedMessage) -> i32 {
    // Versions are 0..=2 in practice; a value beyond i32 is stored saturated.
    i32::try_from(m.message.version.unwrap_or(0)).unwrap_or(i32::MAX)
}

fn returned_hashes(rows: &[tokio_postgres::Row]) -> Result<HashSet<[u8; 32]>, StoreError> {
    rows.iter()
        .map(|r| {
            let h: &[u8] = r.try_get(0)?;
            <[u8; 32]>::try_from(h)
                .map_err(|_| StoreError::BadRow(format!("message hash of {} bytes", h.len())))
        })
        .collect()
}
