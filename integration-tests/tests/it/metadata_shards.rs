//! The metadata protocol reports the shards a node relays now: subscribing and unsubscribing
//! at runtime changes what a peer is told.

use std::time::Duration;

use rwaku_actors::{libp2p::StreamProtocol, stream_server};
use rwaku_integration_tests::{
    eventually,
    mesh::{self, NodeSpec, shard_topic},
};
use rwaku_protocols::metadata;

#[test]
fn metadata_follows_runtime_subscriptions() -> anyhow::Result<()> {
    rwaku_integration_tests::in_process::run(async {
        let nodes = mesh::start_mesh(vec![NodeSpec::new("relay", &[32])]).await?;
        let relay = &nodes[0];
        let (asker, _asker_dir) = mesh::start_light_node().await?;
        asker
            .network
            .dial(relay.address.parse()?)
            .await
            .map_err(anyhow::Error::msg)?;
        let ask = || async {
            let mut control = asker.network.stream_control();
            let answer = stream_server::request(
                &mut control,
                relay.peer_id,
                StreamProtocol::new(metadata::PROTOCOL_ID),
                &metadata::encode(mesh::CLUSTER, &[]),
                metadata::MAX_RESPONSE_SIZE,
                Duration::from_secs(5),
            )
            .await
            .ok()?;
            metadata::decode(&answer).ok().map(|m| m.shards)
        };
        // The first exchange may race the connection set-up, so it is retried like the rest.
        eventually(Duration::from_secs(5), "shard 32 reported", || async {
            (ask().await == Some(vec![32])).then_some(())
        })
        .await?;
        relay.relay.subscribe(shard_topic(64)).await?;
        eventually(Duration::from_secs(5), "shard 64 announced", || async {
            (ask().await == Some(vec![32, 64])).then_some(())
        })
        .await?;
        relay.relay.unsubscribe(shard_topic(32)).await?;
        eventually(Duration::from_secs(5), "shard 32 withdrawn", || async {
            (ask().await == Some(vec![64])).then_some(())
        })
        .await?;
        asker.shutdown().await;
        mesh::shutdown(nodes).await;
        Ok(())
    })
}
