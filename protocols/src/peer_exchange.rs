//! 34/WAKU2-PEER-EXCHANGE: a light node asks a service node for ENRs of peers it found through
//! discv5.

use rwaku_core::MAX_WAKU_MESSAGE_SIZE;

/// The generated `waku.peer_exchange.v2alpha1` types.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/waku.peer_exchange.v2alpha1.rs"));
}

pub const PROTOCOL_ID: &str = "/vac/waku/peer-exchange/2.0.0-alpha1";

/// nwaku's read limit for a `PeerExchangeRpc`, in both directions.
pub const MAX_REQUEST_SIZE: usize = 10 * MAX_WAKU_MESSAGE_SIZE + 64 * 1024;

pub const MAX_RESPONSE_SIZE: usize = MAX_REQUEST_SIZE;

/// nwaku's `MaxPeersCacheSize`: a response carries at most this many ENRs.
pub const MAX_PEERS_PER_RESPONSE: usize = 60;

/// `PeerExchangeResponse.status_code` values (nwaku). nwaku's parser knows only 200, 400, 429
/// and 503; the rest are local outcomes.
pub mod status {
    pub const SUCCESS: u32 = 200;
    pub const BAD_REQUEST: u32 = 400;
    pub const BAD_RESPONSE: u32 = 401;
    pub const TOO_MANY_REQUESTS: u32 = 429;
    pub const SERVICE_UNAVAILABLE: u32 = 503;
    pub const DIAL_FAILURE: u32 = 599;
}

impl pb::PeerExchangeResponse {
    /// The status, reading a missing one (0, as go-waku's responder sends) the way nwaku does:
    /// success when there are ENRs, service unavailable when there are none.
    pub fn effective_status(&self) -> u32 {
        match self.status_code {
            0 if self.peer_infos.is_empty() => status::SERVICE_UNAVAILABLE,
            0 => status::SUCCESS,
            code => code,
        }
    }
}
