//! `--store-message-db-url`: `sqlite://<path>` (nwaku's default `sqlite://store.sqlite3`) or
//! `postgres://user:pass@host:port/db`, turned into a backend configuration.

use std::{path::PathBuf, str::FromStr};

use crate::{postgres::PgConfig, sqlite::SqliteConfig};

#[derive(Debug, Clone)]
pub enum BackendConfig {
    Sqlite(SqliteConfig),
    Postgres(Box<PgConfig>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbUrlError {
    #[error("database URL {0:?} is neither sqlite://<path> nor postgres://user:pass@host:port/db")]
    UnknownScheme(String),
    #[error("database URL {0:?} has no file path after sqlite://")]
    EmptySqlitePath(String),
    #[error("database URL {url:?} is not a valid PostgreSQL URL: {reason}")]
    BadPostgresUrl { url: String, reason: String },
}

/// Parses the URL. The password, if any, never appears in an error.
pub fn parse_db_url(url: &str) -> Result<BackendConfig, DbUrlError> {
    let trimmed = url.trim();
    if let Some(path) = trimmed.strip_prefix("sqlite://") {
        if path.is_empty() || path == ":memory:" {
            return Err(DbUrlError::EmptySqlitePath(trimmed.to_string()));
        }
        return Ok(BackendConfig::Sqlite(SqliteConfig::new(PathBuf::from(
            path,
        ))));
    }
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let redacted = redact_password(trimmed);
        let pg =
            tokio_postgres::Config::from_str(trimmed).map_err(|e| DbUrlError::BadPostgresUrl {
                url: redacted.clone(),
                reason: e.to_string(),
            })?;
        if pg.get_hosts().is_empty() {
            return Err(DbUrlError::BadPostgresUrl {
                url: redacted,
                reason: "no host".into(),
            });
        }
        if pg.get_dbname().is_none() {
            return Err(DbUrlError::BadPostgresUrl {
                url: redacted,
                reason: "no database name".into(),
            });
        }
        return Ok(BackendConfig::Postgres(Box::new(PgConfig::new(
            pg, redacted,
        ))));
    }
    Err(DbUrlError::UnknownScheme(redact_password(trimmed)))
}

/// `scheme://user:secret@host` → `scheme://user:***@host`, for logs and errors.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        match parse_db_url("sqlite://store.sqlite3") {
            Ok(BackendConfig::Sqlite(c)) => assert_eq!(c.path, PathBuf::from("store.sqlite3")),
            other => panic!("unexpected {other:?}"),
        }
        match parse_db_url("sqlite:///var/lib/rwaku/store.db") {
            Ok(BackendConfig::Sqlite(c)) => {
                assert_eq!(c.path, PathBuf::from("/var/lib/rwaku/store.db"))
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse_db_url("sqlite://"),
            Err(DbUrlError::EmptySqlitePath(_))
        ));
    }

    #[test]
    fn postgres_urls() {
        match parse_db_url("postgres://waku:s3cret@10.0.0.5:5433/store") {
            Ok(BackendConfig::Postgres(c)) => {
                assert_eq!(c.target, "postgres://waku:***@10.0.0.5:5433/store");
                assert_eq!(c.pg.get_ports(), &[5433]);
                assert_eq!(c.pg.get_dbname(), Some("store"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = parse_db_url("postgres://waku:s3cret@host:notaport/db").err();
        assert!(matches!(err, Some(DbUrlError::BadPostgresUrl { .. })));
        assert!(err.is_some_and(|e| !e.to_string().contains("s3cret")));
        assert!(matches!(
            parse_db_url("postgres://waku@host:5432"),
            Err(DbUrlError::BadPostgresUrl { .. })
        ));
    }

    #[test]
    fn other_schemes_are_refused() {
        for bad in ["mysql://a@b/c", "store.sqlite3", "", "memory://"] {
            assert!(
                matches!(parse_db_url(bad), Err(DbUrlError::UnknownScheme(_))),
                "{bad}"
            );
        }
    }
}
