//! `/health`, `/info` and `/version` (and their deprecated `/debug/v1/*` twins), as nwaku
//! answers them.

use axum::{Json, Router, extract::State, routing::get};
use serde_json::{Value, json};

use rwaku_actors::{HealthRegistry, NetworkHandle};

#[derive(Clone)]
struct CoreState {
    network: NetworkHandle,
    health: HealthRegistry,
    enr_uri: Option<String>,
}

pub fn router(
    network: NetworkHandle,
    health: HealthRegistry,
    enr_uri: Option<String>,
) -> axum::Router {
    Router::new()
        .route("/health", get(health_report))
        .route("/info", get(info))
        .route("/debug/v1/info", get(info))
        .route("/version", get(version))
        .route("/debug/v1/version", get(version))
        .with_state(CoreState {
            network,
            health,
            enr_uri,
        })
}

async fn health_report(State(state): State<CoreState>) -> Json<Value> {
    let protocols: Vec<Value> = state
        .health
        .protocols()
        .into_iter()
        .map(|p| {
            let mut entry = serde_json::Map::new();
            entry.insert(p.protocol, Value::String(p.state.as_str().to_string()));
            entry.insert(
                "desc".into(),
                p.desc.map(Value::String).unwrap_or(Value::Null),
            );
            Value::Object(entry)
        })
        .collect();
    Json(json!({
        "nodeHealth": state.health.node().as_str(),
        "protocolsHealth": protocols,
    }))
}

async fn info(State(state): State<CoreState>) -> Json<Value> {
    let info = state.network.info().await;
    let addresses: Vec<String> = info
        .map(|i| i.listen_addresses.iter().map(|a| a.to_string()).collect())
        .unwrap_or_default();
    let mut body = json!({ "listenAddresses": addresses });
    if let Some(enr) = &state.enr_uri {
        body["enrUri"] = Value::String(enr.clone());
    }
    Json(body)
}

async fn version() -> String {
    concat!("v", env!("CARGO_PKG_VERSION"), "-rwaku").to_string()
}
