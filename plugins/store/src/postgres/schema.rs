//! PostgreSQL schema: versioned migrations run at start inside one transaction holding
//! `pg_advisory_xact_lock`, so two store nodes starting together migrate once and the second
//! sees the result. A `messages` table that we did not create (no marker row, other
//! columns, a newer version) is a typed error, never something we write into.
//!
//! Layout (version 2): `messages` is range-partitioned on the message timestamp (ns). The
//! primary key must contain the partition key, so it is (messageHash, timestamp):
//! de-duplication by hash still holds because the same message always has the same timestamp,
//! and the same index answers hash lookups. Bytes are BYTEA (nwaku stores hex text, twice the
//! size).
//!
//! The payload is stored in two columns, `payloadHead || payloadTail`, split at the largest
//! multiple of one TOAST chunk (`toast_chunk_size`, 1,996 bytes on 8 KiB pages). The head is
//! STORAGE EXTERNAL: it lives out of line in whole chunks, four to a page with nothing wasted.
//! The tail, under one chunk, stays in the row. Measured with 2 KB payloads:
//! * version 1, the whole payload in the row: 3 rows of 2.2 KB fill a page and leave 1.6 KB
//!   free, so 2,730 B of heap per message; 3,200 B with the indexes.
//! * the whole payload out of line: a full chunk and a 52-byte chunk alternate, so again only
//!   3 full chunks fit a page: 2,730 B.
//! * split: 2,048 B of chunks plus a 200 B row; about 2,500 B with the indexes.
//!
//! The small columns are STORAGE MAIN. With the default (EXTENDED), a row over 2 KB made
//! PostgreSQL move the 32-byte hash out of line, so every read of a hash was a TOAST fetch.

use deadpool_postgres::GenericClient;

use crate::error::{SchemaError, StoreError};

pub(crate) const SCHEMA_VERSION: i64 = 2;
pub(crate) const OWNER: &str = "rwaku-store";
/// The columns of `messages` at schema version 1, checked before it is upgraded.
const COLUMNS_V1: [&str; 7] = [
    "messagehash",
    "pubsubtopic",
    "contenttopic",
    "payload",
    "version",
    "timestamp",
    "meta",
];
const COLUMNS: [&str; 8] = [
    "messagehash",
    "pubsubtopic",
    "contenttopic",
    "payloadhead",
    "version",
    "timestamp",
    "meta",
    "payloadtail",
];

/// Column storage of `messages`, applied to the parent and again to each new partition.
pub(crate) const COLUMN_STORAGE: &str = "ALTER COLUMN payloadHead SET STORAGE EXTERNAL, \
     ALTER COLUMN payloadTail SET STORAGE MAIN, ALTER COLUMN messageHash SET STORAGE MAIN, \
     ALTER COLUMN pubsubTopic SET STORAGE MAIN, ALTER COLUMN contentTopic SET STORAGE MAIN, \
     ALTER COLUMN meta SET STORAGE MAIN";

/// The `(version, statements)` list; `{s}` stands for the quoted schema name and
/// `{storage}` for `COLUMN_STORAGE`.
const MIGRATIONS: &[(i64, &str)] = &[
    (
    1,
    "CREATE TABLE {s}.rwaku_store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE {s}.messages (
         messageHash  BYTEA   NOT NULL,
         pubsubTopic  TEXT    NOT NULL,
         contentTopic TEXT    NOT NULL,
         payload      BYTEA   NOT NULL,
         version      INTEGER NOT NULL,
         timestamp    BIGINT  NOT NULL,
         meta         BYTEA,
         PRIMARY KEY (timestamp, messageHash)
     ) PARTITION BY RANGE (timestamp);
     ALTER TABLE {s}.messages ALTER COLUMN payload SET STORAGE MAIN;
     CREATE INDEX messages_hash ON {s}.messages (messageHash);
     CREATE INDEX messages_topic ON {s}.messages (contentTopic, pubsubTopic, timestamp, messageHash);",
    ),
    // Existing rows keep their whole payload in the head and an empty tail, which reads back
    // the same; new rows are split.
    (
        2,
        "ALTER TABLE {s}.messages RENAME COLUMN payload TO payloadHead;
     ALTER TABLE {s}.messages ADD COLUMN payloadTail BYTEA NOT NULL DEFAULT ''::bytea;
     ALTER TABLE {s}.messages {storage};
     ALTER TABLE {s}.messages DROP CONSTRAINT messages_pkey;
     ALTER TABLE {s}.messages ADD PRIMARY KEY (messageHash, timestamp);
     DROP INDEX {s}.messages_hash;
     CREATE INDEX messages_time ON {s}.messages (timestamp);",
    ),
];

/// The size of one TOAST chunk on this server, from its block size (PostgreSQL's
/// `TOAST_MAX_CHUNK_SIZE`: a quarter page less the page, tuple and chunk headers).
pub(crate) async fn toast_chunk_size(c: &impl GenericClient) -> Result<usize, StoreError> {
    let row = c
        .query_one("SELECT current_setting('block_size')::int4", &[])
        .await?;
    let block: i32 = row.get(0);
    Ok(chunk_size_for_block(block as usize))
}

fn chunk_size_for_block(block: usize) -> usize {
    let maxalign = |n: usize| n.div_ceil(8) * 8;
    // Page header (24) plus four line pointers, then a quarter of the rest, aligned down.
    let tuple_max = (block.saturating_sub(maxalign(24 + 4 * 4)) / 4) / 8 * 8;
    // Tuple header, chunk id, chunk sequence number and the chunk's varlena header.
    tuple_max.saturating_sub(maxalign(23) + 4 + 4 + 4)
}

