//! The JSON bodies of nwaku's lightpush REST routes: `{"pubsubTopic"?, "message": {…}}` with
//! the message in nwaku's `RelayWakuMessage` shape (`payload` and `meta` in base64, `timestamp`
//! in Unix ns, 0 or absent meaning now).

use rwaku_actors::rest_message::{MessageJsonError, RelayWakuMessage};
use rwaku_core::WakuMessage;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestPushRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubsub_topic: Option<String>,
    pub message: RelayWakuMessage,
}

/// What is wrong with a request body: the message errors of the shared JSON shape.
pub type RestBodyError = MessageJsonError;

impl RestPushRequest {
    pub fn parse(body: &[u8]) -> Result<Self, RestBodyError> {
        serde_json::from_slice(body).map_err(|e| MessageJsonError::Json(e.to_string()))
    }

    /// The pubsub topic (None when absent or empty) and the message, with a zero or absent
    /// timestamp set to `now_ns`; lightpush needs a content topic.
    pub fn into_parts(self, now_ns: i64) -> Result<(Option<String>, WakuMessage), RestBodyError> {
        let mut message = self.message;
        message.content_topic = message.content_topic.filter(|t| !t.is_empty());
        let message = message.into_waku_message(now_ns, true)?;
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
