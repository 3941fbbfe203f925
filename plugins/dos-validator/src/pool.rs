//! `ValidationPool`: signature checks on a few OS threads, off the async executor. A relay actor
//! submits a message and gets its verdict back through a callback or a future. The cheap rules
//! (shard lookup, timestamp, meta length, scalar ranges, low S) run at submission on the caller's
//! thread in well under a microsecond, so junk never occupies the queue; only plausible messages
//! wait for a worker. Workers take several jobs at once so ed25519 ones verify as one batch.

use std::{
    collections::hash_map::RandomState,
    future::Future,
    hash::BuildHasher,
    pin::Pin,
    sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock},
    task::{Context, Poll},
    thread::JoinHandle,
    time::Instant,
};

use rwaku_core::{PubsubTopic, WakuMessage};
use tokio::sync::{Notify, oneshot};

use crate::{
    ed25519,
    fair_queue::{FairQueue, PushError},
    key::SignatureScheme,
    metrics,
    validator::{Precheck, ProtectedShardValidator},
    verdict::{RejectReason, Verdict},
};

/// How big the pool is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker threads; default: one per core.
    pub workers: usize,
    /// Jobs waiting at most, over all sources.
    pub queue_capacity: usize,
    /// Jobs waiting at most from one source, so one peer cannot fill the whole queue.
    pub per_source_capacity: usize,
    /// Jobs a worker takes at once (the largest ed25519 batch). Batches only form when jobs
    /// are waiting; 128 verified about 15–25 % faster per signature than 64 on the project
    /// machine, and one batch of 128 takes about 3 ms.
    pub max_batch: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue_capacity: 4096,
            per_source_capacity: 1024,
            max_batch: 128,
        }
    }
}

/// A pool that could not start.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(
        "validation pool needs at least one worker, a queue of at least one and a batch of at least one"
    )]
    EmptyConfig,
    #[error("could not start a validation worker thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// The pool has shut down; no verdict will come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the validation pool has shut down")]
pub struct PoolClosed;

/// Who sent a message; each source gets its own lane in the queue. For gossipsub, the
/// propagation source peer (`SourceId::from_bytes(&peer_id.to_bytes())`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SourceId(pub u64);

impl SourceId {
    /// Hashes an identifier with a per-process random key, so a peer cannot choose an id that
    /// lands in another peer's lane.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        static KEYS: OnceLock<RandomState> = OnceLock::new();
        Self(KEYS.get_or_init(RandomState::new).hash_one(bytes))
    }
}

/// One message to judge. The message is shared, not copied: the relay keeps it for forwarding.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationRequest {
    pub pubsub_topic: PubsubTopic,
    pub message: Arc<WakuMessage>,
    pub source: SourceId,
    /// The time the timestamp window is measured from (Unix ns), normally the receive time.
    pub now_ns: i64,
}

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitErrorKind {
    #[error("the validation queue is full")]
    QueueFull,
    #[error("this source already has its share of the validation queue")]
    SourceQueueFull,
    #[error("the validation pool has shut down")]
    Closed,
}

/// A job that was not queued, handed back so the caller can retry, wait, or answer Ignore.
/// Boxed so the `Ok` path stays small; the box is only made on refusal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct SubmitError {
    pub kind: SubmitErrorKind,
    pub request: Box<ValidationRequest>,
}

/// The verdict of a queued job, once a worker has it.
#[derive(Debug)]
pub struct PendingVerdict {
    receiver: oneshot::Receiver<Verdict>,
}

impl PendingVerdict {
    /// Waits on the current thread. Not for async code (it would block the executor).
    pub fn blocking_wait(self) -> Result<Verdict, PoolClosed> {
        self.receiver.blocking_recv().map_err(|_| PoolClosed)
    }
}

impl Future for PendingVerdict {
    type Output = Result<Verdict, PoolClosed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.get_mut().receiver)
            .poll(cx)
            .map(|r| r.map_err(|_| PoolClosed))
    }
}

type Reply = Box<dyn FnOnce(Verdict) + Send>;

struct Job {
    /// Index of the protected shard in the validator, found by the precheck.
    shard: usize,
    scheme: SignatureScheme,
    message: Arc<WakuMessage>,
    reply: Reply,
    enqueued: Instant,
}

struct State {
    queue: FairQueue<Job>,
    closed: bool,
    /// Workers blocked on `work`. Under load none are, and waking nobody would still cost a
    /// futex syscall per submission.
    idle_workers: usize,
}