/// An advisory-lock key derived from a purpose and the schema, so stores in different
/// schemas of one database do not wait for each other (FNV-1a, stable across builds).
pub(crate) fn lock_key(purpose: &str, schema: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "rwaku-store:"
        .bytes()
        .chain(purpose.bytes())
        .chain([b':'])
        .chain(schema.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// Brings the schema to `SCHEMA_VERSION`; returns the partition width in seconds recorded at
/// creation (a later change of the configured width does not apply to an existing store).
pub(crate) async fn migrate(
    client: &mut deadpool_postgres::Client,
    schema: &str,
    partition_seconds: i64,
) -> Result<i64, StoreError> {
    let s = quote(schema);
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&lock_key("migrate", schema)],
    )
    .await?;
    tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {s}"))
        .await?;
    let has_meta = table_exists(&tx, schema, "rwaku_store_meta").await?;
    let has_messages = table_exists(&tx, schema, "messages").await?;
    let current = if has_meta {
        let owner = meta(&tx, &s, "owner").await?;
        if owner.as_deref() != Some(OWNER) {
            return Err(SchemaError::ForeignTable {
                table: format!("{schema}.rwaku_store_meta"),
            }
            .into());
        }
        let version = meta(&tx, &s, "schema_version")
            .await?
            .ok_or_else(|| SchemaError::BadMetadata("no schema_version".into()))?;
        version
            .parse::<i64>()
            .map_err(|_| SchemaError::BadMetadata(format!("schema_version {version:?}")))?
    } else if has_messages {
        return Err(SchemaError::ForeignTable {
            table: format!("{schema}.messages"),
        }
        .into());
    } else {
        0
    };
    if current > SCHEMA_VERSION {
        return Err(SchemaError::NewerVersion {
            found: current,
            known: SCHEMA_VERSION,
        }
        .into());
    }
    if current == 1 {
        // Upgrading someone else's table would fail half-way with a bare SQL error.
        check_columns(&tx, schema, &COLUMNS_V1).await?;
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(&sql.replace("{s}", &s).replace("{storage}", COLUMN_STORAGE))
            .await?;
        if *version == 1 {
            tx.execute(
                &format!(
                    "INSERT INTO {s}.rwaku_store_meta (key, value) VALUES \
                     ('owner', $1), ('partition_seconds', $2)"
                ),
                &[&OWNER, &partition_seconds.to_string()],
            )
            .await?;
        }
        tx.execute(
            &format!(
                "INSERT INTO {s}.rwaku_store_meta (key, value) VALUES ('schema_version', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            &[&version.to_string()],
        )
        .await?;
        tracing::info!(schema, version, "store schema migrated");
    }
    check_columns(&tx, schema, &COLUMNS).await?;
    let width = meta(&tx, &s, "partition_seconds")
        .await?
        .and_then(|w| w.parse::<i64>().ok())
        .filter(|w| *w > 0)
        .ok_or_else(|| SchemaError::BadMetadata("partition_seconds".into()))?;
    tx.commit().await?;
    if width != partition_seconds {
        tracing::warn!(
            recorded = width,
            configured = partition_seconds,
            "store partitions keep the width they were created with"
        );
    }
    Ok(width)
}

async fn table_exists(
    c: &impl GenericClient,
    schema: &str,
    table: &str,
) -> Result<bool, StoreError> {
    let row = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2)",
            &[&schema, &table],
        )
        .await?;
    Ok(row.get(0))
}

async fn meta(c: &impl GenericClient, s: &str, key: &str) -> Result<Option<String>, StoreError> {
    // A meta table with other columns is someone else's.
    let row = c
        .query_opt(
            &format!("SELECT value::text FROM {s}.rwaku_store_meta WHERE key::text = $1"),
            &[&key],
        )
        .await
        .map_err(|e| match e.code() {
            Some(code) if code.code() == "42703" => StoreError::Schema(SchemaError::ForeignTable {
                table: "rwaku_store_meta".into(),
            }),
            _ => StoreError::Postgres(e),
        })?;
    Ok(row.map(|r| r.get(0)))
}

async fn check_columns(
    c: &impl GenericClient,
    schema: &str,
    columns: &[&str],
) -> Result<(), StoreError> {
    let rows = c
        .query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = 'messages' ORDER BY ordinal_position",
            &[&schema],
        )
        .await?;
    let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let expected: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    if found != expected {
        return Err(SchemaError::UnexpectedColumns {
            table: format!("{schema}.messages"),
            found,
            expected,
        }
        .into());
    }
    Ok(())
}

/// A schema name usable unescaped inside double quotes.
pub(crate) fn valid_schema_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
        && name.len() <= 63
}

pub(crate) fn quote(identifier: &str) -> String {
    format!("\"{identifier}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names() {
        assert!(valid_schema_name("public"));
        assert!(valid_schema_name("rwaku_it_12_3"));
        assert!(!valid_schema_name("Public"));
        assert!(!valid_schema_name("a\"b"));
        assert!(!valid_schema_name("1abc"));
        assert!(!valid_schema_name(""));
    }

    #[test]
    fn toast_chunk_size_matches_postgres() {
        // TOAST_MAX_CHUNK_SIZE for the default 8 KiB and for 32 KiB pages.
        assert_eq!(chunk_size_for_block(8192), 1996);
        assert_eq!(chunk_size_for_block(32768), 8140);
    }

    #[test]
    fn lock_keys_differ_by_schema_and_purpose() {
        assert_ne!(lock_key("migrate", "a"), lock_key("migrate", "b"));
        assert_ne!(lock_key("migrate", "a"), lock_key("partition", "a"));
        assert_eq!(lock_key("migrate", "a"), lock_key("migrate", "a"));
    }
}
