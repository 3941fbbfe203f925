//! The js-waku 0.0.36 exchange from js-waku-client.md §9: our answer to its SUBSCRIBE is
//! byte for byte the response nwaku gave, and the push we build from its message is byte
//! for byte the push it received.

use std::{sync::Arc, time::Instant};

use prost::Message;
use rwaku_actors::libp2p::PeerId;
use rwaku_core::{MessageAccepted, MessageHash, PubsubTopic, WakuMessage};
use rwaku_plugin_filter::{FilterService, FilterServiceConfig};
use rwaku_protocols::filter::pb::{FilterSubscribeRequest, FilterSubscribeType, MessagePush};

use crate::support::RecordingSink;

const SUBSCRIBE: &str = "0a2464356134303130392d643866632d346361362d383436612d3735656166643730386334311001520e2f77616b752f322f72732f312f305a132f746573742f312f70726f62652f70726f746f";
const RESPONSE: &str =
    "0a2464356134303130392d643866632d346361362d383436612d37356561666437303863343150c8015a024f4b";
const PUSH: &str = "0a5a0a346a732d77616b752070726f626520323032362d31322d30315430373a35383a35332e3039355a203330383039623561613335643112132f746573742f312f70726f62652f70726f746f18005080d4f0dbae9289ed31f80100120e2f77616b752f322f72732f312f30";
/// The WakuMessage inside the lightpush fixture (and inside the push).
const MESSAGE: &str = "0a346a732d77616b752070726f626520323032362d31322d30315430373a35383a35332e3039355a203330383039623561613335643112132f746573742f312f70726f62652f70726f746f18005080d4f0dbae9289ed31f80100";

fn bytes(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text).unwrap_or_else(|e| panic!("fixture hex: {e}"))
}

#[test]
fn the_subscribe_fixture_decodes() {
    let request = FilterSubscribeRequest::decode(bytes(SUBSCRIBE).as_slice()).expect("decodes");
    assert_eq!(request.request_id, "d5a40109-d8fc-4ca6-846a-75eafd708c41");
    assert_eq!(
        request.filter_subscribe_type,
        Some(FilterSubscribeType::Subscribe as i32)
    );
    assert_eq!(request.pubsub_topic.as_deref(), Some("/waku/2/rs/1/0"));
    assert_eq!(request.content_topics, vec!["/test/1/probe/proto"]);
}

#[tokio::test]
async fn our_answer_to_the_subscribe_fixture_is_the_fixture_response() {
    let sink = Arc::new(RecordingSink::default());
    let mut service = FilterService::new(FilterServiceConfig::default(), sink);
    let response = service.handle_request(PeerId::random(), &bytes(SUBSCRIBE), Instant::now());
    assert_eq!(hex::encode(response.encode_to_vec()), RESPONSE);
}

#[tokio::test]
async fn the_push_we_send_is_the_fixture_push() {
    let message = WakuMessage::decode(bytes(MESSAGE).as_slice()).expect("message decodes");
    // Built directly...
    let push = MessagePush {
        waku_message: message.clone(),
        pubsub_topic: "/waku/2/rs/1/0".into(),
    };
    assert_eq!(hex::encode(push.encode_to_vec()), PUSH);

    // ...and as the service builds it for a subscriber.
    let sink = Arc::new(RecordingSink::default());
    let mut service = FilterService::new(FilterServiceConfig::default(), sink.clone());
    let peer = PeerId::random();
    let response = service.handle_request(peer, &bytes(SUBSCRIBE), Instant::now());
    assert_eq!(response.status_code, 200);
    let topic: PubsubTopic = "/waku/2/rs/1/0".parse().expect("topic");
    let accepted = MessageAccepted {
        hash: MessageHash::compute("/waku/2/rs/1/0", &message),
        pubsub_topic: topic,
        message,
        received_at_ns: 0,
    };
    let outcome = service.on_message(&accepted, Instant::now());
    assert_eq!(outcome.queued, 1);
    crate::support::eventually(
        std::time::Duration::from_secs(5),
        "the push to reach the sink",
        || {
            let pushes = sink.pushes();
            async move { (!pushes.is_empty()).then_some(()) }
        },
    )
    .await;
    let pushes = sink.pushes();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].0, peer);
    assert_eq!(hex::encode(&pushes[0].1), PUSH);
}
