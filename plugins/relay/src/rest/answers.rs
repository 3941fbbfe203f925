//! The parts every relay handler shares: reading topics, publishing with nwaku's 5 s budget,
//! and turning outcomes into nwaku's status codes and text/plain bodies.

use std::time::Duration;

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

use rwaku_core::{ClusterId, PubsubTopic, SharedMessage, WakuMessage};

use super::{RelayRest, RelayWakuMessage};
use crate::{
    publish::{PublishError, PublishReceipt},
    shard_set::RelayError,
};

/// How long a handler waits on the relay, as nwaku's handlers do.
pub const HANDLER_BUDGET: Duration = Duration::from_secs(5);

/// A request the relay did not carry out: nwaku's status code and a text/plain reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub text: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, self.text).into_response()
    }
}

pub fn ok() -> Response {
    (StatusCode::OK, "OK").into_response()
}

fn refusal(status: StatusCode, text: impl Into<String>) -> Refusal {
    Refusal {
        status,
        text: text.into(),
    }
}

pub fn bad_request(text: impl Into<String>) -> Refusal {
    refusal(StatusCode::BAD_REQUEST, text)
}

pub fn not_found(text: impl Into<String>) -> Refusal {
    refusal(StatusCode::NOT_FOUND, text)
}

pub fn autosharding_disabled() -> Refusal {
    bad_request("Autosharding is disabled")
}

/// A JSON array of topic strings.
pub fn topic_list(body: &[u8]) -> Result<Vec<String>, Refusal> {
    serde_json::from_slice::<Vec<String>>(body)
        .map_err(|e| bad_request(format!("Failed to parse request body: {e}")))
}

/// A static shard topic of this node's cluster.
pub fn pubsub_topic(text: &str, cluster: ClusterId) -> Result<PubsubTopic, Refusal> {
    let topic: PubsubTopic = text
        .parse()
        .map_err(|e| bad_request(format!("Invalid pubsub topic: {e}")))?;
    match topic.shard() {
        Some((c, _)) if c == cluster => Ok(topic),
        Some((c, _)) => Err(bad_request(format!(
            "Invalid pubsub topic: {topic} is in cluster {c}, this node is in cluster {cluster}"
        ))),
        None => Err(bad_request(format!(
            "Invalid pubsub topic: {topic} is a named topic; use /waku/2/rs/<cluster>/<shard>"
        ))),
    }
}

pub fn relay_error(e: RelayError) -> Refusal {
    let status = match e {
        RelayError::TooManyShards => StatusCode::BAD_REQUEST,
        RelayError::Subscribe { .. } | RelayError::NotStarted | RelayError::Stopped => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    refusal(status, format!("Failed to subscribe: {e}"))
}

fn publish_error(e: PublishError) -> Refusal {
    let status = match &e {
        PublishError::NotSubscribed(_) | PublishError::Invalid(_) | PublishError::Duplicate => {
            StatusCode::BAD_REQUEST
        }
        PublishError::Unavailable(_) | PublishError::NoPeers(_) => StatusCode::SERVICE_UNAVAILABLE,
        PublishError::Network(_) | PublishError::Stopped => StatusCode::INTERNAL_SERVER_ERROR,
    };
    refusal(status, format!("Failed to publish: {e}"))
}

/// Publishes through the relay (own validators first) and answers as nwaku does.
pub async fn publish(
    state: &RelayRest,
    topic: PubsubTopic,
    message: WakuMessage,
) -> Result<Response, Refusal> {
    let outcome: Result<Result<PublishReceipt, PublishError>, _> =
        tokio::time::timeout(HANDLER_BUDGET, state.control.publish(topic, message)).await;
    match outcome {
        Ok(Ok(receipt)) => {
            tracing::debug!(hash = %receipt.hash.short(), peers = receipt.peers, "REST message published");
            Ok(ok())
        }
        Ok(Err(e)) => Err(publish_error(e)),
        Err(_) => Err(refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Failed to publish: timed out",
        )),
    }
}

/// Cached messages as nwaku's JSON array.
pub fn messages(cached: Vec<SharedMessage>) -> Response {
    let json: Vec<RelayWakuMessage> = cached
        .iter()
        .map(|m| RelayWakuMessage::from_waku_message(&m.message))
        .collect();
    Json(json).into_response()
}
