//! Random keys, metas, timestamps and flag values: errors are fine, panics are not, and nothing
//! random ever passes for a signature.

use bytes::Bytes;
use proptest::prelude::*;
use rwaku_core::WakuMessage;
use rwaku_plugin_dos_validator::{
    ProtectedShard, ProtectedShardKey, ProtectedShardValidator, Secp256k1Backend, ShardSigningKey,
    SignatureScheme, Verdict,
};

use crate::common::*;

proptest! {
    #[test]
    fn random_key_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = ProtectedShardKey::from_bytes(&bytes);
        let _ = ProtectedShardKey::from_hex(&hex::encode(&bytes));
        let _ = ShardSigningKey::from_bytes(SignatureScheme::Secp256k1, &bytes);
        let _ = ShardSigningKey::from_bytes(SignatureScheme::Ed25519, &bytes);
    }

    #[test]
    fn random_flag_values_never_panic(text in "\\PC{0,200}") {
        let _ = text.parse::<ProtectedShard>();
        let _ = format!("32:{text}").parse::<ProtectedShard>();
        let _ = format!("{text}:{SPEC_PUBLIC}").parse::<ProtectedShard>();
    }

    #[test]
    fn random_meta_is_rejected_never_accepted(
        meta in proptest::collection::vec(any::<u8>(), 0..100),
        full_length in any::<bool>(),
        timestamp in any::<Option<i64>>(),
        near_now in any::<bool>(),
        ephemeral in any::<Option<bool>>(),
    ) {
        // Half the cases get a plausible 64-byte meta and a fresh timestamp, so the curve math
        // runs on garbage too.
        let meta = if full_length { meta.iter().copied().cycle().take(64).collect() } else { meta };
        let timestamp = if near_now { timestamp.map(|t| NOW + t % 1_000_000_000) } else { timestamp };
        for scheme in [SignatureScheme::Secp256k1, SignatureScheme::Ed25519] {
            let key = ShardSigningKey::from_bytes(scheme, &[3u8; 32]).expect("fixed key");
            for backend in [Secp256k1Backend::Libsecp256k1, Secp256k1Backend::K256] {
                let validator = ProtectedShardValidator::new(CLUSTER, [protected(32, &key)])
                    .expect("config")
                    .with_backend(backend);
                let message = WakuMessage {
                    payload: Bytes::from_static(b"hello"),
                    content_topic: "/a/1/b/proto".into(),
                    timestamp,
                    meta: Some(Bytes::from(meta.clone())),
                    ephemeral,
                    ..Default::default()
                };
                let verdict = validator.validate(&shard_topic(32), &message, NOW);
                prop_assert_ne!(verdict, Verdict::Accept);
                if let Some(secp) = key.public_key().as_secp256k1() {
                    prop_assert!(!backend.verify_prehash(secp, &[9; 32], &meta));
                }
            }
        }
    }
}
