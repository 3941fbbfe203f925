//! Keyset pagination on the (timestamp, hash) order, shared by both backends: the cursor
//! bounds they put in SQL, the in-memory selection used for hash lookups and for merging
//! per-topic results, and the turning of `page_size + 1` rows into a page.

use rwaku_core::MessageHash;

use crate::entry::{StorePage, StoredEntry};

/// A position in the store order.
pub(crate) type SortKey = (i64, MessageHash);

/// The exclusive (timestamp, hash-bytes) bound to put in SQL. Without a cursor it is a
/// sentinel below (forward) or above (backward) every real key: an empty blob sorts before any
/// 32-byte hash and 33 0xff bytes after any, in both SQLite and PostgreSQL.
pub(crate) fn sql_bound(forward: bool, cursor: Option<SortKey>) -> (i64, Vec<u8>) {
    match (cursor, forward) {
        (Some((ts, hash)), _) => (ts, hash.0.to_vec()),
        (None, true) => (i64::MIN, Vec::new()),
        (None, false) => (i64::MAX, vec![0xff; 33]),
    }
}

/// Picks, from keys in any order, the first `page_size + 1` after the cursor in the query
/// direction. The result is in query direction (descending for backward queries).
pub(crate) fn select_keys(
    mut keys: Vec<SortKey>,
    cursor: Option<SortKey>,
    forward: bool,
    page_size: usize,
) -> Vec<SortKey> {
    keys.sort_unstable();
    keys.dedup();
    if !forward {
        keys.reverse();
    }
    keys.into_iter()
        .filter(|k| match cursor {
            None => true,
            Some(c) if forward => *k > c,
            Some(c) => *k < c,
        })
        .take(page_size + 1)
        .collect()
}

/// Turns up to `page_size + 1` entries fetched in query direction into a page in
/// chronological order, with a cursor iff the extra entry showed there is more.
pub(crate) fn finish_page(
    mut entries: Vec<StoredEntry>,
    forward: bool,
    page_size: usize,
) -> StorePage {
    let more = entries.len() > page_size;
    entries.truncate(page_size);
    if !forward {
        entries.reverse();
    }
    let cursor = if more {
        let edge = if forward {
            entries.last()
        } else {
            entries.first()
        };
        edge.map(|e| e.hash)
    } else {
        None
    };
    StorePage { entries, cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ts: i64, b: u8) -> SortKey {
        (ts, MessageHash([b; 32]))
    }

    fn entry(b: u8) -> StoredEntry {
        StoredEntry {
            hash: MessageHash([b; 32]),
            pubsub_topic: "p".into(),
            message: None,
        }
    }

    #[test]
    fn select_keys_orders_by_timestamp_then_hash() {
        let keys = vec![key(2, 1), key(1, 9), key(1, 3), key(3, 0)];
        let fwd = select_keys(keys.clone(), None, true, 10);
        assert_eq!(fwd, vec![key(1, 3), key(1, 9), key(2, 1), key(3, 0)]);
        let after = select_keys(keys.clone(), Some(key(1, 9)), true, 1);
        assert_eq!(after, vec![key(2, 1), key(3, 0)]);
        let back = select_keys(keys, Some(key(2, 1)), false, 10);
        assert_eq!(back, vec![key(1, 9), key(1, 3)]);
    }

    #[test]
    fn backward_page_is_chronological_with_oldest_as_cursor() {
        // Fetched newest first: 5, 4, 3 with page size 2.
        let page = finish_page(vec![entry(5), entry(4), entry(3)], false, 2);
        let got: Vec<u8> = page.entries.iter().map(|e| e.hash.0[0]).collect();
        assert_eq!(got, vec![4, 5]);
        assert_eq!(page.cursor, Some(MessageHash([4; 32])));
        let last = finish_page(vec![entry(2)], false, 2);
        assert_eq!(last.cursor, None);
    }

    #[test]
    fn forward_page_cursor_is_last_entry() {
        let page = finish_page(vec![entry(1), entry(2), entry(3)], true, 2);
        assert_eq!(page.cursor, Some(MessageHash([2; 32])));
        assert_eq!(page.entries.len(), 2);
    }

    #[test]
    fn sentinels_bracket_every_hash() {
        let (_, low) = sql_bound(true, None);
        let (_, high) = sql_bound(false, None);
        assert!(low.as_slice() < &[0u8; 32][..]);
        assert!(high.as_slice() > &[0xffu8; 32][..]);
    }
}
