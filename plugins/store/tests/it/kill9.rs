//! kill -9 durability of SQLite (WAL, synchronous=NORMAL): a child process (this test binary
//! re-executed with an environment variable) inserts from four concurrent writers and prints
//! each acknowledged hash; it is SIGKILLed mid-ingest, and every printed hash must be in the
//! reopened database.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use rwaku_core::MessageHash;
use rwaku_plugin_store::{MessageStore, SqliteConfig, SqliteStore, StoreQuery};

use crate::fixtures::{BASE_NS, PUBSUB_A, message};

const CHILD_ENV: &str = "RWAKU_STORE_KILL9_DB";

#[test]
#[ignore = "child process of kill9_keeps_every_acknowledged_message"]
fn kill9_child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let store = Arc::new(
            SqliteStore::open(SqliteConfig::new(path))
                .await
                .expect("open"),
        );
        let mut writers = Vec::new();
        for w in 0..4u64 {
            let store = Arc::clone(&store);
            writers.push(tokio::spawn(async move {
                for round in 0u64.. {
                    let batch: Vec<_> = (0..20u64)
                        .map(|i| {
                            let seed = (w << 40) | (round << 8) | i;
                            let ts = BASE_NS + (round * 20 + i) as i64;
                            message(PUBSUB_A, "/app/1/kill/proto", ts, seed, 512)
                        })
                        .collect();
                    let hashes: Vec<String> = batch.iter().map(|m| m.hash.to_hex()).collect();
                    store.insert(batch).await.expect("insert");
                    let mut out = std::io::stdout().lock();
                    for h in hashes {
                        let _ = writeln!(out, "ACK {h}");
                    }
                    let _ = out.flush();
                }
            }));
        }
        for w in writers {
            let _ = w.await;
        }
    });
}

#[test]
fn kill9_keeps_every_acknowledged_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("store.sqlite3");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "kill9::kill9_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<MessageHash>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // A line cut by the kill is not a complete acknowledgement; skip it.
            if let Some(h) = line.strip_prefix("ACK ").and_then(MessageHash::from_hex) {
                let _ = tx.send(h);
            }
        }
    });
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.len() < 4000 && Instant::now() < deadline {
        if let Ok(h) = rx.recv_timeout(Duration::from_millis(100)) {
            acked.push(h);
        }
    }
    assert!(
        acked.len() >= 4000,
        "child acknowledged only {} messages",
        acked.len()
    );
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the child must still be ingesting when killed"
    );
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    reader.join().expect("reader thread");
    acked.extend(rx.try_iter());

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let missing = rt.block_on(async {
        let store = SqliteStore::open(SqliteConfig::new(&db))
            .await
            .expect("reopen");
        let mut missing = 0usize;
        for chunk in acked.chunks(100) {
            let page = store
                .query(&StoreQuery {
                    message_hashes: chunk.to_vec(),
                    limit: Some(100),
                    ..Default::default()
                })
                .await
                .expect("query");
            missing += chunk.len() - page.entries.len();
        }
        let count = store.message_count().await.expect("count");
        assert!(
            count as usize >= acked.len(),
            "{count} rows < {} acked",
            acked.len()
        );
        store.close().await.expect("close");
        missing
    });
    println!(
        "kill -9: {} acknowledged messages, {missing} missing after reopen",
        acked.len()
    );
    assert_eq!(missing, 0);
}
