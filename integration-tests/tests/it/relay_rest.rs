//! nwaku's relay REST API across three `rwaku` processes in a chain A–B–C on a protected shard
//! of cluster 16: a signed message POSTed to A is read from C's cache; a badly signed one is
//! refused by A with 400 and never reaches C; after B restarts (same data dir, so same peer
//! id and address) delivery from A to C resumes.

use rwaku_core::time::now_ns;
use std::{collections::BTreeSet, time::Duration};

use base64::Engine as _;
use bytes::Bytes;
use rwaku_core::WakuMessage;
use rwaku_integration_tests::restartable::RestartableNode;
use rwaku_plugin_dos_validator::{ShardSigningKey, SignatureScheme};
use serde_json::{Value, json};

const TOPIC: &str = "/waku/2/rs/16/32";
const CONTENT_TOPIC: &str = "/rwaku-test/1/rest/proto";

fn encoded_topic() -> String {
    TOPIC.replace('/', "%2F")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A RelayWakuMessage signed for the protected shard; `corrupt` flips a signature bit.
fn signed_json(key: &ShardSigningKey, text: &str, corrupt: bool) -> anyhow::Result<Value> {
    let mut message = WakuMessage {
        payload: Bytes::from(text.as_bytes().to_vec()),
        content_topic: CONTENT_TOPIC.into(),
        timestamp: Some(now_ns()),
        ..Default::default()
    };
    let mut meta = key.sign(&message, TOPIC)?;
    if corrupt {
        meta[10] ^= 0x01;
    }
    message.meta = Some(Bytes::copy_from_slice(&meta));
    Ok(json!({
        "payload": b64(&message.payload),
        "contentTopic": CONTENT_TOPIC,
        "timestamp": message.timestamp,
        "meta": b64(&meta),
        "ephemeral": false,
    }))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

async fn post_message(node: &RestartableNode, body: &Value) -> anyhow::Result<(u16, String)> {
    let response = client()
        .post(format!(
            "{}/relay/v1/messages/{}",
            node.rest_base(),
            encoded_topic()
        ))
        .json(body)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// Drains C's cache and adds the payloads it held to `seen`.
async fn drain_into(node: &RestartableNode, seen: &mut BTreeSet<String>) -> anyhow::Result<()> {
    let response = client()
        .get(format!(
            "{}/relay/v1/messages/{}",
            node.rest_base(),
            encoded_topic()
        ))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "GET answered {}",
        response.status()
    );
    let messages: Vec<Value> = response.json().await?;
    for m in messages {
        let payload = m["payload"].as_str().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD.decode(payload)?;
        seen.insert(String::from_utf8_lossy(&bytes).into_owned());
        assert_eq!(m["contentTopic"], CONTENT_TOPIC);
    }
    Ok(())
}

/// Publishes `prefix-0`, `prefix-1`, … on A every 500 ms (while A has no relay peer, or the
/// mesh is still forming) until C has one of them; returns how many were tried.
async fn deliver(
    key: &ShardSigningKey,
    a: &RestartableNode,
    c: &RestartableNode,
    prefix: &str,
    seen: &mut BTreeSet<String>,
) -> anyhow::Result<usize> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    for k in 0.. {
        let (status, text) =
            post_message(a, &signed_json(key, &format!("{prefix}-{k}"), false)?).await?;
        anyhow::ensure!(
            status == 200 || status == 503,
            "A answered {status} {text:?} to a valid message"
        );
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drain_into(c, seen).await?;
            if seen.iter().any(|p| p.starts_with(&format!("{prefix}-"))) {
                return Ok(k + 1);
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no {prefix}-* message reached C"
        );
    }
    Ok(0)
}

async fn scenario(nodes: &mut Vec<RestartableNode>, key: &ShardSigningKey) -> anyhow::Result<()> {
    let common = vec![
        "--cluster-id=16".to_string(),
        "--num-shards-in-network=0".into(),
        "--shard=32".into(),
        format!("--protected-shard=32:{}", key.public_key().to_hex()),
    ];
    nodes.push(RestartableNode::start("a", &common).await?);
    let a_addr = nodes[0].tcp_multiaddr().await?;
    let with_static = |addr: &str| {
        let mut args = common.clone();
        args.push(format!("--staticnode={addr}"));
        args
    };
    nodes.push(RestartableNode::start("b", &with_static(&a_addr)).await?);
    let b_addr = nodes[1].tcp_multiaddr().await?;
    nodes.push(RestartableNode::start("c", &with_static(&b_addr)).await?);
    let (a, c) = (&nodes[0], &nodes[2]);

    let mut seen = BTreeSet::new();
    deliver(key, a, c, "first", &mut seen).await?;

    // A badly signed message: A's own validator refuses it, with the reason.
    let (status, text) = post_message(a, &signed_json(key, "corrupted", true)?).await?;
    assert_eq!(status, 400, "{text}");
    assert!(text.to_lowercase().contains("signature"), "{text}");
    // The shard works right after it, and the refused message never shows up on C.
    deliver(key, a, c, "second", &mut seen).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    drain_into(c, &mut seen).await?;
    assert!(!seen.contains("corrupted"), "C got the refused message");

    // B restarts with the same data dir: same peer id and ports, so A and C find it again.
    let b_before = nodes[1].tcp_multiaddr().await?;
    let status = nodes[1].terminate()?;
    assert!(status.success(), "B exited with {status}");
    nodes[1].restart().await?;
    assert_eq!(
        nodes[1].tcp_multiaddr().await?,
        b_before,
        "B came back as another peer"
    );
    let (a, c) = (&nodes[0], &nodes[2]);
    deliver(key, a, c, "after-restart", &mut seen).await?;

    // Publishing to a shard the node does not relay is refused as nwaku does.
    let response = client()
        .post(format!(
            "{}/relay/v1/messages/{}",
            a.rest_base(),
            "%2Fwaku%2F2%2Frs%2F16%2F33"
        ))
        .json(&json!({"payload": b64(b"x"), "contentTopic": CONTENT_TOPIC}))
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await?
            .contains("Node not subscribed to topic")
    );
    Ok(())
}

