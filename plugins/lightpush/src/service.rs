//! `LightpushService`: the transport-free lightpush logic. It picks the pubsub topic (given,
//! or derived by autosharding), checks the size, applies the per-peer rate limit and hands the
//! message to the relay, which validates it exactly as it validates relayed traffic. The v3
//! and v2 servers, the REST routes and benchmarks all drive this one type.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use prost::Message;
use rwaku_actors::{RelayPort, ServiceRateLimiter, libp2p::PeerId};
use rwaku_core::{
    ClusterId, ContentTopic, MAX_WAKU_MESSAGE_SIZE, NodeConfig, PubsubTopic, RateLimitSpec,
    WakuMessage, autosharding,
};
use rwaku_protocols::{
    UNKNOWN_REQUEST_ID,
    lightpush::{
        pb::{LightPushRequest, LightPushResponse, PushResponse, PushRpc},
        status,
    },
};

use crate::{
    metrics::{self, Version},
    refusal::{PushRefusal, Relayed},
};

/// How long the relay may take to validate and publish. Below the stream server's answer
/// timeout, so the client always gets a status rather than a reset.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

/// The v2 `info` nwaku sends with a rate-limited reply.
pub const V2_TOO_MANY_REQUESTS: &str = "TOO_MANY_REQUESTS";

pub struct LightpushService {
    relay: RelayPort,
    cluster: ClusterId,
    /// 0: static sharding only, a request must name its pubsub topic.
    num_shards_in_network: u16,
    limiter: Option<Mutex<ServiceRateLimiter>>,
    publish_timeout: Duration,
}

impl LightpushService {
    pub fn new(relay: RelayPort, cluster: ClusterId, num_shards_in_network: u16) -> Self {
        Self {
            relay,
            cluster,
            num_shards_in_network,
            limiter: None,
            publish_timeout: PUBLISH_TIMEOUT,
        }
    }

    /// The service as the node's configuration describes it (cluster, autosharding and the
    /// `lightpush` entry of `--rate-limit`).
    pub fn from_config(config: &NodeConfig, relay: RelayPort) -> Self {
        let service = Self::new(relay, config.cluster_id, config.num_shards_in_network);
        match config.rate_limit_for("lightpush") {
            Some(spec) => service.with_rate_limit(&spec),
            None => service,
        }
    }

    /// The node serves `spec.volume` requests per `spec.period`, no peer more than its share
    /// (nwaku's service limit, `rwaku_actors::service_rate_limit`).
    pub fn with_rate_limit(mut self, spec: &RateLimitSpec) -> Self {
        self.limiter = Some(Mutex::new(ServiceRateLimiter::from_spec(spec)));
        self
    }

    pub fn with_publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// Takes one request from `peer`'s budget; false when it is over its limit.
    pub fn admit(&self, peer: PeerId) -> bool {
        let Some(limiter) = &self.limiter else {
            return true;
        };
        // A poisoned lock only means another request panicked mid-update; the buckets are
        // still usable numbers.
        let mut limiter = limiter.lock().unwrap_or_else(|p| p.into_inner());
        let allowed = limiter.allow(peer, Instant::now());
        metrics::rate_limiter_size(limiter.tracked_peers());
        allowed
    }

