//! Relay across an in-process network on the memory transport (cluster 16, static shards):
//! every valid message reaches every node of its shard exactly once and no other; shards can
//! be joined and left at runtime; on a protected shard a rogue flooding badly signed messages
//! gets nothing past its first hop and is disconnected while honest traffic keeps flowing.

use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

use bytes::Bytes;
use prost::Message as _;
use rwaku_core::time::now_ns;
use rwaku_core::{MessageHash, ShardId, WakuMessage};
use rwaku_integration_tests::{
    eventually, in_process,
    mesh::{self, MeshNode, NodeSpec, neighbours, shard_topic},
};
use rwaku_plugin_dos_validator::{DosValidatorPlugin, ShardSigningKey, SignatureScheme};
use rwaku_plugin_relay::PublishError;

const PROTECTED: ShardId = 32;
const OPEN: ShardId = 64;
const CONTENT_TOPIC: &str = "/rwaku-test/1/mesh/proto";
/// Time for late duplicates to show up after every node has a message.
const SETTLE: Duration = Duration::from_millis(1500);

fn message(text: &str) -> WakuMessage {
    WakuMessage {
        payload: Bytes::from(text.as_bytes().to_vec()),
        content_topic: CONTENT_TOPIC.into(),
        timestamp: Some(now_ns()),
        ..Default::default()
    }
}

/// Twelve honest nodes: 0–5 relay both shards and are all linked to each other; 6–8 relay
/// only 32 and 9–11 only 64, each linked to three of 0–5; and 9–11 are linked to 6–8, so
/// some links join nodes that share no shard.
fn honest_static_nodes() -> Vec<Vec<usize>> {
    let mut links: Vec<Vec<usize>> = (0..6).map(|i| (0..i).collect()).collect();
    for i in 6..12 {
        let mut list = vec![i % 6, (i + 1) % 6, (i + 3) % 6];
        if i >= 9 {
            list.push(i - 3);
        }
        links.push(list);
    }
    links
}

fn honest_shards(i: usize) -> &'static [ShardId] {
    match i {
        0..=5 => &[PROTECTED, OPEN],
        6..=8 => &[PROTECTED],
        _ => &[OPEN],
    }
}

/// Publishes `text` from `node` on `shard` and returns the message's hash.
async fn publish(node: &MeshNode, shard: ShardId, text: &str) -> anyhow::Result<MessageHash> {
    let receipt = node
        .relay
        .publish(shard_topic(shard), message(text))
        .await?;
    Ok(receipt.hash)
}

/// Waits until every node in `receivers` that relays a message's shard has it, lets late
/// duplicates arrive, then checks exactly-once delivery and that no message crossed shards.
async fn assert_delivered_once(
    nodes: &[MeshNode],
    receivers: &[usize],
    sent: &HashMap<MessageHash, ShardId>,
) -> anyhow::Result<()> {
    eventually(
        Duration::from_secs(20),
        "every message at every node of its shard",
        || {
            let done = receivers.iter().all(|&i| {
                let counts = nodes[i].accepted.counts();
                sent.iter()
                    .all(|(hash, shard)| !nodes[i].relays(*shard) || counts.contains_key(hash))
            });
            async move { done.then_some(()) }
        },
    )
    .await?;
    tokio::time::sleep(SETTLE).await;
    for &i in receivers {
        let node = &nodes[i];
        let counts = node.accepted.counts();
        for (hash, shard) in sent {
            let expected = usize::from(node.relays(*shard));
            assert_eq!(
                counts.get(hash).copied().unwrap_or(0),
                expected,
                "{}: message {} on shard {shard}",
                node.name,
                hash.short()
            );
        }
        for accepted in node.accepted.all() {
            let (_, shard) = accepted
                .pubsub_topic
                .shard()
                .ok_or_else(|| anyhow::anyhow!("named topic on the bus"))?;
            assert!(
                node.relays(shard),
                "{} accepted a message of shard {shard}, which it does not relay",
                node.name
            );
            if let Some(expected) = sent.get(&accepted.hash) {
                assert_eq!(shard, *expected, "{}: message crossed shards", node.name);
            }
        }
    }
    Ok(())
}

