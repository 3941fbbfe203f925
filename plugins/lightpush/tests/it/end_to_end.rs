//! A client node (relay off) pushes through a service node (relay + lightpush) that is linked
//! to a second relay node: over v3 and over v2, the message reaches the second node exactly
//! once and the client is told it was relayed.

use std::time::Duration;

use crate::harness::{Setup, eventually, message, run, shard};

#[test]
fn v3_and_v2_pushes_reach_the_other_relay_node_once() -> anyhow::Result<()> {
    run(async {
        let setup = Setup::start(&[0], true, |_| {}).await?;
        let relay = setup.relay.as_ref().map(|r| r.accepted.clone());
        let relay = relay.ok_or_else(|| anyhow::anyhow!("no relay node"))?;
        let client = setup.client.client();
        let service = setup.service.peer_id;

        let reply = client
            .push(service, Some(&shard(0)), message("via v3"))
            .await?;
        assert_eq!(reply.status_code, 200, "{reply:?}");
        assert!(reply.relay_peer_count >= Some(1), "{reply:?}");
        assert_eq!(reply.status_desc, None);
        assert_eq!(reply.request_id.len(), 36, "our request id comes back");

        let legacy = client
            .push_legacy(service, &shard(0), message("via v2"))
            .await?;
        assert!(legacy.is_success, "{legacy:?}");

        for payload in [&b"via v3"[..], b"via v2"] {
            eventually(
                Duration::from_secs(10),
                "delivery on the relay node",
                || {
                    let relay = relay.clone();
                    async move { (relay.count_of(payload) > 0).then_some(()) }
                },
            )
            .await?;
        }
        // Anything that would duplicate has had time to arrive.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(relay.count_of(b"via v3"), 1);
        assert_eq!(relay.count_of(b"via v2"), 1);
        // The service node's own consumers (store, filter) hear it once too.
        assert_eq!(setup.service.accepted.count_of(b"via v3"), 1);

        // Pushing the same message again is a duplicate: 420, as nwaku answers.
        let again = message("twice");
        let first = client.push(service, Some(&shard(0)), again.clone()).await?;
        assert_eq!(first.status_code, 200);
        let second = client.push(service, Some(&shard(0)), again).await?;
        assert_eq!(second.status_code, 420, "{second:?}");

        setup.shutdown().await;
        Ok(())
    })
}
