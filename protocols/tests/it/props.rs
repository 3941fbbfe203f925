//! Property tests: no decoder panics on random, truncated or mutated input, and the messages we
//! build survive encode → decode unchanged.

use bytes::Bytes;
use futures::executor::block_on;
use futures::io::Cursor;
use proptest::prelude::*;
use prost::Message;
use rwaku_core::WakuMessage;
use rwaku_protocols::framing::{FrameError, decode_varint, encode_frame, read_frame};
use rwaku_protocols::{filter, lightpush, metadata, peer_exchange, store};

/// Runs the prost decoder of every protobuf type on `bytes`; only a panic can fail this.
fn decode_everything(bytes: &[u8]) {
    macro_rules! try_all {
        ($($ty:ty),* $(,)?) => {
            $( let _ = <$ty>::decode(Bytes::copy_from_slice(bytes)); )*
        };
    }
    try_all!(
        WakuMessage,
        store::pb::WakuMessageKeyValue,
        store::pb::StoreQueryRequest,
        store::pb::StoreQueryResponse,
        filter::pb::FilterSubscribeRequest,
        filter::pb::FilterSubscribeResponse,
        filter::pb::MessagePush,
        lightpush::pb::LightPushRequest,
        lightpush::pb::LightPushResponse,
        lightpush::pb::PushRequest,
        lightpush::pb::PushResponse,
        lightpush::pb::PushRpc,
        peer_exchange::pb::PeerInfo,
        peer_exchange::pb::PeerExchangeQuery,
        peer_exchange::pb::PeerExchangeResponse,
        peer_exchange::pb::PeerExchangeRpc,
        metadata::pb::WakuMetadataRequest,
        metadata::pb::WakuMetadataResponse,
    );
    let _ = metadata::decode(bytes);
    let _ = decode_varint(bytes);
}

/// Reads frames from `bytes` until the stream ends or a frame is refused.
fn read_frames(bytes: &[u8], max_len: usize) -> (Vec<Bytes>, FrameError) {
    let mut io = Cursor::new(bytes.to_vec());
    let mut frames = Vec::new();
    loop {
        match block_on(read_frame(&mut io, max_len)) {
            Ok(frame) => frames.push(frame),
            Err(err) => return (frames, err),
        }
    }
}

/// Valid bodies to truncate and mutate: a store response with a full message, a filter push
/// and a PX response.
fn valid_bodies() -> Vec<Vec<u8>> {
    let message = WakuMessage {
        payload: Bytes::from_static(b"hello waku"),
        content_topic: "/app/1/chat/proto".into(),
        version: Some(0),
        timestamp: Some(1_700_000_000_000_000_000),
        meta: Some(Bytes::from_static(&[1, 2, 3])),
        rate_limit_proof: None,
        ephemeral: Some(false),
    };
    let store_response = store::pb::StoreQueryResponse {
        request_id: "r".into(),
        status_code: 200,
        status_desc: "OK".into(),
        messages: vec![store::pb::WakuMessageKeyValue {
            message_hash: Bytes::from_static(&[7; 32]),
            message: Some(message.clone()),
            pubsub_topic: Some("/waku/2/rs/1/0".into()),
        }],
        pagination_cursor: Some(Bytes::from_static(&[7; 32])),
    };
    let push = filter::pb::MessagePush {
        waku_message: message,
        pubsub_topic: "/waku/2/rs/16/32".into(),
    };
    let px = peer_exchange::pb::PeerExchangeRpc {
        query: Default::default(),
        response: Some(peer_exchange::pb::PeerExchangeResponse {
            peer_infos: vec![peer_exchange::pb::PeerInfo {
                enr: Some(Bytes::from_static(&[0xf8; 40])),
            }],
            status_code: 200,
            status_desc: Some("OK".into()),
        }),
    };
    vec![
        store_response.encode_to_vec(),
        push.encode_to_vec(),
        px.encode_to_vec(),
        metadata::encode(16, &[32, 64, 1023]).to_vec(),
    ]
}

fn opt_bytes() -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from))
}

