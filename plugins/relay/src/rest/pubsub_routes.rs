//! `/relay/v1/subscriptions` and `/relay/v1/messages/{pubsubTopic}`: relay by pubsub topic.

use axum::{
    body::Bytes,
    extract::{Path, State},
    response::Response,
};

use rwaku_core::PubsubTopic;

use super::{
    RelayRest, RelayWakuMessage,
    answers::{self, Refusal},
};
use rwaku_core::time::now_ns;

fn topics(state: &RelayRest, body: &[u8]) -> Result<Vec<PubsubTopic>, Refusal> {
    answers::topic_list(body)?
        .iter()
        .map(|t| answers::pubsub_topic(t, state.cluster))
        .collect()
}

/// `POST /relay/v1/subscriptions` with `["/waku/2/rs/16/32", …]`.
pub async fn subscribe(State(state): State<RelayRest>, body: Bytes) -> Result<Response, Refusal> {
    for topic in topics(&state, &body)? {
        state
            .control
            .subscribe(topic.clone())
            .await
            .map_err(answers::relay_error)?;
        if !state.cache.subscribe_pubsub(topic.clone()) {
            tracing::warn!(%topic, "REST relay cache is full of topics; messages of this one are not cached");
        }
    }
    Ok(answers::ok())
}

/// `DELETE /relay/v1/subscriptions` with the same body.
pub async fn unsubscribe(State(state): State<RelayRest>, body: Bytes) -> Result<Response, Refusal> {
    for topic in topics(&state, &body)? {
        state.cache.unsubscribe_pubsub(&topic);
        state
            .control
            .unsubscribe(topic)
            .await
            .map_err(answers::relay_error)?;
    }
    Ok(answers::ok())
}

/// `GET /relay/v1/messages/{pubsubTopic}`: drains the cache.
pub async fn messages(
    State(state): State<RelayRest>,
    Path(topic): Path<String>,
) -> Result<Response, Refusal> {
    let topic = answers::pubsub_topic(&topic, state.cluster)?;
    state
        .cache
        .drain_pubsub(&topic)
        .map(answers::messages)
        .ok_or_else(|| answers::not_found(format!("Not subscribed to topic: {topic}")))
}

/// `POST /relay/v1/messages/{pubsubTopic}` with a `RelayWakuMessage`.
pub async fn publish(
    State(state): State<RelayRest>,
    Path(topic): Path<String>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let topic = answers::pubsub_topic(&topic, state.cluster)?;
    let message = RelayWakuMessage::parse(&body)
        .and_then(|json| json.into_waku_message(now_ns(), false))
        .map_err(|e| answers::bad_request(format!("Failed to publish: {e}")))?;
    answers::publish(&state, topic, message).await
}
