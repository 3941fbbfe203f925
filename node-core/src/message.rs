//! 14/WAKU2-MESSAGE: the WakuMessage as it is on the wire (package `waku.message.v1`).
//!
//! `payload` and `content_topic` are proto2 `required` so the encoder always writes them, even
//! empty: nwaku's decoder fails a message without them. Everything else keeps its presence, so
//! a js-waku message with an explicit `version = 0` and `ephemeral = false` re-encodes to the
//! same bytes. Decoding stays lenient: a missing field decodes as its default.

use bytes::Bytes;

/// nwaku's `DefaultMaxWakuMessageSize` (150 KiB) for an encoded WakuMessage.
pub const MAX_WAKU_MESSAGE_SIZE: usize = 150 * 1024;

/// nwaku and go-waku reject a `meta` longer than this.
pub const MAX_META_SIZE: usize = 64;

#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct WakuMessage {
    #[prost(bytes = "bytes", required, tag = "1")]
    pub payload: Bytes,
    #[prost(string, required, tag = "2")]
    pub content_topic: String,
    #[prost(uint32, optional, tag = "3")]
    pub version: Option<u32>,
    /// Unix epoch nanoseconds, zig-zag encoded on the wire.
    #[prost(sint64, optional, tag = "10")]
    pub timestamp: Option<i64>,
    #[prost(bytes = "bytes", optional, tag = "11")]
    pub meta: Option<Bytes>,
    #[prost(bytes = "bytes", optional, tag = "21")]
    pub rate_limit_proof: Option<Bytes>,
    #[prost(bool, optional, tag = "31")]
    pub ephemeral: Option<bool>,
}

impl WakuMessage {
    /// The timestamp, with absence read as 0 as nwaku does.
    pub fn timestamp_or_zero(&self) -> i64 {
        self.timestamp.unwrap_or(0)
    }

    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral.unwrap_or(false)
    }

    /// The meta bytes, empty when absent.
    pub fn meta_bytes(&self) -> &[u8] {
        self.meta.as_deref().unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn empty_required_fields_are_written() {
        let msg = WakuMessage::default();
        assert_eq!(msg.encode_to_vec(), vec![0x0a, 0x00, 0x12, 0x00]);
    }

    #[test]
    fn explicit_defaults_survive_a_round_trip() {
        let msg = WakuMessage {
            payload: Bytes::from_static(b"hi"),
            content_topic: "/a/1/b/proto".into(),
            version: Some(0),
            ephemeral: Some(false),
            ..Default::default()
        };
        let bytes = msg.encode_to_vec();
        let back = WakuMessage::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(back, msg);
        assert_eq!(back.encode_to_vec(), bytes);
    }

    #[test]
    fn missing_fields_decode_as_defaults() {
        let back = WakuMessage::decode(&[][..]).expect("decodes");
        assert!(back.payload.is_empty());
        assert_eq!(back.timestamp_or_zero(), 0);
        assert!(!back.is_ephemeral());
    }
}
