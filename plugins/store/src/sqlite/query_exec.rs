//! Answering a validated query on a read-only SQLite connection. Two phases: find the keys of
//! the page (index-only: one ordered range scan per content topic, limited to page_size + 1,
//! merged in memory), then read the full rows of just those keys.

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};
use rwaku_core::{MessageHash, WakuMessage};

use crate::{
    entry::{StorePage, StoredEntry},
    error::StoreError,
    pagination::{SortKey, finish_page, select_keys, sql_bound},
    query::{QueryFilter, ValidQuery},
};

/// A key plus the rowid to fetch the row by.
type RowKey = (SortKey, i64);

pub(crate) fn run(conn: &Connection, q: &ValidQuery) -> Result<StorePage, StoreError> {
    let cursor = match q.cursor {
        None => None,
        Some(hash) => match cursor_timestamp(conn, &hash)? {
            Some(ts) => Some((ts, hash)),
            // js-waku pages until it gets an empty page; an unknown cursor ends the paging.
            None => return Ok(StorePage::default()),
        },
    };
    let keys = match &q.filter {
        QueryFilter::Hashes(hashes) => {
            let found = hash_keys(conn, hashes)?;
            pick(found, cursor, q.forward, q.page_size)
        }
        QueryFilter::Content {
            topics,
            time_start,
            time_end,
        } => {
            let (lo, hi, bound) = range(*time_start, *time_end, q.forward, cursor);
            if lo > hi {
                return Ok(StorePage::default());
            }
            let limit = (q.page_size + 1) as i64;
            let mut found = Vec::new();
            match topics {
                Some(t) => {
                    let sql = if q.forward {
                        "SELECT timestamp, messageHash, rowid FROM message INDEXED BY i_topic \
                         WHERE contentTopic = ?1 AND pubsubTopic = ?2 \
                         AND timestamp >= ?3 AND timestamp <= ?4 \
                         AND (timestamp > ?5 OR messageHash > ?6) \
                         ORDER BY timestamp, messageHash LIMIT ?7"
                    } else {
                        "SELECT timestamp, messageHash, rowid FROM message INDEXED BY i_topic \
                         WHERE contentTopic = ?1 AND pubsubTopic = ?2 \
                         AND timestamp >= ?3 AND timestamp <= ?4 \
                         AND (timestamp < ?5 OR messageHash < ?6) \
                         ORDER BY timestamp DESC, messageHash DESC LIMIT ?7"
                    };
                    let mut stmt = conn.prepare_cached(sql)?;
                    for topic in &t.content_topics {
                        let rows = stmt.query_map(
                            params![topic, t.pubsub_topic, lo, hi, bound.0, bound.1, limit],
                            key_row,
                        )?;
                        for row in rows {
                            found.push(row??);
                        }
                    }
                }
                None => {
                    let sql = if q.forward {
                        "SELECT timestamp, messageHash, rowid FROM message INDEXED BY i_ts \
                         WHERE timestamp >= ?1 AND timestamp <= ?2 \
                         AND (timestamp > ?3 OR messageHash > ?4) \
                         ORDER BY timestamp, messageHash LIMIT ?5"
                    } else {
                        "SELECT timestamp, messageHash, rowid FROM message INDEXED BY i_ts \
                         WHERE timestamp >= ?1 AND timestamp <= ?2 \
                         AND (timestamp < ?3 OR messageHash < ?4) \
                         ORDER BY timestamp DESC, messageHash DESC LIMIT ?5"
                    };
                    let mut stmt = conn.prepare_cached(sql)?;
                    let rows = stmt.query_map(params![lo, hi, bound.0, bound.1, limit], key_row)?;
                    for row in rows {
                        found.push(row??);
                    }
                }
            }
            pick(found, cursor, q.forward, q.page_size)
        }
    };
    let known_pubsub = match &q.filter {
        QueryFilter::Content {
            topics: Some(t), ..
        } => Some(t.pubsub_topic.as_str()),
        _ => None,
    };
    let mut entries = Vec::with_capacity(keys.len());
    for ((_, hash), rowid) in keys {
        match (q.include_data, known_pubsub) {
            (false, Some(pubsub)) => entries.push(StoredEntry {
                hash,
                pubsub_topic: pubsub.to_string(),
                message: None,
            }),
            (include_data, _) => {
                // Retention may have removed the row since phase one; then it is not listed.
                if let Some(entry) = fetch_row(conn, rowid, include_data)? {
                    entries.push(entry);
                }
            }
        }
    }
    Ok(finish_page(entries, q.forward, q.page_size))
}

