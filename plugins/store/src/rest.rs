//! `GET /store/v3/messages` with nwaku's parameters and JSON shape: answered from the local
//! archive, or from the store node named by `peerAddr` over store v3.

// The handlers return early with ready-made axum `Response`s as their error type; boxing them
// would only add an allocation to each refusal.
#![allow(clippy::result_large_err)]

use std::{collections::HashMap, time::Duration};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use rwaku_actors::{
    NetworkHandle, NodeContext,
    libp2p::{Multiaddr, PeerId, multiaddr::Protocol},
};
use rwaku_core::{MessageHash, WakuMessage};
use rwaku_protocols::store;
use serde_json::{Value, json};

use crate::{plugin::SharedStore, query_server};

const REMOTE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct RestState {
    store: SharedStore,
    network: NetworkHandle,
}

pub fn add_routes(ctx: &NodeContext, store: SharedStore) {
    let state = RestState {
        store,
        network: ctx.network.clone(),
    };
    ctx.rest.add(
        Router::new()
            .route("/store/v3/messages", get(messages))
            .with_state(state),
    );
}

fn bad_request(text: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, text.into()).into_response()
}

fn parse_bool(params: &HashMap<String, String>, key: &str) -> Result<Option<bool>, Response> {
    match params.get(key).map(|v| v.to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if v == "true" => Ok(Some(true)),
        Some(v) if v == "false" => Ok(Some(false)),
        Some(v) => Err(bad_request(format!("{key}: {v:?} is not true or false"))),
    }
}

fn parse_num<T: std::str::FromStr>(
    params: &HashMap<String, String>,
    key: &str,
) -> Result<Option<T>, Response> {
    params
        .get(key)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| bad_request(format!("{key}: {v:?} is not a number")))
        })
        .transpose()
}

fn parse_hash(text: &str, key: &str) -> Result<Bytes, Response> {
    MessageHash::from_hex(text.trim())
        .map(|h| Bytes::copy_from_slice(h.as_bytes()))
        .ok_or_else(|| bad_request(format!("{key}: {text:?} is not a 32-byte hex hash")))
}

/// The store v3 request the query string describes.
fn request_from(
    params: &HashMap<String, String>,
) -> Result<store::pb::StoreQueryRequest, Response> {
    let list = |key: &str| -> Vec<String> {
        params
            .get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let message_hashes = list("hashes")
        .iter()
        .map(|h| parse_hash(h, "hashes"))
        .collect::<Result<Vec<_>, _>>()?;
    let pagination_cursor = params
        .get("cursor")
        .map(|c| parse_hash(c, "cursor"))
        .transpose()?;
    Ok(store::pb::StoreQueryRequest {
        request_id: params.get("requestId").cloned().unwrap_or_default(),
        include_data: parse_bool(params, "includeData")?,
        pubsub_topic: params.get("pubsubTopic").cloned(),
        content_topics: list("contentTopics"),
        time_start: parse_num(params, "startTime")?,
        time_end: parse_num(params, "endTime")?,
        message_hashes,
        pagination_cursor,
        pagination_forward: parse_bool(params, "ascending")?,
        pagination_limit: parse_num(params, "pageSize")?,
    })
}

/// A WakuMessage in nwaku's REST JSON.
pub fn message_json(message: &WakuMessage) -> Value {
    let mut object = json!({
        "payload": STANDARD.encode(&message.payload),
        "contentTopic": message.content_topic,
        "version": message.version.unwrap_or(0),
        "timestamp": message.timestamp_or_zero(),
        "ephemeral": message.is_ephemeral(),
    });
    if let Some(meta) = &message.meta {
        object["meta"] = Value::String(STANDARD.encode(meta));
    }
    object
}

fn response_json(response: &store::pb::StoreQueryResponse) -> Value {
    let messages: Vec<Value> = response
        .messages
        .iter()
        .map(|kv| {
            let mut entry =
                json!({ "messageHash": format!("0x{}", hex::encode(&kv.message_hash)) });
            if let Some(m) = &kv.message {
                entry["message"] = message_json(m);
            }
            if let Some(t) = &kv.pubsub_topic {
                entry["pubsubTopic"] = Value::String(t.clone());
            }
            entry
        })
        .collect();
    let mut out = json!({
        "requestId": response.request_id,
        "statusCode": response.status_code,
        "statusDesc": response.status_desc,
        "messages": messages,
    });
    if let Some(c) = &response.pagination_cursor {
        out["paginationCursor"] = Value::String(format!("0x{}", hex::encode(c)));
    }
    out
}

async fn remote(
    network: &NetworkHandle,
    address: &str,
    request: &store::pb::StoreQueryRequest,
) -> Result<store::pb::StoreQueryResponse, Response> {
    let address: Multiaddr = address
        .parse()
        .map_err(|e| bad_request(format!("peerAddr: {e}")))?;
    let peer: PeerId = address
        .iter()
        .find_map(|p| match p {
            Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .ok_or_else(|| bad_request("peerAddr: no /p2p/<peer id>"))?;
    network.dial(address).await.map_err(|e| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot dial the store peer: {e}"),
        )
            .into_response()
    })?;
    let mut control = network.stream_control();
    crate::client::query(&mut control, peer, request, REMOTE_TIMEOUT)
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}

async fn messages(
    State(state): State<RestState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let request = match request_from(&params) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let response = match params.get("peerAddr") {
        Some(address) => match remote(&state.network, address, &request).await {
            Ok(r) => r,
            Err(e) => return e,
        },
        None => match state.store.get() {
            Some(store) => query_server::answer_request(store, request).await,
            None => {
                return (StatusCode::SERVICE_UNAVAILABLE, "the store is not ready").into_response();
            }
        },
    };
    Json(response_json(&response)).into_response()
}
