//! The store v3 client: one `StoreQueryRequest` to a peer, one `StoreQueryResponse` back.
//! Used by `GET /store/v3/messages?peerAddr=…` and by tests that query a store node over the
//! wire as a light client would.

use std::time::Duration;

use prost::Message;
use rwaku_actors::{
    libp2p::{PeerId, StreamProtocol},
    libp2p_stream,
    stream_server::{self, RequestError},
};
use rwaku_protocols::store::{self, pb};

#[derive(Debug, thiserror::Error)]
pub enum StoreClientError {
    #[error("store query failed: {0}")]
    Request(#[from] RequestError),
    #[error("bad store response: {0}")]
    Decode(#[from] prost::DecodeError),
}

pub async fn query(
    control: &mut libp2p_stream::Control,
    peer: PeerId,
    request: &pb::StoreQueryRequest,
    timeout: Duration,
) -> Result<pb::StoreQueryResponse, StoreClientError> {
    let body = stream_server::request(
        control,
        peer,
        StreamProtocol::new(store::PROTOCOL_ID),
        &request.encode_to_vec(),
        store::MAX_RESPONSE_SIZE,
        timeout,
    )
    .await?;
    Ok(pb::StoreQueryResponse::decode(body)?)
}
