//! The generic relay rules every shard applies before any shard-specific validator: the
//! message decodes, fits the size limit and carries at most 64 bytes of meta.

use prost::Message;
use rwaku_core::{MAX_META_SIZE, MAX_WAKU_MESSAGE_SIZE, WakuMessage};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayCheckError {
    #[error("message of {0} bytes is over the 150 KiB limit")]
    TooLarge(usize),
    #[error("message does not decode: {0}")]
    Undecodable(String),
    #[error("meta of {0} bytes is over the 64-byte limit")]
    MetaTooLong(usize),
}

impl RelayCheckError {
    /// The label counted in `rwaku_relay_messages_refused_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "too_large",
            Self::Undecodable(_) => "undecodable",
            Self::MetaTooLong(_) => "meta_too_long",
        }
    }
}

/// Decodes `data` and applies the generic rules.
pub fn check_generic(data: &[u8]) -> Result<WakuMessage, RelayCheckError> {
    if data.len() > MAX_WAKU_MESSAGE_SIZE {
        return Err(RelayCheckError::TooLarge(data.len()));
    }
    let message =
        WakuMessage::decode(data).map_err(|e| RelayCheckError::Undecodable(e.to_string()))?;
    let meta = message.meta_bytes().len();
    if meta > MAX_META_SIZE {
        return Err(RelayCheckError::MetaTooLong(meta));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn rules() {
        let ok = WakuMessage {
            payload: Bytes::from_static(b"x"),
            content_topic: "/a/1/b/proto".into(),
            ..Default::default()
        };
        assert_eq!(check_generic(&ok.encode_to_vec()), Ok(ok.clone()));
        let long_meta = WakuMessage {
            meta: Some(Bytes::from(vec![0u8; 65])),
            ..ok.clone()
        };
        assert_eq!(
            check_generic(&long_meta.encode_to_vec()),
            Err(RelayCheckError::MetaTooLong(65))
        );
        let big = WakuMessage {
            payload: Bytes::from(vec![0u8; MAX_WAKU_MESSAGE_SIZE]),
            ..ok
        };
        assert!(matches!(
            check_generic(&big.encode_to_vec()),
            Err(RelayCheckError::TooLarge(_))
        ));
        assert!(matches!(
            check_generic(&[0xff, 0xff]),
            Err(RelayCheckError::Undecodable(_))
        ));
    }
}
