//! 19/WAKU2-LIGHTPUSH: a light client hands a message to a service node, which relays it.
//! Both versions are served: v3 for nwaku and js-waku, v2 for go-waku and status-go.

use rwaku_core::MAX_WAKU_MESSAGE_SIZE;

/// The generated types of both versions. v3: [`LightPushRequest`](pb::LightPushRequest) and
/// [`LightPushResponse`](pb::LightPushResponse). v2: [`PushRpc`](pb::PushRpc) wrapping
/// [`PushRequest`](pb::PushRequest) or [`PushResponse`](pb::PushResponse).
pub mod pb {
    pub use v2beta1::*;
    pub use v3::*;

    mod v3 {
        include!(concat!(env!("OUT_DIR"), "/waku.lightpush.v3.rs"));
    }

    mod v2beta1 {
        include!(concat!(env!("OUT_DIR"), "/waku.lightpush.v2beta1.rs"));
    }
}

/// v3: request and response messages directly on the stream.
pub const PROTOCOL_ID: &str = "/vac/waku/lightpush/3.0.0";

/// v2 ("legacy" in nwaku): both directions wrapped in `PushRpc`.
pub const PROTOCOL_ID_V2: &str = "/vac/waku/lightpush/2.0.0-beta1";

/// One maximum-size message plus room for the request id and topic.
pub const MAX_REQUEST_SIZE: usize = MAX_WAKU_MESSAGE_SIZE + 64 * 1024;

pub const MAX_RESPONSE_SIZE: usize = 64 * 1024;

/// v3 `LightPushResponse.status_code` values, as nwaku and js-waku number them (the spec's
/// table differs for 503-505).
pub mod status {
    pub const SUCCESS: u32 = 200;
    /// Also for a request that did not decode, with `request_id = "N/A"`.
    pub const BAD_REQUEST: u32 = 400;
    pub const PAYLOAD_TOO_LARGE: u32 = 413;
    /// Failed relay validation (size, signed shard, RLN), a duplicate, or no pubsub topic
    /// under static sharding.
    pub const INVALID_MESSAGE: u32 = 420;
    pub const UNSUPPORTED_PUBSUB_TOPIC: u32 = 421;
    /// Rate limited; the response carries `request_id = "N/A"`.
    pub const TOO_MANY_REQUESTS: u32 = 429;
    pub const INTERNAL_SERVER_ERROR: u32 = 500;
    pub const SERVICE_NOT_AVAILABLE: u32 = 503;
    /// The service could not attach an RLN proof.
    pub const OUT_OF_RLN_PROOF: u32 = 504;
    pub const NO_PEERS_TO_RELAY: u32 = 505;
}
