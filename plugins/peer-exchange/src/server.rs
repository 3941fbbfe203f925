//! `PeerExchangeServer`: answers `/vac/waku/peer-exchange/2.0.0-alpha1` from the ENR cache it
//! owns. A query asks for `num_peers`; the answer carries at most 60 random records (never
//! the asker's own), with nwaku's status codes: 400 for an undecodable query or zero peers,
//! 429 over the per-peer rate limit, 503 when the cache is empty.

use std::time::Instant;

use actix::{Actor, AsyncContext, Context, Handler, Message as ActixMessage};
use bytes::Bytes;
use prost::Message;
use rwaku_actors::{
    NetworkHandle, ServiceRateLimiter,
    libp2p::PeerId,
    stream_server::{self, InboundRequest, ServeConfig},
};
use rwaku_protocols::{
    enr::{self, WakuEnr},
    peer_exchange::{self, MAX_PEERS_PER_RESPONSE, pb, status},
};

use crate::{enr_cache::PeerExchangeCache, metrics as names};

/// Records learned elsewhere (bootstrap list, another node's answer).
#[derive(Debug)]
pub struct AddRecords(pub Vec<WakuEnr>);

impl ActixMessage for AddRecords {
    /// How many were kept.
    type Result = usize;
}

pub struct PeerExchangeServer {
    cache: PeerExchangeCache,
    network: NetworkHandle,
    limiter: Option<ServiceRateLimiter>,
    serve: bool,
}

impl PeerExchangeServer {
    /// `serve` false keeps the cache (for the client) without answering queries.
    pub fn new(
        cache: PeerExchangeCache,
        network: NetworkHandle,
        limiter: Option<ServiceRateLimiter>,
        serve: bool,
    ) -> Self {
        Self {
            cache,
            network,
            limiter,
            serve,
        }
    }

    fn add(&mut self, records: Vec<WakuEnr>) -> usize {
        let mut kept = 0;
        for record in records {
            match self.cache.insert(record) {
                Ok(_) => kept += 1,
                Err(e) => {
                    metrics::counter!(names::REFUSED_RECORDS, "reason" => e.label()).increment(1);
                    tracing::debug!(reason = %e, "ENR not cached");
                }
            }
        }
        metrics::gauge!(names::CACHED_PEERS).set(self.cache.len() as f64);
        kept
    }

    /// The answer to one encoded query from `peer`.
    pub fn answer(&mut self, peer: PeerId, body: &[u8]) -> pb::PeerExchangeRpc {
        let started = Instant::now();
        let response = self.respond(peer, body);
        metrics::histogram!(names::REQUEST_DURATION).record(started.elapsed().as_secs_f64());
        if response.status_code != status::SUCCESS {
            metrics::counter!(names::ERRORS, "type" => error_label(response.status_code))
                .increment(1);
        }
        pb::PeerExchangeRpc {
            query: pb::PeerExchangeQuery::default(),
            response: Some(response),
        }
    }

    fn respond(&mut self, peer: PeerId, body: &[u8]) -> pb::PeerExchangeResponse {
        metrics::counter!(names::REQUESTS).increment(1);
        if let Some(limiter) = &mut self.limiter
            && !limiter.allow(peer, Instant::now())
        {
            return failure(status::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
        }
        let query = match pb::PeerExchangeRpc::decode(body) {
            Ok(rpc) => rpc.query,
            Err(e) => return failure(status::BAD_REQUEST, format!("bad request: {e}")),
        };
        let wanted = query.num_peers.unwrap_or(0);
        if wanted == 0 {
            return failure(status::BAD_REQUEST, "num_peers must be at least 1");
        }
        let wanted = usize::try_from(wanted)
            .unwrap_or(usize::MAX)
            .min(MAX_PEERS_PER_RESPONSE);
        let records = self.cache.sample(wanted, &peer);
        if records.is_empty() {
            return failure(status::SERVICE_UNAVAILABLE, "no peers known");
        }
        pb::PeerExchangeResponse {
            peer_infos: records
                .iter()
                .map(|r| pb::PeerInfo {
                    enr: Some(Bytes::from(enr::to_rlp(r))),
                })
                .collect(),
            status_code: status::SUCCESS,
            status_desc: Some("OK".into()),
        }
    }
}

fn failure(code: u32, desc: impl Into<String>) -> pb::PeerExchangeResponse {
    pb::PeerExchangeResponse {
        peer_infos: Vec::new(),
        status_code: code,
        status_desc: Some(desc.into()),
    }
}

fn error_label(code: u32) -> &'static str {
    match code {
        status::BAD_REQUEST => "bad_request",
        status::TOO_MANY_REQUESTS => "rate_limited",
        status::SERVICE_UNAVAILABLE => "no_peers",
        _ => "other",
    }
}

impl Actor for PeerExchangeServer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if !self.serve {
            return;
        }
        let config = ServeConfig::new(peer_exchange::PROTOCOL_ID, peer_exchange::MAX_REQUEST_SIZE);
        if let Err(e) = stream_server::serve(&self.network, config, ctx.address().recipient()) {
            tracing::error!(error = %e, "peer exchange not served");
        }
    }
}

impl Handler<InboundRequest> for PeerExchangeServer {
    type Result = Option<Bytes>;

    fn handle(&mut self, request: InboundRequest, _ctx: &mut Self::Context) -> Self::Result {
        Some(Bytes::from(
            self.answer(request.peer, &request.body).encode_to_vec(),
        ))
    }
}

impl Handler<AddRecords> for PeerExchangeServer {
    type Result = usize;

    fn handle(&mut self, AddRecords(records): AddRecords, _ctx: &mut Self::Context) -> usize {
        self.add(records)
    }
}
