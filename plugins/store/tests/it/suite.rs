//! The backend-neutral test cases, each a generic async function over `MessageStore`.

use rwaku_core::MessageHash;
use rwaku_plugin_store::{
    MessageStore, QueryError, RetentionPolicy, StoreError, StoreQuery, status,
};

use crate::fixtures::{BASE_NS, DAY, PUBSUB_A, PUBSUB_B, SECOND, all_forward, hashes, message};

pub async fn insert_dedup_and_round_trip<S: MessageStore>(store: &S) {
    let batch: Vec<_> = (0..10)
        .map(|i| {
            message(
                PUBSUB_A,
                "/app/1/chat/proto",
                BASE_NS + i * SECOND,
                i as u64,
                300,
            )
        })
        .collect();
    let first = store.insert(batch.clone()).await.expect("insert");
    assert_eq!((first.inserted, first.duplicates), (10, 0));
    let again = store.insert(batch.clone()).await.expect("insert again");
    assert_eq!((again.inserted, again.duplicates), (0, 10));
    // A repeat inside one batch counts as a duplicate too.
    let twice = vec![
        message(PUBSUB_A, "/app/1/chat/proto", BASE_NS + 99 * SECOND, 99, 10),
        message(PUBSUB_A, "/app/1/chat/proto", BASE_NS + 99 * SECOND, 99, 10),
    ];
    let t = store.insert(twice).await.expect("insert twice");
    assert_eq!((t.inserted, t.duplicates), (1, 1));
    assert_eq!(store.message_count().await.expect("count"), 11);
    assert!(store.database_size().await.expect("size") > 0);

    let got = all_forward(
        store,
        StoreQuery {
            include_data: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got.len(), 11);
    for (stored, original) in got.iter().zip(&batch) {
        assert_eq!(stored.hash, original.hash);
        assert_eq!(stored.pubsub_topic, PUBSUB_A);
        let m = stored.message.as_ref().expect("data included");
        assert_eq!(m.payload, original.message.payload);
        assert_eq!(m.content_topic, original.message.content_topic);
        assert_eq!(m.meta, original.message.meta);
        assert_eq!(m.version, original.message.version);
        assert_eq!(m.timestamp, original.message.timestamp);
        assert_eq!(m.ephemeral, None, "ephemeral is not kept");
        assert_eq!(MessageHash::compute(&stored.pubsub_topic, m), stored.hash);
    }
}

pub async fn hash_lookup_without_data<S: MessageStore>(store: &S) {
    let batch: Vec<_> = (0..5)
        .map(|i| {
            message(
                PUBSUB_B,
                "/app/1/a/proto",
                BASE_NS + (5 - i) * SECOND,
                i as u64,
                50,
            )
        })
        .collect();
    store.insert(batch.clone()).await.expect("insert");
    let unknown = MessageHash([7; 32]);
    let page = store
        .query(&StoreQuery {
            message_hashes: vec![batch[3].hash, unknown, batch[1].hash],
            ..Default::default()
        })
        .await
        .expect("query");
    // Chronological: batch[3] is older than batch[1].
    assert_eq!(
        hashes(&page.entries),
        vec![batch[3].hash.0, batch[1].hash.0]
    );
    assert!(page.entries.iter().all(|e| e.message.is_none()));
    assert!(page.entries.iter().all(|e| e.pubsub_topic == PUBSUB_B));
    assert_eq!(page.cursor, None);
    // Paging through a hash lookup.
    let all: Vec<_> = batch.iter().map(|m| m.hash).collect();
    let first = store
        .query(&StoreQuery {
            message_hashes: all.clone(),
            include_data: true,
            limit: Some(2),
            forward: true,
            ..Default::default()
        })
        .await
        .expect("page 1");
    assert_eq!(
        hashes(&first.entries),
        vec![batch[4].hash.0, batch[3].hash.0]
    );
    assert_eq!(first.cursor, Some(batch[3].hash));
    assert!(first.entries.iter().all(|e| e.message.is_some()));
}

pub async fn unknown_cursor_gives_empty_page<S: MessageStore>(store: &S) {
    store
        .insert(vec![message(PUBSUB_A, "/app/1/a/proto", BASE_NS, 1, 10)])
        .await
        .expect("insert");
    for forward in [true, false] {
        let page = store
            .query(&StoreQuery {
                cursor: Some(MessageHash([9; 32])),
                forward,
                ..Default::default()
            })
            .await
            .expect("query");
        assert!(page.entries.is_empty());
        assert_eq!(page.cursor, None);
    }
    // js-waku pages with the last hash until it gets an empty page.
    let m = message(PUBSUB_A, "/app/1/a/proto", BASE_NS, 1, 10);
    let after_last = store
        .query(&StoreQuery {
            cursor: Some(m.hash),
            forward: true,
            ..Default::default()
        })
        .await
        .expect("query");
    assert!(after_last.entries.is_empty());
}

pub async fn time_range_is_inclusive<S: MessageStore>(store: &S) {
    let topic = "/app/1/time/proto";
    let batch: Vec<_> = [100, 200, 300, 400]
        .iter()
        .map(|t| message(PUBSUB_A, topic, BASE_NS + t, *t as u64, 20))
        .collect();
    store.insert(batch.clone()).await.expect("insert");
    for topics in [true, false] {
        let page = store
            .query(&StoreQuery {
                pubsub_topic: topics.then(|| PUBSUB_A.to_string()),
                content_topics: if topics { vec![topic.into()] } else { vec![] },
                time_start: Some(BASE_NS + 200),
                time_end: Some(BASE_NS + 300),
                ..Default::default()
            })
            .await
            .expect("query");
        assert_eq!(
            hashes(&page.entries),
            vec![batch[1].hash.0, batch[2].hash.0],
            "both ends included (topics: {topics})"
        );
    }
    let empty = store
        .query(&StoreQuery {
            time_start: Some(BASE_NS + 301),
            time_end: Some(BASE_NS + 399),
            ..Default::default()
        })
        .await
        .expect("query");
    assert!(empty.entries.is_empty());
}

pub async fn backward_is_default_and_pages_are_chronological<S: MessageStore>(store: &S) {
    let topic = "/app/1/paging/proto";
    let batch: Vec<_> = (0..25)
        .map(|i| message(PUBSUB_A, topic, BASE_NS + i * SECOND, i as u64, 40))
        .collect();
    store.insert(batch.clone()).await.expect("insert");
    let q = StoreQuery {
        pubsub_topic: Some(PUBSUB_A.into()),
        content_topics: vec![topic.into()],
        limit: Some(10),
        ..Default::default()
    };
    let p1 = store.query(&q).await.expect("page 1");
    let newest: Vec<_> = batch[15..].iter().map(|m| m.hash.0).collect();
    assert_eq!(hashes(&p1.entries), newest);
    assert_eq!(
        p1.cursor,
        Some(batch[15].hash),
        "backward cursor is the oldest entry"
    );
    let p2 = store
        .query(&StoreQuery {
            cursor: p1.cursor,
            ..q.clone()
        })
        .await
        .expect("page 2");
    let middle: Vec<_> = batch[5..15].iter().map(|m| m.hash.0).collect();
    assert_eq!(hashes(&p2.entries), middle);
    let p3 = store
        .query(&StoreQuery {
            cursor: p2.cursor,
            ..q.clone()
        })
        .await
        .expect("page 3");
    assert_eq!(p3.entries.len(), 5);
    assert_eq!(p3.cursor, None);
    // Default page size is 20.
    let default = store
        .query(&StoreQuery {
            limit: None,
            ..q.clone()
        })
        .await
        .expect("default size");
    assert_eq!(default.entries.len(), 20);
}

pub async fn equal_timestamps_break_ties_by_hash<S: MessageStore>(store: &S) {
    let topic = "/app/1/ties/proto";
    let mut batch: Vec<_> = (0..12)
        .map(|i| message(PUBSUB_A, topic, BASE_NS, i, 16))
        .collect();
    store.insert(batch.clone()).await.expect("insert");
    batch.sort_by_key(|m| m.hash);
    let mut q = StoreQuery {
        pubsub_topic: Some(PUBSUB_A.into()),
        content_topics: vec![topic.into()],
        forward: true,
        limit: Some(5),
        ..Default::default()
    };
    let mut got = Vec::new();
    loop {
        let page = store.query(&q).await.expect("query");
        got.extend(hashes(&page.entries));
        match page.cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(got, batch.iter().map(|m| m.hash.0).collect::<Vec<_>>());
}

pub async fn content_filter_selects_topics_of_one_pubsub_topic<S: MessageStore>(store: &S) {
    let mut batch = Vec::new();
    for i in 0..30i64 {
        let pubsub = if i % 5 == 0 { PUBSUB_B } else { PUBSUB_A };
        let topic = format!("/app/1/t{}/proto", i % 3);
        batch.push(message(pubsub, &topic, BASE_NS + i * SECOND, i as u64, 20));
    }
    store.insert(batch.clone()).await.expect("insert");
    let topics = vec!["/app/1/t0/proto".to_string(), "/app/1/t2/proto".to_string()];
    let got = all_forward(
        store,
        StoreQuery {
            pubsub_topic: Some(PUBSUB_A.into()),
            content_topics: topics.clone(),
            ..Default::default()
        },
    )
    .await;
    let want: Vec<_> = batch
        .iter()
        .filter(|m| m.pubsub_topic == PUBSUB_A && topics.contains(&m.message.content_topic))
        .map(|m| m.hash.0)
        .collect();
    assert_eq!(hashes(&got), want);
    assert!(!want.is_empty());
}

pub async fn invalid_queries_are_bad_requests<S: MessageStore>(store: &S) {
    let err = store
        .query(&StoreQuery {
            pubsub_topic: Some(PUBSUB_A.into()),
            content_topics: (0..11).map(|i| format!("/a/1/{i}/proto")).collect(),
            ..Default::default()
        })
        .await
        .err();
    assert!(matches!(
        err,
        Some(StoreError::Query(QueryError::TooManyContentTopics {
            count: 11,
            ..
        }))
    ));
    assert_eq!(err.map(|e| e.status_code()), Some(status::BAD_REQUEST));
}

pub async fn time_retention_removes_old_messages<S: MessageStore>(store: &S) {
    let topic = "/app/1/ret/proto";
    let old: Vec<_> = (0..50)
        .map(|i| message(PUBSUB_A, topic, BASE_NS + i * SECOND, i as u64, 100))
        .collect();
    let new: Vec<_> = (0..50)
        .map(|i| {
            message(
                PUBSUB_A,
                topic,
                BASE_NS + 2 * DAY + i * SECOND,
                1000 + i as u64,
                100,
            )
        })
        .collect();
    store.insert(old.clone()).await.expect("insert old");
    store.insert(new.clone()).await.expect("insert new");
    let now = BASE_NS + 3 * DAY;
    let out = store
        .apply_retention(
            RetentionPolicy::Time {
                seconds: 2 * 86_400,
            },
            now,
        )
        .await
        .expect("retention");
    assert_eq!(out.deleted_messages, 50);
    assert_eq!(store.message_count().await.expect("count"), 50);
    let left = all_forward(store, StoreQuery::default()).await;
    assert_eq!(
        hashes(&left),
        new.iter().map(|m| m.hash.0).collect::<Vec<_>>()
    );
    // Idempotent.
    let again = store
        .apply_retention(
            RetentionPolicy::Time {
                seconds: 2 * 86_400,
            },
            now,
        )
        .await
        .expect("retention again");
    assert_eq!(again.deleted_messages, 0);
}

pub async fn capacity_retention_keeps_the_newest<S: MessageStore>(store: &S) {
    let batch: Vec<_> = (0..40)
        .map(|i| {
            message(
                PUBSUB_A,
                "/app/1/cap/proto",
                BASE_NS + i * SECOND,
                i as u64,
                30,
            )
        })
        .collect();
    store.insert(batch.clone()).await.expect("insert");
    store
        .apply_retention(RetentionPolicy::Capacity { messages: 25 }, BASE_NS + DAY)
        .await
        .expect("retention");
    let left = all_forward(store, StoreQuery::default()).await;
    assert_eq!(
        hashes(&left),
        batch[15..].iter().map(|m| m.hash.0).collect::<Vec<_>>()
    );
}