    /// The topic to publish on: the one named (empty counts as none), else the content
    /// topic's autosharding shard.
    pub fn resolve_topic(
        &self,
        pubsub_topic: Option<&str>,
        message: &WakuMessage,
    ) -> Result<PubsubTopic, PushRefusal> {
        match pubsub_topic.map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => text
                .parse::<PubsubTopic>()
                .map_err(|e| PushRefusal::BadRequest(format!("invalid pubsub topic: {e}"))),
            None if self.num_shards_in_network == 0 => Err(PushRefusal::InvalidMessage(
                "no pubsub topic given, and this node has autosharding off (static sharding)"
                    .into(),
            )),
            None => {
                let content: ContentTopic = message
                    .content_topic
                    .parse()
                    .map_err(|e| PushRefusal::BadRequest(format!("cannot autoshard: {e}")))?;
                Ok(autosharding::pubsub_topic_for(
                    &content,
                    self.cluster,
                    self.num_shards_in_network,
                ))
            }
        }
    }

    /// Validates and publishes `message` through the relay. Not rate limited: the callers
    /// that serve remote peers call [`admit`](Self::admit) first.
    pub async fn push(
        &self,
        pubsub_topic: Option<&str>,
        message: WakuMessage,
    ) -> Result<Relayed, PushRefusal> {
        if message.content_topic.is_empty() {
            return Err(PushRefusal::BadRequest(
                "the request carries no message (or one without a content topic)".into(),
            ));
        }
        let size = message.encoded_len();
        if size > MAX_WAKU_MESSAGE_SIZE {
            return Err(PushRefusal::TooLarge {
                size,
                limit: MAX_WAKU_MESSAGE_SIZE,
            });
        }
        let topic = self.resolve_topic(pubsub_topic, &message)?;
        let published = tokio::time::timeout(
            self.publish_timeout,
            self.relay.publish(topic.clone(), message),
        )
        .await
        .map_err(|_| PushRefusal::Unavailable("the relay did not answer in time".into()))?
        .map_err(PushRefusal::from_publish)?;
        if published.peers == 0 {
            return Err(PushRefusal::NoPeers(topic.to_string()));
        }
        Ok(Relayed {
            topic,
            hash: published.hash,
            peers: published.peers,
        })
    }

    /// Answers one encoded v3 request from `peer`.
    pub async fn answer_v3(&self, peer: PeerId, body: &[u8]) -> LightPushResponse {
        let started = Instant::now();
        metrics::request_received(Version::V3);
        if !self.admit(peer) {
            let refusal = PushRefusal::TooManyRequests;
            metrics::refused(Version::V3, &refusal);
            return v3_refusal(UNKNOWN_REQUEST_ID.into(), &refusal);
        }
        let request = match LightPushRequest::decode(body) {
            Ok(r) => r,
            Err(e) => {
                metrics::request_failed(Version::V3, "decode_rpc_failure");
                return v3_refusal(
                    UNKNOWN_REQUEST_ID.into(),
                    &PushRefusal::BadRequest(format!("request does not decode: {e}")),
                );
            }
        };
        let response = self.answer_v3_request(request).await;
        metrics::answered(Version::V3, started);
        response
    }

    /// Answers a decoded v3 request (already admitted).
    pub async fn answer_v3_request(&self, request: LightPushRequest) -> LightPushResponse {
        let LightPushRequest {
            request_id,
            pubsub_topic,
            message,
        } = request;
        match self.push(pubsub_topic.as_deref(), message).await {
            Ok(relayed) => LightPushResponse {
                request_id,
                status_code: status::SUCCESS,
                status_desc: None,
                relay_peer_count: Some(u32::try_from(relayed.peers).unwrap_or(u32::MAX)),
            },
            Err(refusal) => {
                metrics::refused(Version::V3, &refusal);
                tracing::debug!(%request_id, error = %refusal, "lightpush v3 refused");
                v3_refusal(request_id, &refusal)
            }
        }
    }

    /// Answers one encoded v2 (`PushRpc`) request from `peer`.
    pub async fn answer_v2(&self, peer: PeerId, body: &[u8]) -> PushRpc {
        let started = Instant::now();
        metrics::request_received(Version::V2);
        if !self.admit(peer) {
            metrics::refused(Version::V2, &PushRefusal::TooManyRequests);
            return v2_answer(
                UNKNOWN_REQUEST_ID.into(),
                false,
                V2_TOO_MANY_REQUESTS.into(),
            );
        }
        let rpc = match PushRpc::decode(body) {
            Ok(r) => r,
            Err(e) => {
                metrics::request_failed(Version::V2, "decode_rpc_failure");
                return v2_answer(
                    UNKNOWN_REQUEST_ID.into(),
                    false,
                    format!("request does not decode: {e}"),
                );
            }
        };
        let Some(request) = rpc.request else {
            metrics::request_failed(Version::V2, "empty_request_body");
            return v2_answer(rpc.request_id, false, "the PushRpc has no request".into());
        };
        let answer = match self
            .push(Some(&request.pubsub_topic), request.message)
            .await
        {
            Ok(_) => v2_answer(rpc.request_id, true, "OK".into()),
            Err(refusal) => {
                metrics::refused(Version::V2, &refusal);
                tracing::debug!(request_id = %rpc.request_id, error = %refusal, "lightpush v2 refused");
                v2_answer(rpc.request_id, false, refusal.to_string())
            }
        };
        metrics::answered(Version::V2, started);
        answer
    }
}

fn v3_refusal(request_id: String, refusal: &PushRefusal) -> LightPushResponse {
    LightPushResponse {
        request_id,
        status_code: refusal.status_code(),
        status_desc: Some(refusal.to_string()),
        relay_peer_count: None,
    }
}

