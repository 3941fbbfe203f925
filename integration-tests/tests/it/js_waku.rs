//! The real js-waku client (@waku/sdk 0.0.36 from npm, in integration-tests/js) against a real
//! rwaku service node over TCP and WebSocket: lightpush, filter, store paging and unsubscribe,
//! on a static shard and on an autosharded content topic. A second rwaku process is the
//! service node's relay peer, so lightpush has someone to relay to (nwaku answers 505
//! otherwise). In CI (`CI` set) a missing `npm ci` fails the test; elsewhere it is skipped
//! with a loud message.

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::Context as _;
use rwaku_integration_tests::{eventually, free_port, process::NodeProcess, rest};

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// `Some(reason)` when the js project cannot run here.
fn js_missing() -> Option<String> {
    if !js_dir().join("node_modules/@waku/sdk").exists() {
        return Some("integration-tests/js/node_modules is missing (run `npm ci` there)".into());
    }
    match std::process::Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("node is not on PATH".into()),
    }
}

fn ws_multiaddr(info: &serde_json::Value) -> Option<String> {
    info["listenAddresses"]
        .as_array()?
        .iter()
        .filter_map(|a| a.as_str())
        .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/") && a.contains("/ws/"))
        .map(String::from)
}

#[tokio::test]
async fn js_waku_lightpush_filter_store_over_tcp_and_websocket() -> anyhow::Result<()> {
    if let Some(reason) = js_missing() {
        if std::env::var_os("CI").is_some() {
            anyhow::bail!("js-waku interop must run in CI: {reason}");
        }
        eprintln!("\n*** SKIPPED js-waku interop: {reason} ***\n");
        return Ok(());
    }
    let network = [
        "--cluster-id=1".to_string(),
        "--num-shards-in-network=8".to_string(),
        "--rest-admin".to_string(),
    ];
    let relay_peer = NodeProcess::start("relay-peer", &network).await?;
    let relay_peer_addr = relay_peer.tcp_multiaddr().await?;
    let relay_peer_id = NodeProcess::peer_id_of(&relay_peer_addr)
        .unwrap_or_default()
        .to_string();
    let mut args = network.to_vec();
    args.extend([
        "--store".to_string(),
        "--filter".to_string(),
        "--lightpush".to_string(),
        "--websocket-support".to_string(),
        format!("--websocket-port={}", free_port()),
        format!("--staticnode={relay_peer_addr}"),
    ]);
    let service = NodeProcess::start("service", &args).await?;
    let base = service.rest_base();
    eventually(Duration::from_secs(20), "the relay peer connected", || {
        let (base, id) = (base.clone(), relay_peer_id.clone());
        async move {
            let entry = rest::peer(&base, &id).await?;
            (entry["connected"] == "Connected").then_some(())
        }
    })
    .await?;
    // Gossipsub subscriptions travel right after the connection; give them a heartbeat.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let info = rest::get_json(&format!("{base}/info")).await?;
    let tcp = service.tcp_multiaddr().await?;
    let ws = ws_multiaddr(&info).context("no loopback WebSocket address in /info")?;
    let child = tokio::process::Command::new("node")
        .args([
            "--import",
            "./polyfill.mjs",
            "--test",
            "--test-concurrency=1",
            "test/",
        ])
        .current_dir(js_dir())
        .env("RWAKU_TCP", &tcp)
        .env("RWAKU_WS", &ws)
        .env("RWAKU_REST", &base)
        .env("NODE_ENV", "test")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting node --test")?;
    let output = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .context("js-waku tests did not finish within 180 s")??;
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    let status = output.status;
    println!("{out}");
    eprintln!("{err}");
    anyhow::ensure!(
        status.success(),
        "js-waku tests failed ({status}); service node log:\n{}",
        service.log()
    );
    anyhow::ensure!(
        out.contains("# pass 4") && out.contains("# fail 0"),
        "expected 4 passing js-waku tests:\n{out}"
    );
    Ok(())
}
