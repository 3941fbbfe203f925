//! The store's typed errors and how each maps to a store v3 status code: a query the client
//! got wrong is 400 BAD_REQUEST, a database that is not reachable yet is 503, anything the
//! archive failed at is 300 BAD_RESPONSE ("archive error", as nwaku answers).

/// Store v3 status codes (13/WAKU2-STORE, nwaku `StatusCode`).
pub mod status {
    pub const SUCCESS: u32 = 200;
    pub const BAD_RESPONSE: u32 = 300;
    pub const BAD_REQUEST: u32 = 400;
    /// Rate limited; answered with request id "N/A", before the request is decoded.
    pub const TOO_MANY_REQUESTS: u32 = 429;
    pub const SERVICE_UNAVAILABLE: u32 = 503;
}

/// A query that breaks a store v3 rule. Always a bad request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("content topics were given without a pubsub topic")]
    ContentTopicsWithoutPubsubTopic,
    #[error("a pubsub topic was given without content topics")]
    PubsubTopicWithoutContentTopics,
    #[error("message hashes cannot be combined with a content filter or time range")]
    HashesWithContentFilter,
    #[error("{count} content topics in one query; at most {max} are allowed")]
    TooManyContentTopics { count: usize, max: usize },
    #[error("{count} message hashes in one query; at most {max} are allowed")]
    TooManyMessageHashes { count: usize, max: usize },
    #[error("the pagination cursor is all zeros")]
    ZeroCursor,
}

impl QueryError {
    pub fn status_code(&self) -> u32 {
        status::BAD_REQUEST
    }
}

/// The database holds something that is not (or not yet) an rwaku store. Fatal at start:
/// the node must not write into tables it does not own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("table {table} exists but was not created by rwaku (no rwaku schema marker)")]
    ForeignTable { table: String },
    #[error("table {table} has columns {found:?}; rwaku expects {expected:?}")]
    UnexpectedColumns {
        table: String,
        found: Vec<String>,
        expected: Vec<String>,
    },
    #[error(
        "the store schema is at version {found}, newer than this build knows ({known}); upgrade rwaku"
    )]
    NewerVersion { found: i64, known: i64 },
    #[error("the file is not an SQLite database or is corrupt: {0}")]
    NotADatabase(String),
    #[error("the store metadata is unreadable: {0}")]
    BadMetadata(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("i/o on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The database is not reachable (yet); the store keeps retrying on its own.
    #[error("the message database is not available: {0}")]
    Unavailable(String),
    /// The bounded write buffer is full (database slow or unreachable); the messages were not
    /// taken and are counted as lost.
    #[error("the write buffer is full ({pending} messages pending); {refused} messages refused")]
    BufferFull { pending: usize, refused: usize },
    #[error("the store is closed")]
    Closed,
    #[error("a stored row is malformed: {0}")]
    BadRow(String),
    /// The database refused the batch for a reason a retry would not fix.
    #[error("insert refused by the database: {0}")]
    InsertRefused(String),
    #[error("store configuration: {0}")]
    Config(String),
}

impl StoreError {
    /// The store v3 status code a response should carry for this error.
    pub fn status_code(&self) -> u32 {
        match self {
            Self::Query(e) => e.status_code(),
            Self::Unavailable(_) | Self::BufferFull { .. } => status::SERVICE_UNAVAILABLE,
            _ => status::BAD_RESPONSE,
        }
    }

    /// A short label for `waku_archive_errors{type}`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Query(_) => "bad_request",
            Self::Schema(_) => "schema",
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) | Self::Pool(_) => "postgres",
            Self::Io { .. } => "io",
            Self::Unavailable(_) => "unavailable",
            Self::BufferFull { .. } => "buffer_full",
            Self::Closed => "closed",
            Self::BadRow(_) => "bad_row",
            Self::InsertRefused(_) => "insert_failure",
            Self::Config(_) => "config",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        assert_eq!(StoreError::from(QueryError::ZeroCursor).status_code(), 400);
        assert_eq!(StoreError::Unavailable("x".into()).status_code(), 503);
        assert_eq!(StoreError::BadRow("x".into()).status_code(), 300);
        assert_eq!(
            StoreError::from(SchemaError::ForeignTable {
                table: "messages".into()
            })
            .status_code(),
            300
        );
    }
}
