//! The wire fixtures of one real js-waku 0.0.36 exchange (reference/js-waku-client.md §9): each
//! must decode to the expected fields and re-encode to the very same bytes.

use bytes::Bytes;
use prost::Message;
use rwaku_core::{MessageHash, WakuMessage};
use rwaku_protocols::{decode, filter, lightpush, metadata, store};

const PUBSUB: &str = "/waku/2/rs/1/0";
const CONTENT: &str = "/test/1/probe/proto";
const PAYLOAD: &[u8] = b"js-waku probe 2026-12-01T07:58:53.095Z 30809b5aa35d1";
const TIMESTAMP: i64 = 1_796_111_933_108_000_000;

/// The WakuMessage js-waku sent by lightpush, as it appears inside the other fixtures.
const MESSAGE_HEX: &str = "0a346a732d77616b752070726f626520323032362d31322d30315430373a35383a35332e3039355a203330383039623561613335643112132f746573742f312f70726f62652f70726f746f18005080d4f0dbae9289ed31f80100";

const METADATA_REQUEST: &str = "0801";
const METADATA_RESPONSE: &str = "08011000";
const FILTER_SUBSCRIBE: &str = "0a2464356134303130392d643866632d346361362d383436612d3735656166643730386334311001520e2f77616b752f322f72732f312f305a132f746573742f312f70726f62652f70726f746f";
const FILTER_RESPONSE: &str =
    "0a2464356134303130392d643866632d346361362d383436612d37356561666437303863343150c8015a024f4b";
const LIGHTPUSH_REQUEST: &str = "0a2438306332383234322d353530352d343163312d616337312d303735633136356435356561a2010e2f77616b752f322f72732f312f30aa015a0a346a732d77616b752070726f626520323032362d31322d30315430373a35383a35332e3039355a203330383039623561613335643112132f746573742f312f70726f62652f70726f746f18005080d4f0dbae9289ed31f80100";
const LIGHTPUSH_RESPONSE: &str =
    "0a2438306332383234322d353530352d343163312d616337312d30373563313635643535656150c8016000";
const FILTER_PUSH: &str = "0a5a0a346a732d77616b752070726f626520323032362d31322d30315430373a35383a35332e3039355a203330383039623561613335643112132f746573742f312f70726f62652f70726f746f18005080d4f0dbae9289ed31f80100120e2f77616b752f322f72732f312f30";
const STORE_REQUEST: &str = "0a2431663463616332642d613365612d343838662d626436302d3535663639636632623535341001520e2f77616b752f322f72732f312f305a132f746573742f312f70726f62652f70726f746f60808083cbef8e89ed316880c4ccefed9589ed31a00301";
const STORE_RESPONSE: &str = "0a2431663463616332642d613365612d343838662d626436302d35356636396366326235353450c8015a024f4ba2018e010a20154352ca52f976fad47851bfae859055f9e24c0675c40993450268ebe676ad0c125a0a346a732d77616b752070726f626520323032362d31322d30315430373a35383a35332e3039355a203330383039623561613335643112132f746573742f312f70726f62652f70726f746f18005080d4f0dbae9289ed31f801001a0e2f77616b752f322f72732f312f30";
const STORE_HASH: &str = "154352ca52f976fad47851bfae859055f9e24c0675c40993450268ebe676ad0c";

fn bytes(hex_text: &str) -> Bytes {
    Bytes::from(hex::decode(hex_text).expect("fixture is valid hex"))
}

/// Decodes `hex_text` as `M` and checks that it re-encodes byte for byte.
fn decode_exact<M: Message + Default>(hex_text: &str) -> M {
    let message: M = decode(bytes(hex_text)).expect("fixture decodes");
    assert_eq!(
        hex::encode(message.encode_to_vec()),
        hex_text,
        "re-encoding differs"
    );
    message
}

fn assert_probe_message(message: &WakuMessage) {
    assert_eq!(&message.payload[..], PAYLOAD);
    assert_eq!(message.content_topic, CONTENT);
    assert_eq!(message.version, Some(0));
    assert_eq!(message.timestamp, Some(TIMESTAMP));
    assert_eq!(message.ephemeral, Some(false));
    assert_eq!(message.meta, None);
    assert_eq!(message.rate_limit_proof, None);
}

#[test]
fn waku_message_inside_the_fixtures() {
    let message: WakuMessage = decode_exact(MESSAGE_HEX);
    assert_probe_message(&message);
}

#[test]
fn metadata_request() {
    let request: metadata::pb::WakuMetadataRequest = decode_exact(METADATA_REQUEST);
    assert_eq!(request.cluster_id, Some(1));
    assert!(request.shards.is_empty() && request.shards_packed.is_empty());

    let parsed = metadata::decode(&bytes(METADATA_REQUEST)).expect("decodes");
    assert_eq!(parsed.cluster_id, Some(1));
    assert!(parsed.shards.is_empty());
}

