//! nwaku's lightpush REST routes. `POST /lightpush/v3/message` answers with the lightpush v3
//! status code as the HTTP status (`{"relayPeerCount":N}` on 200, `{"statusDesc":…}`
//! otherwise); `POST /lightpush/v1/message` (legacy) answers text: 200 "OK", 400, 429 or 503
//! with the reason. A node running the lightpush server serves them itself, without a stream;
//! otherwise they go to the `--lightpushnode` peer through the client.

use std::{sync::Arc, time::Instant};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use rwaku_actors::{
    NetworkHandle,
    libp2p::{Multiaddr, PeerId, multiaddr::Protocol},
};
use rwaku_core::{PubsubTopic, WakuMessage, time::now_ns};

use crate::{
    client::LightpushClient,
    metrics::{self, Version},
    refusal::PushRefusal,
    rest_json::{RestPushFailure, RestPushRequest, RestPushSuccess},
    service::LightpushService,
};

/// A remote lightpush service reached through the client.
#[derive(Clone)]
pub struct RemoteLightpush {
    network: NetworkHandle,
    address: Multiaddr,
    peer: PeerId,
    client: LightpushClient,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteAddressError {
    #[error("lightpushnode {0:?} is not a multiaddr: {1}")]
    NotAMultiaddr(String, String),
    #[error("lightpushnode {0:?} has no /p2p/<peer id>")]
    NoPeerId(String),
}

impl RemoteLightpush {
    /// `address` is a multiaddr ending in `/p2p/<peer id>`, as `--lightpushnode` takes.
    pub fn new(network: NetworkHandle, address: &str) -> Result<Self, RemoteAddressError> {
        let parsed: Multiaddr =
            address
                .parse()
                .map_err(|e: rwaku_actors::libp2p::multiaddr::Error| {
                    RemoteAddressError::NotAMultiaddr(address.to_string(), e.to_string())
                })?;
        let peer = parsed
            .iter()
            .find_map(|p| match p {
                Protocol::P2p(peer) => Some(peer),
                _ => None,
            })
            .ok_or_else(|| RemoteAddressError::NoPeerId(address.to_string()))?;
        let client = LightpushClient::new(network.stream_control());
        Ok(Self {
            network,
            address: parsed,
            peer,
            client,
        })
    }

    async fn connect(&self) -> Result<(), PushRefusal> {
        self.network
            .dial(self.address.clone())
            .await
            .map_err(|e| PushRefusal::Unavailable(format!("cannot reach the lightpush peer: {e}")))
    }

    async fn push(&self, topic: Option<&str>, message: WakuMessage) -> Result<u32, PushRefusal> {
        self.connect().await?;
        let topic = topic
            .map(|t| {
                t.parse::<PubsubTopic>()
                    .map_err(|e| PushRefusal::BadRequest(format!("invalid pubsub topic: {e}")))
            })
            .transpose()?;
        let reply = self
            .client
            .push(self.peer, topic.as_ref(), message)
            .await
            .map_err(|e| PushRefusal::Unavailable(e.to_string()))?;
        reply.into_result()
    }

    async fn push_legacy(
        &self,
        topic: Option<&str>,
        message: WakuMessage,
    ) -> Result<(), PushRefusal> {
        self.connect().await?;
        let topic: PubsubTopic = topic
            .ok_or_else(|| PushRefusal::BadRequest("the legacy route needs a pubsubTopic".into()))?
            .parse()
            .map_err(|e| PushRefusal::BadRequest(format!("invalid pubsub topic: {e}")))?;
        let reply = self
            .client
            .push_legacy(self.peer, &topic, message)
            .await
            .map_err(|e| PushRefusal::Unavailable(e.to_string()))?;
        match (reply.is_success, reply.info) {
            (true, _) => Ok(()),
            (false, Some(info)) if info == crate::service::V2_TOO_MANY_REQUESTS => {
                Err(PushRefusal::TooManyRequests)
            }
            (false, info) => {
                Err(PushRefusal::Unavailable(info.unwrap_or_else(|| {
                    "the service refused the message".into()
                })))
            }
        }
    }
}

/// Where the REST routes send a push.
#[derive(Clone)]
pub enum RestBackend {
    /// This node's own lightpush service.
    Local(Arc<LightpushService>),
    Remote(Arc<RemoteLightpush>),
}

impl RestBackend {
    /// Pushes as v3 does; the relay peer count on success.
    pub async fn push(
        &self,
        topic: Option<&str>,
        message: WakuMessage,
    ) -> Result<u32, PushRefusal> {
        match self {
            Self::Local(service) => service
                .push(topic, message)
                .await
                .map(|r| u32::try_from(r.peers).unwrap_or(u32::MAX)),
            Self::Remote(remote) => remote.push(topic, message).await,
        }
    }

    async fn push_legacy(
        &self,
        topic: Option<&str>,
        message: WakuMessage,
    ) -> Result<(), PushRefusal> {
        match self {
            Self::Local(service) => service.push(topic, message).await.map(|_| ()),
            Self::Remote(remote) => remote.push_legacy(topic, message).await,
        }
    }
}

pub fn router(backend: RestBackend) -> Router {
    Router::new()
        .route("/lightpush/v3/message", post(push_v3))
        .route("/lightpush/v1/message", post(push_legacy))
        .with_state(backend)
}

fn v3_failure(refusal: &PushRefusal) -> Response {
    let status = u16::try_from(refusal.status_code())
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(RestPushFailure {
            status_desc: refusal.to_string(),
        }),
    )
        .into_response()
}

/// `POST /lightpush/v3/message`; public so that benchmarks and tests can call it directly.
pub async fn answer_v3(backend: &RestBackend, body: &[u8]) -> Response {
    let started = Instant::now();
    metrics::request_received(Version::Rest);
    let parsed = RestPushRequest::parse(body).and_then(|r| r.into_parts(now_ns()));
    let (topic, message) = match parsed {
        Ok(parts) => parts,
        Err(e) => {
            let refusal = PushRefusal::BadRequest(e.to_string());
            metrics::refused(Version::Rest, &refusal);
            return v3_failure(&refusal);
        }
    };
    let response = match backend.push(topic.as_deref(), message).await {
        Ok(peers) => (
            StatusCode::OK,
            Json(RestPushSuccess {
                relay_peer_count: peers,
            }),
        )
            .into_response(),
        Err(refusal) => {
            metrics::refused(Version::Rest, &refusal);
            v3_failure(&refusal)
        }
    };
    metrics::answered(Version::Rest, started);
    response
}

/// `POST /lightpush/v1/message`.
pub async fn answer_legacy(backend: &RestBackend, body: &[u8]) -> Response {
    let parsed = RestPushRequest::parse(body).and_then(|r| r.into_parts(now_ns()));
    let (topic, message) = match parsed {
        Ok(parts) => parts,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    match backend.push_legacy(topic.as_deref(), message).await {
        Ok(()) => (StatusCode::OK, "OK").into_response(),
        Err(PushRefusal::TooManyRequests) => {
            (StatusCode::TOO_MANY_REQUESTS, "Request rate limit reached").into_response()
        }
        Err(PushRefusal::BadRequest(reason)) => (StatusCode::BAD_REQUEST, reason).into_response(),
        Err(refusal) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Failed to request a message push: {refusal}"),
        )
            .into_response(),
    }
}

async fn push_v3(State(backend): State<RestBackend>, body: Bytes) -> Response {
    answer_v3(&backend, &body).await
}

async fn push_legacy(State(backend): State<RestBackend>, body: Bytes) -> Response {
    answer_legacy(&backend, &body).await
}
