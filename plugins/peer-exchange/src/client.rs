//! The peer-exchange client: asks a peer for up to `n` ENRs and returns the records that
//! verify. A non-success status is an error that carries nwaku's code.

use std::time::Duration;

use prost::Message;
use rwaku_actors::{
    libp2p::{PeerId, StreamProtocol},
    libp2p_stream,
    stream_server::{self, RequestError},
};
use rwaku_protocols::{
    enr::{self, WakuEnr},
    peer_exchange::{self, pb, status},
};

#[derive(Debug, thiserror::Error)]
pub enum PeerExchangeError {
    #[error("peer exchange request: {0}")]
    Request(#[from] RequestError),
    #[error("undecodable peer exchange answer: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the answer has no response part")]
    NoResponse,
    #[error("peer exchange refused with {code}: {desc}")]
    Status { code: u32, desc: String },
}

/// Asks `peer` for `n` records (at most 60 come back); invalid records are dropped.
pub async fn request_peers(
    control: &mut libp2p_stream::Control,
    peer: PeerId,
    n: u64,
    timeout: Duration,
) -> Result<Vec<WakuEnr>, PeerExchangeError> {
    let query = pb::PeerExchangeRpc {
        query: pb::PeerExchangeQuery { num_peers: Some(n) },
        response: None,
    };
    let body = stream_server::request(
        control,
        peer,
        StreamProtocol::new(peer_exchange::PROTOCOL_ID),
        &query.encode_to_vec(),
        peer_exchange::MAX_RESPONSE_SIZE,
        timeout,
    )
    .await?;
    let response = pb::PeerExchangeRpc::decode(body)?
        .response
        .ok_or(PeerExchangeError::NoResponse)?;
    let code = response.effective_status();
    if code != status::SUCCESS {
        return Err(PeerExchangeError::Status {
            code,
            desc: response.status_desc.unwrap_or_default(),
        });
    }
    Ok(response
        .peer_infos
        .iter()
        .filter_map(|info| info.enr.as_ref())
        .filter_map(|bytes| enr::from_rlp(bytes).ok())
        .collect())
}
