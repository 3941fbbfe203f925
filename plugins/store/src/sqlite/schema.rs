//! Opening the SQLite file: pragmas, schema creation, and the checks that refuse a file that
//! is corrupt, belongs to someone else or comes from a newer rwaku.
//!
//! Layout choices, measured with 100k messages of 2 KB in 1000-row transactions:
//! * An ordinary rowid table with `messageHash BLOB PRIMARY KEY` (a unique index), not nwaku's
//!   WITHOUT ROWID: a WITHOUT ROWID table is clustered by the random hash, so every insert
//!   rewrites a random page holding 2 KB rows, and rows that large spill to overflow pages
//!   (SQLite advises WITHOUT ROWID only for small rows). Rowids grow with arrival, which is
//!   roughly time order, so the 2 KB rows are appended. Measured: 25k vs 4.4-5.4k rows/s.
//! * 64 KiB pages: a 2 KB row does not share a 4 KiB page with another one (4.3 KB on disk per
//!   message, 4.8 KB WITHOUT ROWID); with 64 KiB pages 31 rows share a page (2.3 KB per
//!   message with the three indexes).
//! * WAL with synchronous=NORMAL: a commit is appended to the WAL without fsync. That survives
//!   the process dying (kill -9, panic, OOM kill): the WAL bytes are in the OS page cache and
//!   reach the disk anyway. Only an OS crash or power loss can lose the last transactions,
//!   never corrupt the database.
//! * auto_vacuum=INCREMENTAL so retention can give pages back to the file system.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{SchemaError, StoreError};

/// `PRAGMA application_id`, marks the file as an rwaku store ("rwks").
pub(crate) const APPLICATION_ID: i64 = 0x7277_6b73;
/// `PRAGMA user_version` this build writes and understands.
pub(crate) const SCHEMA_VERSION: i64 = 1;
const PAGE_SIZE: u32 = 65_536;

pub(crate) const TABLE: &str = "message";
const COLUMNS: [&str; 7] = [
    "messageHash",
    "pubsubTopic",
    "contentTopic",
    "payload",
    "version",
    "timestamp",
    "meta",
];

const CREATE_SCHEMA: &str = "
    CREATE TABLE message (
        messageHash  BLOB    NOT NULL PRIMARY KEY,
        pubsubTopic  TEXT    NOT NULL,
        contentTopic TEXT    NOT NULL,
        payload      BLOB    NOT NULL,
        version      INTEGER NOT NULL,
        timestamp    INTEGER NOT NULL,
        meta         BLOB
    );
    -- content-topic queries: one ordered index range per topic, covering (no table access)
    CREATE INDEX i_topic ON message (contentTopic, pubsubTopic, timestamp, messageHash);
    -- time-only queries and retention (oldest first)
    CREATE INDEX i_ts ON message (timestamp, messageHash);
";

/// Runs a PRAGMA and ignores whatever rows it answers with.
pub(crate) fn pragma(conn: &Connection, statement: &str) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(&format!("PRAGMA {statement}"))?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

fn pragma_i64(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
}

/// Turns "this is not a database" into a schema error; other errors stay SQLite errors.
pub(crate) fn classify(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            StoreError::Schema(SchemaError::NotADatabase(error.to_string()))
        }
        _ => StoreError::Sqlite(error),
    }
}

/// Opens (creating if needed) the writer connection and brings the schema up to date.
pub(crate) fn open_writer(path: &Path, cache_kib: i64) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(classify)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(classify)?;
    // The first read of the header is where a garbage file shows itself.
    let app_id = pragma_i64(&conn, "application_id").map_err(classify)?;
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .map_err(classify)?;
        stmt.query_map([], |r| r.get(0))
            .map_err(classify)?
            .collect::<rusqlite::Result<_>>()
            .map_err(classify)?
    };
    if app_id != APPLICATION_ID {
        if let Some(table) = tables.first() {
            let table = if tables.iter().any(|t| t == TABLE) {
                TABLE.to_string()
            } else {
                table.clone()
            };
            return Err(SchemaError::ForeignTable { table }.into());
        }
        create(&conn)?;
    } else {
        let version = pragma_i64(&conn, "user_version").map_err(classify)?;
        if version > SCHEMA_VERSION {
            return Err(SchemaError::NewerVersion {
                found: version,
                known: SCHEMA_VERSION,
            }
            .into());
        }
        // Future migrations from `version` to SCHEMA_VERSION go here.
        check_columns(&conn)?;
        if pragma_i64(&conn, "auto_vacuum").map_err(classify)? != 2 {
            tracing::warn!(
                path = %path.display(),
                "the store file is not in incremental auto-vacuum mode; retention will not shrink it"
            );
        }
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(classify)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Config(format!(
            "SQLite refused WAL mode (got {mode}) for {}",
            path.display()
        )));
    }
    pragma(&conn, "synchronous = NORMAL").map_err(classify)?;
    pragma(&conn, &format!("cache_size = -{cache_kib}")).map_err(classify)?;
    // Checkpoints run from the writer thread after commits; 4000 pages of 64 KiB bounds the WAL
    // near 256 MiB under a sustained ingest.
    pragma(&conn, "wal_autocheckpoint = 4000").map_err(classify)?;
    pragma(&conn, "temp_store = MEMORY").map_err(classify)?;
    Ok(conn)
}

fn create(conn: &Connection) -> Result<(), StoreError> {
    // Page size and auto-vacuum only take effect before the first table exists.
    pragma(conn, &format!("page_size = {PAGE_SIZE}")).map_err(classify)?;
    pragma(conn, "auto_vacuum = INCREMENTAL").map_err(classify)?;
    conn.execute_batch(&format!(
        "BEGIN;
         {CREATE_SCHEMA}
         PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {SCHEMA_VERSION};
         COMMIT;"
    ))
    .map_err(classify)?;
    Ok(())
}

fn check_columns(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .map_err(classify)?;
    let found: Vec<String> = stmt
        .query_map([TABLE], |r| r.get(0))
        .map_err(classify)?
        .collect::<rusqlite::Result<_>>()
        .map_err(classify)?;
    let expected: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    if found != expected {
        return Err(SchemaError::UnexpectedColumns {
            table: TABLE.to_string(),
            found,
            expected,
        }
        .into());
    }
    Ok(())
}

/// A read-only connection for the reader threads.
pub(crate) fn open_reader(
    path: &Path,
    cache_kib: i64,
    mmap_bytes: u64,
) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(classify)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(classify)?;
    pragma(&conn, &format!("cache_size = -{cache_kib}")).map_err(classify)?;
    pragma(&conn, &format!("mmap_size = {mmap_bytes}")).map_err(classify)?;
    pragma(&conn, "query_only = ON").map_err(classify)?;
    Ok(conn)
}
