//! Serving one request/response protocol: accept its inbound streams, read one length-prefixed
//! request within the protocol's size limit, ask the protocol's actor for the answer, write it
//! and close. A frame over the limit, a malformed frame or an idle stream resets only that
//! stream (it is dropped, which yamux turns into a reset, never a half-close that js-waku
//! would reuse) and is counted; the connection and every other stream carry on.

use std::{sync::Arc, time::Duration};

use actix::{Message, Recipient};
use bytes::Bytes;
use futures::AsyncWriteExt;
use libp2p::{PeerId, StreamProtocol};
use tokio::sync::Semaphore;

use rwaku_protocols::framing::{self, FrameError};

use crate::network::NetworkHandle;

/// One decoded-to-bytes request for a protocol actor. The answer is the response body to
/// write, or `None` to reset the stream (for protocols that have no error status).
#[derive(Debug)]
pub struct InboundRequest {
    pub peer: PeerId,
    pub protocol: StreamProtocol,
    pub body: Bytes,
}

impl Message for InboundRequest {
    type Result = Option<Bytes>;
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub protocol: StreamProtocol,
    /// The largest request frame accepted.
    pub max_request: usize,
    /// Streams open at once, idle or busy; more are reset straight away and counted.
    pub max_open: usize,
    /// Requests the actor works on at once; a request read beyond that waits for a turn
    /// (its stream stays open), so a burst queues instead of being refused.
    pub max_concurrent: usize,
    /// How long a stream may sit before its request arrives. js-waku pre-opens streams and
    /// has been seen to wait 65 s before using one.
    pub idle_timeout: Duration,
    /// How long the actor may take to answer.
    pub answer_timeout: Duration,
}

impl ServeConfig {
    pub fn new(protocol: &'static str, max_request: usize) -> Self {
        Self {
            protocol: StreamProtocol::new(protocol),
            max_request,
            max_open: 4096,
            max_concurrent: 256,
            idle_timeout: Duration::from_secs(120),
            answer_timeout: Duration::from_secs(10),
        }
    }
}

pub use crate::network::AlreadyServed;

fn count_refused(protocol: &StreamProtocol, reason: &'static str) {
    metrics::counter!("rwaku_stream_requests_refused_total", "protocol" => protocol.to_string(), "reason" => reason)
        .increment(1);
}

/// Starts serving `config.protocol`; requests go to `handler`. Registering the protocol makes
/// identify announce it.
pub fn serve(
    network: &NetworkHandle,
    config: ServeConfig,
    handler: Recipient<InboundRequest>,
) -> Result<tokio::task::JoinHandle<()>, AlreadyServed> {
    let mut incoming = network.accept_streams(config.protocol.clone())?;
    let config = Arc::new(config);
    let open = Arc::new(Semaphore::new(config.max_open));
    let turns = Arc::new(Semaphore::new(config.max_concurrent));
    Ok(tokio::spawn(async move {
        while let Some((peer, stream)) = incoming.recv().await {
            let Ok(permit) = open.clone().try_acquire_owned() else {
                count_refused(&config.protocol, "overloaded");
                drop(stream);
                continue;
            };
            let config = config.clone();
            let handler = handler.clone();
            let turns = turns.clone();
            tokio::spawn(async move {
                serve_stream(peer, stream, &config, &handler, &turns).await;
                drop(permit);
            });
        }
    }))
}

async fn serve_stream(
    peer: PeerId,
    mut stream: libp2p::Stream,
    config: &ServeConfig,
    handler: &Recipient<InboundRequest>,
    turns: &Semaphore,
) {
    let protocol = &config.protocol;
    let started = std::time::Instant::now();
    let read = tokio::time::timeout(
        config.idle_timeout,
        framing::read_frame(&mut stream, config.max_request),
    )
    .await;
    let body = match read {
        Err(_) => return count_refused(protocol, "idle_timeout"),
        Ok(Err(FrameError::Eof)) => return,
        Ok(Err(FrameError::TooLarge { declared, limit })) => {
            tracing::debug!(%peer, %protocol, declared, limit, "request over the size limit; stream reset");
            return count_refused(protocol, "too_large");
        }
        Ok(Err(e)) => {
            tracing::debug!(%peer, %protocol, error = %e, "bad request frame; stream reset");
            return count_refused(protocol, "malformed_frame");
        }
        Ok(Ok(body)) => body,
    };
    metrics::counter!("rwaku_stream_requests_total", "protocol" => protocol.to_string())
        .increment(1);
    // Idle streams (js-waku keeps one open per protocol) do not hold a turn; only requests
    // that have arrived wait for one.
    let Ok(_turn) = turns.acquire().await else {
        return;
    };
    let request = InboundRequest {
        peer,
        protocol: protocol.clone(),
        body,
    };
    let answer = match tokio::time::timeout(config.answer_timeout, handler.send(request)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => return count_refused(protocol, "handler_gone"),
        Err(_) => return count_refused(protocol, "answer_timeout"),
    };
    let Some(response) = answer else {
        return count_refused(protocol, "rejected");
    };
    if framing::write_frame(&mut stream, &response).await.is_ok() {
        let _ = stream.close().await;
    }
    metrics::histogram!("rwaku_stream_request_duration_seconds", "protocol" => protocol.to_string())
        .record(started.elapsed().as_secs_f64());
}

/// Opens a stream to `peer`, writes one request frame, reads one response frame within
/// `max_response`. For the node's protocol clients.
pub async fn request(
    control: &mut libp2p_stream::Control,
    peer: PeerId,
    protocol: StreamProtocol,
    body: &[u8],
    max_response: usize,
    timeout: Duration,
) -> Result<Bytes, RequestError> {
    let exchange = async {
        let mut stream = open_and_write(control, peer, protocol, body).await?;
        // Half-close our side: the server reads one request, answers and closes.
        let _ = stream.close().await;
        framing::read_frame(&mut stream, max_response)
            .await
            .map_err(RequestError::Frame)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| RequestError::Timeout)?
}

/// Opens a stream to `peer` for `protocol` and writes one frame on it.
async fn open_and_write(
    control: &mut libp2p_stream::Control,
    peer: PeerId,
    protocol: StreamProtocol,
    body: &[u8],
) -> Result<libp2p::Stream, RequestError> {
    let mut stream = control
        .open_stream(peer, protocol)
        .await
        .map_err(|e| match e {
            libp2p_stream::OpenStreamError::UnsupportedProtocol(p) => {
                RequestError::Unsupported(p.to_string())
            }
            other => RequestError::Open(other.to_string()),
        })?;
    framing::write_frame(&mut stream, body)
        .await
        .map_err(|e| RequestError::Io(e.to_string()))?;
    Ok(stream)
}

/// Opens a stream to `peer`, writes one frame and closes: the one-way protocols (filter push).
/// The stream is opened over an existing connection when there is one, which is how a
/// subscriber behind NAT gets its pushes.
pub async fn send_one_way(
    control: &mut libp2p_stream::Control,
    peer: PeerId,
    protocol: StreamProtocol,
    body: &[u8],
    timeout: Duration,
) -> Result<(), RequestError> {
    let exchange = async {
        let mut stream = open_and_write(control, peer, protocol, body).await?;
        stream
            .close()
            .await
            .map_err(|e| RequestError::Io(e.to_string()))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| RequestError::Timeout)?
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("peer does not support {0}")]
    Unsupported(String),
    #[error("cannot open stream: {0}")]
    Open(String),
    #[error("i/o: {0}")]
    Io(String),
    #[error("response: {0}")]
    Frame(FrameError),
    #[error("timed out")]
    Timeout,
}