#[test]
fn open_shards_deliver_every_message_once_and_never_across_shards() -> anyhow::Result<()> {
    in_process::run(async {
        let links = honest_static_nodes();
        let specs = (0..12)
            .map(|i| NodeSpec::new(format!("n{i}"), honest_shards(i)).static_nodes(&links[i]))
            .collect();
        let nodes = mesh::start_mesh(specs).await?;
        mesh::wait_for_meshes(&nodes, &neighbours(&links), Duration::from_secs(20)).await?;

        let mut sent = HashMap::new();
        for (k, from) in [0, 6, 7, 3, 8, 1].into_iter().enumerate() {
            sent.insert(
                publish(&nodes[from], PROTECTED, &format!("a{k}")).await?,
                PROTECTED,
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (k, from) in [9, 2, 10, 11, 4, 5].into_iter().enumerate() {
            sent.insert(publish(&nodes[from], OPEN, &format!("b{k}")).await?, OPEN);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let everyone: Vec<usize> = (0..nodes.len()).collect();
        assert_delivered_once(&nodes, &everyone, &sent).await?;

        // A node refuses to publish on a shard it does not relay.
        let refused = nodes[6]
            .relay
            .publish(shard_topic(OPEN), message("x"))
            .await;
        assert!(
            matches!(refused, Err(PublishError::NotSubscribed(_))),
            "{refused:?}"
        );
        // Each node's counters agree with its bus: what it published plus what it accepted.
        for node in &nodes {
            for &shard in &node.shards {
                let stats = node.shard_stats(shard).await;
                let on_bus = node
                    .accepted
                    .all()
                    .iter()
                    .filter(|m| m.pubsub_topic == shard_topic(shard))
                    .count() as u64;
                assert_eq!(stats.accepted + stats.messages_out, on_bus, "{}", node.name);
                assert_eq!((stats.rejected, stats.ignored), (0, 0), "{}", node.name);
            }
        }
        mesh::shutdown(nodes).await;
        Ok(())
    })
}

#[test]
fn shards_can_be_joined_and_left_at_runtime() -> anyhow::Result<()> {
    in_process::run(async {
        let links = vec![vec![], vec![0], vec![0, 1], vec![0, 1]];
        let shards: [&[ShardId]; 4] = [
            &[PROTECTED, OPEN],
            &[PROTECTED, OPEN],
            &[PROTECTED],
            &[OPEN],
        ];
        let specs = (0..4)
            .map(|i| NodeSpec::new(format!("n{i}"), shards[i]).static_nodes(&links[i]))
            .collect();
        let mut nodes = mesh::start_mesh(specs).await?;
        mesh::wait_for_meshes(&nodes, &neighbours(&links), Duration::from_secs(20)).await?;

        // n2 joins shard 64.
        assert!(nodes[2].relay.subscribe(shard_topic(OPEN)).await?);
        assert!(
            !nodes[2].relay.subscribe(shard_topic(OPEN)).await?,
            "already joined"
        );
        assert_eq!(
            nodes[2].relay.shards().await?,
            vec![shard_topic(PROTECTED), shard_topic(OPEN)]
        );
        nodes[2].shards.push(OPEN);
        mesh::wait_for_meshes(&nodes, &neighbours(&links), Duration::from_secs(20)).await?;
        let mut sent = HashMap::new();
        sent.insert(publish(&nodes[3], OPEN, "joined").await?, OPEN);
        assert_delivered_once(&nodes, &[0, 1, 2, 3], &sent).await?;

        // n2 leaves it again: the next message on 64 reaches everyone else, not n2.
        assert!(nodes[2].relay.unsubscribe(shard_topic(OPEN)).await?);
        assert!(
            !nodes[2].relay.unsubscribe(shard_topic(OPEN)).await?,
            "already left"
        );
        let before = nodes[2].accepted.len();
        let mut later = HashMap::new();
        later.insert(publish(&nodes[3], OPEN, "left").await?, OPEN);
        // n2 is left out here: it still holds the message it got on 64 while subscribed.
        assert_delivered_once(&nodes, &[0, 1, 3], &later).await?;
        assert_eq!(nodes[2].relay.shards().await?, vec![shard_topic(PROTECTED)]);
        assert_eq!(
            nodes[2].accepted.len(),
            before,
            "n2 got a message after leaving"
        );
        mesh::shutdown(nodes).await;
        Ok(())
    })
}

/// Connects `rogue` to `peers` with one-shot dials (the rogue is nobody's static node, so no
/// one redials it once it is cut off). Connections can drop while a busy in-process network
/// sets them up, so a link that is not up yet is dialled again.
async fn link_rogue(nodes: &[MeshNode], rogue: usize, peers: &[usize]) -> anyhow::Result<()> {
    eventually(
        Duration::from_secs(20),
        "the rogue linked to its peers",
        || async {
            let mut all = true;
            for &j in peers {
                if !nodes[j].is_connected_to(&nodes[rogue].peer_id).await {
                    all = false;
                    let address = nodes[j].address.parse().ok()?;
                    let _ = nodes[rogue].node.network.dial(address).await;
                }
            }
            all.then_some(())
        },
    )
    .await
}

#[test]
fn a_rogue_flooding_bad_signatures_is_cut_off_and_honest_traffic_flows() -> anyhow::Result<()> {
    in_process::run(async {
        let key = ShardSigningKey::generate(SignatureScheme::Secp256k1);
        let protected = format!("{PROTECTED}:{}", key.public_key().to_hex());
        let topic = shard_topic(PROTECTED).to_string();
        let signed = |text: &str| -> anyhow::Result<WakuMessage> {
            let mut m = message(text);
            key.sign_in_place(&mut m, &topic)?;
            Ok(m)
        };

        let mut links = honest_static_nodes();
        let mut specs: Vec<NodeSpec> = (0..12)
            .map(|i| {
                NodeSpec::new(format!("n{i}"), honest_shards(i))
                    .static_nodes(&links[i])
                    .protect(protected.clone(), Box::new(DosValidatorPlugin))
            })
            .collect();
        // The rogue relays the protected shard without checking anything; it dials three
        // honest nodes once (not as static nodes, which it would keep redialling).
        const ROGUE: usize = 12;
        const ROGUE_PEERS: [usize; 3] = [0, 1, 2];
        specs.push(NodeSpec::new("rogue", &[PROTECTED]));
        links.push(Vec::new());
        let nodes = mesh::start_mesh(specs).await?;
        // The rogue connects once the honest mesh has settled, and dials again if a link
        // drops while it is set up (see `link_rogue`).
        mesh::wait_for_meshes(&nodes, &neighbours(&links), Duration::from_secs(20)).await?;
        link_rogue(&nodes, ROGUE, &ROGUE_PEERS).await?;
        links[ROGUE] = ROGUE_PEERS.to_vec();
        mesh::wait_for_meshes(&nodes, &neighbours(&links), Duration::from_secs(20)).await?;

        // Honest, signed traffic on the protected shard and open traffic on the other.
        let mut sent = HashMap::new();
        for (k, from) in [0, 6, 7, 3].into_iter().enumerate() {
            let m = signed(&format!("signed {k}"))?;
            sent.insert(
                nodes[from]
                    .relay
                    .publish(shard_topic(PROTECTED), m)
                    .await?
                    .hash,
                PROTECTED,
            );
        }
        for (k, from) in [9, 4].into_iter().enumerate() {
            sent.insert(
                publish(&nodes[from], OPEN, &format!("open {k}")).await?,
                OPEN,
            );
        }
        let everyone: Vec<usize> = (0..nodes.len()).collect();
        assert_delivered_once(&nodes, &everyone, &sent).await?;
        // An honest node's own validators refuse an unsigned message on the protected shard.
        let unsigned = nodes[6]
            .relay
            .publish(shard_topic(PROTECTED), message("unsigned"))
            .await;
        assert!(
            matches!(unsigned, Err(PublishError::Invalid(_))),
            "{unsigned:?}"
        );

        // The rogue floods badly signed messages straight into gossipsub.
        let mut rogue_hashes = BTreeSet::new();
        for k in 0..60u32 {
            let mut m = message(&format!("rogue {k}"));
            m.meta = Some(Bytes::from(vec![(k % 251) as u8 + 1; 64]));
            rogue_hashes.insert(MessageHash::compute(&topic, &m));
            // Errors once every neighbour has hung up are expected.
            let _ = nodes[ROGUE]
                .node
                .network
                .publish(topic.clone(), Bytes::from(m.encode_to_vec()))
                .await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let rogue_id = nodes[ROGUE].peer_id;
        for &j in &ROGUE_PEERS {
            let node = &nodes[j];
            eventually(
                Duration::from_secs(10),
                &format!("{} disconnects the rogue", node.name),
                || async { (!node.is_connected_to(&rogue_id).await).then_some(()) },
            )
            .await?;
        }
        let rogue_view = nodes[ROGUE].node.network.peers().await;
        assert!(
            rogue_view.iter().all(|p| !p.connected),
            "the rogue still has connections: {rogue_view:?}"
        );
        for (i, node) in nodes.iter().enumerate().take(ROGUE) {
            assert!(
                node.accepted
                    .all()
                    .iter()
                    .all(|m| !rogue_hashes.contains(&m.hash)),
                "{} accepted a rogue message",
                node.name
            );
            let stats = node.shard_stats(PROTECTED).await;
            if ROGUE_PEERS.contains(&i) {
                // Disconnection needs the penalty to cross the graylist: 11 rejections.
                assert!(stats.rejected >= 11, "{}: {stats:?}", node.name);
            } else {
                // Nothing went further than the rogue's own neighbours.
                assert_eq!(stats.rejected, 0, "{} saw a rogue message", node.name);
            }
        }

        // Honest traffic keeps flowing among the honest nodes.
        let mut after = HashMap::new();
        for (k, from) in [1, 8, 5].into_iter().enumerate() {
            let m = signed(&format!("after {k}"))?;
            after.insert(
                nodes[from]
                    .relay
                    .publish(shard_topic(PROTECTED), m)
                    .await?
                    .hash,
                PROTECTED,
            );
        }
        after.insert(publish(&nodes[10], OPEN, "after open").await?, OPEN);
        let honest: Vec<usize> = (0..ROGUE).collect();
        assert_delivered_once(&nodes, &honest, &after).await?;
        let rogue_counts = nodes[ROGUE].accepted.counts();
        assert!(
            after.keys().all(|h| !rogue_counts.contains_key(h)),
            "the disconnected rogue still receives honest traffic"
        );
        mesh::shutdown(nodes).await;
        Ok(())
    })
}
