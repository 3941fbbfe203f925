//! Two (and three) node processes over loopback TCP: static nodes connect, see each other's
//! protocols through identify, exchange metadata; a node of another cluster is dropped.

use std::time::Duration;

use rwaku_integration_tests::{eventually, free_port, process::NodeProcess, rest};

const EXPECTED_PROTOCOLS: [&str; 4] = [
    "/vac/waku/metadata/1.0.0",
    "/vac/waku/relay/2.0.0",
    "/ipfs/id/1.0.0",
    "/ipfs/ping/1.0.0",
];

async fn wait_for_identified_peer(
    observer: &NodeProcess,
    peer_id: &str,
) -> anyhow::Result<serde_json::Value> {
    let base = observer.rest_base();
    eventually(
        Duration::from_secs(20),
        "an identified peer with metadata",
        || {
            let base = base.clone();
            async move {
                let entry = rest::peer(&base, peer_id).await?;
                let protocols: Vec<&str> = entry["protocols"]
                    .as_array()?
                    .iter()
                    .filter_map(|p| p.as_str())
                    .collect();
                let identified = EXPECTED_PROTOCOLS.iter().all(|p| protocols.contains(p));
                let metadata = entry["cluster"].as_u64() == Some(0)
                    && entry["shards"] == serde_json::json!([0]);
                (entry["connected"] == "Connected" && identified && metadata)
                    .then_some(entry.clone())
            }
        },
    )
    .await
}

#[tokio::test]
async fn static_nodes_connect_identify_and_exchange_metadata() -> anyhow::Result<()> {
    let a = NodeProcess::start("a", &["--rest-admin".into()]).await?;
    let a_addr = a.tcp_multiaddr().await?;
    let b = NodeProcess::start(
        "b",
        &["--rest-admin".into(), format!("--staticnode={a_addr}")],
    )
    .await?;
    let b_addr = b.tcp_multiaddr().await?;
    let a_id = NodeProcess::peer_id_of(&a_addr).unwrap_or_default();
    let b_id = NodeProcess::peer_id_of(&b_addr).unwrap_or_default();

    let a_seen_by_b = wait_for_identified_peer(&b, a_id).await?;
    let b_seen_by_a = wait_for_identified_peer(&a, b_id).await?;
    assert_eq!(a_seen_by_b["origin"], "Static");
    assert_eq!(b_seen_by_a["origin"], "UnknownOrigin");
    Ok(())
}

#[tokio::test]
async fn a_node_of_another_cluster_is_disconnected() -> anyhow::Result<()> {
    let metrics_port = free_port();
    let a = NodeProcess::start(
        "a",
        &[
            "--rest-admin".into(),
            "--metrics-server".into(),
            format!("--metrics-server-port={metrics_port}"),
        ],
    )
    .await?;
    let a_addr = a.tcp_multiaddr().await?;
    let other = NodeProcess::start(
        "other-cluster",
        &[
            "--rest-admin".into(),
            "--cluster-id=7".into(),
            format!("--staticnode={a_addr}"),
        ],
    )
    .await?;
    let other_id = NodeProcess::peer_id_of(&other.tcp_multiaddr().await?)
        .unwrap_or_default()
        .to_string();

    // A refuses it after the metadata exchange, and counts why.
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    eventually(
        Duration::from_secs(20),
        "a cluster_mismatch disconnect on A",
        || {
            let url = metrics_url.clone();
            async move {
                let (_, text) = rest::get_text(&url).await.ok()?;
                text.lines()
                    .any(|l| {
                        l.starts_with("rwaku_metadata_disconnects_total")
                            && l.contains("cluster_mismatch")
                    })
                    .then_some(())
            }
        },
    )
    .await?;
    // And the peer does not stay connected, even though it keeps redialing A.
    let base = a.rest_base();
    let mut connected_samples = 0;
    for _ in 0..10 {
        if let Some(entry) = rest::peer(&base, &other_id).await
            && entry["connected"] == "Connected"
            && entry["cluster"].as_u64().is_some()
        {
            connected_samples += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        connected_samples, 0,
        "a peer of cluster 7 was kept with its metadata recorded"
    );
    Ok(())
}
