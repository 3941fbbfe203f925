//! PostgreSQL retention. Whole partitions are detached concurrently and dropped: the disk is
//! freed at once and no dead tuples are left (the nwaku row-DELETE retention bloated its
//! indexes and stalled every query). Only the one partition straddling the cutoff is trimmed
//! with small batched DELETEs, and that partition is itself dropped a partition-width later.
//! One node at a time: a session advisory lock; another node that finds it taken skips.

use deadpool_postgres::GenericClient;

use crate::{entry::RetentionOutcome, error::StoreError, retention::RetentionPolicy};

use super::{
    PgShared, now_ns,
    partitions::{self, Partition},
    schema::{lock_key, quote},
};

/// `None` when another node holds the retention lock.
pub(crate) async fn run(
    shared: &PgShared,
    policy: RetentionPolicy,
    now: i64,
) -> Result<Option<RetentionOutcome>, StoreError> {
    if policy == RetentionPolicy::None {
        return Ok(Some(RetentionOutcome::default()));
    }
    // A previous run may still be dropping what it detached.
    let reclaim = shared.reclaiming.clone().lock_owned().await;
    let schema = shared.config.schema.as_str();
    let client = shared.client().await?;
    let key = lock_key("retention", schema);
    let locked: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
        .await?
        .get(0);
    if !locked {
        return Ok(None);
    }
    let mut detached = Vec::new();
    let result = apply(shared, &client, policy, now, &mut detached).await;
    // The lock is per session; a lost connection releases it by itself.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&key])
        .await;
    shared.forget_partitions();
    if !detached.is_empty() {
        // The rows are gone from every query already; freeing the files (about 200 ms for a
        // day of 2 KB messages) happens after the answer. A crash in between leaves detached
        // tables that the next run drops first.
        let schema = schema.to_string();
        tokio::spawn(async move {
            for name in detached {
                if let Err(e) = partitions::drop_detached(&client, &schema, &name).await {
                    tracing::warn!(partition = %name, error = %e, "detached partition not dropped; the next retention run retries");
                }
            }
            drop(reclaim);
        });
    }
    result.map(Some)
}

/// Applies `policy`. Partitions dropped for age are only detached here and named in
/// `detached`, for the caller to drop after answering; the count and size policies drop at
/// once, since each step needs the size or count the previous one left.
async fn apply(
    shared: &PgShared,
    client: &deadpool_postgres::Client,
    policy: RetentionPolicy,
    now: i64,
    detached: &mut Vec<String>,
) -> Result<RetentionOutcome, StoreError> {
    let schema = shared.config.schema.as_str();
    let mut out = RetentionOutcome::default();
    let (parts, leftovers) = partitions::attached_and_leftovers(client, schema).await?;
    for leftover in leftovers {
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {}.{}",
                quote(schema),
                quote(&leftover)
            ))
            .await?;
    }
    let current = Partition::containing(now_ns().max(now), shared.partition_seconds()).start_s;
    match policy {
        RetentionPolicy::None => {}
        RetentionPolicy::Time { seconds } => {
            let age = i64::try_from(seconds)
                .ok()
                .and_then(|s| s.checked_mul(1_000_000_000))
                .unwrap_or(i64::MAX);
            let cutoff = now.saturating_sub(age);
            for p in &parts {
                if p.end_ns() <= cutoff {
                    out.deleted_messages += rows_before_drop(client, schema, &p.name).await?;
                    partitions::detach_partition(client, schema, &p.name).await?;
                    detached.push(p.name.clone());
                    out.dropped_partitions += 1;
                } else if p.start_ns() < cutoff {
                    out.deleted_messages += trim_older(shared, client, &p.name, cutoff).await?;
                }
            }
        }
        RetentionPolicy::Capacity { messages } => {
            let total = total_count(client, schema).await?;
            let mut excess = total.saturating_sub(messages);
            for p in &parts {
                if excess == 0 {
                    break;
                }
                let rows = count(client, schema, &p.name).await?;
                if rows <= excess && p.start_s < current {
                    partitions::drop_partition(client, schema, &p.name).await?;
                    out.dropped_partitions += 1;
                    out.deleted_messages += rows;
                    excess -= rows;
                } else {
                    let n = trim_oldest(shared, client, &p.name, excess).await?;
                    out.deleted_messages += n;
                    excess = excess.saturating_sub(n.max(1));
                }
            }
        }
        RetentionPolicy::Size { bytes } => {
            for p in &parts {
                if p.start_s >= current || size(client, schema).await? <= bytes {
                    break;
                }
                out.deleted_messages += rows_before_drop(client, schema, &p.name).await?;
                partitions::drop_partition(client, schema, &p.name).await?;
                out.dropped_partitions += 1;
            }
            if size(client, schema).await? > bytes {
                tracing::warn!(
                    limit = bytes,
                    "store over its size limit with only the current partition left"
                );
            }
        }
    }
    Ok(out)
}

