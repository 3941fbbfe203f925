//! The JSON bodies of nwaku's lightpush REST routes: `{"pubsubTopic"?, "message": {…}}` with
//! the message in nwaku's `RelayWakuMessage` shape (`payload` and `meta` in base64, `timestamp`
//! in Unix ns, 0 or absent meaning now).

use base64::{
    Engine as _,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use rwaku_core::WakuMessage;

/// Clients differ on base64 padding, so both forms are read.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestPushRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubsub_topic: Option<String>,
    pub message: RestMessage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestMessage {
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
pub enum RestBodyError {
    #[error("invalid request body: {0}")]
    Json(String),
    #[error("field `{field}` is not valid base64: {reason}")]
    Base64 { field: &'static str, reason: String },
    #[error("the message has no contentTopic")]
    NoContentTopic,
}

fn decode(field: &'static str, text: &str) -> Result<Bytes, RestBodyError> {
    BASE64
        .decode(text.trim())
        .map(Bytes::from)
        .map_err(|e| RestBodyError::Base64 {
            field,
            reason: e.to_string(),
        })
}

impl RestPushRequest {
    pub fn parse(body: &[u8]) -> Result<Self, RestBodyError> {
        serde_json::from_slice(body).map_err(|e| RestBodyError::Json(e.to_string()))
    }

    /// The pubsub topic (None when absent or empty) and the message, with a zero or absent
    /// timestamp set to `now_ns`.
    pub fn into_parts(self, now_ns: i64) -> Result<(Option<String>, WakuMessage), RestBodyError> {
        let m = self.message;
        let content_topic = m
            .content_topic
            .filter(|t| !t.is_empty())
            .ok_or(RestBodyError::NoContentTopic)?;
        let message = WakuMessage {
            payload: decode("payload", &m.payload)?,
            content_topic,
            version: m.version,
            timestamp: Some(m.timestamp.filter(|t| *t != 0).unwrap_or(now_ns)),
            meta: m.meta.map(|t| decode("meta", &t)).transpose()?,
            rate_limit_proof: m.proof.map(|t| decode("proof", &t)).transpose()?,
            ephemeral: m.ephemeral,
        };
        let topic = self.pubsub_topic.filter(|t| !t.trim().is_empty());
        Ok((topic, message))
    }
}

/// The success body of `POST /lightpush/v3/message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestPushSuccess {
    pub relay_peer_count: u32,
}

/// The error body of `POST /lightpush/v3/message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestPushFailure {
    pub status_desc: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nwaku_body_parses() {
        let body = br#"{"pubsubTopic":"/waku/2/rs/16/32","message":{"payload":"aGVsbG8",
            "contentTopic":"/a/1/b/proto","timestamp":0,"meta":"AQI=","ephemeral":true}}"#;
        let (topic, m) = RestPushRequest::parse(body)
            .expect("parses")
            .into_parts(42)
            .expect("converts");
        assert_eq!(topic.as_deref(), Some("/waku/2/rs/16/32"));
        assert_eq!(m.payload.as_ref(), b"hello");
        assert_eq!(m.timestamp, Some(42), "0 means now");
        assert_eq!(m.meta.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(m.ephemeral, Some(true));
    }

    #[test]
    fn a_given_timestamp_is_kept_and_topic_may_be_absent() {
        let body = br#"{"message":{"payload":"","contentTopic":"/a/1/b/proto","timestamp":7}}"#;
        let (topic, m) = RestPushRequest::parse(body)
            .expect("parses")
            .into_parts(42)
            .expect("converts");
        assert_eq!((topic, m.timestamp), (None, Some(7)));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert!(matches!(
            RestPushRequest::parse(br#"{"pubsubTopic":"/waku/2/rs/16/32"}"#),
            Err(RestBodyError::Json(e)) if e.contains("message")
        ));
        let no_topic = RestPushRequest::parse(br#"{"message":{"payload":""}}"#).expect("parses");
        assert_eq!(no_topic.into_parts(1), Err(RestBodyError::NoContentTopic));
        let bad =
            RestPushRequest::parse(br#"{"message":{"payload":"!!","contentTopic":"/a/1/b/c"}}"#)
                .expect("parses");
        assert!(matches!(
            bad.into_parts(1),
            Err(RestBodyError::Base64 {
                field: "payload",
                ..
            })
        ));
    }

    #[test]
    fn answers_are_camel_case() {
        assert_eq!(
            serde_json::to_string(&RestPushSuccess {
                relay_peer_count: 3
            })
            .expect("json"),
            r#"{"relayPeerCount":3}"#
        );
        assert_eq!(
            serde_json::to_string(&RestPushFailure {
                status_desc: "no".into()
            })
            .expect("json"),
            r#"{"statusDesc":"no"}"#
        );
    }
}
