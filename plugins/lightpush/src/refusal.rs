//! What a lightpush request can come to: relayed to some peers, or refused with one of the v3
//! status codes and a reason. The v3 and v2 servers, the client and the REST routes all speak
//! in these terms.

use rwaku_actors::PublishError;
use rwaku_core::{MessageHash, PubsubTopic};
use rwaku_protocols::lightpush::status;

/// A message the relay accepted and published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relayed {
    pub topic: PubsubTopic,
    pub hash: MessageHash,
    /// Relay peers the message was sent to; never 0 (that is [`PushRefusal::NoPeers`]).
    pub peers: usize,
}

/// Why a push was not relayed. `status_code` is the v3 code nwaku and js-waku use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushRefusal {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("message of {size} bytes is over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    #[error("unsupported pubsub topic: {0}")]
    UnsupportedTopic(String),
    #[error("request rejected due to too many requests")]
    TooManyRequests,
    #[error("service not available: {0}")]
    Unavailable(String),
    #[error("no peers to relay the message to on {0}")]
    NoPeers(String),
    #[error("internal server error: {0}")]
    Internal(String),
    /// A code this node does not produce itself, as a remote service answered it.
    #[error("{desc}")]
    Other { code: u32, desc: String },
}

impl PushRefusal {
    pub fn status_code(&self) -> u32 {
        match self {
            Self::BadRequest(_) => status::BAD_REQUEST,
            Self::TooLarge { .. } => status::PAYLOAD_TOO_LARGE,
            Self::InvalidMessage(_) => status::INVALID_MESSAGE,
            Self::UnsupportedTopic(_) => status::UNSUPPORTED_PUBSUB_TOPIC,
            Self::TooManyRequests => status::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => status::SERVICE_NOT_AVAILABLE,
            Self::NoPeers(_) => status::NO_PEERS_TO_RELAY,
            Self::Internal(_) => status::INTERNAL_SERVER_ERROR,
            Self::Other { code, .. } => *code,
        }
    }

    /// The `type` label of `waku_lightpush*_errors`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::TooLarge { .. } => "payload_too_large",
            Self::InvalidMessage(_) => "invalid_message",
            Self::UnsupportedTopic(_) => "unsupported_pubsub_topic",
            Self::TooManyRequests => "too_many_requests",
            Self::Unavailable(_) => "service_not_available",
            Self::NoPeers(_) => "no_peers_to_relay",
            Self::Internal(_) => "internal_server_error",
            Self::Other { .. } => "other",
        }
    }

    /// How the relay's refusal reads to a lightpush client. nwaku counts a duplicate as an
    /// invalid message.
    pub fn from_publish(error: PublishError) -> Self {
        match error {
            PublishError::NotSubscribed(topic) => {
                Self::UnsupportedTopic(format!("this node does not relay {topic}"))
            }
            PublishError::Invalid(reason) => Self::InvalidMessage(reason),
            PublishError::Duplicate => Self::InvalidMessage("message already published".into()),
            PublishError::Unavailable(reason) => Self::Unavailable(reason),
            PublishError::NoPeers(topic) => Self::NoPeers(topic),
            PublishError::Network(reason) => Self::Internal(reason),
            PublishError::Stopped => Self::Internal("relay is not running".into()),
        }
    }

    /// The refusal a remote service's v3 answer stands for (`status_code` other than 200),
    /// keeping the service's own description.
    pub fn from_status(code: u32, desc: Option<String>) -> Self {
        match code {
            status::TOO_MANY_REQUESTS => Self::TooManyRequests,
            _ => Self::Other {
                code,
                desc: desc.unwrap_or_else(|| format!("the service answered {code}")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_errors_map_to_nwaku_codes() {
        let cases = [
            (PublishError::NotSubscribed("t".into()), 421),
            (PublishError::Invalid("bad signature".into()), 420),
            (PublishError::Duplicate, 420),
            (PublishError::Unavailable("busy".into()), 503),
            (PublishError::NoPeers("t".into()), 505),
            (PublishError::Network("x".into()), 500),
            (PublishError::Stopped, 500),
        ];
        for (error, code) in cases {
            let label = error.label();
            assert_eq!(
                PushRefusal::from_publish(error).status_code(),
                code,
                "{label}"
            );
        }
    }

    #[test]
    fn remote_codes_keep_their_number() {
        for code in [400, 413, 420, 421, 429, 500, 503, 504, 505, 599] {
            assert_eq!(
                PushRefusal::from_status(code, Some("why".into())).status_code(),
                code
            );
        }
    }
}
