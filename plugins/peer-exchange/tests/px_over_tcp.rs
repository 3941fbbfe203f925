//! Peer exchange between real nodes over loopback TCP: a responder seeded with two nodes'
//! ENRs hands them out; the records verify, decode to addresses that dial those very nodes
//! and carry their shards; bad queries get nwaku's codes; a node started with
//! `peer-exchange-node` ends up connected to the peers it was told about.

use std::time::Duration;

use prost::Message;
use rwaku_actors::{
    NodePlugin, Supervisor,
    libp2p::{Multiaddr, PeerId, StreamProtocol},
    runtime::run_in_system,
    stream_server,
    supervisor::RunningNode,
};
use rwaku_core::NodeConfig;
use rwaku_plugin_peer_exchange::{PeerExchangePlugin, enr_peer, request_peers};
use rwaku_protocols::{
    enr,
    peer_exchange::{self, pb, status},
};

async fn start(
    mut config: NodeConfig,
    plugins: Vec<NodePlugin>,
) -> anyhow::Result<(RunningNode, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    config.data_dir = dir.path().to_path_buf();
    config.listen_address = [127, 0, 0, 1].into();
    config.tcp_port = 0;
    config.rest = false;
    config.cluster_id = 1;
    config.shard = vec![0];
    config.num_shards_in_network = 8;
    Ok((Supervisor::new(config, plugins).start().await?, dir))
}

fn relay() -> NodePlugin {
    Box::new(rwaku_plugin_relay::RelayPlugin)
}

fn tcp_address(node: &RunningNode) -> anyhow::Result<Multiaddr> {
    node.info
        .listen_addresses
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no listen address"))
}

async fn connected(node: &RunningNode, peer: PeerId) -> bool {
    node.network
        .peers()
        .await
        .iter()
        .any(|p| p.peer_id == peer && p.connected)
}

async fn raw_query(
    node: &RunningNode,
    to: PeerId,
    body: &[u8],
) -> anyhow::Result<pb::PeerExchangeResponse> {
    let mut control = node.network.stream_control();
    let answer = stream_server::request(
        &mut control,
        to,
        StreamProtocol::new(peer_exchange::PROTOCOL_ID),
        body,
        peer_exchange::MAX_RESPONSE_SIZE,
        Duration::from_secs(5),
    )
    .await?;
    pb::PeerExchangeRpc::decode(answer)?
        .response
        .ok_or_else(|| anyhow::anyhow!("no response part"))
}

#[test]
fn responder_hands_out_dialable_records_with_shards() -> anyhow::Result<()> {
    run_in_system(Some(2), async {
        let (b, _db) = start(NodeConfig::default(), vec![relay()]).await?;
        let (c, _dc) = start(NodeConfig::default(), vec![relay()]).await?;
        let seeds: Vec<String> = [&b, &c]
            .iter()
            .map(|n| n.enr.as_ref().map(|e| e.text.to_string()))
            .collect::<Option<_>>()
            .ok_or_else(|| anyhow::anyhow!("a node without ENR"))?;
        let (a, _da) = start(
            NodeConfig {
                discv5_bootstrap_node: seeds,
                ..Default::default()
            },
            vec![relay(), Box::new(PeerExchangePlugin)],
        )
        .await?;
        let (d, _dd) = start(NodeConfig::default(), vec![relay()]).await?;
        d.network
            .dial(tcp_address(&a)?)
            .await
            .map_err(anyhow::Error::msg)?;

        let mut control = d.network.stream_control();
        let records =
            request_peers(&mut control, a.info.peer_id, 5, Duration::from_secs(5)).await?;
        assert_eq!(records.len(), 2, "both seeded records come back");
        let mut learned = Vec::new();
        for record in &records {
            let peer = enr_peer::peer_id(record)?;
            let shards = enr::relay_shards(record)?.ok_or_else(|| anyhow::anyhow!("no rs"))?;
            assert_eq!((shards.cluster(), shards.shards()), (1, &[0u16][..]));
            let addresses = enr_peer::dial_addresses(record)?;
            let first = addresses
                .first()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no address"))?;
            d.network.dial(first).await.map_err(anyhow::Error::msg)?;
            learned.push(peer);
        }
        learned.sort();
        let mut expected = vec![b.info.peer_id, c.info.peer_id];
        expected.sort();
        assert_eq!(learned, expected);
        for peer in expected {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while !connected(&d, peer).await {
                anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "never connected to {peer}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }

        // nwaku's codes for bad queries; the node keeps answering afterwards.
        let zero = pb::PeerExchangeRpc {
            query: pb::PeerExchangeQuery { num_peers: Some(0) },
            response: None,
        };
        let answer = raw_query(&d, a.info.peer_id, &zero.encode_to_vec()).await?;
        assert_eq!(answer.status_code, status::BAD_REQUEST);
        let answer = raw_query(&d, a.info.peer_id, &[0xff, 0xff, 0xff]).await?;
        assert_eq!(answer.status_code, status::BAD_REQUEST);
        let records =
            request_peers(&mut control, a.info.peer_id, 1, Duration::from_secs(5)).await?;
        assert_eq!(records.len(), 1, "num_peers bounds the answer");

        for node in [a, b, c, d] {
            node.shutdown().await;
        }
        Ok(())
    })?
}

#[test]
fn an_empty_cache_answers_service_unavailable_and_the_client_learns_peers() -> anyhow::Result<()> {
    run_in_system(Some(2), async {
        let (empty, _de) = start(
            NodeConfig::default(),
            vec![relay(), Box::new(PeerExchangePlugin)],
        )
        .await?;
        let (b, _db) = start(NodeConfig::default(), vec![relay()]).await?;
        let seed = b
            .enr
            .as_ref()
            .map(|e| e.text.to_string())
            .ok_or_else(|| anyhow::anyhow!("no ENR"))?;
        let (a, _da) = start(
            NodeConfig {
                discv5_bootstrap_node: vec![seed],
                ..Default::default()
            },
            vec![relay(), Box::new(PeerExchangePlugin)],
        )
        .await?;
        let (probe, _dp) = start(NodeConfig::default(), vec![relay()]).await?;
        probe
            .network
            .dial(tcp_address(&empty)?)
            .await
            .map_err(anyhow::Error::msg)?;
        let mut control = probe.network.stream_control();
        let err = request_peers(&mut control, empty.info.peer_id, 5, Duration::from_secs(5))
            .await
            .expect_err("nothing to hand out");
        assert!(err.to_string().contains("503"), "{err}");

        // A light node told only about A ends up connected to B, whom A knows.
        let a_address = format!("{}/p2p/{}", tcp_address(&a)?, a.info.peer_id);
        let (light, _dl) = start(
            NodeConfig {
                relay: false,
                peer_exchange: false,
                peer_exchange_node: Some(a_address),
                ..Default::default()
            },
            vec![Box::new(PeerExchangePlugin)],
        )
        .await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !connected(&light, b.info.peer_id).await {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the light node never reached B"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for node in [empty, b, a, probe, light] {
            node.shutdown().await;
        }
        Ok(())
    })?
}