#[tokio::test]
async fn signed_messages_cross_a_chain_and_bad_ones_stop_at_the_first_node() -> anyhow::Result<()> {
    let key = ShardSigningKey::generate(SignatureScheme::Secp256k1);
    let mut nodes = Vec::new();
    let outcome = scenario(&mut nodes, &key).await;
    if outcome.is_err() {
        for node in &nodes {
            eprintln!("--- log of {} ---\n{}", node.name, node.log());
        }
    }
    outcome
}

#[tokio::test]
async fn subscriptions_and_autosharding_answer_like_nwaku() -> anyhow::Result<()> {
    // Static sharding: the auto routes say autosharding is off.
    let node = RestartableNode::start(
        "static",
        &[
            "--cluster-id=16".into(),
            "--num-shards-in-network=0".into(),
            "--shard=32".into(),
        ],
    )
    .await?;
    let base = node.rest_base();
    let http = client();
    let auto = http
        .post(format!("{base}/relay/v1/auto/subscriptions"))
        .json(&json!(["/app/1/chat/proto"]))
        .send()
        .await?;
    assert_eq!(auto.status(), 400);
    assert_eq!(auto.text().await?, "Autosharding is disabled");

    // Subscriptions by pubsub topic: OK, a bad topic 400, then the cache answers.
    let topic_url = format!("{base}/relay/v1/messages/%2Fwaku%2F2%2Frs%2F16%2F40");
    assert_eq!(http.get(&topic_url).send().await?.status(), 404);
    let ok = http
        .post(format!("{base}/relay/v1/subscriptions"))
        .json(&json!(["/waku/2/rs/16/40"]))
        .send()
        .await?;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await?, "OK");
    let cached: Vec<Value> = http.get(&topic_url).send().await?.json().await?;
    assert!(cached.is_empty());
    let bad = http
        .post(format!("{base}/relay/v1/subscriptions"))
        .json(&json!(["/waku/2/rs/16/x"]))
        .send()
        .await?;
    assert_eq!(bad.status(), 400);
    // Publishing with no relay peer is not a success.
    let lonely = http
        .post(&topic_url)
        .json(&json!({"payload": b64(b"hi"), "contentTopic": CONTENT_TOPIC}))
        .send()
        .await?;
    assert_eq!(lonely.status(), 503, "{}", lonely.text().await?);
    let gone = http
        .delete(format!("{base}/relay/v1/subscriptions"))
        .json(&json!(["/waku/2/rs/16/40"]))
        .send()
        .await?;
    assert_eq!(gone.status(), 200);
    assert_eq!(http.get(&topic_url).send().await?.status(), 404);
    drop(node);

    // Autosharding over 8 shards of cluster 16: /app/1/... maps to one shard.
    let auto_node = RestartableNode::start(
        "auto",
        &["--cluster-id=16".into(), "--num-shards-in-network=8".into()],
    )
    .await?;
    let base = auto_node.rest_base();
    let content_url = format!("{base}/relay/v1/auto/messages/%2Fapp%2F1%2Fchat%2Fproto");
    assert_eq!(http.get(&content_url).send().await?.status(), 404);
    let sub = http
        .post(format!("{base}/relay/v1/auto/subscriptions"))
        .json(&json!(["/app/1/chat/proto"]))
        .send()
        .await?;
    assert_eq!(sub.status(), 200);
    let cached: Vec<Value> = http.get(&content_url).send().await?.json().await?;
    assert!(cached.is_empty());
    let no_topic = http
        .post(format!("{base}/relay/v1/auto/messages"))
        .json(&json!({"payload": b64(b"hi")}))
        .send()
        .await?;
    assert_eq!(no_topic.status(), 400);
    let bad_topic = http
        .post(format!("{base}/relay/v1/auto/subscriptions"))
        .json(&json!(["not-a-content-topic"]))
        .send()
        .await?;
    assert_eq!(bad_topic.status(), 400);
    Ok(())
}
