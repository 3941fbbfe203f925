//! The `MessageStore` trait every backend implements, and `AnyStore`, the enum the node holds.
//!
//! Why a trait with `impl Future + Send` returns and an enum instead of `dyn MessageStore`:
//! there are exactly two backends, both known at compile time, so enum dispatch costs one
//! `match` and no boxed future per call, the futures stay `Send` for actix/tokio, and the test
//! suite is written once as generic functions over `S: MessageStore`. A third backend adds a
//! variant. (`async fn` in a trait is not object-safe without boxing every call, which the
//! insert path would pay for thousands of times a second.)

use std::future::Future;

use crate::{
    entry::{ArchivedMessage, InsertOutcome, RetentionOutcome, StorePage},
    error::StoreError,
    postgres::PgStore,
    query::StoreQuery,
    retention::RetentionPolicy,
    sqlite::SqliteStore,
};

pub trait MessageStore: Send + Sync + 'static {
    /// Waits until the store can serve: immediate for SQLite; for PostgreSQL, until it was
    /// reached and migrated (or a fatal schema error, which is returned).
    fn ready(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a batch. Resolves only after the transaction holding it committed. Messages
    /// whose hash is already stored (by this node or another sharing the database) are
    /// silently skipped. Dropping the future does not withdraw the messages.
    fn insert(
        &self,
        batch: Vec<ArchivedMessage>,
    ) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send;

    /// Validates and answers a store v3 query.
    fn query(
        &self,
        query: &StoreQuery,
    ) -> impl Future<Output = Result<StorePage, StoreError>> + Send;

    /// Messages currently stored.
    fn message_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Bytes the archive occupies on disk (SQLite: database + WAL files; PostgreSQL: the
    /// store's tables and indexes, not the whole database, which other tenants may share).
    fn database_size(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Applies the policy once, relative to `now_ns` (Unix epoch ns). Works in small steps so
    /// queries and inserts keep being served meanwhile.
    fn apply_retention(
        &self,
        policy: RetentionPolicy,
        now_ns: i64,
    ) -> impl Future<Output = Result<RetentionOutcome, StoreError>> + Send;

    /// Commits whatever is queued and closes the database. Later calls fail with `Closed`.
    fn close(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The store the node runs with, chosen by `--store-message-db-url`.
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens the configured backend. SQLite is open when this returns; PostgreSQL returns at
    /// once and connects in the background (see [`PgStore::connect`]), so a database that is
    /// down at start does not stop the node: call `ready()` to wait for it.
    pub async fn open(config: crate::BackendConfig) -> Result<Self, StoreError> {
        match config {
            crate::BackendConfig::Sqlite(c) => Ok(Self::Sqlite(SqliteStore::open(c).await?)),
            crate::BackendConfig::Postgres(c) => Ok(Self::Postgres(PgStore::connect(*c)?)),
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl MessageStore for AnyStore {
    async fn ready(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ready())
    }

    async fn insert(&self, batch: Vec<ArchivedMessage>) -> Result<InsertOutcome, StoreError> {
        dispatch!(self, s => s.insert(batch))
    }

    async fn query(&self, query: &StoreQuery) -> Result<StorePage, StoreError> {
        dispatch!(self, s => s.query(query))
    }

    async fn message_count(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => s.message_count())
    }

    async fn database_size(&self) -> Result<u64, StoreError> {
        dispatch!(self, s => s.database_size())
    }

    async fn apply_retention(
        &self,
        policy: RetentionPolicy,
        now_ns: i64,
    ) -> Result<RetentionOutcome, StoreError> {
        dispatch!(self, s => s.apply_retention(policy, now_ns))
    }

    async fn close(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.close())
    }
}
