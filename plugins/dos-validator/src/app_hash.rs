//! The application message hash of the signed-shard scheme (57/STATUS-SIMPLE-SCALING): the digest
//! a community key signs. Not the 14/WAKU2-MESSAGE hash — that one is big-endian, includes meta
//! and leaves out ephemeral; this one must not include meta, since the signature lives there.
//!
//! sha256(pubsub_topic ‖ payload ‖ content_topic ‖ timestamp as u64 little-endian ‖ ephemeral byte)

use rwaku_core::WakuMessage;
use sha2::{Digest, Sha256};

/// The 32-byte digest that is signed (prehashed, no Ethereum prefix) and verified.
pub fn app_message_hash(pubsub_topic: &str, message: &WakuMessage) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(pubsub_topic.as_bytes());
    hasher.update(&message.payload);
    hasher.update(message.content_topic.as_bytes());
    // nwaku casts the int64 to uint64 before writing it; the cast keeps the two's-complement bits.
    hasher.update((message.timestamp_or_zero() as u64).to_le_bytes());
    hasher.update([u8::from(message.is_ephemeral())]);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn spec_message() -> WakuMessage {
        WakuMessage {
            payload: Bytes::from(
                hex::decode(
                    "1A12E077D0E89F9CAC11FBBB6A676C86120B5AD3E248B1F180E98F15EE43D2DF\
                     CF62F00C92737B2FF6F59B3ABA02773314B991C41DC19ADB0AD8C17C8E26757B",
                )
                .unwrap_or_default(),
            ),
            content_topic: "content-topic".into(),
            timestamp: Some(1_683_208_172_339_052_800),
            ephemeral: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn spec_vector() {
        assert_eq!(
            hex::encode_upper(app_message_hash("pubsub-topic", &spec_message())),
            "662F8C20A335F170BD60ABC1F02AD66F0C6A6EE285DA2A53C95259E7937C0AE9"
        );
    }

    #[test]
    fn meta_is_not_hashed_but_ephemeral_is() {
        let base = spec_message();
        let with_meta = WakuMessage {
            meta: Some(Bytes::from_static(&[7; 64])),
            ..base.clone()
        };
        assert_eq!(
            app_message_hash("pubsub-topic", &base),
            app_message_hash("pubsub-topic", &with_meta)
        );
        let not_ephemeral = WakuMessage {
            ephemeral: None,
            ..base.clone()
        };
        assert_ne!(
            app_message_hash("pubsub-topic", &base),
            app_message_hash("pubsub-topic", &not_ephemeral)
        );
    }
}
