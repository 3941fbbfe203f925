//! Metric names of the peer-exchange plugin (nwaku's where it has one).

pub const CACHED_PEERS: &str = "waku_px_peers";
pub const REQUESTS: &str = "waku_px_requests";
pub const ERRORS: &str = "waku_px_errors";
pub const REQUEST_DURATION: &str = "waku_px_request_duration_seconds";
pub const REFUSED_RECORDS: &str = "rwaku_px_records_refused_total";
pub const PEERS_LEARNED: &str = "waku_px_peers_received_total";
