//! 12/WAKU2-FILTER v2: light clients subscribe to (pubsub topic, content topics) on one
//! protocol and the service pushes matching messages back on another.

use rwaku_core::MAX_WAKU_MESSAGE_SIZE;

/// The generated `waku.filter.v2` types.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/waku.filter.v2.rs"));
}

/// Client to service: subscribe, unsubscribe, ping.
pub const SUBSCRIBE_PROTOCOL_ID: &str = "/vac/waku/filter-subscribe/2.0.0-beta1";

/// Service to client: `MessagePush` frames, no reply.
pub const PUSH_PROTOCOL_ID: &str = "/vac/waku/filter-push/2.0.0-beta1";

/// nwaku's read limit for subscribe requests.
pub const MAX_REQUEST_SIZE: usize = 10 * MAX_WAKU_MESSAGE_SIZE + 64 * 1024;

/// nwaku's read limit for subscribe responses.
pub const MAX_RESPONSE_SIZE: usize = 64 * 1024;

/// nwaku's read limit for one `MessagePush`.
pub const MAX_PUSH_SIZE: usize = 10 * MAX_WAKU_MESSAGE_SIZE + 64 * 1024;

/// nwaku's and go-waku's `MaxContentTopicsPerRequest`; more is a 400.
pub const MAX_CONTENT_TOPICS_PER_REQUEST: usize = 100;

/// `FilterSubscribeResponse.status_code` values (nwaku `FilterSubscribeErrorKind`).
pub mod status {
    pub const SUCCESS: u32 = 200;
    pub const BAD_RESPONSE: u32 = 300;
    /// Missing pubsub topic or content topics, or too many content topics.
    pub const BAD_REQUEST: u32 = 400;
    /// Ping or unsubscribe from a peer that has no subscription.
    pub const NOT_FOUND: u32 = 404;
    /// Rate limited; the response carries `request_id = "N/A"`.
    pub const TOO_MANY_REQUESTS: u32 = 429;
    /// Too many subscribed peers or criteria.
    pub const SERVICE_UNAVAILABLE: u32 = 503;
    /// Client side only: the service could not be dialed.
    pub const PEER_DIAL_FAILURE: u32 = 504;
}
