//! The read side: a few threads, each owning a read-only connection, take query jobs from one
//! bounded channel. Queries never run on the async executor and, in WAL mode, never wait for
//! the writer.

use std::{
    path::Path,
    sync::{Arc, Mutex},
    thread,
};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

pub(crate) struct ReaderPool {
    tx: Mutex<Option<mpsc::Sender<ReadJob>>>,
}

impl ReaderPool {
    pub(crate) fn start(
        path: &Path,
        threads: usize,
        cache_kib: i64,
        mmap_bytes: u64,
    ) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel::<ReadJob>(256);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            // Open here so a failure is reported to the caller, not lost in a thread.
            let conn = super::schema::open_reader(path, cache_kib, mmap_bytes)?;
            let rx = Arc::clone(&rx);
            thread::Builder::new()
                .name(format!("store-sqlite-read-{i}"))
                .spawn(move || {
                    loop {
                        // Holding the lock while waiting is fine: idle readers would wait anyway.
                        let job = match rx.lock() {
                            Ok(mut guard) => guard.blocking_recv(),
                            Err(_) => None,
                        };
                        match job {
                            Some(job) => job(&conn),
                            None => return,
                        }
                    }
                })
                .map_err(|e| StoreError::Io {
                    path: path.display().to_string(),
                    source: e,
                })?;
        }
        Ok(Self {
            tx: Mutex::new(Some(tx)),
        })
    }

    /// Runs `f` on a reader thread and awaits its result.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let tx = match self.tx.lock() {
            Ok(guard) => guard.clone(),
            Err(_) => None,
        }
        .ok_or(StoreError::Closed)?;
        let (done, result) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = done.send(f(conn));
        });
        tx.send(job).await.map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    /// Lets the reader threads finish their current job and exit.
    pub(crate) fn close(&self) {
        if let Ok(mut guard) = self.tx.lock() {
            guard.take();
        }
    }
}
