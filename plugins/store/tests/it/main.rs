//! Integration tests of the store backends. The suite in `suite.rs` is written once, generic
//! over `MessageStore`, and `backends.rs` runs every case on SQLite (temporary file) and on
//! the PostgreSQL server at 127.0.0.1:5432 (own schema per test, dropped afterwards).

mod backends;
mod fixtures;
mod kill9;
mod paging_prop;
mod postgres_only;
mod retention_latency;
mod sqlite_only;
mod suite;
