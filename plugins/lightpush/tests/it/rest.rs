//! nwaku's lightpush REST routes, served from the routes the plugin added: on a node with the
//! lightpush server they are answered locally (HTTP status = lightpush v3 code); on a node
//! with only `lightpushnode` they go through the client to that peer.

use serde_json::{Value, json};

use crate::harness::{Setup, config, run, start};

async fn post(url: &str, body: &Value) -> anyhow::Result<(u16, String)> {
    let response = reqwest::Client::new().post(url).json(body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

fn body(topic: Option<&str>, text: &str) -> Value {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD.encode(text);
    let message = json!({"payload": payload, "contentTopic": "/test/1/rest/proto"});
    match topic {
        Some(t) => json!({"pubsubTopic": t, "message": message}),
        None => json!({"message": message}),
    }
}

#[test]
fn local_rest_routes_answer_with_the_lightpush_code() -> anyhow::Result<()> {
    run(async {
        let mut setup = Setup::start(&[0], true, |c| c.rest = true).await?;
        let base = setup.service.serve_rest().await?;
        let v3 = format!("{base}/lightpush/v3/message");

        let (status, text) = post(&v3, &body(Some("/waku/2/rs/16/0"), "rest v3")).await?;
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text)?;
        assert!(answer["relayPeerCount"].as_u64() >= Some(1), "{text}");

        let (status, text) = post(&v3, &body(Some("/waku/2/rs/16/5"), "unrelayed")).await?;
        assert_eq!(status, 421, "{text}");
        let answer: Value = serde_json::from_str(&text)?;
        assert!(answer["statusDesc"].is_string(), "{text}");

        let (status, _) = post(&v3, &body(None, "no topic, static sharding")).await?;
        assert_eq!(status, 420);
        let (status, text) = post(&v3, &json!({"pubsubTopic": "/waku/2/rs/16/0"})).await?;
        assert_eq!(status, 400, "{text}");
        assert!(serde_json::from_str::<Value>(&text)?["statusDesc"].is_string());

        let v1 = format!("{base}/lightpush/v1/message");
        let (status, text) = post(&v1, &body(Some("/waku/2/rs/16/0"), "rest v1")).await?;
        assert_eq!((status, text.as_str()), (200, "OK"));
        let (status, text) = post(&v1, &body(Some("/waku/2/rs/16/5"), "unrelayed v1")).await?;
        assert_eq!(status, 503, "{text}");

        let relay = setup.relay.as_ref().map(|r| r.accepted.clone());
        let relay = relay.ok_or_else(|| anyhow::anyhow!("no relay node"))?;
        crate::harness::eventually(std::time::Duration::from_secs(10), "REST pushes", || {
            let relay = relay.clone();
            async move {
                (relay.count_of(b"rest v3") == 1 && relay.count_of(b"rest v1") == 1).then_some(())
            }
        })
        .await?;
        setup.shutdown().await;
        Ok(())
    })
}

#[test]
fn rest_routes_go_to_the_lightpushnode_when_there_is_no_local_server() -> anyhow::Result<()> {
    run(async {
        let setup = Setup::start(&[0], true, |_| {}).await?;
        let mut edge_config = config(&[]);
        edge_config.rest = true;
        edge_config.lightpushnode = Some(setup.service.address.clone());
        let mut edge = start(edge_config, Vec::new()).await?;
        let base = edge.serve_rest().await?;

        let (status, text) = post(
            &format!("{base}/lightpush/v3/message"),
            &body(Some("/waku/2/rs/16/0"), "remote v3"),
        )
        .await?;
        assert_eq!(status, 200, "{text}");
        let (status, text) = post(
            &format!("{base}/lightpush/v3/message"),
            &body(Some("/waku/2/rs/16/9"), "remote unrelayed"),
        )
        .await?;
        assert_eq!(status, 421, "{text}");
        let (status, text) = post(
            &format!("{base}/lightpush/v1/message"),
            &body(Some("/waku/2/rs/16/0"), "remote v1"),
        )
        .await?;
        assert_eq!((status, text.as_str()), (200, "OK"));

        edge.shutdown().await;
        setup.shutdown().await;
        Ok(())
    })
}
