//! The fan-out at 1,000 subscribers, in process: every matching message reaches every
//! matching subscriber exactly once, nothing reaches the others, and one subscriber whose
//! pushes never complete costs only itself (its drops are counted).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::future::BoxFuture;
use rwaku_actors::libp2p::PeerId;
use rwaku_core::{MessageAccepted, MessageHash, PubsubTopic, WakuMessage};
use rwaku_plugin_filter::{
    FanOutConfig, FilterService, FilterServiceConfig, PushError, PushSink, SubscriptionLimits,
};

use crate::support::{PUBSUB, eventually};

const SUBSCRIBERS: usize = 1000;
const QUEUE: usize = 64;
const IN_FLIGHT: usize = 4;

/// Counts each frame per peer; never completes for `stuck`.
struct CountingSink {
    stuck: PeerId,
    received: Mutex<HashMap<PeerId, HashMap<Bytes, u32>>>,
}

impl CountingSink {
    fn totals(&self) -> HashMap<PeerId, (usize, u32)> {
        self.received
            .lock()
            .map(|r| {
                r.iter()
                    .map(|(peer, frames)| {
                        let most = frames.values().copied().max().unwrap_or(0);
                        (*peer, (frames.len(), most))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl PushSink for CountingSink {
    fn push(&self, peer: PeerId, frame: Bytes) -> BoxFuture<'static, Result<(), PushError>> {
        if peer == self.stuck {
            return Box::pin(futures::future::pending());
        }
        if let Ok(mut received) = self.received.lock() {
            *received.entry(peer).or_default().entry(frame).or_insert(0) += 1;
        }
        Box::pin(async { Ok(()) })
    }
}

fn accepted(pubsub: &str, content: &str, n: usize) -> MessageAccepted {
    let message = WakuMessage {
        payload: format!("message {n}").into_bytes().into(),
        content_topic: content.into(),
        timestamp: Some(n as i64),
        ..Default::default()
    };
    MessageAccepted {
        hash: MessageHash::compute(pubsub, &message),
        pubsub_topic: pubsub.parse::<PubsubTopic>().expect("topic"),
        message,
        received_at_ns: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_subscribers_each_get_every_match_once_and_a_stuck_one_costs_only_itself() {
    let peers: Vec<PeerId> = (0..SUBSCRIBERS).map(|_| PeerId::random()).collect();
    let stuck = peers[1];
    let sink = Arc::new(CountingSink {
        stuck,
        received: Mutex::default(),
    });
    let mut service = FilterService::new(
        FilterServiceConfig {
            limits: SubscriptionLimits {
                max_peers: SUBSCRIBERS,
                ..Default::default()
            },
            fan_out: FanOutConfig {
                queue_capacity: QUEUE,
                in_flight: IN_FLIGHT,
            },
            rate_limit: None,
        },
        sink.clone(),
    );
    let now = Instant::now();
    let (a, b) = ("/app/1/a/proto", "/app/1/b/proto");
    for (i, peer) in peers.iter().enumerate() {
        let mut topics = vec![a.to_string()];
        if i % 2 == 0 {
            topics.push(b.to_string());
        }
        service
            .subscribe(*peer, PUBSUB, &topics, now)
            .expect("room for every subscriber");
    }
    assert_eq!(service.subscriptions().peer_count(), SUBSCRIBERS);

    // Batches of 50 per subscriber at most (the queue holds 64): 4 on A, one on B, and
    // noise nobody wants; after each batch the healthy subscribers catch up, so only the
    // stuck one can overflow.
    let mut sent_a = 0;
    let mut sent_b = 0;
    let started = Instant::now();
    for (batch, topic) in [a, b, a, a, a].into_iter().enumerate() {
        for n in 0..50 {
            let outcome = service.on_message(&accepted(PUBSUB, topic, batch * 1000 + n), now);
            if topic == a {
                assert_eq!(outcome.matched, SUBSCRIBERS);
                sent_a += 1;
            } else {
                assert_eq!(outcome.matched, SUBSCRIBERS / 2);
                sent_b += 1;
            }
            let noise = service.on_message(&accepted("/waku/2/rs/1/7", a, 20_000 + n), now);
            assert_eq!(noise.matched, 0, "pubsub topic must match exactly");
            let noise = service.on_message(&accepted(PUBSUB, "/app/1/c/proto", 30_000 + n), now);
            assert_eq!(noise.matched, 0);
        }
        let expected_a = sent_a;
        let expected_b = sent_b;
        let counters = service.counters();
        eventually(
            Duration::from_secs(60),
            "healthy subscribers to catch up",
            || {
                let totals = sink.totals();
                let done = peers
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| **p != stuck)
                    .all(|(i, p)| {
                        let want = expected_a + if i % 2 == 0 { expected_b } else { 0 };
                        totals.get(p).map(|t| t.0) == Some(want)
                    });
                if !done {
                    eprintln!("batch {batch}: {:?}", counters.totals());
                }
                async move { done.then_some(()) }
            },
        )
        .await;
    }
    let elapsed = started.elapsed();

    let totals = sink.totals();
    for (i, peer) in peers.iter().enumerate() {
        if *peer == stuck {
            assert!(!totals.contains_key(peer), "the stuck sink never completed");
            continue;
        }
        let want = sent_a + if i % 2 == 0 { sent_b } else { 0 };
        assert_eq!(
            totals.get(peer),
            Some(&(want, 1)),
            "subscriber {i}: all, once each"
        );
    }
    let counts = service.counters().totals();
    // The stuck subscriber holds IN_FLIGHT pushes on the wire and QUEUE waiting; the rest
    // were dropped.
    assert_eq!(counts.dropped_full, (sent_a - IN_FLIGHT - QUEUE) as u64);
    assert_eq!(counts.failed, 0);
    let healthy = (SUBSCRIBERS - 1) * sent_a + (SUBSCRIBERS / 2) * sent_b;
    assert_eq!(counts.sent, healthy as u64);
    eprintln!(
        "{SUBSCRIBERS} subscribers: {healthy} pushes delivered in {elapsed:?}, {} dropped for the stuck one",
        counts.dropped_full
    );
}

#[tokio::test]
async fn the_same_message_is_pushed_once() {
    let sink = Arc::new(CountingSink {
        stuck: PeerId::random(),
        received: Mutex::default(),
    });
    let mut service = FilterService::new(FilterServiceConfig::default(), sink.clone());
    let peer = PeerId::random();
    let now = Instant::now();
    service
        .subscribe(peer, PUBSUB, &["/app/1/a/proto".to_string()], now)
        .expect("subscribes");
    let message = accepted(PUBSUB, "/app/1/a/proto", 1);
    assert_eq!(service.on_message(&message, now).queued, 1);
    let again = service.on_message(&message, now);
    assert!(again.duplicate);
    assert_eq!(again.queued, 0);
}

#[tokio::test]
async fn nothing_is_pushed_to_a_disconnected_subscriber_until_it_is_back() {
    let sink = Arc::new(CountingSink {
        stuck: PeerId::random(),
        received: Mutex::default(),
    });
    let mut service = FilterService::new(FilterServiceConfig::default(), sink.clone());
    let peer = PeerId::random();
    let now = Instant::now();
    service
        .subscribe(peer, PUBSUB, &["/app/1/a/proto".to_string()], now)
        .expect("subscribes");
    service.peer_disconnected(peer);
    let outcome = service.on_message(&accepted(PUBSUB, "/app/1/a/proto", 1), now);
    assert_eq!(
        (
            outcome.matched,
            outcome.queued,
            outcome.dropped_disconnected
        ),
        (1, 0, 1)
    );
    assert!(
        service.subscriptions().is_subscribed(&peer),
        "kept until timeout"
    );
    service.peer_connected(peer);
    let outcome = service.on_message(&accepted(PUBSUB, "/app/1/a/proto", 2), now);
    assert_eq!(outcome.queued, 1);
    // And the subscription still times out.
    assert_eq!(service.expire(now + Duration::from_secs(301)), 1);
    assert!(!service.subscriptions().is_subscribed(&peer));
}
