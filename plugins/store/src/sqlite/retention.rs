//! SQLite retention: delete the oldest rows in small batches, each its own short transaction
//! on the writer thread at idle CPU priority (`background.rs`; inserts queued meanwhile go in
//! between, readers never wait in WAL mode), then give the freed pages back with `incremental_vacuum` in small steps and truncate
//! the WAL, so the file really shrinks — nwaku's SQLite only shrank after a blocking VACUUM.

use std::sync::atomic::Ordering;

use rusqlite::Connection;

use crate::{error::StoreError, retention::RetentionPolicy};

use super::{SqliteStore, background::at_idle_priority, schema::pragma};

/// What to delete, oldest first.
enum Doomed {
    OlderThan(i64),
    Oldest(u64),
}

impl SqliteStore {
    pub(crate) async fn retention(
        &self,
        policy: RetentionPolicy,
        now_ns: i64,
    ) -> Result<u64, StoreError> {
        let doomed = match policy {
            RetentionPolicy::None => return Ok(0),
            RetentionPolicy::Time { seconds } => {
                let age = i64::try_from(seconds)
                    .ok()
                    .and_then(|s| s.checked_mul(1_000_000_000))
                    .unwrap_or(i64::MAX);
                Doomed::OlderThan(now_ns.saturating_sub(age))
            }
            RetentionPolicy::Capacity { messages } => {
                let rows = self.stats.rows.load(Ordering::Relaxed);
                if rows <= messages {
                    return Ok(0);
                }
                Doomed::Oldest(rows - messages)
            }
            RetentionPolicy::Size { bytes } => {
                let size = self.file_size()?;
                let rows = self.stats.rows.load(Ordering::Relaxed);
                if size <= bytes || rows == 0 {
                    return Ok(0);
                }
                // Rows are of similar size: free the excess plus 5 % so the next run does not
                // start again right away.
                let per_row = (size / rows).max(1);
                let excess = (size - bytes) / per_row + 1;
                Doomed::Oldest((excess + rows / 20).min(rows))
            }
        };
        let batch = self.config.retention_batch.max(1);
        let mut deleted: u64 = 0;
        loop {
            let this_batch = match doomed {
                Doomed::OlderThan(_) => batch as u64,
                Doomed::Oldest(n) => (n - deleted).min(batch as u64),
            };
            if this_batch == 0 {
                break;
            }
            let step = match doomed {
                Doomed::OlderThan(cutoff) => {
                    self.write_job(move |c| {
                        at_idle_priority(|| delete_older(c, cutoff, this_batch))
                    })
                    .await?
                }
                Doomed::Oldest(_) => {
                    self.write_job(move |c| at_idle_priority(|| delete_oldest(c, this_batch)))
                        .await?
                }
            };
            deleted += step;
            self.stats.rows.fetch_sub(step, Ordering::Relaxed);
            if step < this_batch {
                break;
            }
            tokio::time::sleep(self.config.retention_pause).await;
        }
        if deleted > 0 {
            let pages = self.config.vacuum_pages_per_step.max(1);
            while self
                .write_job(move |c| at_idle_priority(|| vacuum_step(c, pages)))
                .await?
            {
                tokio::time::sleep(self.config.retention_pause).await;
            }
            // Truncating the WAL moves the shrunken pages into the file and drops the WAL;
            // a reader still on an old snapshot can make it partial, which the next run fixes.
            self.write_job(|c| {
                at_idle_priority(|| pragma(c, "wal_checkpoint(TRUNCATE)").map_err(StoreError::from))
            })
            .await?;
        }
        Ok(deleted)
    }
}

fn delete_older(conn: &mut Connection, cutoff: i64, limit: u64) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM message WHERE rowid IN \
         (SELECT rowid FROM message INDEXED BY i_ts WHERE timestamp < ?1 \
          ORDER BY timestamp LIMIT ?2)",
    )?;
    Ok(stmt.execute(rusqlite::params![cutoff, limit as i64])? as u64)
}

fn delete_oldest(conn: &mut Connection, limit: u64) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM message WHERE rowid IN \
         (SELECT rowid FROM message INDEXED BY i_ts ORDER BY timestamp, messageHash LIMIT ?1)",
    )?;
    Ok(stmt.execute([limit as i64])? as u64)
}

/// Frees up to `pages` pages; true while free pages remain.
fn vacuum_step(conn: &mut Connection, pages: u32) -> Result<bool, StoreError> {
    pragma(conn, &format!("incremental_vacuum({pages})"))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    Ok(free > 0)
}
