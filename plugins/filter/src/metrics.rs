//! The filter's metric names in one place, nwaku's where nwaku has one, so dashboards built
//! for nwaku keep working and the names cannot drift between the files that emit them.

/// nwaku: peers holding at least one subscription.
pub const SUBSCRIPTIONS: &str = "waku_filter_subscriptions";
/// nwaku: (pubsub topic, content topic) criteria held over all peers.
pub const CRITERIA: &str = "rwaku_filter_criteria";
/// nwaku: subscribe requests by `type` (subscribe, unsubscribe, unsubscribe_all, ping).
pub const REQUESTS: &str = "waku_filter_requests";
/// nwaku: errors by `type` (decode_rpc_failure, rate_limited, bad_request, not_found,
/// service_unavailable, push_queue_full, push_failed, peer_disconnected, unsolicited_push).
pub const ERRORS: &str = "waku_filter_errors";
/// nwaku: time to answer one subscribe request, seconds.
pub const REQUEST_DURATION: &str = "waku_filter_request_duration_seconds";
/// nwaku: time to match one message and queue its pushes, seconds.
pub const HANDLE_MESSAGE_DURATION: &str = "waku_filter_handle_message_duration_seconds";
/// Pushes written to a subscriber.
pub const PUSHES_SENT: &str = "rwaku_filter_pushes_sent_total";
/// Pushes not delivered, by `reason` (queue_full, failed, disconnected).
pub const PUSHES_DROPPED: &str = "rwaku_filter_pushes_dropped_total";
/// Pushes waiting in subscriber queues right now, over all subscribers.
pub const PUSH_QUEUE_DEPTH: &str = "rwaku_filter_push_queue_depth";
/// Subscriber queues (one per subscribed peer).
pub const PUSH_QUEUES: &str = "rwaku_filter_push_queues";
/// Message hashes remembered for push de-duplication.
pub const RECENT_HASHES: &str = "rwaku_filter_recent_hashes";
/// Client side: pushes received from a filter service, by `outcome` (kept, unsolicited,
/// malformed).
pub const CLIENT_PUSHES: &str = "rwaku_filter_client_pushes_total";
/// Client side: keep-alive pings by `outcome` (ok, resubscribed, failed).
pub const CLIENT_KEEP_ALIVE: &str = "rwaku_filter_client_keep_alive_total";
/// Client side: pushed messages held for the REST routes.
pub const CLIENT_CACHE_MESSAGES: &str = "rwaku_filter_client_cache_messages";
/// Client side: pushed messages evicted (oldest first) from a full per-topic queue.
pub const CLIENT_CACHE_EVICTED: &str = "rwaku_filter_client_cache_evicted_total";
