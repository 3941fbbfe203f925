//! What the validator decides about one message, and why it refused it.

/// The validator's answer. A relay maps `Accept` to gossipsub Accept and `Reject` to Reject
/// (P4 penalty), as nwaku does; this validator never asks for Ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Accept,
    Reject(RejectReason),
}

impl Verdict {
    pub fn is_accept(self) -> bool {
        self == Self::Accept
    }

    /// The label nwaku's `waku_msg_validator_signed_outcome{result}` uses: Nim's `$` of
    /// libp2p's `ValidationResult`, so dashboards built for nwaku work unchanged.
    pub fn outcome_label(self) -> &'static str {
        match self {
            Self::Accept => "Accept",
            Self::Reject(_) => "Reject",
        }
    }
}

/// Why a message on a protected shard was refused. The checks run in this order, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RejectReason {
    #[error("timestamp is absent or zero")]
    MissingTimestamp,
    #[error("timestamp is 5 minutes or more away from now")]
    OutsideTimeWindow,
    #[error("meta (the signature) is absent or empty")]
    MissingMeta,
    #[error("meta is {0} bytes, the signature needs exactly 64")]
    WrongMetaLength(usize),
    /// A scalar out of range (zero, or not below the group order).
    #[error("signature is not well formed")]
    MalformedSignature,
    /// secp256k1 with S above n/2: libsecp256k1, and so nwaku and go-waku, refuse it.
    #[error("signature has a high S value")]
    HighS,
    #[error("signature does not verify against the shard's key")]
    InvalidSignature,
}

impl RejectReason {
    /// A short label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingTimestamp => "missing_timestamp",
            Self::OutsideTimeWindow => "outside_time_window",
            Self::MissingMeta => "missing_meta",
            Self::WrongMetaLength(_) => "wrong_meta_length",
            Self::MalformedSignature => "malformed_signature",
            Self::HighS => "high_s",
            Self::InvalidSignature => "invalid_signature",
        }
    }
}
