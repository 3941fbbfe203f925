//! SQLite-specific checks: the file shrinks after retention, and a corrupt, foreign or newer
//! database file is a typed error.

use rwaku_plugin_store::{
    MessageStore, RetentionPolicy, SchemaError, SqliteConfig, SqliteStore, StoreError,
};

use crate::fixtures::{self, BASE_NS, DAY, PUBSUB_A, SECOND, message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_shrinks_the_file() {
    let f = fixtures::sqlite().await;
    for chunk in 0..10i64 {
        let batch: Vec<_> = (0..500i64)
            .map(|i| {
                let n = chunk * 500 + i;
                // The first 4000 are two days old, the last 1000 recent.
                let ts = if n < 4000 {
                    BASE_NS + n * SECOND
                } else {
                    BASE_NS + 3 * DAY + n
                };
                message(PUBSUB_A, "/app/1/size/proto", ts, n as u64, 2048)
            })
            .collect();
        f.store.insert(batch).await.expect("insert");
    }
    let before = f.store.database_size().await.expect("size");
    let out = f
        .store
        .apply_retention(RetentionPolicy::Time { seconds: 86_400 }, BASE_NS + 4 * DAY)
        .await
        .expect("retention");
    assert_eq!(out.deleted_messages, 4000);
    let after = f.store.database_size().await.expect("size");
    println!("sqlite retention: {before} bytes -> {after} bytes for 5000 -> 1000 messages");
    assert!(
        after < before / 2,
        "file did not shrink: {before} -> {after}"
    );
    assert_eq!(f.store.message_count().await.expect("count"), 1000);
    f.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_retention_brings_the_file_under_the_limit() {
    let f = fixtures::sqlite().await;
    let batch: Vec<_> = (0..3000i64)
        .map(|n| {
            message(
                PUBSUB_A,
                "/app/1/size/proto",
                BASE_NS + n * SECOND,
                n as u64,
                2048,
            )
        })
        .collect();
    f.store.insert(batch).await.expect("insert");
    let before = f.store.database_size().await.expect("size");
    let limit = before / 2;
    f.store
        .apply_retention(RetentionPolicy::Size { bytes: limit }, BASE_NS)
        .await
        .expect("retention");
    let after = f.store.database_size().await.expect("size");
    println!("sqlite size retention: {before} -> {after} bytes (limit {limit})");
    assert!(after <= limit, "{after} > {limit}");
    f.close().await;
}

#[tokio::test]
async fn corrupt_file_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("garbage.sqlite3");
    std::fs::write(&path, vec![0x5au8; 64 * 1024]).expect("write");
    let err = SqliteStore::open(SqliteConfig::new(&path)).await.err();
    assert!(
        matches!(err, Some(StoreError::Schema(SchemaError::NotADatabase(_)))),
        "{err:?}"
    );
}

#[tokio::test]
async fn foreign_database_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nwaku.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TABLE message (id INTEGER, payload BLOB);")
            .expect("table");
    }
    let err = SqliteStore::open(SqliteConfig::new(&path)).await.err();
    assert!(
        matches!(&err, Some(StoreError::Schema(SchemaError::ForeignTable { table })) if table == "message"),
        "{err:?}"
    );
}

#[tokio::test]
async fn newer_schema_is_a_typed_error() {
    let f = fixtures::sqlite().await;
    let path = f.path();
    f.store.close().await.expect("close");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA user_version = 99;")
            .expect("bump");
    }
    let err = SqliteStore::open(SqliteConfig::new(&path)).await.err();
    assert!(
        matches!(
            err,
            Some(StoreError::Schema(SchemaError::NewerVersion {
                found: 99,
                ..
            }))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn reopen_keeps_messages() {
    let f = fixtures::sqlite().await;
    let path = f.path();
    f.store
        .insert(vec![message(PUBSUB_A, "/app/1/a/proto", BASE_NS, 1, 10)])
        .await
        .expect("insert");
    f.store.close().await.expect("close");
    assert!(matches!(
        f.store
            .insert(vec![message(PUBSUB_A, "/app/1/a/proto", BASE_NS, 2, 10)])
            .await,
        Err(StoreError::Closed)
    ));
    let again = SqliteStore::open(SqliteConfig::new(&path))
        .await
        .expect("reopen");
    assert_eq!(again.message_count().await.expect("count"), 1);
    again.close().await.expect("close");
}
