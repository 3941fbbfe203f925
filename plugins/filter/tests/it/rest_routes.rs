//! The `/filter/v2/*` REST routes over a real filter client: subscribe, drain pushed
//! messages, ping, unsubscribe, in nwaku's JSON shapes and status codes; and the answer
//! when no filter node is configured.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::StatusCode;
use rwaku_plugin_filter::{FilterNode, FilterRest, rest};
use serde_json::{Value, json};

use crate::support::{
    CLUSTER, CONTENT, PUBSUB, client_node, eventually, message, publish, publisher_node, run,
    service_node,
};

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local addr: {e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

#[test]
fn the_rest_routes_drive_a_remote_filter_node() {
    run(async {
        let service = service_node(|_| {}).await;
        let publisher = publisher_node(&service).await;
        let (client_node, client) = client_node(&service).await;
        let node = FilterNode::parse(&service.address.to_string()).expect("address");
        let base = serve(rest::router(FilterRest {
            target: Some((client, node)),
            network: client_node.node.network.clone(),
            cluster_id: CLUSTER,
            num_shards_in_network: 8,
        }))
        .await;
        let http = reqwest::Client::new();
        let encoded_topic = CONTENT.replace('/', "%2F");

        let (status, _) = json_of(
            http.get(format!("{base}/filter/v2/messages/{encoded_topic}"))
                .send()
                .await
                .expect("GET"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "not subscribed yet");

        let (status, body) = json_of(
            http.post(format!("{base}/filter/v2/subscriptions"))
                .json(&json!({"requestId":"r1","pubsubTopic":PUBSUB,"contentFilters":[CONTENT]}))
                .send()
                .await
                .expect("POST"),
        )
        .await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!({"requestId":"r1","statusDesc":"OK"}))
        );

        let sent = message("over rest");
        publish(&publisher, &service, sent.clone()).await;
        let list = eventually(Duration::from_secs(15), "the pushed message", || async {
            let response = http
                .get(format!("{base}/filter/v2/messages/{encoded_topic}"))
                .send()
                .await
                .ok()?;
            let (status, body) = json_of(response).await;
            assert_eq!(status, StatusCode::OK);
            let list = body.as_array()?.clone();
            (!list.is_empty()).then_some(list)
        })
        .await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["payload"], json!(STANDARD.encode("over rest")));
        assert_eq!(list[0]["contentTopic"], json!(CONTENT));
        assert_eq!(list[0]["timestamp"], json!(sent.timestamp));
        assert_eq!(list[0]["ephemeral"], json!(false));

        let (status, body) = json_of(
            http.get(format!("{base}/filter/v2/subscriptions/r2"))
                .send()
                .await
                .expect("ping"),
        )
        .await;
        assert_eq!(
            (status, body["requestId"].clone()),
            (StatusCode::OK, json!("r2"))
        );

        // Autosharding fills in the pubsub topic: /test/1/probe/proto is on shard 4 of 8,
        // where nothing is subscribed, so this unsubscribe is a 404 from the service.
        let (status, _) = json_of(
            http.delete(format!("{base}/filter/v2/subscriptions"))
                .json(&json!({"requestId":"r3","contentFilters":[CONTENT]}))
                .send()
                .await
                .expect("DELETE"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, _) = json_of(
            http.delete(format!("{base}/filter/v2/subscriptions"))
                .json(&json!({"requestId":"r4","pubsubTopic":PUBSUB,"contentFilters":[CONTENT]}))
                .send()
                .await
                .expect("DELETE"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);

        let (status, body) = json_of(
            http.delete(format!("{base}/filter/v2/subscriptions/all"))
                .json(&json!({"requestId":"r5"}))
                .send()
                .await
                .expect("DELETE all"),
        )
        .await;
        assert_eq!(
            (status, body["requestId"].clone()),
            (StatusCode::NOT_FOUND, json!("r5"))
        );

        let bad = http
            .post(format!("{base}/filter/v2/subscriptions"))
            .body("{not json")
            .send()
            .await
            .expect("POST");
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    });
}

#[test]
fn without_a_filter_node_the_routes_answer_503() {
    run(async {
        let service = service_node(|_| {}).await;
        let base = serve(rest::router(FilterRest {
            target: None,
            network: service.node.network.clone(),
            cluster_id: CLUSTER,
            num_shards_in_network: 8,
        }))
        .await;
        let http = reqwest::Client::new();
        let (status, body) = json_of(
            http.post(format!("{base}/filter/v2/subscriptions"))
                .json(&json!({"requestId":"r1","pubsubTopic":PUBSUB,"contentFilters":[CONTENT]}))
                .send()
                .await
                .expect("POST"),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["requestId"], json!("r1"));
        let ping = http
            .get(format!("{base}/filter/v2/subscriptions/x"))
            .send()
            .await
            .expect("GET");
        assert_eq!(ping.status(), StatusCode::SERVICE_UNAVAILABLE);
    });
}
