//! `GET /admin/v1/filter/subscriptions` (with `--rest-admin`), nwaku's shape: every peer the
//! filter server holds and its (pubsub topic, content topic) criteria.

use actix::{Addr, Message};
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use rwaku_actors::libp2p::PeerId;
use serde_json::{Value, json};

use crate::server::FilterServer;

/// Asks the server for its subscriptions, peers sorted.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionsSnapshot;

impl Message for SubscriptionsSnapshot {
    type Result = Vec<(PeerId, Vec<(String, String)>)>;
}

pub fn router(server: Addr<FilterServer>) -> Router {
    Router::new()
        .route("/admin/v1/filter/subscriptions", get(subscriptions))
        .with_state(server)
}

async fn subscriptions(State(server): State<Addr<FilterServer>>) -> axum::response::Response {
    match server.send(SubscriptionsSnapshot).await {
        Ok(mut peers) => {
            peers.sort_by_key(|(peer, _)| peer.to_string());
            Json(to_json(&peers)).into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "filter server stopped").into_response(),
    }
}

fn to_json(peers: &[(PeerId, Vec<(String, String)>)]) -> Value {
    Value::Array(
        peers
            .iter()
            .map(|(peer, criteria)| {
                json!({
                    "peerId": peer.to_string(),
                    "filterCriteria": criteria
                        .iter()
                        .map(|(pubsub, content)| json!({"pubsubTopic": pubsub, "contentTopic": content}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_nwakus_shape() {
        let peer = PeerId::random();
        let body = to_json(&[(peer, vec![("/waku/2/rs/1/0".into(), "/a/1/b/proto".into())])]);
        assert_eq!(
            body,
            json!([{"peerId": peer.to_string(), "filterCriteria": [{"pubsubTopic": "/waku/2/rs/1/0", "contentTopic": "/a/1/b/proto"}]}])
        );
    }
}
