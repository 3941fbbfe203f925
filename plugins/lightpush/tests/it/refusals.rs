//! What a service node refuses, and how: 421 for a shard it does not relay, 413 for a message
//! over the size limit, 400 for a request that does not decode, a reset for a frame over the
//! framing limit (and the next client is still served), 429 past the rate limit.

use std::time::Duration;

use bytes::Bytes;
use futures::{AsyncReadExt, AsyncWriteExt};
use rwaku_actors::{libp2p::StreamProtocol, stream_server};
use rwaku_core::{MAX_WAKU_MESSAGE_SIZE, PubsubTopic};
use rwaku_protocols::{
    UNKNOWN_REQUEST_ID, framing,
    lightpush::{self, pb::LightPushResponse},
};

use crate::harness::{Setup, config, message, run, shard, start};

async fn raw_v3(setup: &Setup, body: &[u8]) -> anyhow::Result<LightPushResponse> {
    let mut control = setup.client.node.network.stream_control();
    let answer = stream_server::request(
        &mut control,
        setup.service.peer_id,
        StreamProtocol::new(lightpush::PROTOCOL_ID),
        body,
        lightpush::MAX_RESPONSE_SIZE,
        Duration::from_secs(10),
    )
    .await?;
    Ok(prost::Message::decode(answer.as_ref())?)
}

#[test]
fn unsupported_topics_oversized_and_malformed_requests() -> anyhow::Result<()> {
    run(async {
        let setup = Setup::start(&[0], true, |_| {}).await?;
        let client = setup.client.client();
        let service = setup.service.peer_id;

        // A shard of this cluster the node does not relay, and a shard of another cluster.
        for topic in [shard(7), PubsubTopic::static_shard(1, 0)] {
            let reply = client.push(service, Some(&topic), message("x")).await?;
            assert_eq!(reply.status_code, 421, "{topic}: {reply:?}");
        }
        // Static sharding and no topic: nwaku's 420.
        let reply = client.push(service, None, message("x")).await?;
        assert_eq!(reply.status_code, 420, "{reply:?}");

        // Within the request frame limit, over the message limit.
        let big = rwaku_core::WakuMessage {
            payload: Bytes::from(vec![7u8; MAX_WAKU_MESSAGE_SIZE]),
            ..message("")
        };
        assert!(prost::Message::encoded_len(&big) + 100 < lightpush::MAX_REQUEST_SIZE);
        let reply = client.push(service, Some(&shard(0)), big.clone()).await?;
        assert_eq!(reply.status_code, 413, "{reply:?}");
        let legacy = client.push_legacy(service, &shard(0), big).await?;
        assert!(!legacy.is_success);

        // Not a protobuf.
        let answer = raw_v3(&setup, &[0xff, 0xff, 0xff, 0xff]).await?;
        assert_eq!(answer.status_code, 400, "{answer:?}");
        assert_eq!(answer.request_id, UNKNOWN_REQUEST_ID);

        let relay = setup.relay.as_ref().map(|r| r.accepted.payloads().len());
        assert_eq!(relay, Some(0), "nothing refused was relayed");
        setup.shutdown().await;
        Ok(())
    })
}

#[test]
fn an_oversized_frame_resets_its_stream_and_the_next_client_is_served() -> anyhow::Result<()> {
    run(async {
        let setup = Setup::start(&[0], true, |_| {}).await?;
        let service = setup.service.peer_id;

        let mut control = setup.client.node.network.stream_control();
        let mut stream = control
            .open_stream(service, StreamProtocol::new(lightpush::PROTOCOL_ID))
            .await?;
        let mut frame = framing::encode_frame(&vec![0u8; lightpush::MAX_REQUEST_SIZE + 1]);
        frame.truncate(64);
        stream.write_all(&frame).await?;
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await?;
        assert!(
            read.is_err() || answer.is_empty(),
            "an oversized request got an answer: {answer:?}"
        );

        // Another client, and the same one, are still served.
        let other = start(config(&[]), Vec::new()).await?;
        other.link_to(&setup.service).await?;
        let reply = other
            .client()
            .push(service, Some(&shard(0)), message("after reset"))
            .await?;
        assert_eq!(reply.status_code, 200, "{reply:?}");
        let reply = setup
            .client
            .client()
            .push(service, Some(&shard(0)), message("same client"))
            .await?;
        assert_eq!(reply.status_code, 200, "{reply:?}");

        other.shutdown().await;
        setup.shutdown().await;
        Ok(())
    })
}

#[test]
fn the_third_request_within_the_limit_gets_429() -> anyhow::Result<()> {
    run(async {
        let setup = Setup::start(&[0], true, |c| {
            c.rate_limit = vec!["lightpush:2/1m".into()];
        })
        .await?;
        let client = setup.client.client();
        let service = setup.service.peer_id;
        let mut codes = Vec::new();
        for i in 0..3 {
            let reply = client
                .push(service, Some(&shard(0)), message(&format!("limited {i}")))
                .await?;
            codes.push((reply.status_code, reply.request_id == UNKNOWN_REQUEST_ID));
        }
        assert_eq!(codes, vec![(200, false), (200, false), (429, true)]);
        // The legacy protocol shares the budget.
        let legacy = client
            .push_legacy(service, &shard(0), message("limited v2"))
            .await?;
        assert!(!legacy.is_success);
        assert_eq!(legacy.request_id, UNKNOWN_REQUEST_ID);
        assert_eq!(legacy.info.as_deref(), Some("TOO_MANY_REQUESTS"));
        setup.shutdown().await;
        Ok(())
    })
}