#[test]
fn metadata_response() {
    let response: metadata::pb::WakuMetadataResponse = decode_exact(METADATA_RESPONSE);
    assert_eq!(response.cluster_id, Some(1));
    assert_eq!(response.shards, vec![0]);

    let parsed = metadata::decode(&bytes(METADATA_RESPONSE)).expect("decodes");
    assert_eq!(parsed.cluster_id, Some(1));
    assert_eq!(parsed.shards, vec![0]);

    // Our own answer for the same content is nwaku's form: field 2 unpacked plus field 3.
    assert_eq!(
        &metadata::encode(1, &[0])[..],
        &[0x08, 0x01, 0x10, 0x00, 0x1a, 0x01, 0x00]
    );
}

#[test]
fn filter_subscribe_request() {
    let request: filter::pb::FilterSubscribeRequest = decode_exact(FILTER_SUBSCRIBE);
    assert_eq!(request.request_id, "d5a40109-d8fc-4ca6-846a-75eafd708c41");
    assert_eq!(
        request.filter_subscribe_type(),
        filter::pb::FilterSubscribeType::Subscribe
    );
    assert_eq!(request.pubsub_topic.as_deref(), Some(PUBSUB));
    assert_eq!(request.content_topics, vec![CONTENT.to_string()]);
}

#[test]
fn filter_subscribe_response() {
    let response: filter::pb::FilterSubscribeResponse = decode_exact(FILTER_RESPONSE);
    assert_eq!(response.request_id, "d5a40109-d8fc-4ca6-846a-75eafd708c41");
    assert_eq!(response.status_code, filter::status::SUCCESS);
    assert_eq!(response.status_desc.as_deref(), Some("OK"));
}

#[test]
fn filter_push() {
    let push: filter::pb::MessagePush = decode_exact(FILTER_PUSH);
    assert_eq!(push.pubsub_topic, PUBSUB);
    assert_probe_message(&push.waku_message);
}

#[test]
fn lightpush_v3_request() {
    let request: lightpush::pb::LightPushRequest = decode_exact(LIGHTPUSH_REQUEST);
    assert_eq!(request.request_id, "80c28242-5505-41c1-ac71-075c165d55ea");
    assert_eq!(request.pubsub_topic.as_deref(), Some(PUBSUB));
    assert_probe_message(&request.message);
}

#[test]
fn lightpush_v3_response() {
    let response: lightpush::pb::LightPushResponse = decode_exact(LIGHTPUSH_RESPONSE);
    assert_eq!(response.request_id, "80c28242-5505-41c1-ac71-075c165d55ea");
    assert_eq!(response.status_code, lightpush::status::SUCCESS);
    assert_eq!(response.status_desc, None);
    assert_eq!(response.relay_peer_count, Some(0));
}

#[test]
fn store_request() {
    let request: store::pb::StoreQueryRequest = decode_exact(STORE_REQUEST);
    assert_eq!(request.request_id, "1f4cac2d-a3ea-488f-bd60-55f69cf2b554");
    assert_eq!(request.include_data, Some(true));
    assert_eq!(request.pubsub_topic.as_deref(), Some(PUBSUB));
    assert_eq!(request.content_topics, vec![CONTENT.to_string()]);
    // js computes these in floating point, hence the odd low digits.
    assert_eq!(request.time_start, Some(1_796_111_873_095_000_064));
    assert_eq!(request.time_end, Some(1_796_111_993_124_000_000));
    assert!(request.message_hashes.is_empty());
    assert_eq!(request.pagination_cursor, None);
    assert_eq!(request.pagination_forward, Some(true));
    assert_eq!(request.pagination_limit, None);
}

#[test]
fn store_response_and_its_message_hash() {
    let response: store::pb::StoreQueryResponse = decode_exact(STORE_RESPONSE);
    assert_eq!(response.request_id, "1f4cac2d-a3ea-488f-bd60-55f69cf2b554");
    assert_eq!(response.status_code, store::status::SUCCESS);
    assert_eq!(response.status_desc, "OK");
    assert_eq!(response.pagination_cursor, None);
    assert_eq!(response.messages.len(), 1);

    let entry = &response.messages[0];
    assert_eq!(hex::encode(&entry.message_hash), STORE_HASH);
    assert_eq!(entry.pubsub_topic.as_deref(), Some(PUBSUB));
    let message = entry.message.as_ref().expect("include_data was true");
    assert_probe_message(message);

    let hash = MessageHash::compute(PUBSUB, message);
    assert_eq!(&hash.0[..], &entry.message_hash[..]);
}

#[test]
fn decoding_from_bytes_does_not_copy_payloads() {
    let frame = bytes(STORE_RESPONSE);
    let response: store::pb::StoreQueryResponse = decode(frame.clone()).expect("decodes");
    let payload = &response.messages[0]
        .message
        .as_ref()
        .expect("has message")
        .payload;
    let range = frame.as_ptr_range();
    assert!(range.contains(&payload.as_ptr()), "payload was copied");
}
