//! `--rate-limit storev3:` on a store node: the node's budget is shared by its peers (nwaku's
//! service limit), so once it is spent every peer gets 429 with request id "N/A" (nwaku's
//! answer). The store is the embedded SQLite default.

use std::time::Duration;

use rwaku_actors::supervisor::RunningNode;
use rwaku_integration_tests::mesh::{self, NodeSpec, shard_topic};
use rwaku_plugin_store::StorePlugin;
use rwaku_protocols::store::pb;

const SHARD: u16 = 32;

async fn ask(
    light: &RunningNode,
    store: &mesh::MeshNode,
    id: &str,
) -> anyhow::Result<pb::StoreQueryResponse> {
    let request = pb::StoreQueryRequest {
        request_id: id.into(),
        include_data: Some(true),
        pubsub_topic: Some(shard_topic(SHARD).to_string()),
        content_topics: vec!["/rwaku-test/1/limited/proto".into()],
        ..Default::default()
    };
    mesh::store_query(light, store, &request).await
}

#[test]
fn a_store_over_its_rate_limit_answers_429_to_every_peer() -> anyhow::Result<()> {
    rwaku_integration_tests::in_process::run(async {
        let nodes = mesh::start_mesh(vec![NodeSpec::new("store", &[SHARD]).with_plugin(
            Box::new(StorePlugin),
            |c| {
                c.store = true;
                c.rate_limit = vec!["storev3:3/1m".into()];
            },
        )])
        .await?;
        let store = &nodes[0];
        let (first, _first_dir) = mesh::start_light_node().await?;
        let (second, _second_dir) = mesh::start_light_node().await?;
        // The store opens in the background; wait until it answers at all.
        let mut answered = None;
        for _ in 0..50 {
            match ask(&first, store, "q1").await {
                Ok(r) if r.status_code == 200 => {
                    answered = Some(r);
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let answered = answered.ok_or_else(|| anyhow::anyhow!("the store never answered 200"))?;
        assert_eq!(answered.request_id, "q1");
        // Three queries a minute for the whole node: at most two more are answered.
        let mut refused = None;
        for i in 0..3 {
            let r = ask(&first, store, &format!("q{}", i + 2)).await?;
            if r.status_code == 429 {
                refused = Some(r);
                break;
            }
            assert_eq!(r.status_code, 200);
        }
        let refused = refused.ok_or_else(|| anyhow::anyhow!("never rate limited"))?;
        assert_eq!(refused.request_id, "N/A");
        let other = ask(&second, store, "other").await?;
        assert_eq!(
            (other.status_code, other.request_id.as_str()),
            (429, "N/A"),
            "the budget is the node's, shared by every peer"
        );
        first.shutdown().await;
        second.shutdown().await;
        mesh::shutdown(nodes).await;
        Ok(())
    })
}
