//! `/relay/v1/auto/*`: relay by content topic. The shard comes from autosharding over
//! `num-shards-in-network` shards of the node's cluster; with 0 shards it is disabled.

use axum::{
    body::Bytes,
    extract::{Path, State},
    response::Response,
};

use rwaku_core::{ContentTopic, PubsubTopic, autosharding::pubsub_topic_for};

use super::{
    RelayRest, RelayWakuMessage,
    answers::{self, Refusal},
};
use rwaku_core::time::now_ns;

fn shard_of(state: &RelayRest, topic: &ContentTopic) -> PubsubTopic {
    pubsub_topic_for(topic, state.cluster, state.num_shards_in_network)
}

fn content_topic(text: &str) -> Result<ContentTopic, Refusal> {
    text.parse::<ContentTopic>()
        .map_err(|e| answers::bad_request(format!("Invalid content topic: {e}")))
}

fn content_topics(state: &RelayRest, body: &[u8]) -> Result<Vec<ContentTopic>, Refusal> {
    if state.num_shards_in_network == 0 {
        return Err(answers::autosharding_disabled());
    }
    answers::topic_list(body)?
        .iter()
        .map(|t| content_topic(t))
        .collect()
}

/// `POST /relay/v1/auto/subscriptions` with `["/app/1/name/proto", …]`.
pub async fn subscribe(State(state): State<RelayRest>, body: Bytes) -> Result<Response, Refusal> {
    for topic in content_topics(&state, &body)? {
        state
            .control
            .subscribe(shard_of(&state, &topic))
            .await
            .map_err(answers::relay_error)?;
        if !state.cache.subscribe_content(topic.as_str()) {
            tracing::warn!(%topic, "REST relay cache is full of topics; messages of this one are not cached");
        }
    }
    Ok(answers::ok())
}

/// `DELETE /relay/v1/auto/subscriptions`. A shard is left only when nothing else keeps it:
/// no other cached content topic maps to it and it is not subscribed by pubsub topic.
pub async fn unsubscribe(State(state): State<RelayRest>, body: Bytes) -> Result<Response, Refusal> {
    let topics = content_topics(&state, &body)?;
    for topic in &topics {
        state.cache.unsubscribe_content(topic.as_str());
    }
    let still_wanted: Vec<PubsubTopic> = state
        .cache
        .content_topics()
        .iter()
        .filter_map(|t| t.parse::<ContentTopic>().ok())
        .map(|t| shard_of(&state, &t))
        .collect();
    for topic in &topics {
        let shard = shard_of(&state, topic);
        if still_wanted.contains(&shard) || state.cache.is_pubsub_subscribed(&shard) {
            continue;
        }
        state
            .control
            .unsubscribe(shard)
            .await
            .map_err(answers::relay_error)?;
    }
    Ok(answers::ok())
}

/// `GET /relay/v1/auto/messages/{contentTopic}`: drains the cache.
pub async fn messages(
    State(state): State<RelayRest>,
    Path(topic): Path<String>,
) -> Result<Response, Refusal> {
    content_topic(&topic)?;
    state
        .cache
        .drain_content(&topic)
        .map(answers::messages)
        .ok_or_else(|| answers::not_found(format!("Not subscribed to content topic: {topic}")))
}

/// `POST /relay/v1/auto/messages` with a `RelayWakuMessage` that names its content topic.
pub async fn publish(State(state): State<RelayRest>, body: Bytes) -> Result<Response, Refusal> {
    if state.num_shards_in_network == 0 {
        return Err(answers::autosharding_disabled());
    }
    let message = RelayWakuMessage::parse(&body)
        .and_then(|json| json.into_waku_message(now_ns(), true))
        .map_err(|e| answers::bad_request(format!("Failed to publish: {e}")))?;
    let shard = shard_of(&state, &content_topic(&message.content_topic)?);
    answers::publish(&state, shard, message).await
}
