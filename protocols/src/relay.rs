//! 11/WAKU2-RELAY: gossipsub under Waku's protocol id. The gossipsub machinery itself lives in
//! the network driver; this module holds the wire facts it needs.

/// The only relay protocol id js-waku speaks; nwaku and go-waku also accept `/meshsub/1.x`.
pub const PROTOCOL_ID: &str = "/vac/waku/relay/2.0.0";

/// The largest encoded WakuMessage nwaku accepts (150 KiB).
pub use rwaku_core::MAX_WAKU_MESSAGE_SIZE;
