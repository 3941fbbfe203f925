//! The archiving rule applied before insert: nwaku's archive skips ephemeral messages and
//! refuses timestamps more than 20 s from the store node's clock (`MaxMessageTimestampVariance`).
//! A pure function: the caller passes its clock, so tests and store sync can choose theirs.

use rwaku_core::WakuMessage;

/// nwaku's `MaxMessageTimestampVariance`, in nanoseconds.
pub const MAX_MESSAGE_TIMESTAMP_VARIANCE_NS: i64 = 20_000_000_000;

/// Why a message is not archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotArchived {
    /// Not an error: the sender asked for it not to be stored.
    #[error("the message is ephemeral")]
    Ephemeral,
    #[error("the message timestamp is more than 20 s in the past")]
    TooOld,
    #[error("the message timestamp is more than 20 s in the future")]
    TooFarInFuture,
}

impl NotArchived {
    /// The `waku_archive_errors{type}` label nwaku uses, `None` for a message that is simply
    /// not meant to be stored.
    pub fn metric_label(self) -> Option<&'static str> {
        match self {
            Self::Ephemeral => None,
            Self::TooOld => Some("invalid_message_too_old"),
            Self::TooFarInFuture => Some("invalid_message_future"),
        }
    }
}

/// Whether `message` may be archived at `now_ns` (Unix epoch ns). The window is inclusive at
/// both ends; an absent timestamp reads as 0 and so is too old.
pub fn check_archivable(message: &WakuMessage, now_ns: i64) -> Result<(), NotArchived> {
    if message.is_ephemeral() {
        return Err(NotArchived::Ephemeral);
    }
    let ts = message.timestamp_or_zero();
    if ts < now_ns.saturating_sub(MAX_MESSAGE_TIMESTAMP_VARIANCE_NS) {
        return Err(NotArchived::TooOld);
    }
    if ts > now_ns.saturating_add(MAX_MESSAGE_TIMESTAMP_VARIANCE_NS) {
        return Err(NotArchived::TooFarInFuture);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000_000;

    fn at(ts: Option<i64>) -> WakuMessage {
        WakuMessage {
            timestamp: ts,
            ..Default::default()
        }
    }

    #[test]
    fn window_is_inclusive() {
        let v = MAX_MESSAGE_TIMESTAMP_VARIANCE_NS;
        assert_eq!(check_archivable(&at(Some(NOW)), NOW), Ok(()));
        assert_eq!(check_archivable(&at(Some(NOW - v)), NOW), Ok(()));
        assert_eq!(check_archivable(&at(Some(NOW + v)), NOW), Ok(()));
        assert_eq!(
            check_archivable(&at(Some(NOW - v - 1)), NOW),
            Err(NotArchived::TooOld)
        );
        assert_eq!(
            check_archivable(&at(Some(NOW + v + 1)), NOW),
            Err(NotArchived::TooFarInFuture)
        );
        assert_eq!(check_archivable(&at(None), NOW), Err(NotArchived::TooOld));
    }

    #[test]
    fn ephemeral_is_skipped_first() {
        let mut m = at(Some(NOW));
        m.ephemeral = Some(true);
        assert_eq!(check_archivable(&m, NOW), Err(NotArchived::Ephemeral));
        assert_eq!(NotArchived::Ephemeral.metric_label(), None);
        m.ephemeral = Some(false);
        assert_eq!(check_archivable(&m, NOW), Ok(()));
    }
}