/// `is_success` is proto2 `required`, so prost writes it even when false, as nwaku's
/// client needs.
fn v2_answer(request_id: String, is_success: bool, info: String) -> PushRpc {
    PushRpc {
        request_id,
        request: None,
        response: Some(PushResponse {
            is_success,
            info: Some(info),
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn message(content_topic: &str) -> WakuMessage {
        WakuMessage {
            payload: Bytes::from_static(b"hi"),
            content_topic: content_topic.into(),
            timestamp: Some(rwaku_core::time::now_ns()),
            ..Default::default()
        }
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(f)
    }

    #[test]
    fn a_named_topic_is_used_as_given() {
        let service = LightpushService::new(RelayPort::default(), 1, 8);
        let m = message("/test/1/probe/proto");
        assert_eq!(
            service.resolve_topic(Some("/waku/2/rs/1/3"), &m),
            Ok(PubsubTopic::static_shard(1, 3))
        );
        assert!(matches!(
            service.resolve_topic(Some("/waku/2/rs/x/3"), &m),
            Err(PushRefusal::BadRequest(_))
        ));
    }

    #[test]
    fn no_topic_autoshards_or_is_refused_under_static_sharding() {
        let m = message("/test/1/probe/proto");
        // js-waku's default network: cluster 1, 8 shards; this topic lands on shard 4.
        let auto = LightpushService::new(RelayPort::default(), 1, 8);
        assert_eq!(
            auto.resolve_topic(None, &m),
            Ok(PubsubTopic::static_shard(1, 4))
        );
        assert_eq!(
            auto.resolve_topic(Some(""), &m),
            Ok(PubsubTopic::static_shard(1, 4))
        );
        assert!(matches!(
            auto.resolve_topic(None, &message("not-a-topic")),
            Err(PushRefusal::BadRequest(_))
        ));
        let fixed = LightpushService::new(RelayPort::default(), 16, 0);
        let refused = fixed.resolve_topic(None, &m);
        assert_eq!(
            refused.map_err(|r| r.status_code()),
            Err(status::INVALID_MESSAGE)
        );
    }

    #[test]
    fn size_and_missing_message_are_checked_before_the_relay() {
        // No relay is attached: reaching it would answer 500.
        let service = LightpushService::new(RelayPort::default(), 16, 0);
        let big = WakuMessage {
            payload: Bytes::from(vec![0u8; MAX_WAKU_MESSAGE_SIZE]),
            ..message("/a/1/b/proto")
        };
        let outcome = run(service.push(Some("/waku/2/rs/16/0"), big));
        assert_eq!(
            outcome.map_err(|r| r.status_code()),
            Err(status::PAYLOAD_TOO_LARGE)
        );
        let outcome = run(service.push(Some("/waku/2/rs/16/0"), WakuMessage::default()));
        assert_eq!(
            outcome.map_err(|r| r.status_code()),
            Err(status::BAD_REQUEST)
        );
        let outcome = run(service.push(Some("/waku/2/rs/16/0"), message("/a/1/b/proto")));
        assert_eq!(
            outcome.map_err(|r| r.status_code()),
            Err(status::INTERNAL_SERVER_ERROR)
        );
    }

    #[test]
    fn undecodable_requests_get_400_with_an_unknown_id() {
        let service = LightpushService::new(RelayPort::default(), 16, 0);
        let peer = PeerId::random();
        let v3 = run(service.answer_v3(peer, &[0xff, 0xff, 0xff]));
        assert_eq!(
            (v3.request_id.as_str(), v3.status_code),
            (UNKNOWN_REQUEST_ID, status::BAD_REQUEST)
        );
        let v2 = run(service.answer_v2(peer, &[0xff, 0xff, 0xff]));
        assert_eq!(v2.request_id, UNKNOWN_REQUEST_ID);
        assert_eq!(v2.response.map(|r| r.is_success), Some(false));
    }

    #[test]
    fn once_the_node_budget_is_spent_every_peer_gets_429() {
        let spec = RateLimitSpec::parse("lightpush:2/1m").expect("a valid spec");
        let service = LightpushService::new(RelayPort::default(), 16, 0).with_rate_limit(&spec);
        let (a, b) = (PeerId::random(), PeerId::random());
        let body = LightPushRequest {
            request_id: "r".into(),
            pubsub_topic: Some("/waku/2/rs/16/0".into()),
            message: message("/a/1/b/proto"),
        }
        .encode_to_vec();
        let codes: Vec<(String, u32)> = (0..3)
            .map(|_| {
                let r = run(service.answer_v3(a, &body));
                (r.request_id, r.status_code)
            })
            .collect();
        // No relay attached, so the admitted ones end at 500.
        assert_eq!(
            codes,
            vec![
                ("r".into(), 500),
                ("r".into(), 500),
                (UNKNOWN_REQUEST_ID.into(), 429)
            ]
        );
        // nwaku's service limit is the node's: another peer finds it spent too.
        assert_eq!(run(service.answer_v3(b, &body)).status_code, 429);
        let v2 = run(service.answer_v2(a, &[]));
        assert_eq!(v2.request_id, UNKNOWN_REQUEST_ID);
        let response = v2.response.unwrap_or_default();
        assert!(!response.is_success);
        assert_eq!(response.info.as_deref(), Some(V2_TOO_MANY_REQUESTS));
    }

    #[test]
    fn a_v2_refusal_writes_is_success_false() {
        let answer = v2_answer("id".into(), false, "no".into()).encode_to_vec();
        // PushRpc { request_id "id", response (3) { is_success (1) = false, info (2) "no" } }
        assert_eq!(hex::encode(&answer), "0a0269641a06080012026e6f");
    }
}
