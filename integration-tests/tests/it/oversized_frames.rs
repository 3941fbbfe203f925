//! A request frame over its protocol's size limit resets only that stream and is counted;
//! the connection and the node keep serving.

use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use rwaku_actors::{libp2p::StreamProtocol, stream_server};
use rwaku_core::NodeConfig;
use rwaku_integration_tests::{eventually, free_port, in_process, process::NodeProcess, rest};
use rwaku_protocols::{framing, metadata};

#[test]
fn oversized_metadata_frame_resets_only_its_stream() -> anyhow::Result<()> {
    in_process::run(async {
        let metrics_port = free_port();
        let node = NodeProcess::start(
            "node",
            &[
                "--rest-admin".into(),
                "--metrics-server".into(),
                format!("--metrics-server-port={metrics_port}"),
            ],
        )
        .await?;
        let node_addr = node.tcp_multiaddr().await?;
        let node_id: rwaku_actors::libp2p::PeerId = NodeProcess::peer_id_of(&node_addr)
            .unwrap_or_default()
            .parse()?;

        // A harness node of the same cluster (it serves metadata, so it is kept).
        let config = NodeConfig {
            relay: false,
            staticnode: vec![node_addr.clone()],
            ..Default::default()
        };
        let (client, _dir) = in_process::start_tcp(config, Vec::new()).await?;
        let client_id = client.network.local_peer_id().to_string();
        let base = node.rest_base();
        eventually(Duration::from_secs(20), "the harness connected", || {
            let base = base.clone();
            let id = client_id.clone();
            async move { (rest::peer(&base, &id).await?["connected"] == "Connected").then_some(()) }
        })
        .await?;

        let protocol = StreamProtocol::new(metadata::PROTOCOL_ID);
        let mut control = client.network.stream_control();
        let mut stream = control.open_stream(node_id, protocol.clone()).await?;
        let mut frame = framing::encode_frame(&vec![0u8; metadata::MAX_REQUEST_SIZE + 1]);
        frame.truncate(64);
        stream.write_all(&frame).await?;
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await?;
        assert!(
            read.is_err() || answer.is_empty(),
            "an oversized request got an answer: {answer:?}"
        );

        // The same connection still serves a well-formed request.
        let body = stream_server::request(
            &mut control,
            node_id,
            protocol,
            &metadata::encode(0, &[]),
            metadata::MAX_RESPONSE_SIZE,
            Duration::from_secs(10),
        )
        .await?;
        let reply = metadata::decode(&body)?;
        assert_eq!((reply.cluster_id, reply.shards), (Some(0), vec![0]));

        let url = format!("http://127.0.0.1:{metrics_port}/metrics");
        let (_, text) = rest::get_text(&url).await?;
        let counted = text.lines().any(|l| {
            l.starts_with("rwaku_stream_requests_refused_total")
                && l.contains(metadata::PROTOCOL_ID)
                && l.contains("too_large")
                && l.trim_end().ends_with(" 1")
        });
        assert!(counted, "no too_large refusal counted:\n{text}");
        assert_eq!(
            rest::peer(&base, &client_id)
                .await
                .map(|p| p["connected"].clone()),
            Some("Connected".into())
        );
        client.shutdown().await;
        Ok(())
    })
}
