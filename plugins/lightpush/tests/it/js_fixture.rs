//! The lightpush v3 exchange recorded from js-waku 0.0.36: the request decodes as js-waku
//! wrote it, our success answer has the recorded shape byte for byte, and a node with no
//! relay peer answers 505 (NO_PEERS_TO_RELAY) as nwaku does.

use prost::Message;
use rwaku_core::{NodeConfig, PubsubTopic, time::now_ns};
use rwaku_protocols::lightpush::pb::{LightPushRequest, LightPushResponse};

use crate::harness::{config, run, start};

const REQUEST: &str = "0a2438306332383234322d353530352d343163312d616337312d303735633136356435356561a2010e2f77616b752f322f72732f312f30aa015a0a346a732d77616b752070726f626520323032362d31322d30315430373a35383a35332e3039355a203330383039623561613335643112132f746573742f312f70726f62652f70726f746f18005080d4f0dbae9289ed31f80100";
const RESPONSE: &str =
    "0a2438306332383234322d353530352d343163312d616337312d30373563313635643535656150c8016000";
const REQUEST_ID: &str = "80c28242-5505-41c1-ac71-075c165d55ea";

fn fixture_request() -> anyhow::Result<LightPushRequest> {
    Ok(LightPushRequest::decode(hex::decode(REQUEST)?.as_slice())?)
}

#[test]
fn the_js_request_decodes_and_re_encodes_identically() -> anyhow::Result<()> {
    let request = fixture_request()?;
    assert_eq!(request.request_id, REQUEST_ID);
    assert_eq!(request.pubsub_topic.as_deref(), Some("/waku/2/rs/1/0"));
    let m = &request.message;
    assert_eq!(m.content_topic, "/test/1/probe/proto");
    assert!(
        m.payload
            .starts_with(b"js-waku probe 2026-12-01T07:58:53.095Z")
    );
    assert_eq!(m.version, Some(0));
    assert_eq!(m.ephemeral, Some(false));
    assert_eq!(m.timestamp, Some(1_796_111_933_108_000_000));
    assert_eq!(hex::encode(request.encode_to_vec()), REQUEST);
    Ok(())
}

#[test]
fn our_success_answer_has_the_recorded_shape() -> anyhow::Result<()> {
    let recorded = LightPushResponse::decode(hex::decode(RESPONSE)?.as_slice())?;
    assert_eq!(
        (recorded.status_code, recorded.relay_peer_count),
        (200, Some(0))
    );
    let ours = LightPushResponse {
        request_id: REQUEST_ID.into(),
        status_code: 200,
        status_desc: None,
        relay_peer_count: Some(0),
    };
    assert_eq!(hex::encode(ours.encode_to_vec()), RESPONSE);
    Ok(())
}

#[test]
fn a_node_without_relay_peers_answers_the_js_request_with_505() -> anyhow::Result<()> {
    run(async {
        // js-waku's default network: cluster 1, autosharding over 8 shards; relay shard 0.
        let service_config = NodeConfig {
            cluster_id: 1,
            num_shards_in_network: 8,
            shard: vec![0],
            lightpush: true,
            ..config(&[0])
        };
        let service = start(service_config, Vec::new()).await?;
        let client_config = NodeConfig {
            cluster_id: 1,
            ..config(&[])
        };
        let client = start(client_config, Vec::new()).await?;
        client.link_to(&service).await?;

        // The recorded message, stamped now so no timestamp rule can interfere.
        let mut request = fixture_request()?;
        request.message.timestamp = Some(now_ns());
        let answer = client.client().send_v3(service.peer_id, &request).await?;
        assert_eq!(answer.request_id, REQUEST_ID);
        assert_eq!(answer.status_code, 505, "{answer:?}");
        assert!(answer.status_desc.is_some());
        assert_eq!(
            service.accepted.payloads().len(),
            0,
            "an unrelayed message is not delivered locally either"
        );

        // Without a topic the content topic's autosharding shard is used: shard 4, which
        // this node does not relay.
        request.pubsub_topic = None;
        let answer = client.client().send_v3(service.peer_id, &request).await?;
        assert_eq!(answer.status_code, 421, "{answer:?}");
        assert!(
            answer
                .status_desc
                .is_some_and(|d| d.contains(&PubsubTopic::static_shard(1, 4).to_string())),
        );

        client.shutdown().await;
        service.shutdown().await;
        Ok(())
    })
}
