//! The validation pool: correct verdicts under concurrent submission, batching with a bad
//! ed25519 signature among good ones, back-pressure and shutdown.

use std::{
    sync::{Arc, mpsc},
    time::Duration,
};

use bytes::Bytes;
use rwaku_core::WakuMessage;
use rwaku_plugin_dos_validator::{
    PoolConfig, ProtectedShardValidator, RejectReason, ShardSigningKey, SignatureScheme, SourceId,
    SubmitErrorKind, ValidationPool, ValidationRequest, Verdict,
};

use crate::common::*;

struct Fixture {
    validator: Arc<ProtectedShardValidator>,
    secp: ShardSigningKey,
    ed: ShardSigningKey,
}

const SECP_SHARD: u16 = 32;
const ED_SHARD: u16 = 33;

fn fixture() -> Fixture {
    let secp = ShardSigningKey::generate(SignatureScheme::Secp256k1);
    let ed = ShardSigningKey::generate(SignatureScheme::Ed25519);
    let validator = ProtectedShardValidator::new(
        CLUSTER,
        [protected(SECP_SHARD, &secp), protected(ED_SHARD, &ed)],
    )
    .expect("config");
    Fixture {
        validator: Arc::new(validator),
        secp,
        ed,
    }
}

fn corrupt(mut message: WakuMessage) -> WakuMessage {
    let mut meta = message.meta_bytes().to_vec();
    // Flip a bit of r (secp256k1) or R (ed25519): still well formed, but wrong.
    meta[10] ^= 0x01;
    message.meta = Some(Bytes::from(meta));
    message
}

/// Request `n` and the verdict it must get: a mix of schemes, good and bad signatures, cheap
/// rejections and unprotected messages.
fn case(f: &Fixture, n: u32) -> (ValidationRequest, Verdict) {
    let (shard, message, expected) = match n % 6 {
        0 => (SECP_SHARD, signed(&f.secp, SECP_SHARD, n), Verdict::Accept),
        1 => (
            SECP_SHARD,
            corrupt(signed(&f.secp, SECP_SHARD, n)),
            Verdict::Reject(RejectReason::InvalidSignature),
        ),
        2 | 3 => (ED_SHARD, signed(&f.ed, ED_SHARD, n), Verdict::Accept),
        4 => (
            ED_SHARD,
            corrupt(signed(&f.ed, ED_SHARD, n)),
            Verdict::Reject(RejectReason::InvalidSignature),
        ),
        _ => {
            let stale = WakuMessage {
                timestamp: Some(1),
                ..signed(&f.secp, SECP_SHARD, n)
            };
            (
                SECP_SHARD,
                stale,
                Verdict::Reject(RejectReason::OutsideTimeWindow),
            )
        }
    };
    let request = ValidationRequest {
        pubsub_topic: shard_topic(shard),
        message: Arc::new(message),
        source: SourceId(u64::from(n % 3)),
        now_ns: NOW,
    };
    (request, expected)
}

#[test]
fn verdicts_are_right_under_concurrent_submission() {
    let f = Arc::new(fixture());
    let pool = ValidationPool::new(
        f.validator.clone(),
        PoolConfig {
            workers: 2,
            ..PoolConfig::default()
        },
    )
    .expect("pool starts");
    let (tx, rx) = mpsc::channel();
    let submitters: Vec<_> = (0..4u32)
        .map(|t| {
            let handle = pool.handle();
            let f = f.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..150u32 {
                    let n = t * 1000 + i;
                    let (mut request, expected) = case(&f, n);
                    let tx = tx.clone();
                    loop {
                        let tx = tx.clone();
                        match handle.try_submit_with(request, move |v| {
                            let _ = tx.send((n, v, expected));
                        }) {
                            Ok(()) => break,
                            Err(refused) => {
                                request = *refused.request;
                                std::thread::yield_now();
                            }
                        }
                    }
                }
            })
        })
        .collect();
    drop(tx);
    for s in submitters {
        s.join().expect("submitter");
    }
    let mut seen = 0;
    for (n, verdict, expected) in rx.iter() {
        assert_eq!(verdict, expected, "request {n}");
        seen += 1;
    }
    assert_eq!(seen, 600);
    assert_eq!(pool.handle().queue_len(), 0);
}

#[test]
fn a_bad_ed25519_signature_in_a_batch_rejects_only_itself() {
    let f = fixture();
    let pool = ValidationPool::new(
        f.validator.clone(),
        PoolConfig {
            workers: 1,
            ..PoolConfig::default()
        },
    )
    .expect("pool starts");
    let handle = pool.handle();
    // Hold the only worker inside the first verdict's callback while 40 jobs queue up, so it
    // then takes them as one batch.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (first_tx, first_rx) = mpsc::channel();
    handle
        .try_submit_with(
            ValidationRequest {
                pubsub_topic: shard_topic(ED_SHARD),
                message: Arc::new(signed(&f.ed, ED_SHARD, 999)),
                source: SourceId(9),
                now_ns: NOW,
            },
            move |v| {
                let _ = release_rx.recv_timeout(Duration::from_secs(10));
                let _ = first_tx.send(v);
            },
        )
        .expect("queued");
    // Make sure the worker is holding the first job before queueing the rest.
    while handle.queue_len() > 0 {
        std::thread::yield_now();
    }
    let pending: Vec<_> = (0..40u32)
        .map(|n| {
            let message = signed(&f.ed, ED_SHARD, n);
            let message = if n == 17 { corrupt(message) } else { message };
            let request = ValidationRequest {
                pubsub_topic: shard_topic(ED_SHARD),
                message: Arc::new(message),
                source: SourceId(u64::from(n % 4)),
                now_ns: NOW,
            };
            handle.try_submit(request).expect("room")
        })
        .collect();
    assert_eq!(handle.queue_len(), 40);
    release_tx.send(()).expect("worker waits");
    assert_eq!(first_rx.recv().expect("first verdict"), Verdict::Accept);
    for (n, p) in pending.into_iter().enumerate() {
        let expected = if n == 17 {
            Verdict::Reject(RejectReason::InvalidSignature)
        } else {
            Verdict::Accept
        };
        assert_eq!(p.blocking_wait(), Ok(expected), "job {n}");
    }
}

