//! rwaku-protocols: the Waku wire protocols as data — protobuf types for store, filter,
//! lightpush, peer exchange and metadata, their protocol ids, size limits and status codes,
//! the length-prefixed framing they share, and the Waku ENR fields. No sockets and no runtime:
//! the network driver and protocol actors build on this.

pub mod enr;
pub mod filter;
pub mod framing;
pub mod lightpush;
pub mod metadata;
pub mod peer_exchange;
pub mod relay;
pub mod store;

pub use framing::{
    DecodeError, FrameError, ReadError, decode, read_frame, read_message, write_frame,
    write_message,
};

/// The request id nwaku puts in rate-limited and undecodable-request responses.
pub const UNKNOWN_REQUEST_ID: &str = "N/A";
