//! Every status a `FilterService` answers, through encoded requests as they come off the
//! wire: 200 on the happy paths, 400, 404, 429 (with request id "N/A") and 503.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use prost::Message;
use rwaku_actors::libp2p::PeerId;
use rwaku_plugin_filter::{FilterService, FilterServiceConfig, SubscriptionLimits};
use rwaku_protocols::filter::pb::{
    FilterSubscribeRequest, FilterSubscribeResponse, FilterSubscribeType,
};

use crate::support::{CONTENT, PUBSUB, RecordingSink, strings};

fn encoded(
    id: &str,
    kind: Option<FilterSubscribeType>,
    pubsub: Option<&str>,
    topics: &[String],
) -> Vec<u8> {
    FilterSubscribeRequest {
        request_id: id.into(),
        filter_subscribe_type: kind.map(|k| k as i32),
        pubsub_topic: pubsub.map(String::from),
        content_topics: topics.to_vec(),
    }
    .encode_to_vec()
}

fn service(config: FilterServiceConfig) -> FilterService {
    FilterService::new(config, Arc::new(RecordingSink::default()))
}

fn code(response: &FilterSubscribeResponse) -> (u32, &str) {
    (response.status_code, response.request_id.as_str())
}

#[tokio::test]
async fn happy_paths_answer_200_ok_and_echo_the_request_id() {
    let mut filter = service(FilterServiceConfig::default());
    let peer = PeerId::random();
    let now = Instant::now();
    let topics = strings(&[CONTENT, "/test/1/other/proto"]);
    let subscribe = filter.handle_request(
        peer,
        &encoded(
            "s1",
            Some(FilterSubscribeType::Subscribe),
            Some(PUBSUB),
            &topics,
        ),
        now,
    );
    assert_eq!(code(&subscribe), (200, "s1"));
    assert_eq!(subscribe.status_desc.as_deref(), Some("OK"));
    // A ping is a request without a type, as go-waku sends it, or with type 0.
    let ping = filter.handle_request(peer, &encoded("p1", None, None, &[]), now);
    assert_eq!(code(&ping), (200, "p1"));
    let ping = filter.handle_request(
        peer,
        &encoded(
            "p2",
            Some(FilterSubscribeType::SubscriberPing),
            Some(""),
            &[],
        ),
        now,
    );
    assert_eq!(code(&ping), (200, "p2"));
    let unsubscribe = filter.handle_request(
        peer,
        &encoded(
            "u1",
            Some(FilterSubscribeType::Unsubscribe),
            Some(PUBSUB),
            &topics[..1],
        ),
        now,
    );
    assert_eq!(code(&unsubscribe), (200, "u1"));
    assert_eq!(filter.subscriptions().criteria_of(&peer), 1);
    let all = filter.handle_request(
        peer,
        &encoded("a1", Some(FilterSubscribeType::UnsubscribeAll), None, &[]),
        now,
    );
    assert_eq!(code(&all), (200, "a1"));
    assert!(!filter.subscriptions().is_subscribed(&peer));
}

#[tokio::test]
async fn missing_criteria_and_101_topics_are_400() {
    let mut filter = service(FilterServiceConfig::default());
    let peer = PeerId::random();
    let now = Instant::now();
    let subscribe = Some(FilterSubscribeType::Subscribe);
    let cases = [
        encoded("a", subscribe, None, &strings(&[CONTENT])),
        encoded("b", subscribe, Some(PUBSUB), &[]),
        encoded(
            "c",
            Some(FilterSubscribeType::Unsubscribe),
            Some(PUBSUB),
            &[],
        ),
        encoded(
            "d",
            subscribe,
            Some(PUBSUB),
            &(0..101)
                .map(|i| format!("/t/1/n{i}/proto"))
                .collect::<Vec<_>>(),
        ),
    ];
    for (body, id) in cases.iter().zip(["a", "b", "c", "d"]) {
        assert_eq!(code(&filter.handle_request(peer, body, now)), (400, id));
    }
    assert!(!filter.subscriptions().is_subscribed(&peer));
}