fn store_request() -> impl Strategy<Value = store::pb::StoreQueryRequest> {
    (
        (
            ".{0,40}",
            proptest::option::of(any::<bool>()),
            proptest::option::of(".{0,30}"),
            proptest::collection::vec(".{0,30}", 0..12),
        ),
        (
            proptest::option::of(any::<i64>()),
            proptest::option::of(any::<i64>()),
            proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 32).prop_map(Bytes::from),
                0..5,
            ),
            opt_bytes(),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<u64>()),
        ),
    )
        .prop_map(
            |(
                (request_id, include_data, pubsub_topic, content_topics),
                (time_start, time_end, message_hashes, pagination_cursor, forward, limit),
            )| store::pb::StoreQueryRequest {
                request_id,
                include_data,
                pubsub_topic,
                content_topics,
                time_start,
                time_end,
                message_hashes,
                pagination_cursor,
                pagination_forward: forward,
                pagination_limit: limit,
            },
        )
}

fn filter_request() -> impl Strategy<Value = filter::pb::FilterSubscribeRequest> {
    (
        ".{0,40}",
        proptest::option::of(prop_oneof![0..4i32, any::<i32>()]),
        proptest::option::of(".{0,30}"),
        proptest::collection::vec(".{0,30}", 0..12),
    )
        .prop_map(
            |(request_id, filter_subscribe_type, pubsub_topic, content_topics)| {
                filter::pb::FilterSubscribeRequest {
                    request_id,
                    filter_subscribe_type,
                    pubsub_topic,
                    content_topics,
                }
            },
        )
}

proptest! {
    #[test]
    fn random_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        decode_everything(&bytes);
        let _ = read_frames(&bytes, 1024);
    }

    #[test]
    fn truncated_valid_frames_are_refused_cleanly(which in 0usize..4, cut in any::<prop::sample::Index>()) {
        let body = &valid_bodies()[which];
        let frame = encode_frame(body);
        let cut = cut.index(frame.len());
        let (frames, err) = read_frames(&frame[..cut], 1 << 20);
        prop_assert!(frames.is_empty());
        if cut == 0 {
            prop_assert!(matches!(err, FrameError::Eof), "{:?}", err);
        } else {
            prop_assert!(matches!(err, FrameError::Truncated { .. }), "{:?}", err);
        }
        // The decoders must not panic on a cut body either.
        decode_everything(&body[..cut.min(body.len())]);
    }

    #[test]
    fn mutated_valid_bodies_never_panic(which in 0usize..4, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut body = valid_bodies()[which].clone();
        let at = at.index(body.len());
        body[at] = byte;
        decode_everything(&body);
    }

    #[test]
    fn store_request_round_trips(request in store_request()) {
        let encoded = request.encode_to_vec();
        let back: store::pb::StoreQueryRequest = rwaku_protocols::decode(Bytes::from(encoded.clone()))
            .expect("our own encoding decodes");
        prop_assert_eq!(&back, &request);
        prop_assert_eq!(back.encode_to_vec(), encoded);
    }

    #[test]
    fn filter_request_round_trips(request in filter_request()) {
        let encoded = request.encode_to_vec();
        let back: filter::pb::FilterSubscribeRequest = rwaku_protocols::decode(Bytes::from(encoded.clone()))
            .expect("our own encoding decodes");
        prop_assert_eq!(&back, &request);
        prop_assert_eq!(back.encode_to_vec(), encoded);
    }

    #[test]
    fn metadata_round_trips(cluster in any::<u16>(), shards in proptest::collection::vec(0u16..=1023, 0..100)) {
        let encoded = metadata::encode(cluster, &shards);
        let back = metadata::decode(&encoded).expect("our own encoding decodes");
        prop_assert_eq!(back.cluster_id, Some(cluster));
        prop_assert_eq!(&back.shards, &shards);

        // A reader that knows only field 2 (js-waku) sees the same shards.
        let mut field_2_only = metadata::pb::WakuMetadataResponse::decode(&encoded[..])
            .expect("decodes");
        field_2_only.shards_packed.clear();
        let back = metadata::decode(&field_2_only.encode_to_vec()).expect("decodes");
        prop_assert_eq!(&back.shards, &shards);
    }

    #[test]
    fn frames_round_trip(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..6)) {
        let stream: Vec<u8> = bodies.iter().flat_map(|body| encode_frame(body)).collect();
        let (frames, end) = read_frames(&stream, 300);
        prop_assert!(matches!(end, FrameError::Eof), "{:?}", end);
        let frames: Vec<Vec<u8>> = frames.into_iter().map(|frame| frame.to_vec()).collect();
        prop_assert_eq!(frames, bodies);
    }
}
