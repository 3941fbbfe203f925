//! The deterministic message hash of 14/WAKU2-MESSAGE: the store key, the store cursor and the
//! de-duplication key everywhere but gossipsub (whose message id hashes the raw bytes instead).
//!
//! sha256(pubsub_topic ‖ payload ‖ content_topic ‖ meta ‖ timestamp as u64 big-endian).
//! Like nwaku and go-waku, the 8 timestamp bytes are always appended, zeros when absent;
//! js-waku leaves them out for a zero timestamp, so only timestamp-less messages differ.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::message::WakuMessage;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MessageHash(pub [u8; 32]);

impl MessageHash {
    pub fn compute(pubsub_topic: &str, message: &WakuMessage) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(pubsub_topic.as_bytes());
        hasher.update(&message.payload);
        hasher.update(message.content_topic.as_bytes());
        hasher.update(message.meta_bytes());
        hasher.update((message.timestamp_or_zero() as u64).to_be_bytes());
        Self(hasher.finalize().into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A hash from exactly 32 bytes; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// Parses `0x`-prefixed or bare hex, as nwaku's REST API prints it.
    pub fn from_hex(text: &str) -> Option<Self> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).ok()?;
        Some(Self(out))
    }

    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// The first 6 bytes in hex, for log lines.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl fmt::Debug for MessageHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageHash({})", hex::encode(self.0))
    }
}

impl fmt::Display for MessageHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const PUBSUB: &str = "/waku/2/default-waku/proto";
    const CONTENT: &str = "/waku/2/default-content/proto";
    const TS: i64 = 0x175789bfa23f8400;

    fn msg(payload: &str, meta: Option<Vec<u8>>, timestamp: Option<i64>) -> WakuMessage {
        WakuMessage {
            payload: Bytes::from(hex::decode(payload).expect("hex")),
            content_topic: CONTENT.into(),
            meta: meta.map(Bytes::from),
            timestamp,
            ..Default::default()
        }
    }

    fn check(message: &WakuMessage, pubsub: &str, expected: &str) {
        assert_eq!(
            hex::encode(MessageHash::compute(pubsub, message).0),
            expected
        );
    }

    #[test]
    fn rfc_vector_1_meta() {
        let m = msg(
            "010203045445535405060708",
            Some(b"super-secret".to_vec()),
            Some(TS),
        );
        check(
            &m,
            PUBSUB,
            "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05",
        );
    }

    #[test]
    fn rfc_vector_2_meta_64_bytes() {
        let m = msg(
            "010203045445535405060708",
            Some((0u8..64).collect()),
            Some(TS),
        );
        check(
            &m,
            PUBSUB,
            "7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27",
        );
    }

    #[test]
    fn rfc_vector_3_meta_absent() {
        let m = msg("010203045445535405060708", None, Some(TS));
        check(
            &m,
            PUBSUB,
            "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8",
        );
    }

    #[test]
    fn rfc_vector_4_empty_payload() {
        let m = msg("", Some(b"super-secret".to_vec()), Some(TS));
        check(
            &m,
            PUBSUB,
            "483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4",
        );
    }

    #[test]
    fn rfc_vector_5_timestamp_absent_follows_nwaku() {
        // js-waku omits the timestamp bytes and gets e1a95962…; nwaku appends 8 zero bytes.
        let m = msg("", Some(b"super-secret".to_vec()), None);
        check(
            &m,
            PUBSUB,
            "58e2fc032a82c4adeb967a8b87086d0d6fb304912f120d4404e6236add8f1f56",
        );
        let zero = msg("", Some(b"super-secret".to_vec()), Some(0));
        check(
            &zero,
            PUBSUB,
            "58e2fc032a82c4adeb967a8b87086d0d6fb304912f120d4404e6236add8f1f56",
        );
    }

    #[test]
    fn rfc_vector_6_version_not_hashed() {
        let mut m = msg(
            "",
            Some(b"super-secret".to_vec()),
            Some(1714474454978000000),
        );
        m.version = Some(0);
        check(
            &m,
            PUBSUB,
            "3f11bc950dce0e3ffdcf205ae6414c01130bb5d9f20644869bff80407fa52c8f",
        );
        m.version = Some(1);
        m.ephemeral = Some(true);
        check(
            &m,
            PUBSUB,
            "3f11bc950dce0e3ffdcf205ae6414c01130bb5d9f20644869bff80407fa52c8f",
        );
    }

    #[test]
    fn js_waku_probe_vector() {
        let m = WakuMessage {
            payload: Bytes::from_static(b"js-waku probe 2026-12-01T07:58:53.095Z 30809b5aa35d1"),
            content_topic: "/test/1/probe/proto".into(),
            version: Some(0),
            timestamp: Some(1796111933108000000),
            ephemeral: Some(false),
            ..Default::default()
        };
        check(
            &m,
            "/waku/2/rs/1/0",
            "154352ca52f976fad47851bfae859055f9e24c0675c40993450268ebe676ad0c",
        );
    }

    #[test]
    fn hex_round_trip() {
        let h = MessageHash([7u8; 32]);
        assert_eq!(MessageHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(MessageHash::from_hex("0x1234"), None);
        assert_eq!(MessageHash::from_slice(&[1u8; 31]), None);
    }
}
