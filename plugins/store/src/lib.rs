//! rwaku-plugin-store: the message archive under the store v3 protocol. One `MessageStore`
//! trait, two backends — SQLite (embedded default: one writer thread with group commit,
//! read-only connections on their own threads) and PostgreSQL (time-partitioned, shared by
//! several store nodes) — plus the query rules, the archiving rule, retention policies, the
//! database URL and the metrics. No actix, no libp2p: the actor and protocol sit on top.

pub mod archiver;
pub mod client;
pub mod db_url;
pub mod entry;
pub mod error;
pub mod ingest;
pub mod message_store;
pub mod metrics;
mod pagination;
pub mod plugin;
pub mod postgres;
pub mod query;
pub mod query_server;
pub mod rest;
pub mod retention;
pub mod sqlite;
pub mod store_v3;

pub use db_url::{BackendConfig, DbUrlError, parse_db_url};
pub use entry::{ArchivedMessage, InsertOutcome, RetentionOutcome, StorePage, StoredEntry};
pub use error::{QueryError, SchemaError, StoreError, status};
pub use ingest::{NotArchived, check_archivable};
pub use message_store::{AnyStore, MessageStore};
pub use plugin::{SharedStore, StorePlugin};
pub use postgres::{PgConfig, PgStore};
pub use query::{StoreQuery, ValidQuery};
pub use retention::{DEFAULT_RETENTION_POLICY, RetentionPolicy, RetentionPolicyError};
pub use sqlite::{SqliteConfig, SqliteStore};
