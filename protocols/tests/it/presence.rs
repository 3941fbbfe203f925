//! nwaku's decoders insist on some fields even when they hold the default value
//! (waku-wire-facts.md §0.4); these tests pin that our encoders always write them.

use prost::Message;
use rwaku_core::WakuMessage;
use rwaku_protocols::{filter, lightpush, peer_exchange, store};

fn hex(message: &impl Message) -> String {
    hex::encode(message.encode_to_vec())
}

#[test]
fn lightpush_v2_failure_still_writes_is_success() {
    let response = lightpush::pb::PushResponse {
        is_success: false,
        ..Default::default()
    };
    assert_eq!(hex(&response), "0800");

    let rpc = lightpush::pb::PushRpc {
        request_id: String::new(),
        request: None,
        response: Some(response),
    };
    // request_id "" (0a 00), then response { is_success: false }.
    assert_eq!(hex(&rpc), "0a001a020800");
}

#[test]
fn lightpush_v2_request_writes_topic_and_message() {
    let request = lightpush::pb::PushRequest::default();
    // pubsub_topic "" and an empty WakuMessage (whose payload and content topic are written).
    assert_eq!(hex(&request), "0a0012040a001200");
}

#[test]
fn store_response_writes_request_id_and_status_even_when_empty() {
    let response = store::pb::StoreQueryResponse {
        status_code: store::status::SUCCESS,
        ..Default::default()
    };
    // 0a 00 request_id "", 50 c8 01 status 200, 5a 00 status_desc "".
    assert_eq!(hex(&response), "0a0050c8015a00");
}

#[test]
fn store_request_and_key_value_write_required_fields() {
    assert_eq!(hex(&store::pb::StoreQueryRequest::default()), "0a00");
    assert_eq!(hex(&store::pb::WakuMessageKeyValue::default()), "0a00");
}

#[test]
fn filter_messages_write_required_fields() {
    assert_eq!(hex(&filter::pb::FilterSubscribeRequest::default()), "0a00");
    // request_id "" and status_code 0.
    assert_eq!(
        hex(&filter::pb::FilterSubscribeResponse::default()),
        "0a005000"
    );
}

#[test]
fn message_push_always_writes_pubsub_topic() {
    let push = filter::pb::MessagePush {
        waku_message: WakuMessage::default(),
        pubsub_topic: String::new(),
    };
    assert_eq!(hex(&push), "0a040a0012001200");
}

#[test]
fn lightpush_v3_writes_required_fields() {
    assert_eq!(
        hex(&lightpush::pb::LightPushRequest::default()),
        "0a00aa01040a001200"
    );
    assert_eq!(
        hex(&lightpush::pb::LightPushResponse::default()),
        "0a005000"
    );
}

#[test]
fn peer_exchange_response_writes_an_empty_query_and_status() {
    let rpc = peer_exchange::pb::PeerExchangeRpc {
        query: Default::default(),
        response: Some(peer_exchange::pb::PeerExchangeResponse {
            peer_infos: vec![],
            status_code: peer_exchange::status::SERVICE_UNAVAILABLE,
            status_desc: None,
        }),
    };
    // 0a 00 empty query, 12 03 response { 50 f7 03 status 503 }.
    assert_eq!(hex(&rpc), "0a00120350f703");
}

#[test]
fn peer_exchange_missing_status_is_read_like_nwaku() {
    let mut response = peer_exchange::pb::PeerExchangeResponse::default();
    assert_eq!(
        response.effective_status(),
        peer_exchange::status::SERVICE_UNAVAILABLE
    );
    response.peer_infos.push(Default::default());
    assert_eq!(response.effective_status(), peer_exchange::status::SUCCESS);
    response.status_code = peer_exchange::status::TOO_MANY_REQUESTS;
    assert_eq!(
        response.effective_status(),
        peer_exchange::status::TOO_MANY_REQUESTS
    );
}

#[test]
fn absent_fields_decode_leniently() {
    // Decoding does not enforce `required`: an empty body is a valid message of every type.
    let empty: &[u8] = &[];
    assert!(store::pb::StoreQueryResponse::decode(empty).is_ok());
    assert!(filter::pb::MessagePush::decode(empty).is_ok());
    assert!(lightpush::pb::PushRpc::decode(empty).is_ok());
    assert!(peer_exchange::pb::PeerExchangeRpc::decode(empty).is_ok());
    let request = filter::pb::FilterSubscribeRequest::decode(empty).expect("decodes");
    assert_eq!(
        request.filter_subscribe_type(),
        filter::pb::FilterSubscribeType::SubscriberPing
    );
}
