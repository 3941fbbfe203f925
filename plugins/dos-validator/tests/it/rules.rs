//! Each verdict rule, one at a time, on a message that is otherwise valid.

use bytes::Bytes;
use rwaku_core::{PubsubTopic, WakuMessage};
use rwaku_plugin_dos_validator::{
    MESSAGE_WINDOW_NS, ProtectedShard, ProtectedShardValidator, RejectReason, Secp256k1Backend,
    ShardSigningKey, SignatureScheme, ValidatorConfigError, Verdict, ecdsa_secp256k1::flip_s,
};

use crate::common::*;

const SHARD: u16 = 32;

fn setups() -> Vec<(ShardSigningKey, ProtectedShardValidator)> {
    let mut out = Vec::new();
    for (scheme, backend) in [
        (SignatureScheme::Secp256k1, Secp256k1Backend::Libsecp256k1),
        (SignatureScheme::Secp256k1, Secp256k1Backend::K256),
        (SignatureScheme::Ed25519, Secp256k1Backend::PREFERRED),
    ] {
        let key = ShardSigningKey::generate(scheme);
        let validator = ProtectedShardValidator::new(CLUSTER, [protected(SHARD, &key)])
            .expect("valid config")
            .with_backend(backend);
        out.push((key, validator));
    }
    out
}

fn judge(validator: &ProtectedShardValidator, message: &WakuMessage) -> Verdict {
    validator.validate(&shard_topic(SHARD), message, NOW)
}

#[test]
fn a_well_signed_message_is_accepted() {
    for (key, validator) in setups() {
        assert_eq!(judge(&validator, &signed(&key, SHARD, 1)), Verdict::Accept);
    }
}

#[test]
fn missing_or_zero_timestamp_is_rejected() {
    for (key, validator) in setups() {
        for timestamp in [None, Some(0)] {
            let message = WakuMessage {
                timestamp,
                ..signed(&key, SHARD, 1)
            };
            assert_eq!(
                judge(&validator, &message),
                Verdict::Reject(RejectReason::MissingTimestamp)
            );
        }
    }
}

#[test]
fn the_window_is_five_minutes_either_way_exclusive() {
    let window = MESSAGE_WINDOW_NS as i64;
    for (key, validator) in setups() {
        let at = |ts: i64| {
            let mut message = WakuMessage {
                timestamp: Some(ts),
                ..signed(&key, SHARD, 1)
            };
            key.sign_in_place(&mut message, &shard_topic(SHARD).to_string())
                .expect("signs");
            judge(&validator, &message)
        };
        let outside = Verdict::Reject(RejectReason::OutsideTimeWindow);
        assert_eq!(at(NOW - window), outside);
        assert_eq!(at(NOW + window), outside);
        assert_eq!(at(NOW - window + 1), Verdict::Accept);
        assert_eq!(at(NOW + window - 1), Verdict::Accept);
        assert_eq!(at(i64::MIN), outside);
        assert_eq!(at(-1), outside);
    }
}

#[test]
fn meta_must_be_exactly_64_bytes() {
    for (key, validator) in setups() {
        let good = signed(&key, SHARD, 1);
        let with_meta = |meta: Option<Bytes>| WakuMessage {
            meta,
            ..good.clone()
        };
        assert_eq!(
            judge(&validator, &with_meta(None)),
            Verdict::Reject(RejectReason::MissingMeta)
        );
        assert_eq!(
            judge(&validator, &with_meta(Some(Bytes::new()))),
            Verdict::Reject(RejectReason::MissingMeta)
        );
        let sig = good.meta_bytes().to_vec();
        assert_eq!(
            judge(
                &validator,
                &with_meta(Some(Bytes::from(sig[..63].to_vec())))
            ),
            Verdict::Reject(RejectReason::WrongMetaLength(63))
        );
        let mut long = sig.clone();
        long.push(0);
        assert_eq!(
            judge(&validator, &with_meta(Some(Bytes::from(long)))),
            Verdict::Reject(RejectReason::WrongMetaLength(65))
        );
    }
}

