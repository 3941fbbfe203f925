//! `/admin/v1/peers`, mounted with `--rest-admin`: the peers the node knows, in nwaku's
//! `WakuPeer` shape.

use axum::{Json, Router, extract::State, routing::get};
use serde_json::{Value, json};

use rwaku_actors::NetworkHandle;

pub fn router(network: NetworkHandle) -> Router {
    Router::new()
        .route("/admin/v1/peers", get(peers))
        .with_state(network)
}

async fn peers(State(network): State<NetworkHandle>) -> Json<Value> {
    let peers: Vec<Value> = network
        .peers()
        .await
        .into_iter()
        .map(|p| {
            let multiaddr = p
                .addresses
                .first()
                .map(|a| format!("{a}/p2p/{}", p.peer_id))
                .unwrap_or_else(|| format!("/p2p/{}", p.peer_id));
            json!({
                "multiaddr": multiaddr,
                "protocols": p.protocols,
                "shards": p.shards,
                "cluster": p.cluster,
                "connected": if p.connected { "Connected" } else { "NotConnected" },
                "agent": p.agent,
                "origin": if p.is_static { "Static" } else { "UnknownOrigin" },
                "score": Value::Null,
            })
        })
        .collect();
    Json(Value::Array(peers))
}