#[test]
fn cheap_rejections_and_unprotected_shards_are_answered_at_once() {
    let f = fixture();
    let pool = ValidationPool::new(f.validator.clone(), PoolConfig::default()).expect("pool");
    let handle = pool.handle();
    let (tx, rx) = mpsc::channel();
    let no_meta = WakuMessage {
        meta: None,
        ..signed(&f.secp, SECP_SHARD, 1)
    };
    for (shard, message) in [(SECP_SHARD, no_meta), (64, WakuMessage::default())] {
        let tx = tx.clone();
        let request = ValidationRequest {
            pubsub_topic: shard_topic(shard),
            message: Arc::new(message),
            source: SourceId(1),
            now_ns: NOW,
        };
        handle
            .try_submit_with(request, move |v| {
                let _ = tx.send((std::thread::current().id(), v));
            })
            .expect("answered");
    }
    let here = std::thread::current().id();
    assert_eq!(
        rx.try_recv(),
        Ok((here, Verdict::Reject(RejectReason::MissingMeta)))
    );
    assert_eq!(rx.try_recv(), Ok((here, Verdict::Accept)));
}

#[test]
fn a_full_queue_hands_the_request_back() {
    let f = fixture();
    let pool = ValidationPool::new(
        f.validator.clone(),
        PoolConfig {
            workers: 1,
            queue_capacity: 3,
            per_source_capacity: 2,
            max_batch: 64,
        },
    )
    .expect("pool");
    let handle = pool.handle();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let blocker = ValidationRequest {
        pubsub_topic: shard_topic(SECP_SHARD),
        message: Arc::new(signed(&f.secp, SECP_SHARD, 0)),
        source: SourceId(0),
        now_ns: NOW,
    };
    handle
        .try_submit_with(blocker, move |_| {
            let _ = release_rx.recv_timeout(Duration::from_secs(10));
        })
        .expect("queued");
    while handle.queue_len() > 0 {
        std::thread::yield_now();
    }
    let request = |source: u64, n: u32| ValidationRequest {
        pubsub_topic: shard_topic(SECP_SHARD),
        message: Arc::new(signed(&f.secp, SECP_SHARD, n)),
        source: SourceId(source),
        now_ns: NOW,
    };
    let mut pending = vec![
        handle.try_submit(request(1, 1)).expect("room"),
        handle.try_submit(request(1, 2)).expect("room"),
    ];
    let refused = handle.try_submit(request(1, 3)).expect_err("lane full");
    assert_eq!(refused.kind, SubmitErrorKind::SourceQueueFull);
    assert_eq!(*refused.request, request(1, 3));
    pending.push(handle.try_submit(request(2, 4)).expect("room"));
    let refused = handle.try_submit(request(3, 5)).expect_err("queue full");
    assert_eq!(refused.kind, SubmitErrorKind::QueueFull);
    release_tx.send(()).expect("worker waits");
    for p in pending {
        assert_eq!(p.blocking_wait(), Ok(Verdict::Accept));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_awaits_room_then_the_verdict() {
    let f = Arc::new(fixture());
    let pool = ValidationPool::new(
        f.validator.clone(),
        PoolConfig {
            workers: 1,
            queue_capacity: 2,
            per_source_capacity: 2,
            max_batch: 4,
        },
    )
    .expect("pool");
    // Far more requests than queue slots, all in flight at once from one source.
    let tasks: Vec<_> = (0..60u32)
        .map(|n| {
            let handle = pool.handle();
            let f = f.clone();
            tokio::spawn(async move {
                let (mut request, expected) = case(&f, n);
                request.source = SourceId(7);
                (handle.validate(request).await, expected)
            })
        })
        .collect();
    for task in tasks {
        let (verdict, expected) = task.await.expect("task");
        assert_eq!(verdict, Ok(expected));
    }
}

#[test]
fn after_shutdown_submissions_are_refused() {
    let f = fixture();
    let pool = ValidationPool::new(f.validator.clone(), PoolConfig::default()).expect("pool");
    let handle = pool.handle();
    let queued = handle
        .try_submit(ValidationRequest {
            pubsub_topic: shard_topic(SECP_SHARD),
            message: Arc::new(signed(&f.secp, SECP_SHARD, 1)),
            source: SourceId(1),
            now_ns: NOW,
        })
        .expect("queued");
    pool.shutdown();
    // Jobs queued before the shutdown still get their verdict.
    assert_eq!(queued.blocking_wait(), Ok(Verdict::Accept));
    let refused = handle
        .try_submit(ValidationRequest {
            pubsub_topic: shard_topic(SECP_SHARD),
            message: Arc::new(signed(&f.secp, SECP_SHARD, 2)),
            source: SourceId(1),
            now_ns: NOW,
        })
        .expect_err("closed");
    assert_eq!(refused.kind, SubmitErrorKind::Closed);
}
