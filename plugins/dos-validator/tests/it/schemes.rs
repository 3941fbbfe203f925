//! Both schemes end to end: key generation, signing, the two secp256k1 libraries agreeing, and
//! ed25519 keys.

use k256::ecdsa::signature::hazmat::PrehashSigner;
use rwaku_plugin_dos_validator::{
    KeyError, ProtectedShardKey, ProtectedShardValidator, RejectReason, Secp256k1Backend,
    ShardSigningKey, SignError, SignatureScheme, Verdict, app_message_hash, keygen,
};

use crate::common::*;

#[test]
fn keygen_prints_the_forms_operators_need() {
    let secp = keygen(SignatureScheme::Secp256k1);
    assert_eq!(secp.secret_hex.len(), 64);
    assert_eq!(secp.public_hex.len(), 130);
    assert!(secp.public_hex.starts_with("04"));
    let compressed = secp.public_compressed_hex.clone().expect("compressed form");
    assert_eq!(compressed.len(), 66);
    assert_eq!(
        ProtectedShardKey::from_hex(&compressed),
        ProtectedShardKey::from_hex(&secp.public_hex)
    );
    let ed = keygen(SignatureScheme::Ed25519);
    assert_eq!((ed.secret_hex.len(), ed.public_hex.len()), (64, 64));
    assert_eq!(ed.public_compressed_hex, None);
    assert_ne!(keygen(SignatureScheme::Ed25519), ed, "keys must be random");
}

#[test]
fn secrets_round_trip_through_hex() {
    for scheme in [SignatureScheme::Secp256k1, SignatureScheme::Ed25519] {
        let generated = keygen(scheme);
        let key = ShardSigningKey::from_hex(scheme, &generated.secret_hex).expect("secret");
        assert_eq!(key.public_key().to_hex(), generated.public_hex);
        assert_eq!(key.secret_hex(), generated.secret_hex);
        assert!(!format!("{key:?}").contains(&generated.secret_hex));
    }
    assert_eq!(
        ShardSigningKey::from_hex(SignatureScheme::Secp256k1, &"00".repeat(32)).err(),
        Some(KeyError::SecretOutOfRange)
    );
    assert_eq!(
        ShardSigningKey::from_hex(SignatureScheme::Ed25519, "0011").err(),
        Some(KeyError::WrongSecretKeyLength(2))
    );
}

#[test]
fn sign_then_verify_round_trips_for_both_schemes() {
    for scheme in [SignatureScheme::Secp256k1, SignatureScheme::Ed25519] {
        let key = ShardSigningKey::generate(scheme);
        let shards = [protected(32, &key), protected(897, &key)];
        let validator = ProtectedShardValidator::new(CLUSTER, shards).expect("config");
        for shard in [32, 897] {
            for n in 0..20 {
                let message = signed(&key, shard, n);
                assert_eq!(message.meta_bytes().len(), 64);
                assert_eq!(
                    validator.validate(&shard_topic(shard), &message, NOW),
                    Verdict::Accept,
                    "{scheme} shard {shard} message {n}"
                );
            }
        }
    }
}

#[test]
fn signing_needs_a_timestamp() {
    let key = ShardSigningKey::generate(SignatureScheme::Ed25519);
    let mut message = signed(&key, 32, 1);
    message.timestamp = None;
    assert_eq!(
        key.sign(&message, "/waku/2/rs/16/32"),
        Err(SignError::MissingTimestamp)
    );
}

#[test]
fn k256_and_libsecp256k1_sign_and_verify_alike() {
    for n in 0..32u32 {
        let key = ShardSigningKey::generate(SignatureScheme::Secp256k1);
        let message = signed(&key, 32, n);
        let digest = app_message_hash("/waku/2/rs/16/32", &message);
        // RFC 6979 in both libraries: the same bytes.
        let k256_key =
            k256::ecdsa::SigningKey::from_slice(&unhex(&key.secret_hex())).expect("secret");
        let k256_sig: k256::ecdsa::Signature = k256_key.sign_prehash(&digest).expect("signs");
        assert_eq!(k256_sig.to_bytes().as_slice(), message.meta_bytes());
        let public = key.public_key().as_secp256k1().expect("secp256k1");
        let mut wrong = digest;
        wrong[n as usize % 32] ^= 0x80;
        for backend in [Secp256k1Backend::Libsecp256k1, Secp256k1Backend::K256] {
            assert!(backend.verify_prehash(public, &digest, message.meta_bytes()));
            assert!(!backend.verify_prehash(public, &wrong, message.meta_bytes()));
        }
    }
}

#[test]
fn ed25519_signatures_verify_and_tampering_fails() {
    let key = ShardSigningKey::generate(SignatureScheme::Ed25519);
    let digest = [7u8; 32];
    let sig = key.sign_digest(&digest);
    let public = key.public_key();
    assert_eq!(public.scheme(), SignatureScheme::Ed25519);
    assert_eq!(
        public.verify_digest(Secp256k1Backend::PREFERRED, &digest, &sig),
        Ok(())
    );
    let mut bad = sig;
    bad[5] ^= 1;
    assert_eq!(
        public.verify_digest(Secp256k1Backend::PREFERRED, &digest, &bad),
        Err(RejectReason::InvalidSignature)
    );
    assert_eq!(
        public.verify_digest(Secp256k1Backend::PREFERRED, &[8u8; 32], &sig),
        Err(RejectReason::InvalidSignature)
    );
}

#[test]
fn an_ed25519_key_that_is_not_a_point_is_named_as_such() {
    // About half of all y values have no x on the curve; find one without hard-coding it.
    let not_a_point = (2u8..=255)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .expect("some small y is not on the curve");
    assert_eq!(
        ProtectedShardKey::from_bytes(&not_a_point),
        Err(KeyError::NotOnCurve(SignatureScheme::Ed25519))
    );
}
