//! `PushFanOut`: one bounded queue and one sender task per subscriber, so a slow or vanished
//! subscriber only ever delays itself. Queuing never waits: a full queue drops that push for
//! that subscriber and counts it. Where a push goes is a `PushSink` — the network in a node
//! (`StreamPushSink`), anything else in a test or a bench.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use futures::{StreamExt, future::BoxFuture};
use rwaku_actors::{
    libp2p::{PeerId, StreamProtocol},
    libp2p_stream, stream_server,
};
use rwaku_protocols::filter::PUSH_PROTOCOL_ID;
use tokio::sync::mpsc;

use crate::metrics as names;

/// Why one push did not reach its subscriber.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("push to {peer} failed: {reason}")]
pub struct PushError {
    pub peer: PeerId,
    pub reason: String,
}

/// Where pushes go. `frame` is an encoded `MessagePush` (without its length prefix), shared
/// by every subscriber of the message. The future should give up on its own within a bounded
/// time; the fan-out never waits for it.
pub trait PushSink: Send + Sync + 'static {
    fn push(&self, peer: PeerId, frame: Bytes) -> BoxFuture<'static, Result<(), PushError>>;
}

/// Pushes over the network: one `filter-push` stream per push, opened over the existing
/// connection (always compatible: nwaku, go-waku and js-waku clients all read a stream until
/// it ends).
#[derive(Clone)]
pub struct StreamPushSink {
    control: libp2p_stream::Control,
    timeout: Duration,
}

/// How long one push may take to open its stream and be written.
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(8);

impl StreamPushSink {
    pub fn new(control: libp2p_stream::Control, timeout: Duration) -> Self {
        Self { control, timeout }
    }
}

impl PushSink for StreamPushSink {
    fn push(&self, peer: PeerId, frame: Bytes) -> BoxFuture<'static, Result<(), PushError>> {
        let mut control = self.control.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            stream_server::send_one_way(
                &mut control,
                peer,
                StreamProtocol::new(PUSH_PROTOCOL_ID),
                &frame,
                timeout,
            )
            .await
            .map_err(|e| PushError {
                peer,
                reason: e.to_string(),
            })
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FanOutConfig {
    /// Pushes one subscriber may have waiting; more are dropped.
    pub queue_capacity: usize,
    /// Pushes one subscriber may have on the wire at once. Each push is its own stream
    /// (nwaku and go-waku clients read one push per stream), so a few in flight hide the
    /// stream set-up round trips instead of queueing behind them.
    pub in_flight: usize,
}

impl Default for FanOutConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 64,
            in_flight: 4,
        }
    }
}

/// What happened to one push handed to `enqueue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Queued,
    /// The subscriber's queue was full; the push was dropped and counted.
    QueueFull,
    /// No queue for this peer (not registered).
    NoSubscriber,
}

/// Running totals, readable from tests and benches without a metrics recorder.
#[derive(Debug, Default)]
pub struct FanOutCounters {
    queued: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped_full: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanOutTotals {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub dropped_full: u64,
}

impl FanOutCounters {
    pub fn totals(&self) -> FanOutTotals {
        FanOutTotals {
            queued: self.queued.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped_full: self.dropped_full.load(Ordering::Relaxed),
        }
    }
}

struct SubscriberQueue {
    sender: mpsc::Sender<Bytes>,
    task: tokio::task::JoinHandle<()>,
}

pub struct PushFanOut {
    sink: Arc<dyn PushSink>,
    config: FanOutConfig,
    queues: HashMap<PeerId, SubscriberQueue>,
    counters: Arc<FanOutCounters>,
}

impl PushFanOut {
    pub fn new(sink: Arc<dyn PushSink>, config: FanOutConfig) -> Self {
        Self {
            sink,
            config: FanOutConfig {
                queue_capacity: config.queue_capacity.max(1),
                in_flight: config.in_flight.max(1),
            },
            queues: HashMap::new(),
            counters: Arc::default(),
        }
    }

    pub fn counters(&self) -> Arc<FanOutCounters> {
        self.counters.clone()
    }

    /// Gives `peer` a queue and a sender task, if it has none. Needs a tokio runtime.
    pub fn add_subscriber(&mut self, peer: PeerId) {
        if self.queues.contains_key(&peer) {
            return;
        }
        let (sender, mut receiver) = mpsc::channel::<Bytes>(self.config.queue_capacity);
        let sink = self.sink.clone();
        let counters = self.counters.clone();
        let in_flight = self.config.in_flight;
        let task = tokio::spawn(async move {
            let frames = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
            frames
                .for_each_concurrent(in_flight, |frame| {
                    let (sink, counters) = (sink.clone(), counters.clone());
                    async move {
                        metrics::gauge!(names::PUSH_QUEUE_DEPTH).decrement(1.0);
                        match sink.push(peer, frame).await {
                            Ok(()) => {
                                counters.sent.fetch_add(1, Ordering::Relaxed);
                                metrics::counter!(names::PUSHES_SENT).increment(1);
                            }
                            Err(e) => {
                                counters.failed.fetch_add(1, Ordering::Relaxed);
                                metrics::counter!(names::PUSHES_DROPPED, "reason" => "failed")
                                    .increment(1);
                                metrics::counter!(names::ERRORS, "type" => "push_failed")
                                    .increment(1);
                                tracing::debug!(%peer, error = %e, "filter push failed");
                            }
                        }
                    }
                })
                .await;
        });
        self.queues.insert(peer, SubscriberQueue { sender, task });
        metrics::gauge!(names::PUSH_QUEUES).set(self.queues.len() as f64);
    }

    /// Drops `peer`'s queue; pushes still waiting in it are discarded.
    pub fn remove_subscriber(&mut self, peer: &PeerId) {
        if let Some(queue) = self.queues.remove(peer) {
            let waiting = self.config.queue_capacity - queue.sender.capacity();
            metrics::gauge!(names::PUSH_QUEUE_DEPTH).decrement(waiting as f64);
            queue.task.abort();
        }
        metrics::gauge!(names::PUSH_QUEUES).set(self.queues.len() as f64);
    }

    pub fn has_subscriber(&self, peer: &PeerId) -> bool {
        self.queues.contains_key(peer)
    }

    pub fn subscriber_count(&self) -> usize {
        self.queues.len()
    }

    /// Queues `frame` for `peer` without waiting.
    pub fn enqueue(&self, peer: &PeerId, frame: Bytes) -> Enqueued {
        let Some(queue) = self.queues.get(peer) else {
            return Enqueued::NoSubscriber;
        };
        match queue.sender.try_send(frame) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                metrics::gauge!(names::PUSH_QUEUE_DEPTH).increment(1.0);
                Enqueued::Queued
            }
            Err(_) => {
                // Full, or the task is gone (it only ends when aborted): either way a drop.
                self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(names::PUSHES_DROPPED, "reason" => "queue_full").increment(1);
                metrics::counter!(names::ERRORS, "type" => "push_queue_full").increment(1);
                Enqueued::QueueFull
            }
        }
    }
}

impl Drop for PushFanOut {
    fn drop(&mut self) {
        for (_, queue) in self.queues.drain() {
            queue.task.abort();
        }
    }
}