#[tokio::test]
async fn undecodable_requests_and_unknown_types_are_400() {
    let mut filter = service(FilterServiceConfig::default());
    let peer = PeerId::random();
    let now = Instant::now();
    let garbage = filter.handle_request(peer, &[0xff, 0xff, 0xff], now);
    assert_eq!(code(&garbage), (400, "N/A"));
    // A truncated field is undecodable too.
    let truncated = filter.handle_request(peer, &[0x0a, 0x05, b'a'], now);
    assert_eq!(code(&truncated), (400, "N/A"));
    let mut unknown = FilterSubscribeRequest {
        request_id: "x".into(),
        ..Default::default()
    };
    unknown.filter_subscribe_type = Some(7);
    let unknown = filter.handle_request(peer, &unknown.encode_to_vec(), now);
    assert_eq!(code(&unknown), (400, "x"));
}

#[tokio::test]
async fn ping_unsubscribe_and_unsubscribe_all_without_subscription_are_404() {
    let mut filter = service(FilterServiceConfig::default());
    let peer = PeerId::random();
    let now = Instant::now();
    let ping = filter.handle_request(peer, &encoded("p", None, None, &[]), now);
    assert_eq!(code(&ping), (404, "p"));
    let unsubscribe = filter.handle_request(
        peer,
        &encoded(
            "u",
            Some(FilterSubscribeType::Unsubscribe),
            Some(PUBSUB),
            &strings(&[CONTENT]),
        ),
        now,
    );
    assert_eq!(code(&unsubscribe), (404, "u"));
    let all = filter.handle_request(
        peer,
        &encoded("a", Some(FilterSubscribeType::UnsubscribeAll), None, &[]),
        now,
    );
    assert_eq!(code(&all), (404, "a"));
    // Subscribed, but not to these criteria.
    filter
        .subscribe(peer, PUBSUB, &strings(&[CONTENT]), now)
        .expect("subscribes");
    let other = filter.handle_request(
        peer,
        &encoded(
            "o",
            Some(FilterSubscribeType::Unsubscribe),
            Some(PUBSUB),
            &strings(&["/test/1/never/proto"]),
        ),
        now,
    );
    assert_eq!(code(&other), (404, "o"));
}

#[tokio::test]
async fn max_peers_and_max_criteria_are_503() {
    let mut filter = service(FilterServiceConfig {
        limits: SubscriptionLimits {
            max_peers: 2,
            max_criteria_per_peer: 2,
            timeout: Duration::from_secs(300),
        },
        ..Default::default()
    });
    let now = Instant::now();
    let subscribe = |id: &str, topics: &[String]| {
        encoded(
            id,
            Some(FilterSubscribeType::Subscribe),
            Some(PUBSUB),
            topics,
        )
    };
    let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
    let one = strings(&[CONTENT]);
    assert_eq!(
        code(&filter.handle_request(a, &subscribe("1", &one), now)).0,
        200
    );
    assert_eq!(
        code(&filter.handle_request(b, &subscribe("2", &one), now)).0,
        200
    );
    assert_eq!(
        code(&filter.handle_request(c, &subscribe("3", &one), now)),
        (503, "3")
    );
    let three = strings(&["/t/1/a/proto", "/t/1/b/proto", "/t/1/c/proto"]);
    assert_eq!(
        code(&filter.handle_request(a, &subscribe("4", &three), now)),
        (503, "4")
    );
    assert_eq!(
        filter.subscriptions().criteria_of(&a),
        1,
        "nothing was added"
    );
}

#[tokio::test]
async fn a_peer_over_its_rate_is_429_with_request_id_na() {
    let mut filter = service(FilterServiceConfig {
        rate_limit: Some((3, Duration::from_secs(60))),
        ..Default::default()
    });
    let (peer, other) = (PeerId::random(), PeerId::random());
    let now = Instant::now();
    for i in 0..3 {
        let id = format!("p{i}");
        assert_eq!(
            filter
                .handle_request(peer, &encoded(&id, None, None, &[]), now)
                .status_code,
            404
        );
    }
    let limited = filter.handle_request(peer, &encoded("p3", None, None, &[]), now);
    assert_eq!(code(&limited), (429, "N/A"));
    assert_eq!(
        filter
            .handle_request(other, &encoded("q", None, None, &[]), now)
            .status_code,
        404,
        "another peer has its own budget"
    );
    let later = filter.handle_request(
        peer,
        &encoded("p4", None, None, &[]),
        now + Duration::from_secs(21),
    );
    assert_eq!(code(&later), (404, "p4"), "the bucket refilled");
}
