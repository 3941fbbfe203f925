//! `FilterService`: the filter server without the actor around it — answers encoded subscribe
//! requests (rate limit, decode, the subscription rules) and turns each accepted message into
//! pushes for the subscribers whose criteria match. The server actor owns one; a bench can
//! build one with its own `PushSink`, subscribe N peers and feed it messages.

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use prost::Message;
use rwaku_actors::{PeerRateLimiter, libp2p::PeerId};
use rwaku_core::MessageAccepted;
use rwaku_protocols::{
    UNKNOWN_REQUEST_ID,
    filter::{
        pb::{FilterSubscribeRequest, FilterSubscribeResponse, FilterSubscribeType, MessagePush},
        status,
    },
};

use crate::{
    fan_out::{Enqueued, FanOutConfig, FanOutCounters, PushFanOut, PushSink},
    metrics as names,
    recent_hashes::RecentHashes,
    subscriptions::{FilterSubscriptions, SubscriptionError, SubscriptionLimits},
};

/// nwaku's `FilterDefaultPerPeerRateLimit` when no `--rate-limit` names filter.
pub const DEFAULT_RATE_LIMIT: (u32, Duration) = (30, Duration::from_secs(60));

pub struct FilterServiceConfig {
    pub limits: SubscriptionLimits,
    pub fan_out: FanOutConfig,
    /// Requests per period for each peer; `None` turns the limit off (benches).
    pub rate_limit: Option<(u32, Duration)>,
}

impl Default for FilterServiceConfig {
    fn default() -> Self {
        Self {
            limits: SubscriptionLimits::default(),
            fan_out: FanOutConfig::default(),
            rate_limit: Some(DEFAULT_RATE_LIMIT),
        }
    }
}

/// What one message turned into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// Subscribers whose criteria matched.
    pub matched: usize,
    pub queued: usize,
    /// Dropped because the subscriber's queue was full.
    pub dropped_full: usize,
    /// Not pushed because the subscriber is not connected right now.
    pub dropped_disconnected: usize,
    /// True when the message had been pushed already (same hash, within the TTL).
    pub duplicate: bool,
}

pub struct FilterService {
    subscriptions: FilterSubscriptions,
    fan_out: PushFanOut,
    recent: RecentHashes,
    /// Subscribed peers whose connection is gone; their subscription lives until it times
    /// out (js-waku reconnects), but nothing is pushed meanwhile. A subset of the subscribed
    /// peers, so bounded by `max_peers`.
    disconnected: HashSet<PeerId>,
    rate_limiter: Option<PeerRateLimiter>,
}

fn response(request_id: String, code: u32, desc: impl Into<String>) -> FilterSubscribeResponse {
    FilterSubscribeResponse {
        request_id,
        status_code: code,
        status_desc: Some(desc.into()),
    }
}

fn request_type_label(kind: FilterSubscribeType) -> &'static str {
    match kind {
        FilterSubscribeType::SubscriberPing => "ping",
        FilterSubscribeType::Subscribe => "subscribe",
        FilterSubscribeType::Unsubscribe => "unsubscribe",
        FilterSubscribeType::UnsubscribeAll => "unsubscribe_all",
    }
}

impl FilterService {
    pub fn new(config: FilterServiceConfig, sink: Arc<dyn PushSink>) -> Self {
        let rate_limiter = config.rate_limit.map(|(volume, period)| {
            // Only peers that talk to us get a bucket; one per served peer and some room for
            // peers that are refused.
            PeerRateLimiter::new(volume, period)
                .with_max_peers(config.limits.max_peers.saturating_mul(2).max(64))
        });
        Self {
            subscriptions: FilterSubscriptions::new(config.limits),
            fan_out: PushFanOut::new(sink, config.fan_out),
            recent: RecentHashes::default(),
            disconnected: HashSet::new(),
            rate_limiter,
        }
    }

    pub fn subscriptions(&self) -> &FilterSubscriptions {
        &self.subscriptions
    }

    pub fn counters(&self) -> Arc<FanOutCounters> {
        self.fan_out.counters()
    }

    /// Answers one encoded `FilterSubscribeRequest` from `peer`.
    pub fn handle_request(
        &mut self,
        peer: PeerId,
        body: &[u8],
        now: Instant,
    ) -> FilterSubscribeResponse {
        let started = Instant::now();
        if let Some(limiter) = &mut self.rate_limiter
            && !limiter.allow(peer, now)
        {
            metrics::counter!(names::ERRORS, "type" => "rate_limited").increment(1);
            return response(
                UNKNOWN_REQUEST_ID.into(),
                status::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS: filter request rejected due rate limit exceeded",
            );
        }
        let request = match FilterSubscribeRequest::decode(body) {
            Ok(request) => request,
            Err(e) => {
                metrics::counter!(names::ERRORS, "type" => "decode_rpc_failure").increment(1);
                return response(
                    UNKNOWN_REQUEST_ID.into(),
                    status::BAD_REQUEST,
                    format!("BAD_REQUEST: cannot decode the request: {e}"),
                );
            }
        };
        let answer = self.apply(peer, request, now);
        metrics::histogram!(names::REQUEST_DURATION).record(started.elapsed().as_secs_f64());
        answer
    }

