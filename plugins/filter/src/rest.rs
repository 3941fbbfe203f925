//! nwaku's `/filter/v2/*` REST routes: this node acts as a filter client of the service node
//! named by `--filternode`, and drains what that node pushed. Bodies and answers follow
//! nwaku: `{"requestId","statusDesc"}` with the HTTP status equal to the filter status code.
//! Without a filter node every route answers 503 with a JSON body saying so.

// The handlers return early with ready-made axum `Response`s as their error type; boxing them
// would only add an allocation to each refusal.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use rwaku_actors::rest_message::RelayWakuMessage;
use rwaku_actors::{
    NetworkHandle,
    libp2p::{Multiaddr, PeerId, multiaddr::Protocol},
};
use rwaku_core::{ClusterId, ContentTopic, WakuMessage, autosharding::pubsub_topic_for};
use rwaku_protocols::filter::{pb::FilterSubscribeResponse, status};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{FilterClient, FilterClientError, new_request_id};

/// How long a REST call waits for the dial of the filter node.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// The filter service node the REST routes talk to.
#[derive(Debug, Clone)]
pub struct FilterNode {
    pub peer: PeerId,
    pub address: Multiaddr,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterNodeError {
    #[error("{0:?} is not a multiaddr: {1}")]
    NotAMultiaddr(String, String),
    #[error("{0:?} has no /p2p/<peer id>")]
    NoPeerId(String),
}

impl FilterNode {
    /// Parses `--filternode`: a multiaddr ending in `/p2p/<peer id>`.
    pub fn parse(text: &str) -> Result<Self, FilterNodeError> {
        let address: Multiaddr =
            text.trim()
                .parse()
                .map_err(|e: rwaku_actors::libp2p::multiaddr::Error| {
                    FilterNodeError::NotAMultiaddr(text.to_string(), e.to_string())
                })?;
        let peer = address
            .iter()
            .find_map(|p| match p {
                Protocol::P2p(id) => Some(id),
                _ => None,
            })
            .ok_or_else(|| FilterNodeError::NoPeerId(text.to_string()))?;
        Ok(Self { peer, address })
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct FilterRest {
    /// `None` when no `--filternode` is configured.
    pub target: Option<(FilterClient, FilterNode)>,
    pub network: NetworkHandle,
    /// For a subscribe body without `pubsubTopic` (autosharding).
    pub cluster_id: ClusterId,
    pub num_shards_in_network: u16,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionBody {
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    pubsub_topic: Option<String>,
    #[serde(default)]
    content_filters: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestIdBody {
    #[serde(default)]
    request_id: Option<String>,
}

/// The routes, to merge into the node's REST router.
pub fn router(state: FilterRest) -> Router {
    Router::new()
        .route(
            "/filter/v2/subscriptions",
            post(subscribe).put(subscribe).delete(unsubscribe),
        )
        .route("/filter/v2/subscriptions/all", delete(unsubscribe_all))
        .route("/filter/v2/subscriptions/{request_id}", get(ping))
        .route("/filter/v2/messages/{content_topic}", get(messages))
        .with_state(state)
}

fn answer(request_id: String, code: u32, desc: impl Into<String>) -> Response {
    let status = StatusCode::from_u16(code.min(999) as u16)
        .ok()
        .filter(|s| s.as_u16() >= 100)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({ "requestId": request_id, "statusDesc": desc.into() })),
    )
        .into_response()
}

fn from_filter(response: FilterSubscribeResponse) -> Response {
    let desc = response.status_desc.unwrap_or_default();
    answer(response.request_id, response.status_code, desc)
}

fn from_client_error(request_id: String, e: FilterClientError) -> Response {
    match e {
        FilterClientError::Inbox(e) => {
            answer(request_id, status::SERVICE_UNAVAILABLE, e.to_string())
        }
        other => answer(
            request_id,
            status::PEER_DIAL_FAILURE,
            format!("PEER_DIAL_FAILURE: {other}"),
        ),
    }
}

/// The client and its service, connected; or the response to give instead.
async fn connected(
    state: &FilterRest,
    request_id: &str,
) -> Result<(FilterClient, PeerId), Response> {
    let Some((client, node)) = &state.target else {
        return Err(answer(
            request_id.to_string(),
            status::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE: no filter service node configured (--filternode)",
        ));
    };
    match tokio::time::timeout(DIAL_TIMEOUT, state.network.dial(node.address.clone())).await {
        Ok(Ok(())) => Ok((client.clone(), node.peer)),
        Ok(Err(e)) => Err(answer(
            request_id.to_string(),
            status::PEER_DIAL_FAILURE,
            format!("PEER_DIAL_FAILURE: cannot dial the filter node: {e}"),
        )),
        Err(_) => Err(answer(
            request_id.to_string(),
            status::PEER_DIAL_FAILURE,
            "PEER_DIAL_FAILURE: dialing the filter node timed out",
        )),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("Invalid content body: {e}"),
        )
            .into_response()
    })
}

/// The request's pubsub topic, or the autosharding one when the body has none.
fn pubsub_topic_of(state: &FilterRest, body: &SubscriptionBody) -> Result<String, String> {
    if let Some(topic) = body.pubsub_topic.as_ref().filter(|t| !t.is_empty()) {
        return Ok(topic.clone());
    }
    if state.num_shards_in_network == 0 {
        return Err("BAD_REQUEST: pubsubTopic is required (autosharding is disabled)".into());
    }
    let mut shard_topic: Option<String> = None;
    for text in &body.content_filters {
        let topic: ContentTopic = text
            .parse()
            .map_err(|e| format!("BAD_REQUEST: {text:?}: {e}"))?;
        let derived =
            pubsub_topic_for(&topic, state.cluster_id, state.num_shards_in_network).to_string();
        match &shard_topic {
            Some(existing) if *existing != derived => {
                return Err(
                    "BAD_REQUEST: the content topics map to different shards; give pubsubTopic"
                        .into(),
                );
            }
            _ => shard_topic = Some(derived),
        }
    }
    shard_topic.ok_or_else(|| "BAD_REQUEST: contentFilters is empty".into())
}

fn request_id_or_new(id: Option<String>) -> String {
    id.filter(|s| !s.is_empty()).unwrap_or_else(new_request_id)
}

#[derive(Clone, Copy)]
enum Change {
    Subscribe,
    Unsubscribe,
}

async fn subscribe(State(state): State<FilterRest>, body: Bytes) -> Response {
    change_subscription(&state, &body, Change::Subscribe).await
}

async fn unsubscribe(State(state): State<FilterRest>, body: Bytes) -> Response {
    change_subscription(&state, &body, Change::Unsubscribe).await
}

/// POST/PUT (subscribe) and DELETE (unsubscribe) take the same body and differ only in the
/// request sent to the filter node.
async fn change_subscription(state: &FilterRest, body: &[u8], change: Change) -> Response {
    let body: SubscriptionBody = match parse_body(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request_id = request_id_or_new(body.request_id.clone());
    let pubsub = match pubsub_topic_of(state, &body) {
        Ok(t) => t,
        Err(desc) => return answer(request_id, status::BAD_REQUEST, desc),
    };
    let (client, peer) = match connected(state, &request_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let topics = &body.content_filters;
    let outcome = match change {
        Change::Subscribe => {
            client
                .subscribe(peer, request_id.clone(), &pubsub, topics)
                .await
        }
        Change::Unsubscribe => {
            client
                .unsubscribe(peer, request_id.clone(), &pubsub, topics)
                .await
        }
    };
    match outcome {
        Ok(response) => from_filter(response),
        Err(e) => from_client_error(request_id, e),
    }
}

async fn unsubscribe_all(State(state): State<FilterRest>, body: Bytes) -> Response {
    let body: RequestIdBody = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request_id = request_id_or_new(body.request_id);
    let (client, peer) = match connected(&state, &request_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match client.unsubscribe_all(peer, request_id.clone()).await {
        Ok(response) => from_filter(response),
        Err(e) => from_client_error(request_id, e),
    }
}

async fn ping(State(state): State<FilterRest>, Path(request_id): Path<String>) -> Response {
    let (client, peer) = match connected(&state, &request_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match client.ping(peer, request_id.clone()).await {
        Ok(response) => from_filter(response),
        Err(e) => from_client_error(request_id, e),
    }
}

/// A WakuMessage in nwaku's REST JSON (the shape every REST route shares).
pub fn message_json(message: &WakuMessage) -> Value {
    serde_json::to_value(RelayWakuMessage::from_waku_message(message)).unwrap_or(Value::Null)
}

async fn messages(State(state): State<FilterRest>, Path(content_topic): Path<String>) -> Response {
    let Some((client, _)) = &state.target else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no filter service node configured (--filternode)",
        )
            .into_response();
    };
    match client.inbox().drain(&content_topic) {
        Some(pushed) => {
            let list: Vec<Value> = pushed.iter().map(|p| message_json(&p.message)).collect();
            Json(Value::Array(list)).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            format!("Not subscribed to topic: {content_topic}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filternode_needs_a_peer_id() {
        assert!(matches!(
            FilterNode::parse("/ip4/127.0.0.1/tcp/60000"),
            Err(FilterNodeError::NoPeerId(_))
        ));
        assert!(matches!(
            FilterNode::parse("not an address"),
            Err(FilterNodeError::NotAMultiaddr(..))
        ));
        let peer = PeerId::random();
        let node =
            FilterNode::parse(&format!("/ip4/127.0.0.1/tcp/60000/p2p/{peer}")).expect("valid");
        assert_eq!(node.peer, peer);
    }

    #[test]
    fn messages_use_nwaku_json() {
        let message = WakuMessage {
            payload: b"hi".to_vec().into(),
            content_topic: "/a/1/b/proto".into(),
            timestamp: Some(5),
            meta: Some(vec![1].into()),
            ..Default::default()
        };
        assert_eq!(
            message_json(&message),
            json!({"payload":"aGk=","contentTopic":"/a/1/b/proto","version":0,"timestamp":5,"meta":"AQ==","ephemeral":false})
        );
    }
}
