//! Property: for random messages (several pubsub and content topics, many equal timestamps)
//! and random page sizes, directions and filters, the pages concatenated in order equal the
//! full (timestamp, hash)-ordered result, with no duplicate and no gap. On both backends.

use proptest::{
    prelude::*,
    test_runner::{Config, TestRunner},
};
use rwaku_plugin_store::{ArchivedMessage, MessageStore, StoreQuery};

use crate::fixtures::{self, BASE_NS, PUBSUB_A, PUBSUB_B, message};

const CONTENT: [&str; 3] = ["/app/1/x/proto", "/app/1/y/proto", "/app/1/z/proto"];

#[derive(Debug, Clone)]
struct Case {
    /// (pubsub index, content index, timestamp offset, seed)
    messages: Vec<(usize, usize, i64, u64)>,
    forward: bool,
    page_size: u64,
    /// None: no filter; Some((pubsub, topics mask)).
    filter: Option<(usize, u8)>,
    time: Option<(i64, i64)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((0usize..2, 0usize..3, 0i64..12, any::<u64>()), 0..60),
        any::<bool>(),
        1u64..15,
        prop::option::of((0usize..2, 1u8..8)),
        prop::option::of((0i64..12, 0i64..12)),
    )
        .prop_map(|(messages, forward, page_size, filter, time)| Case {
            messages,
            forward,
            page_size,
            filter,
            time,
        })
}

fn build(case: &Case) -> (Vec<ArchivedMessage>, StoreQuery) {
    let pubsubs = [PUBSUB_A, PUBSUB_B];
    let messages: Vec<_> = case
        .messages
        .iter()
        .map(|(p, c, t, seed)| message(pubsubs[*p], CONTENT[*c], BASE_NS + t, *seed, 24))
        .collect();
    let mut q = StoreQuery {
        forward: case.forward,
        limit: Some(case.page_size),
        ..Default::default()
    };
    if let Some((p, mask)) = case.filter {
        q.pubsub_topic = Some(pubsubs[p].to_string());
        q.content_topics = (0..3)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| CONTENT[i].to_string())
            .collect();
    }
    if let Some((a, b)) = case.time {
        q.time_start = Some(BASE_NS + a.min(b));
        q.time_end = Some(BASE_NS + a.max(b));
    }
    (messages, q)
}

fn expected(messages: &[ArchivedMessage], q: &StoreQuery) -> Vec<[u8; 32]> {
    let mut keep: Vec<_> = messages
        .iter()
        .filter(|m| {
            q.pubsub_topic.as_ref().is_none_or(|p| *p == m.pubsub_topic)
                && (q.content_topics.is_empty()
                    || q.content_topics.contains(&m.message.content_topic))
                && q.time_start.is_none_or(|s| m.timestamp() >= s)
                && q.time_end.is_none_or(|e| m.timestamp() <= e)
        })
        .map(|m| (m.timestamp(), m.hash))
        .collect();
    keep.sort();
    keep.dedup();
    keep.into_iter().map(|(_, h)| h.0).collect()
}

async fn check<S: MessageStore>(store: &S, case: &Case) -> Result<(), TestCaseError> {
    let (messages, q) = build(case);
    if !messages.is_empty() {
        store
            .insert(messages.clone())
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    let want = expected(&messages, &q);
    let mut pages: Vec<Vec<[u8; 32]>> = Vec::new();
    let mut q = q.clone();
    for _ in 0..200 {
        let page = store
            .query(&q)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(page.entries.len() <= case.page_size as usize);
        let hs: Vec<[u8; 32]> = page.entries.iter().map(|e| e.hash.0).collect();
        if let Some(c) = page.cursor {
            prop_assert_eq!(
                page.entries.len(),
                case.page_size as usize,
                "a cursor only on a full page"
            );
            let edge = if case.forward { hs.last() } else { hs.first() };
            prop_assert_eq!(edge, Some(&c.0));
        }
        pages.push(hs);
        match page.cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    if !case.forward {
        pages.reverse();
    }
    let got: Vec<[u8; 32]> = pages.into_iter().flatten().collect();
    prop_assert_eq!(got, want);
    Ok(())
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn sqlite_pages_concatenate_to_the_full_result() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let result = runner().run(&case(), |case| {
        rt.block_on(async {
            let f = fixtures::sqlite().await;
            let r = check(&f.store, &case).await;
            f.close().await;
            r
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn postgres_pages_concatenate_to_the_full_result() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if !rt.block_on(fixtures::pg_reachable()) {
        return;
    }
    // Unfiltered queries would see other cases' messages, so each case gets a fresh schema.
    let result = runner().run(&case(), |case| {
        rt.block_on(async {
            let Some(f) = fixtures::pg().await else {
                return Err(TestCaseError::fail("PostgreSQL went away"));
            };
            let r = check(&f.store, &case).await;
            f.close().await;
            r
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