struct Shared {
    validator: Arc<ProtectedShardValidator>,
    state: Mutex<State>,
    /// Workers wait here for jobs.
    work: Condvar,
    /// Async submitters wait here for room.
    space: Notify,
    workers: usize,
    max_batch: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the queue itself consistent (every mutation is
        // a single push or pop), so carrying on is safe.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The worker threads. Dropping it stops them after they finish the queued jobs.
pub struct ValidationPool {
    handle: ValidationHandle,
    threads: Vec<JoinHandle<()>>,
}

impl ValidationPool {
    pub fn new(
        validator: Arc<ProtectedShardValidator>,
        config: PoolConfig,
    ) -> Result<Self, PoolError> {
        if config.workers == 0
            || config.queue_capacity == 0
            || config.per_source_capacity == 0
            || config.max_batch == 0
        {
            return Err(PoolError::EmptyConfig);
        }
        let shared = Arc::new(Shared {
            validator,
            state: Mutex::new(State {
                queue: FairQueue::new(config.queue_capacity, config.per_source_capacity),
                closed: false,
                idle_workers: 0,
            }),
            work: Condvar::new(),
            space: Notify::new(),
            workers: config.workers,
            max_batch: config.max_batch,
        });
        let mut pool = Self {
            handle: ValidationHandle {
                shared: shared.clone(),
            },
            threads: Vec::with_capacity(config.workers),
        };
        for i in 0..config.workers {
            let shared = shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("dos-verify-{i}"))
                .spawn(move || worker(&shared))
                // Dropping `pool` stops the workers already started.
                .map_err(PoolError::Spawn)?;
            pool.threads.push(thread);
        }
        Ok(pool)
    }

    /// A cloneable submitter for actors.
    pub fn handle(&self) -> ValidationHandle {
        self.handle.clone()
    }

    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Stops accepting jobs, lets the workers finish the queued ones, and waits for them.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.handle.shared.lock().closed = true;
        self.handle.shared.work.notify_all();
        self.handle.shared.space.notify_waiters();
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a DoS validation worker panicked");
            }
        }
    }
}

impl Drop for ValidationPool {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Submits messages to a [`ValidationPool`]. Cheap to clone; one per relay actor.
#[derive(Clone)]
pub struct ValidationHandle {
    shared: Arc<Shared>,
}

impl ValidationHandle {
    pub fn validator(&self) -> &ProtectedShardValidator {
        &self.shared.validator
    }

