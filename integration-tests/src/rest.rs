//! Small REST helpers for tests.

use std::time::Duration;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

pub async fn get_json(url: &str) -> anyhow::Result<serde_json::Value> {
    Ok(client()
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

pub async fn get_text(url: &str) -> anyhow::Result<(u16, String)> {
    let response = client().get(url).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// The peers a node with `--rest-admin` knows.
pub async fn peers(base: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let value = get_json(&format!("{base}/admin/v1/peers")).await?;
    Ok(value.as_array().cloned().unwrap_or_default())
}

/// The entry of `peer_id` in `/admin/v1/peers`, if known.
pub async fn peer(base: &str, peer_id: &str) -> Option<serde_json::Value> {
    peers(base).await.ok()?.into_iter().find(|p| {
        p["multiaddr"]
            .as_str()
            .is_some_and(|m| m.ends_with(peer_id))
    })
}
