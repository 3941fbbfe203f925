//! 13/WAKU2-STORE v3: history queries by content filter or by message hash, answered one page
//! per request/response stream.

use rwaku_core::MAX_WAKU_MESSAGE_SIZE;

/// The generated `waku.store.v3` types.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/waku.store.v3.rs"));
}

pub const PROTOCOL_ID: &str = "/vac/waku/store-query/3.0.0";

/// nwaku reads store requests without a limit; 1 MiB is ample for 100 hashes or 10 topics.
pub const MAX_REQUEST_SIZE: usize = 1024 * 1024;

/// A full page: 100 messages of the maximum size, each with its hash and topic, plus headroom.
pub const MAX_RESPONSE_SIZE: usize = MAX_PAGE_SIZE * (MAX_WAKU_MESSAGE_SIZE + 4 * 1024) + 64 * 1024;

/// Page size when the request gives none (or 0); nwaku and go-waku agree.
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// Larger page sizes are clamped to this.
pub const MAX_PAGE_SIZE: usize = 100;

/// nwaku's `MaxContentTopicsPerQuery`.
pub const MAX_CONTENT_TOPICS_PER_QUERY: usize = 10;

/// `StoreQueryResponse.status_code` values (nwaku `StatusCode`). Anything not 2xx is an error.
pub mod status {
    /// Sent with `status_desc = "OK"`.
    pub const SUCCESS: u32 = 200;
    /// nwaku uses it for any archive error, including an unknown cursor.
    pub const BAD_RESPONSE: u32 = 300;
    /// The request did not decode, or was invalid.
    pub const BAD_REQUEST: u32 = 400;
    /// Rate limited; the response carries `request_id = "N/A"`.
    pub const TOO_MANY_REQUESTS: u32 = 429;
    pub const SERVICE_UNAVAILABLE: u32 = 503;
    /// Client side only: the store peer could not be dialed.
    pub const PEER_DIAL_FAILURE: u32 = 504;
}
