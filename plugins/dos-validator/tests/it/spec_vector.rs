//! The 57/STATUS-SIMPLE-SCALING test vector, through both secp256k1 libraries and both key forms.

use rwaku_plugin_dos_validator::{
    ProtectedShardKey, RejectReason, Secp256k1Backend, ShardSigningKey, SignatureScheme,
    app_message_hash, ecdsa_secp256k1::flip_s,
};
use sha2::{Digest, Sha256};

use crate::common::*;

const BACKENDS: [Secp256k1Backend; 2] = [Secp256k1Backend::Libsecp256k1, Secp256k1Backend::K256];

fn spec_keys() -> [ProtectedShardKey; 2] {
    let full = ProtectedShardKey::from_hex(SPEC_PUBLIC).expect("uncompressed key");
    let compressed = full.to_compressed_hex().expect("secp256k1");
    let short = ProtectedShardKey::from_hex(&compressed).expect("compressed key");
    [full, short]
}

fn spec_digest() -> [u8; 32] {
    app_message_hash("pubsub-topic", &spec_message())
}

fn spec_meta() -> [u8; 64] {
    unhex(SPEC_META).try_into().expect("64 bytes")
}

#[test]
fn app_hash_matches_the_spec() {
    assert_eq!(hex::encode_upper(spec_digest()), SPEC_HASH);
}

#[test]
fn spec_signature_verifies_with_both_libraries_and_key_forms() {
    let digest = spec_digest();
    for key in spec_keys() {
        let secp = key.as_secp256k1().expect("secp256k1");
        for backend in BACKENDS {
            assert!(
                backend.verify_prehash(secp, &digest, &spec_meta()),
                "{backend:?}"
            );
            assert_eq!(key.verify_digest(backend, &digest, &spec_meta()), Ok(()));
        }
    }
}

#[test]
fn big_endian_timestamp_gives_another_hash_and_the_signature_fails() {
    let message = spec_message();
    let mut hasher = Sha256::new();
    hasher.update(b"pubsub-topic");
    hasher.update(&message.payload);
    hasher.update(b"content-topic");
    hasher.update((SPEC_TIMESTAMP as u64).to_be_bytes());
    hasher.update([1u8]);
    let wrong: [u8; 32] = hasher.finalize().into();
    assert!(hex::encode_upper(wrong).starts_with("E1EFBDD8"));
    assert_ne!(wrong, spec_digest());
    for key in spec_keys() {
        for backend in BACKENDS {
            assert_eq!(
                key.verify_digest(backend, &wrong, &spec_meta()),
                Err(RejectReason::InvalidSignature)
            );
        }
    }
}

#[test]
fn high_s_twin_of_the_spec_signature_is_refused_by_both_libraries() {
    let digest = spec_digest();
    let high = flip_s(&spec_meta());
    assert_ne!(high, spec_meta());
    for key in spec_keys() {
        let secp = key.as_secp256k1().expect("secp256k1");
        for backend in BACKENDS {
            // The bare library call, without this crate's precheck, must refuse it too.
            assert!(!backend.verify_prehash(secp, &digest, &high), "{backend:?}");
            assert_eq!(
                key.verify_digest(backend, &digest, &high),
                Err(RejectReason::HighS)
            );
        }
    }
}

#[test]
fn signing_the_spec_message_reproduces_the_spec_signature() {
    // RFC 6979 makes ECDSA deterministic, so our signer must give the spec's exact bytes.
    let key = ShardSigningKey::from_hex(SignatureScheme::Secp256k1, SPEC_SECRET).expect("secret");
    assert_eq!(key.public_key().to_hex(), SPEC_PUBLIC);
    assert_eq!(
        hex::encode_upper(key.sign(&spec_message(), "pubsub-topic").expect("signs")),
        SPEC_META
    );
}