/// Narrows the time range with the cursor's timestamp so the index range starts there; the
/// (timestamp, hash) tie inside that timestamp is filtered by the bound.
fn range(
    time_start: i64,
    time_end: i64,
    forward: bool,
    cursor: Option<SortKey>,
) -> (i64, i64, (i64, Vec<u8>)) {
    let bound = sql_bound(forward, cursor);
    match cursor {
        Some((ts, _)) if forward => (time_start.max(ts), time_end, bound),
        Some((ts, _)) => (time_start, time_end.min(ts), bound),
        None => (time_start, time_end, bound),
    }
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<RowKey, StoreError>> {
    let ts: i64 = r.get(0)?;
    let hash: Vec<u8> = r.get(1)?;
    let rowid: i64 = r.get(2)?;
    Ok(MessageHash::from_slice(&hash)
        .map(|h| ((ts, h), rowid))
        .ok_or_else(|| StoreError::BadRow(format!("message hash of {} bytes", hash.len()))))
}

/// Keeps the first `page_size + 1` keys in query direction, with their rowids.
fn pick(
    found: Vec<RowKey>,
    cursor: Option<SortKey>,
    forward: bool,
    page_size: usize,
) -> Vec<RowKey> {
    let rowids: std::collections::HashMap<SortKey, i64> = found.iter().copied().collect();
    select_keys(
        found.into_iter().map(|(k, _)| k).collect(),
        cursor,
        forward,
        page_size,
    )
    .into_iter()
    .filter_map(|k| rowids.get(&k).map(|r| (k, *r)))
    .collect()
}

fn cursor_timestamp(conn: &Connection, hash: &MessageHash) -> Result<Option<i64>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT timestamp FROM message WHERE messageHash = ?1")?;
    Ok(stmt
        .query_row([hash.0.as_slice()], |r| r.get(0))
        .optional()?)
}

fn hash_keys(conn: &Connection, hashes: &[MessageHash]) -> Result<Vec<RowKey>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT timestamp, rowid FROM message WHERE messageHash = ?1")?;
    let mut found = Vec::with_capacity(hashes.len());
    for hash in hashes {
        let row: Option<(i64, i64)> = stmt
            .query_row([hash.0.as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((ts, rowid)) = row {
            found.push(((ts, *hash), rowid));
        }
    }
    Ok(found)
}

fn fetch_row(
    conn: &Connection,
    rowid: i64,
    include_data: bool,
) -> Result<Option<StoredEntry>, StoreError> {
    if !include_data {
        let mut stmt =
            conn.prepare_cached("SELECT messageHash, pubsubTopic FROM message WHERE rowid = ?1")?;
        let row: Option<(Vec<u8>, String)> = stmt
            .query_row([rowid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        return row
            .map(|(hash, pubsub_topic)| {
                Ok(StoredEntry {
                    hash: parse_hash(&hash)?,
                    pubsub_topic,
                    message: None,
                })
            })
            .transpose();
    }
    let mut stmt = conn.prepare_cached(
        "SELECT messageHash, pubsubTopic, contentTopic, payload, version, timestamp, meta \
         FROM message WHERE rowid = ?1",
    )?;
    type Row = (Vec<u8>, String, String, Vec<u8>, i64, i64, Option<Vec<u8>>);
    let row: Option<Row> = stmt
        .query_row([rowid], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?;
    row.map(
        |(hash, pubsub_topic, content_topic, payload, version, ts, meta)| {
            let version = u32::try_from(version)
                .map_err(|_| StoreError::BadRow(format!("version {version} out of range")))?;
            Ok(StoredEntry {
                hash: parse_hash(&hash)?,
                pubsub_topic,
                message: Some(WakuMessage {
                    payload: Bytes::from(payload),
                    content_topic,
                    version: Some(version),
                    timestamp: Some(ts),
                    meta: meta.map(Bytes::from),
                    rate_limit_proof: None,
                    ephemeral: None,
                }),
            })
        },
    )
    .transpose()
}

fn parse_hash(bytes: &[u8]) -> Result<MessageHash, StoreError> {
    MessageHash::from_slice(bytes)
        .ok_or_else(|| StoreError::BadRow(format!("message hash of {} bytes", bytes.len())))
}