#[test]
fn a_signature_over_something_else_is_invalid() {
    for (key, validator) in setups() {
        let good = signed(&key, SHARD, 1);
        let mut payload = good.payload.to_vec();
        payload[0] ^= 1;
        let tampered = [
            WakuMessage {
                payload: Bytes::from(payload),
                ..good.clone()
            },
            WakuMessage {
                content_topic: "/status/1/other/proto".into(),
                ..good.clone()
            },
            WakuMessage {
                timestamp: good.timestamp.map(|t| t + 1),
                ..good.clone()
            },
            WakuMessage {
                ephemeral: Some(true),
                ..good.clone()
            },
        ];
        for message in tampered {
            assert_eq!(
                judge(&validator, &message),
                Verdict::Reject(RejectReason::InvalidSignature)
            );
        }
        // The topic is hashed too: a message signed for shard 33 does not pass on shard 32.
        assert_eq!(
            judge(&validator, &signed(&key, 33, 1)),
            Verdict::Reject(RejectReason::InvalidSignature)
        );
        // So is the key: another community's signature is refused.
        let other = ShardSigningKey::generate(key.scheme());
        assert_eq!(
            judge(&validator, &signed(&other, SHARD, 1)),
            Verdict::Reject(RejectReason::InvalidSignature)
        );
    }
}

#[test]
fn malformed_and_high_s_secp256k1_signatures_are_rejected() {
    let (key, validator) = setups().swap_remove(0);
    let good = signed(&key, SHARD, 1);
    let sig: [u8; 64] = good.meta_bytes().try_into().expect("64");
    let high = WakuMessage {
        meta: Some(Bytes::copy_from_slice(&flip_s(&sig))),
        ..good.clone()
    };
    assert_eq!(
        judge(&validator, &high),
        Verdict::Reject(RejectReason::HighS)
    );
    let mut zero_r = sig;
    zero_r[..32].fill(0);
    let zero_r = WakuMessage {
        meta: Some(Bytes::copy_from_slice(&zero_r)),
        ..good.clone()
    };
    assert_eq!(
        judge(&validator, &zero_r),
        Verdict::Reject(RejectReason::MalformedSignature)
    );
    let all_ff = WakuMessage {
        meta: Some(Bytes::from(vec![0xFF; 64])),
        ..good
    };
    assert_eq!(
        judge(&validator, &all_ff),
        Verdict::Reject(RejectReason::MalformedSignature)
    );
}

#[test]
fn unprotected_topics_are_not_this_validators_business() {
    for (_, validator) in setups() {
        let unsigned = WakuMessage::default();
        for topic in [
            PubsubTopic::static_shard(CLUSTER, 64),
            PubsubTopic::static_shard(CLUSTER + 1, SHARD),
            PubsubTopic::Named("/waku/2/default-waku/proto".into()),
        ] {
            assert!(!validator.is_protected(&topic));
            assert_eq!(validator.validate(&topic, &unsigned, NOW), Verdict::Accept);
        }
        assert_eq!(
            validator.validate(&shard_topic(SHARD), &unsigned, NOW),
            Verdict::Reject(RejectReason::MissingTimestamp)
        );
    }
}

#[test]
fn conflicting_keys_for_one_shard_are_a_config_error() {
    let a = ShardSigningKey::generate(SignatureScheme::Secp256k1);
    let b = ShardSigningKey::generate(SignatureScheme::Secp256k1);
    assert_eq!(
        ProtectedShardValidator::new(CLUSTER, [protected(SHARD, &a), protected(SHARD, &b)]).err(),
        Some(ValidatorConfigError::ConflictingKeys(SHARD))
    );
    let twice: Vec<ProtectedShard> = vec![protected(SHARD, &a), protected(SHARD, &a)];
    let validator = ProtectedShardValidator::new(CLUSTER, twice).expect("same key twice is fine");
    assert_eq!(validator.protected_shards().count(), 1);
}
