//! `rwaku keygen` and `rwaku sign`: the community owner's side of protected shards. keygen
//! prints a shard key pair as hex; sign prints a signed message as the JSON body that
//! `POST /relay/v1/messages/{pubsubTopic}` takes.

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use rwaku_core::WakuMessage;
use rwaku_plugin_dos_validator::{ShardSigningKey, SignatureScheme};
use serde_json::json;

use crate::cli::{KeygenArgs, SchemeArg, SignArgs};

fn scheme(arg: SchemeArg) -> SignatureScheme {
    match arg {
        SchemeArg::Secp256k1 => SignatureScheme::Secp256k1,
        SchemeArg::Ed25519 => SignatureScheme::Ed25519,
    }
}

pub fn keygen(args: &KeygenArgs) -> Result<String, String> {
    let key = ShardSigningKey::generate(scheme(args.scheme));
    let public = key.public_key();
    let mut out = json!({
        "scheme": public.scheme().name(),
        "secretKey": key.secret_hex(),
        "publicKey": public.to_hex(),
    });
    if let Some(compressed) = public.to_compressed_hex() {
        out["publicKeyCompressed"] = compressed.into();
    }
    serde_json::to_string_pretty(&out).map_err(|e| e.to_string())
}

use rwaku_core::time::now_ns;

pub fn sign(args: &SignArgs) -> Result<String, String> {
    let key = ShardSigningKey::from_hex(scheme(args.scheme), &args.key)
        .map_err(|e| format!("--key: {e}"))?;
    let payload = STANDARD
        .decode(args.payload_base64.trim())
        .map_err(|e| format!("--payload-base64: {e}"))?;
    let timestamp = args.timestamp.unwrap_or_else(now_ns);
    let mut message = WakuMessage {
        payload: Bytes::from(payload),
        content_topic: args.content_topic.clone(),
        version: Some(0),
        timestamp: Some(timestamp),
        ephemeral: Some(args.ephemeral),
        ..Default::default()
    };
    key.sign_in_place(&mut message, &args.pubsub_topic)
        .map_err(|e| e.to_string())?;
    let body = json!({
        "payload": STANDARD.encode(&message.payload),
        "contentTopic": message.content_topic,
        "version": 0,
        "timestamp": timestamp,
        "meta": STANDARD.encode(message.meta_bytes()),
        "ephemeral": args.ephemeral,
    });
    serde_json::to_string(&body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rwaku_core::PubsubTopic;
    use rwaku_plugin_dos_validator::{
        ProtectedShard, ProtectedShardKey, ProtectedShardValidator, Verdict,
    };

    fn round_trip(scheme_arg: SchemeArg) {
        let keys: serde_json::Value =
            serde_json::from_str(&keygen(&KeygenArgs { scheme: scheme_arg }).expect("keygen"))
                .expect("json");
        let args = SignArgs {
            key: keys["secretKey"].as_str().expect("secret").to_string(),
            scheme: scheme_arg,
            pubsub_topic: "/waku/2/rs/16/32".into(),
            content_topic: "/status/1/chat/proto".into(),
            payload_base64: STANDARD.encode(b"hello"),
            timestamp: None,
            ephemeral: false,
        };
        let body: serde_json::Value =
            serde_json::from_str(&sign(&args).expect("sign")).expect("json");
        let message = WakuMessage {
            payload: Bytes::from_static(b"hello"),
            content_topic: args.content_topic.clone(),
            timestamp: body["timestamp"].as_i64(),
            meta: Some(Bytes::from(
                STANDARD
                    .decode(body["meta"].as_str().expect("meta"))
                    .expect("b64"),
            )),
            ephemeral: Some(false),
            ..Default::default()
        };
        let key =
            ProtectedShardKey::from_hex(keys["publicKey"].as_str().expect("public")).expect("key");
        let validator = ProtectedShardValidator::new(16, [ProtectedShard { shard: 32, key }])
            .expect("validator");
        let topic = PubsubTopic::static_shard(16, 32);
        assert_eq!(
            validator.validate(&topic, &message, now_ns()),
            Verdict::Accept
        );
        let mut forged = message.clone();
        forged.payload = Bytes::from_static(b"hellO");
        assert!(!validator.validate(&topic, &forged, now_ns()).is_accept());
    }

    #[test]
    fn signed_messages_verify_for_both_schemes() {
        round_trip(SchemeArg::Secp256k1);
        round_trip(SchemeArg::Ed25519);
    }

    #[test]
    fn bad_inputs_are_named() {
        let args = SignArgs {
            key: "zz".into(),
            scheme: SchemeArg::Secp256k1,
            pubsub_topic: "/waku/2/rs/16/32".into(),
            content_topic: "/a/1/b/proto".into(),
            payload_base64: "aGk=".into(),
            timestamp: None,
            ephemeral: false,
        };
        assert!(sign(&args).expect_err("bad key").contains("--key"));
    }
}