    /// Jobs waiting for a worker.
    pub fn queue_len(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Queues `request` without waiting; `on_verdict` gets the verdict exactly once. When the
    /// cheap rules settle it (unprotected shard, stale timestamp, bad meta, high S), `on_verdict`
    /// runs right here on the caller's thread; otherwise it runs on a worker thread, so it should
    /// only hand the verdict on (send to an actor, fill a channel). On error it is dropped
    /// uncalled and the request comes back.
    pub fn try_submit_with<F>(
        &self,
        request: ValidationRequest,
        on_verdict: F,
    ) -> Result<(), SubmitError>
    where
        F: FnOnce(Verdict) + Send + 'static,
    {
        let validator = &self.shared.validator;
        let shard =
            match validator.precheck(&request.pubsub_topic, &request.message, request.now_ns) {
                Precheck::NotProtected => {
                    on_verdict(Verdict::Accept);
                    return Ok(());
                }
                Precheck::Rejected(reason) => {
                    let verdict = Verdict::Reject(reason);
                    metrics::record_verdict(verdict);
                    on_verdict(verdict);
                    return Ok(());
                }
                Precheck::NeedsSignature(shard) => shard,
            };
        let ValidationRequest {
            pubsub_topic,
            message,
            source,
            now_ns,
        } = request;
        let job = Job {
            shard,
            scheme: validator.entry(shard).key.scheme(),
            message,
            reply: Box::new(on_verdict),
            enqueued: Instant::now(),
        };
        let mut state = self.shared.lock();
        let refused = if state.closed {
            Some((SubmitErrorKind::Closed, job))
        } else {
            match state.queue.push(source.0, job) {
                Ok(()) => None,
                Err((PushError::Full, job)) => Some((SubmitErrorKind::QueueFull, job)),
                Err((PushError::SourceFull, job)) => Some((SubmitErrorKind::SourceQueueFull, job)),
            }
        };
        let depth = state.queue.len();
        let wake = state.idle_workers > 0;
        drop(state);
        if let Some((kind, job)) = refused {
            return Err(SubmitError {
                kind,
                request: Box::new(ValidationRequest {
                    pubsub_topic,
                    message: job.message,
                    source,
                    now_ns,
                }),
            });
        }
        metrics::set_queue_depth(depth);
        if wake {
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// Queues `request` without waiting and returns a future for its verdict.
    pub fn try_submit(&self, request: ValidationRequest) -> Result<PendingVerdict, SubmitError> {
        let (sender, receiver) = oneshot::channel();
        self.try_submit_with(request, move |verdict| {
            // The caller may have stopped waiting; nothing to do then.
            let _ = sender.send(verdict);
        })?;
        Ok(PendingVerdict { receiver })
    }

    /// Waits for room in the queue if need be, then for the verdict. Awaiting this inside an
    /// actor's handler serialises that actor on one verify at a time; spawn it, or use
    /// [`Self::try_submit_with`], to keep many in flight.
    pub async fn validate(&self, mut request: ValidationRequest) -> Result<Verdict, PoolClosed> {
        loop {
            // Register for a wake-up before trying, so a slot freed in between is not missed.
            let notified = self.shared.space.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            match self.try_submit(request) {
                Ok(pending) => return pending.await,
                Err(SubmitError {
                    kind: SubmitErrorKind::Closed,
                    ..
                }) => return Err(PoolClosed),
                Err(refused) => {
                    request = *refused.request;
                    notified.await;
                }
            }
        }
    }
}

/// Takes the next jobs for one worker: its share of the queue, at most `max_batch`. A secp256k1
/// job ends the take, since those are verified one at a time and a worker holding several of
/// them would keep the others waiting while an idle worker could have had them.
fn take_batch(shared: &Shared) -> Option<Vec<Job>> {
    let mut state = shared.lock();
    while state.queue.is_empty() {
        if state.closed {
            return None;
        }
        state.idle_workers += 1;
        state = shared
            .work
            .wait(state)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.idle_workers -= 1;
    }
    let share = state
        .queue
        .len()
        .div_ceil(shared.workers)
        .clamp(1, shared.max_batch);
    let mut batch = Vec::with_capacity(share);
    while batch.len() < share {
        let Some(job) = state.queue.pop() else { break };
        let ends_take = job.scheme == SignatureScheme::Secp256k1;
        batch.push(job);
        if ends_take {
            break;
        }
    }
    let depth = state.queue.len();
    drop(state);
    metrics::set_queue_depth(depth);
    shared.space.notify_waiters();
    Some(batch)
}

fn finish(job: Job, verdict: Verdict) {
    metrics::record_verdict(verdict);
    metrics::record_latency(job.enqueued.elapsed());
    (job.reply)(verdict);
}

fn worker(shared: &Shared) {
    while let Some(batch) = take_batch(shared) {
        verify_batch(&shared.validator, batch);
    }
}

/// Verifies secp256k1 jobs one by one as they come, and the ed25519 ones together at the end.
fn verify_batch(validator: &ProtectedShardValidator, batch: Vec<Job>) {
    let mut ed_jobs = Vec::new();
    for job in batch {
        match job.scheme {
            SignatureScheme::Secp256k1 => {
                let verdict = validator.verify_signature(job.shard, &job.message);
                finish(job, verdict);
            }
            SignatureScheme::Ed25519 => ed_jobs.push(job),
        }
    }
    if ed_jobs.is_empty() {
        return;
    }
    let mut items = Vec::with_capacity(ed_jobs.len());
    let mut ready = Vec::with_capacity(ed_jobs.len());
    for job in ed_jobs {
        let entry = validator.entry(job.shard);
        let parsed = entry
            .key
            .as_ed25519()
            .zip(ed25519::precheck_signature(job.message.meta_bytes()).ok());
        match parsed {
            Some((key, signature)) => {
                let digest = crate::app_hash::app_message_hash(&entry.topic, &job.message);
                items.push((key, digest, signature));
                ready.push(job);
            }
            // The precheck already passed at submission, so this is not expected.
            None => finish(job, Verdict::Reject(RejectReason::MalformedSignature)),
        }
    }
    let results = ed25519::verify_many(&items);
    for (job, ok) in ready.into_iter().zip(results) {
        let verdict = if ok {
            Verdict::Accept
        } else {
            Verdict::Reject(RejectReason::InvalidSignature)
        };
        finish(job, verdict);
    }
}
