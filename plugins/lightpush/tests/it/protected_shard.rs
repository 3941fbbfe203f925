//! On a protected shard the lightpush service applies the DoS validator, as relay does: a
//! message signed by the shard key is relayed (200), an unsigned or tampered one is refused
//! with 420 and never reaches the other relay node.

use std::time::Duration;

use bytes::Bytes;
use rwaku_actors::NodePlugin;
use rwaku_plugin_dos_validator::{DosValidatorPlugin, ShardSigningKey, SignatureScheme};
use rwaku_plugin_lightpush::LightpushPlugin;
use rwaku_plugin_relay::RelayPlugin;

use crate::harness::{config, eventually, message, run, shard, start};

const PROTECTED: u16 = 32;

fn plugins(lightpush: bool) -> Vec<NodePlugin> {
    let mut plugins: Vec<NodePlugin> = vec![Box::new(DosValidatorPlugin), Box::new(RelayPlugin)];
    if lightpush {
        plugins.push(Box::new(LightpushPlugin));
    }
    plugins
}

#[test]
fn only_signed_messages_are_pushed_on_a_protected_shard() -> anyhow::Result<()> {
    run(async {
        let key = ShardSigningKey::generate(SignatureScheme::Secp256k1);
        let protected = format!("{PROTECTED}:{}", key.public_key().to_hex());
        let topic = shard(PROTECTED);

        let mut relay_config = config(&[PROTECTED]);
        relay_config.protected_shard = vec![protected.clone()];
        let relay = start(relay_config, plugins(false)).await?;
        let mut service_config = config(&[PROTECTED]);
        service_config.protected_shard = vec![protected];
        service_config.lightpush = true;
        let service = start(service_config, plugins(true)).await?;
        service.link_to(&relay).await?;
        service.wait_for_mesh(&topic, &relay.peer_id).await?;
        let client_node = start(config(&[]), Vec::new()).await?;
        client_node.link_to(&service).await?;
        let client = client_node.client();

        let mut signed = message("signed");
        key.sign_in_place(&mut signed, &topic.to_string())?;
        let reply = client
            .push(service.peer_id, Some(&topic), signed.clone())
            .await?;
        assert_eq!(reply.status_code, 200, "{reply:?}");

        let unsigned = message("unsigned");
        let reply = client.push(service.peer_id, Some(&topic), unsigned).await?;
        assert_eq!(reply.status_code, 420, "{reply:?}");

        let tampered = rwaku_core::WakuMessage {
            payload: Bytes::from_static(b"tampered"),
            ..signed
        };
        let reply = client.push(service.peer_id, Some(&topic), tampered).await?;
        assert_eq!(reply.status_code, 420, "{reply:?}");

        let other = key_of_someone_else(&topic)?;
        let reply = client.push(service.peer_id, Some(&topic), other).await?;
        assert_eq!(reply.status_code, 420, "{reply:?}");

        let delivered = relay.accepted.clone();
        eventually(Duration::from_secs(10), "the signed message", || {
            let delivered = delivered.clone();
            async move { (delivered.count_of(b"signed") == 1).then_some(()) }
        })
        .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            relay.accepted.payloads(),
            vec![Bytes::from_static(b"signed")],
            "only the signed message reached the relay node"
        );

        client_node.shutdown().await;
        service.shutdown().await;
        relay.shutdown().await;
        Ok(())
    })
}

/// A message signed correctly, but by a key that does not own the shard.
fn key_of_someone_else(topic: &rwaku_core::PubsubTopic) -> anyhow::Result<rwaku_core::WakuMessage> {
    let stranger = ShardSigningKey::generate(SignatureScheme::Secp256k1);
    let mut m = message("stranger");
    stranger.sign_in_place(&mut m, &topic.to_string())?;
    Ok(m)
}
