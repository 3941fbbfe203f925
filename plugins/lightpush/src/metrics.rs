//! The lightpush metrics. Counter names are nwaku's (`waku_lightpush_v3_*` for v3,
//! `waku_lightpush_*` for the legacy v2 protocol); the rest are rwaku's own.

use std::time::Instant;

use crate::refusal::PushRefusal;

pub const V3_MESSAGES: &str = "waku_lightpush_v3_messages";
pub const V3_ERRORS: &str = "waku_lightpush_v3_errors";
pub const V2_MESSAGES: &str = "waku_lightpush_messages";
pub const V2_ERRORS: &str = "waku_lightpush_errors";
/// Seconds from a decoded request to its answer, by `version` (v3, v2, rest).
pub const REQUEST_DURATION: &str = "rwaku_lightpush_request_duration_seconds";
/// Peers whose token bucket the rate limiter keeps.
pub const RATE_LIMITED_PEERS: &str = "rwaku_lightpush_rate_limiter_peers";

/// Which front end a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V3,
    V2,
    Rest,
}

impl Version {
    fn label(self) -> &'static str {
        match self {
            Self::V3 => "v3",
            Self::V2 => "v2",
            Self::Rest => "rest",
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::V2 => (V2_MESSAGES, V2_ERRORS),
            Self::V3 | Self::Rest => (V3_MESSAGES, V3_ERRORS),
        }
    }
}

pub fn request_received(version: Version) {
    metrics::counter!(version.names().0, "type" => "PushRequest").increment(1);
}

pub fn request_failed(version: Version, label: &'static str) {
    metrics::counter!(version.names().1, "type" => label).increment(1);
}

pub fn refused(version: Version, refusal: &PushRefusal) {
    request_failed(version, refusal.label());
}

pub fn answered(version: Version, started: Instant) {
    metrics::histogram!(REQUEST_DURATION, "version" => version.label())
        .record(started.elapsed().as_secs_f64());
}

pub fn rate_limiter_size(peers: usize) {
    metrics::gauge!(RATE_LIMITED_PEERS).set(peers as f64);
}