/// The rows of a partition about to be dropped, for the outcome and metrics: the planner's
/// estimate when (auto)vacuum has analysed it — counting a day of 2 KB rows would scan the
/// whole partition just before dropping it — else an exact count.
async fn rows_before_drop(
    c: &deadpool_postgres::Client,
    schema: &str,
    table: &str,
) -> Result<u64, StoreError> {
    let estimate: Option<f32> = c
        .query_opt(
            "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2",
            &[&schema, &table],
        )
        .await?
        .map(|r| r.get(0));
    match estimate {
        Some(n) if n >= 0.0 => Ok(n.round() as u64),
        _ => count(c, schema, table).await,
    }
}

async fn count(c: &impl GenericClientExt, schema: &str, table: &str) -> Result<u64, StoreError> {
    c.count(&format!(
        "SELECT count(*) FROM {}.{}",
        quote(schema),
        quote(table)
    ))
    .await
}

async fn total_count(c: &impl GenericClientExt, schema: &str) -> Result<u64, StoreError> {
    c.count(&format!("SELECT count(*) FROM {}.messages", quote(schema)))
        .await
}

async fn size(c: &deadpool_postgres::Client, schema: &str) -> Result<u64, StoreError> {
    let n: i64 = c
        .query_one(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname LIKE 'messages\\_p%'",
            &[&schema],
        )
        .await?
        .get(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes rows older than `cutoff` from one partition, a batch per statement.
async fn trim_older(
    shared: &PgShared,
    c: &deadpool_postgres::Client,
    table: &str,
    cutoff: i64,
) -> Result<u64, StoreError> {
    let t = format!("{}.{}", quote(&shared.config.schema), quote(table));
    let sql = format!(
        "DELETE FROM {t} WHERE ctid = ANY(ARRAY(\
         SELECT ctid FROM {t} WHERE timestamp < $1 ORDER BY timestamp LIMIT $2))"
    );
    let batch = shared.config.retention_delete_batch.max(1);
    let mut total = 0;
    loop {
        let n = c.execute(&sql, &[&cutoff, &batch]).await?;
        total += n;
        if n < batch as u64 {
            return Ok(total);
        }
    }
}

/// Deletes the `n` oldest rows of one partition, in batches.
async fn trim_oldest(
    shared: &PgShared,
    c: &deadpool_postgres::Client,
    table: &str,
    n: u64,
) -> Result<u64, StoreError> {
    let t = format!("{}.{}", quote(&shared.config.schema), quote(table));
    let sql = format!(
        "DELETE FROM {t} WHERE ctid = ANY(ARRAY(\
         SELECT ctid FROM {t} ORDER BY timestamp, messageHash LIMIT $1))"
    );
    let batch = shared.config.retention_delete_batch.max(1) as u64;
    let mut total = 0;
    while total < n {
        let step = i64::try_from((n - total).min(batch)).unwrap_or(i64::MAX);
        let deleted = c.execute(&sql, &[&step]).await?;
        total += deleted;
        if deleted == 0 {
            break;
        }
    }
    Ok(total)
}

/// `SELECT count(*)` as u64.
trait GenericClientExt {
    async fn count(&self, sql: &str) -> Result<u64, StoreError>;
}

impl<C: GenericClient + Sync> GenericClientExt for C {
    async fn count(&self, sql: &str) -> Result<u64, StoreError> {
        let n: i64 = self.query_one(sql, &[]).await?.get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
