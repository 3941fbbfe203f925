//! Real nodes on the memory transport: a relay + filter service, a relay publisher and
//! relay-less clients. Pushes arrive once with the pubsub topic set and stop after
//! unsubscribe; the status codes and bad input behave as over the in-process API, and the
//! node keeps serving afterwards.

use std::time::Duration;

use futures::AsyncWriteExt;
use rwaku_actors::{
    libp2p::StreamProtocol,
    stream_server::{self},
};
use rwaku_plugin_filter::{FilterClient, PushedMessage, new_request_id};
use rwaku_protocols::filter::{
    MAX_REQUEST_SIZE, MAX_RESPONSE_SIZE, SUBSCRIBE_PROTOCOL_ID, pb::FilterSubscribeResponse,
};

use crate::support::{
    CONTENT, PUBSUB, TestNode, client_node, eventually, message, publish, publisher_node, run,
    service_node, strings,
};

async fn one_push(client: &FilterClient) -> PushedMessage {
    eventually(Duration::from_secs(15), "a filter push", || async {
        let mut got = client.inbox().drain(CONTENT).unwrap_or_default();
        assert!(got.len() <= 1, "more than one push: {got:?}");
        got.pop()
    })
    .await
}

async fn subscribe_ok(client: &FilterClient, service: &TestNode) {
    let response = client
        .subscribe(service.peer, "sub-1".into(), PUBSUB, &strings(&[CONTENT]))
        .await
        .unwrap_or_else(|e| panic!("subscribe: {e}"));
    assert_eq!(
        (response.request_id.as_str(), response.status_code),
        ("sub-1", 200)
    );
    assert_eq!(response.status_desc.as_deref(), Some("OK"));
}

#[test]
fn a_subscribed_client_gets_one_push_and_none_after_unsubscribing() {
    run(async {
        let service = service_node(|_| {}).await;
        let publisher = publisher_node(&service).await;
        let (_client_node, client) = client_node(&service).await;
        subscribe_ok(&client, &service).await;

        let sent = message("first");
        publish(&publisher, &service, sent.clone()).await;
        let push = one_push(&client).await;
        assert_eq!(push.pubsub_topic, PUBSUB);
        assert_eq!(push.from, service.peer);
        assert_eq!(push.message, sent);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(client.inbox().drain(CONTENT), Some(vec![]), "exactly one");
        assert_eq!(client.inbox().pushes_received(), 1);

        let ping = client
            .ping(service.peer, "ping-1".into())
            .await
            .unwrap_or_else(|e| panic!("ping: {e}"));
        assert_eq!(
            (ping.request_id.as_str(), ping.status_code),
            ("ping-1", 200)
        );

        let gone = client
            .unsubscribe(service.peer, "un-1".into(), PUBSUB, &strings(&[CONTENT]))
            .await
            .unwrap_or_else(|e| panic!("unsubscribe: {e}"));
        assert_eq!(gone.status_code, 200);
        publish(&publisher, &service, message("second")).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            client.inbox().pushes_received(),
            1,
            "the service pushed after unsubscribe"
        );
        let ping = client
            .ping(service.peer, "ping-2".into())
            .await
            .unwrap_or_else(|e| panic!("ping: {e}"));
        assert_eq!(ping.status_code, 404, "no subscription left");
    });
}

