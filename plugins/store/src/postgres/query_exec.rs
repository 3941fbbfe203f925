//! Answering a validated query on PostgreSQL. A content query is one statement: a LATERAL
//! index-only range scan per content topic, each limited to page_size + 1 and in
//! (timestamp, hash) order, merged by PostgreSQL, then the rows of just those keys. Partition
//! pruning works on the time bounds in both parts. (A `messageHash = ANY(..) AND timestamp
//! BETWEEN ..` form for the second part gets a generic plan that range-scans the primary key:
//! 260 ms instead of 1 ms on 30 days, measured.)

use bytes::Bytes;
use rwaku_core::{MessageHash, WakuMessage};
use tokio_postgres::Row;

use crate::{
    entry::{StorePage, StoredEntry},
    error::StoreError,
    pagination::{finish_page, select_keys, sql_bound},
    query::{QueryFilter, ValidQuery},
};

use super::schema::quote;

const DATA_COLUMNS: &str =
    "messageHash, timestamp, pubsubTopic, contentTopic, payloadHead, version, meta, payloadTail";

pub(crate) async fn run(
    client: &deadpool_postgres::Client,
    schema: &str,
    q: &ValidQuery,
) -> Result<StorePage, StoreError> {
    let s = quote(schema);
    let cursor = match q.cursor {
        None => None,
        Some(hash) => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT timestamp FROM {s}.messages WHERE messageHash = $1 LIMIT 1"
                ))
                .await?;
            match client.query_opt(&stmt, &[&hash.0.as_slice()]).await? {
                Some(row) => Some((row.try_get::<_, i64>(0)?, hash)),
                // js-waku pages until it gets an empty page; an unknown cursor ends the paging.
                None => return Ok(StorePage::default()),
            }
        }
    };
    let limit = (q.page_size + 1) as i64;
    let (bound_ts, bound_hash) = sql_bound(q.forward, cursor);
    let (cmp, dir) = if q.forward {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    let entries = match &q.filter {
        QueryFilter::Hashes(hashes) => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {DATA_COLUMNS} FROM {s}.messages WHERE messageHash = ANY($1)"
                ))
                .await?;
            let list: Vec<&[u8]> = hashes.iter().map(|h| h.0.as_slice()).collect();
            let rows = client.query(&stmt, &[&list]).await?;
            let mut by_key = std::collections::HashMap::new();
            for row in &rows {
                let entry = decode(row, q.include_data)?;
                by_key.insert((row.try_get::<_, i64>(1)?, entry.hash), entry);
            }
            let keys = select_keys(
                by_key.keys().copied().collect(),
                cursor,
                q.forward,
                q.page_size,
            );
            keys.iter().filter_map(|k| by_key.remove(k)).collect()
        }
        QueryFilter::Content {
            topics: None,
            time_start,
            time_end,
        } => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {DATA_COLUMNS} FROM {s}.messages \
                     WHERE timestamp >= $1 AND timestamp <= $2 \
                     AND (timestamp, messageHash) {cmp} ($3, $4) \
                     ORDER BY timestamp {dir}, messageHash {dir} LIMIT $5"
                ))
                .await?;
            let rows = client
                .query(
                    &stmt,
                    &[time_start, time_end, &bound_ts, &bound_hash, &limit],
                )
                .await?;
            rows.iter()
                .map(|r| decode(r, q.include_data))
                .collect::<Result<Vec<_>, _>>()?
        }
        QueryFilter::Content {
            topics: Some(t),
            time_start,
            time_end,
        } => {
            // The page's keys: a LATERAL index-only range scan per content topic, each limited
            // to the page and in store order, merged by PostgreSQL.
            let keys_sql = format!(
                "SELECT x.ts, x.h FROM unnest($1::text[]) AS t(ct) CROSS JOIN LATERAL ( \
                    SELECT m.timestamp AS ts, m.messageHash AS h FROM {s}.messages m \
                    WHERE m.contentTopic = t.ct AND m.pubsubTopic = $2 \
                    AND m.timestamp >= $3 AND m.timestamp <= $4 \
                    AND (m.timestamp, m.messageHash) {cmp} ($5, $6) \
                    ORDER BY m.timestamp {dir}, m.messageHash {dir} LIMIT $7) x \
                 ORDER BY x.ts {dir}, x.h {dir} LIMIT $7"
            );
            // With data, the rows of just those keys in the same statement (one round trip):
            // a nested loop probing the one partition each key's timestamp selects. The time
            // bounds repeated on the join let the executor drop the other partitions once at
            // start instead of setting up a probe into every one of them.
            let sql = if q.include_data {
                format!(
                    "WITH k AS MATERIALIZED ({keys_sql}) \
                     SELECT m.messageHash, m.timestamp, m.pubsubTopic, m.contentTopic, \
                     m.payloadHead, m.version, m.meta, m.payloadTail FROM k \
                     JOIN {s}.messages m ON m.timestamp = k.ts AND m.messageHash = k.h \
                     AND m.timestamp >= $3 AND m.timestamp <= $4"
                )
            } else {
                keys_sql
            };
            let stmt = client.prepare_cached(&sql).await?;
            let rows = client
                .query(
                    &stmt,
                    &[
                        &t.content_topics,
                        &t.pubsub_topic,
                        time_start,
                        time_end,
                        &bound_ts,
                        &bound_hash,
                        &limit,
                    ],
                )
                .await?;
            if q.include_data {
                let mut keyed = Vec::with_capacity(rows.len());
                for r in &rows {
                    keyed.push((r.try_get::<_, i64>(1)?, decode(r, true)?));
                }
                keyed.sort_unstable_by(|(ta, a), (tb, b)| (ta, a.hash.0).cmp(&(tb, b.hash.0)));
                if !q.forward {
                    keyed.reverse();
                }
                keyed.into_iter().map(|(_, e)| e).collect()
            } else {
                let mut entries = Vec::with_capacity(rows.len());
                for r in &rows {
                    entries.push(StoredEntry {
                        hash: hash_of(r.try_get(1)?)?,
                        pubsub_topic: t.pubsub_topic.clone(),
                        message: None,
                    });
                }
                entries
            }
        }
    };
    Ok(finish_page(entries, q.forward, q.page_size))
}

fn hash_of(bytes: &[u8]) -> Result<MessageHash, StoreError> {
    MessageHash::from_slice(bytes)
        .ok_or_else(|| StoreError::BadRow(format!("message hash of {} bytes", bytes.len())))
}

fn decode(row: &Row, include_data: bool) -> Result<StoredEntry, StoreError> {
    let hash = hash_of(row.try_get(0)?)?;
    let pubsub_topic: String = row.try_get(2)?;
    let message = if include_data {
        // Stored split in two (see schema.rs); the payload is head then tail.
        let head: &[u8] = row.try_get(4)?;
        let tail: &[u8] = row.try_get(7)?;
        let version: i32 = row.try_get(5)?;
        let meta: Option<&[u8]> = row.try_get(6)?;
        Some(WakuMessage {
            payload: Bytes::from([head, tail].concat()),
            content_topic: row.try_get(3)?,
            version: Some(
                u32::try_from(version)
                    .map_err(|_| StoreError::BadRow(format!("version {version} out of range")))?,
            ),
            timestamp: Some(row.try_get(1)?),
            meta: meta.map(Bytes::copy_from_slice),
            rate_limit_proof: None,
            ephemeral: None,
        })
    } else {
        None
    };
    Ok(StoredEntry {
        hash,
        pubsub_topic,
        message,
    })
}