    /// Applies one decoded request (no rate limit): the REST-free core of `handle_request`.
    pub fn apply(
        &mut self,
        peer: PeerId,
        request: FilterSubscribeRequest,
        now: Instant,
    ) -> FilterSubscribeResponse {
        // A request proves the peer is connected.
        self.disconnected.remove(&peer);
        // Absent means ping; an unknown number is refused rather than guessed at.
        let kind = match request.filter_subscribe_type {
            None => FilterSubscribeType::SubscriberPing,
            Some(n) => match FilterSubscribeType::try_from(n) {
                Ok(kind) => kind,
                Err(_) => {
                    metrics::counter!(names::ERRORS, "type" => "bad_request").increment(1);
                    return response(
                        request.request_id,
                        status::BAD_REQUEST,
                        format!("BAD_REQUEST: unknown filter subscribe type {n}"),
                    );
                }
            },
        };
        metrics::counter!(names::REQUESTS, "type" => request_type_label(kind)).increment(1);
        let pubsub = request.pubsub_topic.as_deref();
        let topics = &request.content_topics;
        let outcome = match kind {
            FilterSubscribeType::SubscriberPing => self.subscriptions.ping(peer, now),
            FilterSubscribeType::Subscribe => self
                .subscriptions
                .subscribe(peer, pubsub, topics, now)
                .map(|()| self.fan_out.add_subscriber(peer)),
            FilterSubscribeType::Unsubscribe => self
                .subscriptions
                .unsubscribe(peer, pubsub, topics, now)
                .map(|_| ()),
            FilterSubscribeType::UnsubscribeAll => {
                self.subscriptions.unsubscribe_all(peer).map(|_| ())
            }
        };
        if !self.subscriptions.is_subscribed(&peer) {
            self.forget(&peer);
        }
        self.publish_gauges();
        match outcome {
            Ok(()) => response(request.request_id, status::SUCCESS, "OK"),
            Err(e) => {
                metrics::counter!(names::ERRORS, "type" => e.metric_label()).increment(1);
                tracing::debug!(%peer, error = %e, "filter request refused");
                response(request.request_id, e.status_code(), e.to_string())
            }
        }
    }

    /// Subscribes `peer` directly (benches and tests): as a SUBSCRIBE request would.
    pub fn subscribe(
        &mut self,
        peer: PeerId,
        pubsub_topic: &str,
        content_topics: &[String],
        now: Instant,
    ) -> Result<(), SubscriptionError> {
        self.subscriptions
            .subscribe(peer, Some(pubsub_topic), content_topics, now)?;
        self.fan_out.add_subscriber(peer);
        self.publish_gauges();
        Ok(())
    }

    /// Queues a push of `accepted` for every subscriber whose criteria match. Never waits.
    pub fn on_message(&mut self, accepted: &MessageAccepted, now: Instant) -> PushOutcome {
        let started = Instant::now();
        let pubsub_topic = accepted.pubsub_topic.to_string();
        let content_topic = accepted.message.content_topic.as_str();
        let mut outcome = PushOutcome::default();
        let mut matching = self
            .subscriptions
            .subscribers(&pubsub_topic, content_topic)
            .peekable();
        if matching.peek().is_none() {
            return outcome;
        }
        if !self.recent.insert(accepted.hash, now) {
            outcome.duplicate = true;
            return outcome;
        }
        // Encoded once; every subscriber's queue holds the same bytes.
        let frame = Bytes::from(
            MessagePush {
                waku_message: accepted.message.clone(),
                pubsub_topic: pubsub_topic.clone(),
            }
            .encode_to_vec(),
        );
        for peer in matching {
            outcome.matched += 1;
            if self.disconnected.contains(&peer) {
                outcome.dropped_disconnected += 1;
                metrics::counter!(names::PUSHES_DROPPED, "reason" => "disconnected").increment(1);
                metrics::counter!(names::ERRORS, "type" => "peer_disconnected").increment(1);
                continue;
            }
            match self.fan_out.enqueue(&peer, frame.clone()) {
                Enqueued::Queued => outcome.queued += 1,
                Enqueued::QueueFull => outcome.dropped_full += 1,
                Enqueued::NoSubscriber => {}
            }
        }
        if outcome.dropped_full > 0 {
            tracing::debug!(
                hash = %accepted.hash.short(),
                dropped = outcome.dropped_full,
                "filter pushes dropped: subscriber queues full"
            );
        }
        metrics::histogram!(names::HANDLE_MESSAGE_DURATION).record(started.elapsed().as_secs_f64());
        outcome
    }

    /// The peer's last connection closed: keep its subscription, stop pushing to it.
    pub fn peer_disconnected(&mut self, peer: PeerId) {
        if self.subscriptions.is_subscribed(&peer) {
            self.disconnected.insert(peer);
        }
    }

    pub fn peer_connected(&mut self, peer: PeerId) {
        self.disconnected.remove(&peer);
    }

    /// Drops the subscriptions not refreshed within the timeout; returns how many peers went.
    pub fn expire(&mut self, now: Instant) -> usize {
        let gone = self.subscriptions.expire(now);
        for peer in &gone {
            self.forget(peer);
            tracing::debug!(%peer, "filter subscription timed out");
        }
        if !gone.is_empty() {
            self.publish_gauges();
        }
        gone.len()
    }

    fn forget(&mut self, peer: &PeerId) {
        self.fan_out.remove_subscriber(peer);
        self.disconnected.remove(peer);
    }

    fn publish_gauges(&self) {
        metrics::gauge!(names::SUBSCRIPTIONS).set(self.subscriptions.peer_count() as f64);
        metrics::gauge!(names::CRITERIA).set(self.subscriptions.criteria_count() as f64);
    }
}