#[test]
fn a_handful_of_clients_each_get_the_message_once() {
    run(async {
        let service = service_node(|_| {}).await;
        let publisher = publisher_node(&service).await;
        let mut clients = Vec::new();
        for _ in 0..5 {
            let (node, client) = client_node(&service).await;
            subscribe_ok(&client, &service).await;
            clients.push((node, client));
        }
        // One client on another content topic gets nothing.
        let (_other_node, other) = client_node(&service).await;
        let response = other
            .subscribe(
                service.peer,
                new_request_id(),
                PUBSUB,
                &strings(&["/test/1/other/proto"]),
            )
            .await
            .unwrap_or_else(|e| panic!("subscribe: {e}"));
        assert_eq!(response.status_code, 200);

        let sent = message("to all");
        publish(&publisher, &service, sent.clone()).await;
        for (_, client) in &clients {
            let push = one_push(client).await;
            assert_eq!(push.message, sent);
            assert_eq!(push.pubsub_topic, PUBSUB);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        for (_, client) in &clients {
            assert_eq!(client.inbox().pushes_received(), 1);
        }
        assert_eq!(other.inbox().pushes_received(), 0);
    });
}

async fn raw_request(
    client_node: &TestNode,
    service: &TestNode,
    body: &[u8],
) -> FilterSubscribeResponse {
    use prost::Message;
    let mut control = client_node.node.network.stream_control();
    let answer = stream_server::request(
        &mut control,
        service.peer,
        StreamProtocol::new(SUBSCRIBE_PROTOCOL_ID),
        body,
        MAX_RESPONSE_SIZE,
        Duration::from_secs(5),
    )
    .await
    .unwrap_or_else(|e| panic!("request: {e}"));
    FilterSubscribeResponse::decode(answer).unwrap_or_else(|e| panic!("response: {e}"))
}

#[test]
fn bad_input_is_refused_and_the_node_keeps_serving() {
    run(async {
        let service = service_node(|_| {}).await;
        let (bad_node, bad) = client_node(&service).await;

        // Malformed protobuf: 400 with request id N/A.
        let garbage = raw_request(&bad_node, &service, &[0xff, 0xff, 0xff, 0x01]).await;
        assert_eq!(
            (garbage.status_code, garbage.request_id.as_str()),
            (400, "N/A")
        );

        // 101 content topics: 400 with the request's id.
        let many: Vec<String> = (0..101).map(|i| format!("/test/1/t{i}/proto")).collect();
        let response = bad
            .subscribe(service.peer, "too-many".into(), PUBSUB, &many)
            .await
            .unwrap_or_else(|e| panic!("subscribe: {e}"));
        assert_eq!(
            (response.status_code, response.request_id.as_str()),
            (400, "too-many")
        );

        // A frame over the limit: the stream is reset, no answer.
        let mut control = bad_node.node.network.stream_control();
        let mut stream = control
            .open_stream(service.peer, StreamProtocol::new(SUBSCRIBE_PROTOCOL_ID))
            .await
            .unwrap_or_else(|e| panic!("open: {e}"));
        let mut varint = [0u8; rwaku_protocols::framing::MAX_VARINT_LEN];
        let declared =
            rwaku_protocols::framing::encode_varint((MAX_REQUEST_SIZE + 1) as u64, &mut varint);
        let _ = stream.write_all(declared).await;
        let _ = stream.write_all(&[0u8; 64]).await;
        let _ = stream.flush().await;
        let answer = tokio::time::timeout(
            Duration::from_secs(5),
            rwaku_protocols::read_frame(&mut stream, MAX_RESPONSE_SIZE),
        )
        .await
        .unwrap_or_else(|_| panic!("the server neither answered nor reset"));
        assert!(answer.is_err(), "an oversized request got an answer");

        // The node still serves: the same client and a new one.
        let ping = bad
            .ping(service.peer, "after".into())
            .await
            .unwrap_or_else(|e| panic!("ping: {e}"));
        assert_eq!((ping.status_code, ping.request_id.as_str()), (404, "after"));
        let (_good_node, good) = client_node(&service).await;
        subscribe_ok(&good, &service).await;
        let all = good
            .unsubscribe_all(service.peer, "bye".into())
            .await
            .unwrap_or_else(|e| panic!("unsubscribe all: {e}"));
        assert_eq!(all.status_code, 200);
        let again = good
            .unsubscribe_all(service.peer, "bye-again".into())
            .await
            .unwrap_or_else(|e| panic!("unsubscribe all: {e}"));
        assert_eq!(again.status_code, 404);
    });
}

#[test]
fn the_limits_apply_over_the_wire() {
    run(async {
        let service = service_node(|config| {
            config.rate_limit = vec!["filter:4/1m".into()];
            config.filter_max_peers_to_serve = 1;
        })
        .await;
        let (_a_node, a) = client_node(&service).await;
        let (_b_node, b) = client_node(&service).await;
        subscribe_ok(&a, &service).await;
        let full = b
            .subscribe(service.peer, "b-1".into(), PUBSUB, &strings(&[CONTENT]))
            .await
            .unwrap_or_else(|e| panic!("subscribe: {e}"));
        assert_eq!((full.status_code, full.request_id.as_str()), (503, "b-1"));
        // a has used 1 of 4; three more pings pass, the fifth request is limited.
        for i in 0..3 {
            let ping = a
                .ping(service.peer, format!("a-{i}"))
                .await
                .unwrap_or_else(|e| panic!("ping: {e}"));
            assert_eq!(ping.status_code, 200);
        }
        let limited = a
            .ping(service.peer, "a-over".into())
            .await
            .unwrap_or_else(|e| panic!("ping: {e}"));
        assert_eq!(
            (limited.status_code, limited.request_id.as_str()),
            (429, "N/A")
        );
    });
}

#[test]
fn subscriptions_expire_without_a_ping() {
    run(async {
        let service = service_node(|config| config.filter_subscription_timeout = 1).await;
        let (_node, client) = client_node(&service).await;
        subscribe_ok(&client, &service).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let ping = client
            .ping(service.peer, "late".into())
            .await
            .unwrap_or_else(|e| panic!("ping: {e}"));
        assert_eq!(
            ping.status_code, 404,
            "the subscription should have expired"
        );
    });
}

#[test]
fn keep_alive_pings_hold_a_subscription_past_the_service_timeout() {
    run(async {
        let service = service_node(|config| config.filter_subscription_timeout = 1).await;
        let publisher = publisher_node(&service).await;
        let (_node, client) = client_node(&service).await;
        subscribe_ok(&client, &service).await;
        let pinging = rwaku_plugin_filter::keep_alive(client.clone(), Duration::from_millis(300));
        // Without pings the subscription is gone after 1 s (the test above).
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let sent = message("still subscribed");
        publish(&publisher, &service, sent.clone()).await;
        assert_eq!(one_push(&client).await.message, sent);
        pinging.abort();
    });
}

#[test]
fn keep_alive_subscribes_again_when_the_service_forgot_us() {
    run(async {
        let service = service_node(|config| config.filter_subscription_timeout = 2).await;
        let publisher = publisher_node(&service).await;
        let (_node, client) = client_node(&service).await;
        subscribe_ok(&client, &service).await;
        // The first ping, at 3 s, finds the subscription expired and subscribes again.
        let pinging = rwaku_plugin_filter::keep_alive(client.clone(), Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(3800)).await;
        let sent = message("subscribed again");
        publish(&publisher, &service, sent.clone()).await;
        assert_eq!(one_push(&client).await.message, sent);
        pinging.abort();
    });
}

#[test]
fn the_plugin_starts_a_client_for_filternode_and_refuses_a_bad_one() {
    use rwaku_actors::Supervisor;
    use rwaku_core::NodeConfig;
    use rwaku_plugin_filter::FilterPlugin;

    run(async {
        let service = service_node(|_| {}).await;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config = |filternode: String| NodeConfig {
            cluster_id: crate::support::CLUSTER,
            relay: false,
            rest: false,
            filternode: Some(filternode),
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let bad = Supervisor::new(config("/memory/1".into()), vec![Box::new(FilterPlugin)])
            .with_memory_transport(56_999)
            .start()
            .await;
        let error = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("filternode"), "unexpected: {error:?}");

        let good = Supervisor::new(
            config(service.address.to_string()),
            vec![Box::new(FilterPlugin)],
        )
        .with_memory_transport(56_998)
        .start()
        .await
        .unwrap_or_else(|e| panic!("start with a filternode: {e}"));
        // The plugin already accepts pushes on this node: a second client cannot.
        assert!(FilterClient::start(&good.network, Default::default()).is_err());
        let health = good.health.protocols();
        assert!(
            health.iter().any(|p| p.protocol == "Filter Client"),
            "no Filter Client health entry: {health:?}"
        );
    });
}
