//! The archive's metrics. Names follow nwaku where it has one (`waku_archive_*`), so its
//! dashboards keep working; the rest are ours (`rwaku_archive_*`).

use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

/// Gauge, `type="stored"`: messages in the database.
pub const MESSAGES: &str = "waku_archive_messages";
/// Counter, label `type`: insert/query/retention failures and refused messages.
pub const ERRORS: &str = "waku_archive_errors";
pub const INSERT_DURATION: &str = "waku_archive_insert_duration_seconds";
/// Histogram, label `query` (`messages_lookup`, `content_topic`, `time_range`).
pub const QUERY_DURATION: &str = "waku_archive_query_duration_seconds";
/// Histogram: messages per group-committed transaction.
pub const BATCH_SIZE: &str = "rwaku_archive_insert_batch_size";
pub const DATABASE_SIZE: &str = "rwaku_archive_database_size_bytes";
/// Counter, label `outcome` (`ok`, `error`, `skipped`).
pub const RETENTION_RUNS: &str = "rwaku_archive_retention_runs";
pub const RETENTION_DURATION: &str = "rwaku_archive_retention_duration_seconds";
pub const RETENTION_DELETED: &str = "rwaku_archive_retention_deleted_messages";
pub const DROPPED_PARTITIONS: &str = "rwaku_archive_dropped_partitions";
/// Gauge: messages accepted by `insert` and not yet committed.
pub const BUFFERED: &str = "rwaku_archive_buffered_messages";
/// Counter: messages refused because the write buffer was full.
pub const LOST: &str = "rwaku_archive_lost_messages";
/// Counter: write attempts that failed on a lost connection and were retried.
pub const WRITE_RETRIES: &str = "rwaku_archive_write_retries";

/// Registers descriptions with whatever recorder the node installed.
pub fn describe() {
    describe_gauge!(MESSAGES, "Messages stored in the archive");
    describe_counter!(ERRORS, "Archive errors by type");
    describe_histogram!(
        INSERT_DURATION,
        Unit::Seconds,
        "Time to commit one insert batch"
    );
    describe_histogram!(
        QUERY_DURATION,
        Unit::Seconds,
        "Time to answer one archive query, by kind of query"
    );
    describe_histogram!(
        BATCH_SIZE,
        Unit::Count,
        "Messages per committed transaction"
    );
    describe_gauge!(DATABASE_SIZE, Unit::Bytes, "Bytes the archive occupies");
    describe_counter!(RETENTION_RUNS, "Retention runs by outcome");
    describe_histogram!(
        RETENTION_DURATION,
        Unit::Seconds,
        "Time of one retention run"
    );
    describe_counter!(RETENTION_DELETED, "Messages removed by retention");
    describe_counter!(
        DROPPED_PARTITIONS,
        "PostgreSQL partitions dropped by retention"
    );
    describe_gauge!(BUFFERED, "Messages waiting for their commit");
    describe_counter!(LOST, "Messages refused because the write buffer was full");
    describe_counter!(
        WRITE_RETRIES,
        "Insert batches retried after a database failure"
    );
}

pub fn error(kind: &'static str) {
    counter!(ERRORS, "type" => kind).increment(1);
}

pub(crate) fn insert_committed(messages: usize, took: Duration) {
    histogram!(INSERT_DURATION).record(took.as_secs_f64());
    histogram!(BATCH_SIZE).record(messages as f64);
}

pub(crate) fn query_answered(kind: &'static str, took: Duration) {
    histogram!(QUERY_DURATION, "query" => kind).record(took.as_secs_f64());
}

pub(crate) fn stored_messages(count: u64) {
    gauge!(MESSAGES, "type" => "stored").set(count as f64);
}

pub(crate) fn database_size(bytes: u64) {
    gauge!(DATABASE_SIZE).set(bytes as f64);
}

pub(crate) fn retention_run(outcome: &'static str, took: Duration, deleted: u64, dropped: u64) {
    counter!(RETENTION_RUNS, "outcome" => outcome).increment(1);
    histogram!(RETENTION_DURATION).record(took.as_secs_f64());
    counter!(RETENTION_DELETED).increment(deleted);
    counter!(DROPPED_PARTITIONS).increment(dropped);
}

pub(crate) fn buffered(messages: usize) {
    gauge!(BUFFERED).set(messages as f64);
}

pub(crate) fn lost(messages: usize) {
    counter!(LOST).increment(messages as u64);
    error("buffer_full");
}

pub(crate) fn write_retry() {
    counter!(WRITE_RETRIES).increment(1);
}
