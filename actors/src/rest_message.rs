//! nwaku's `RelayWakuMessage` JSON, the message shape of every REST route (relay, lightpush,
//! filter): `payload` (base64, required), `contentTopic`, `version`, `timestamp` (Unix ns; 0
//! or absent means now), `meta` (base64), `ephemeral`, `proof` (base64 RLN proof).

use base64::{
    Engine as _,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use rwaku_core::WakuMessage;

/// nwaku's content topic for a message that names none.
pub const DEFAULT_CONTENT_TOPIC: &str = "/waku/2/default-content/proto";

/// Standard alphabet; clients differ on padding, so both forms are read. Written padded.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayWakuMessage {
    pub payload: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageJsonError {
    #[error("invalid JSON message: {0}")]
    Json(String),
    #[error("field `{field}` is not valid base64: {reason}")]
    Base64 { field: &'static str, reason: String },
    #[error("the message has no contentTopic")]
    NoContentTopic,
}

fn decode(field: &'static str, text: &str) -> Result<Bytes, MessageJsonError> {
    BASE64
        .decode(text.trim())
        .map(Bytes::from)
        .map_err(|e| MessageJsonError::Base64 {
            field,
            reason: e.to_string(),
        })
}

impl RelayWakuMessage {
    pub fn parse(body: &[u8]) -> Result<Self, MessageJsonError> {
        serde_json::from_slice(body).map_err(|e| MessageJsonError::Json(e.to_string()))
    }

    /// The WakuMessage to publish; `now_ns` fills a zero or absent timestamp, and a missing
    /// content topic becomes nwaku's default unless `require_content_topic`.
    pub fn into_waku_message(
        self,
        now_ns: i64,
        require_content_topic: bool,
    ) -> Result<WakuMessage, MessageJsonError> {
        let content_topic = match self.content_topic {
            Some(t) => t,
            None if require_content_topic => return Err(MessageJsonError::NoContentTopic),
            None => DEFAULT_CONTENT_TOPIC.to_string(),
        };
        let timestamp = match self.timestamp {
            Some(t) if t != 0 => t,
            _ => now_ns,
        };
        Ok(WakuMessage {
            payload: decode("payload", &self.payload)?,
            content_topic,
            version: self.version,
            timestamp: Some(timestamp),
            meta: self.meta.map(|m| decode("meta", &m)).transpose()?,
            rate_limit_proof: self.proof.map(|p| decode("proof", &p)).transpose()?,
            ephemeral: self.ephemeral,
        })
    }

    /// The JSON form of a relayed message, as nwaku writes it (empty meta and proof left out).
    pub fn from_waku_message(message: &WakuMessage) -> Self {
        let optional = |bytes: &[u8]| (!bytes.is_empty()).then(|| BASE64.encode(bytes));
        Self {
            payload: BASE64.encode(&message.payload),
            content_topic: Some(message.content_topic.clone()),
            version: Some(message.version.unwrap_or(0)),
            timestamp: Some(message.timestamp_or_zero()),
            meta: optional(message.meta_bytes()),
            ephemeral: Some(message.is_ephemeral()),
            proof: message.rate_limit_proof.as_deref().and_then(optional),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nwaku_shape_parses_and_fills_defaults() {
        let body = br#"{"payload":"aGVsbG8=","contentTopic":"/a/1/b/proto","timestamp":0,
                        "meta":"AQI","ephemeral":true,"version":1}"#;
        let json = RelayWakuMessage::parse(body).expect("parses");
        let m = json.into_waku_message(42, true).expect("converts");
        assert_eq!(m.payload.as_ref(), b"hello");
        assert_eq!(m.content_topic, "/a/1/b/proto");
        assert_eq!(m.timestamp, Some(42), "0 means now");
        assert_eq!(
            m.meta.as_deref(),
            Some(&[1u8, 2][..]),
            "unpadded base64 is read"
        );
        assert_eq!((m.version, m.ephemeral), (Some(1), Some(true)));

        let minimal = RelayWakuMessage::parse(br#"{"payload":""}"#).expect("parses");
        let m = minimal
            .clone()
            .into_waku_message(7, false)
            .expect("converts");
        assert_eq!(m.content_topic, DEFAULT_CONTENT_TOPIC);
        assert_eq!(m.timestamp, Some(7));
        assert_eq!(
            minimal.into_waku_message(7, true),
            Err(MessageJsonError::NoContentTopic)
        );
    }

    #[test]
    fn a_given_timestamp_is_kept() {
        let json = RelayWakuMessage::parse(br#"{"payload":"","timestamp":1700000000000000000}"#)
            .expect("parses");
        let m = json.into_waku_message(1, false).expect("converts");
        assert_eq!(m.timestamp, Some(1_700_000_000_000_000_000));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(matches!(
            RelayWakuMessage::parse(br#"{"contentTopic":"/a/1/b/proto"}"#),
            Err(MessageJsonError::Json(e)) if e.contains("payload")
        ));
        assert!(matches!(
            RelayWakuMessage::parse(b"[1,2"),
            Err(MessageJsonError::Json(_))
        ));
        let bad_meta = RelayWakuMessage::parse(br#"{"payload":"","meta":"!!"}"#).expect("parses");
        assert!(matches!(
            bad_meta.into_waku_message(1, false),
            Err(MessageJsonError::Base64 { field: "meta", .. })
        ));
        let bad_payload = RelayWakuMessage::parse(br#"{"payload":"a b"}"#).expect("parses");
        assert!(matches!(
            bad_payload.into_waku_message(1, false),
            Err(MessageJsonError::Base64 {
                field: "payload",
                ..
            })
        ));
    }

    #[test]
    fn written_like_nwaku() {
        let m = WakuMessage {
            payload: Bytes::from_static(b"hello"),
            content_topic: "/a/1/b/proto".into(),
            timestamp: Some(5),
            ..Default::default()
        };
        let json = serde_json::to_value(RelayWakuMessage::from_waku_message(&m)).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"payload":"aGVsbG8=","contentTopic":"/a/1/b/proto",
                               "version":0,"timestamp":5,"ephemeral":false})
        );
        let signed = WakuMessage {
            meta: Some(Bytes::from_static(&[0xff; 3])),
            ephemeral: Some(true),
            ..m
        };
        let back = RelayWakuMessage::from_waku_message(&signed);
        assert_eq!(back.meta.as_deref(), Some("////"));
        assert_eq!(
            back.into_waku_message(9, true).expect("round trip"),
            WakuMessage {
                version: Some(0),
                ..signed
            }
        );
    }
}
