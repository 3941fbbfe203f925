//! `StoreQueryServer`: serves `/vac/waku/store-query/3.0.0`. Each request is decoded, run
//! against the archive and answered with one `StoreQueryResponse`; an undecodable request
//! gets 400 with request id "N/A", as nwaku answers. With a `--rate-limit storev3:` (or
//! `store:`, or a global) entry, a peer over its share of the node's budget gets 429, also with "N/A" (nwaku
//! refuses before decoding).

use std::{sync::Arc, time::Instant};

use actix::{Actor, AsyncContext, Context, Handler, ResponseFuture};
use bytes::Bytes;
use prost::Message;
use rwaku_actors::{
    NetworkHandle, ServiceRateLimiter,
    stream_server::{self, InboundRequest, ServeConfig},
};
use rwaku_core::RateLimitSpec;
use rwaku_protocols::{UNKNOWN_REQUEST_ID, store};

use crate::{AnyStore, MessageStore, status, store_v3};

pub struct StoreQueryServer {
    store: Arc<AnyStore>,
    network: NetworkHandle,
    limiter: Option<ServiceRateLimiter>,
}

impl StoreQueryServer {
    pub fn new(store: Arc<AnyStore>, network: NetworkHandle) -> Self {
        Self {
            store,
            network,
            limiter: None,
        }
    }

    /// The node answers `spec.volume` queries per `spec.period`, no peer more than its share
    /// (nwaku's service limit, `rwaku_actors::service_rate_limit`).
    pub fn with_rate_limit(mut self, spec: Option<RateLimitSpec>) -> Self {
        self.limiter = spec.map(|s| ServiceRateLimiter::from_spec(&s));
        self
    }
}

impl Actor for StoreQueryServer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let config = ServeConfig::new(store::PROTOCOL_ID, store::MAX_REQUEST_SIZE);
        if let Err(e) = stream_server::serve(&self.network, config, ctx.address().recipient()) {
            tracing::error!(error = %e, "store v3 not served");
        }
    }
}

/// Answers one encoded request; shared by the protocol server and the REST endpoint.
pub async fn answer(store: &AnyStore, body: &[u8]) -> store::pb::StoreQueryResponse {
    answer_admitted(store, body, true).await
}

/// `answer`, unless `admitted` is false: then 429 without decoding the request.
async fn answer_admitted(
    store: &AnyStore,
    body: &[u8],
    admitted: bool,
) -> store::pb::StoreQueryResponse {
    if !admitted {
        metrics::counter!("waku_store_errors", "type" => "rate_limited").increment(1);
        return store_v3::failure(
            UNKNOWN_REQUEST_ID.into(),
            status::TOO_MANY_REQUESTS,
            "too many requests".into(),
        );
    }
    let started = std::time::Instant::now();
    let request = match store::pb::StoreQueryRequest::decode(body) {
        Ok(r) => r,
        Err(e) => {
            metrics::counter!("waku_store_errors", "type" => "decode_rpc_failure").increment(1);
            return store_v3::failure(
                UNKNOWN_REQUEST_ID.into(),
                status::BAD_REQUEST,
                format!("bad request: {e}"),
            );
        }
    };
    let response = answer_request(store, request).await;
    metrics::histogram!("waku_store_query_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    response
}

pub async fn answer_request(
    store: &AnyStore,
    request: store::pb::StoreQueryRequest,
) -> store::pb::StoreQueryResponse {
    let id = request.request_id.clone();
    let query = match store_v3::query_from_request(&request) {
        Ok(q) => q,
        Err(e) => return store_v3::failure(id, status::BAD_REQUEST, e.to_string()),
    };
    match store.query(&query).await {
        Ok(page) => store_v3::success(id, page),
        Err(e) => {
            metrics::counter!("waku_store_errors", "type" => e.metric_label()).increment(1);
            store_v3::from_store_error(id, &e)
        }
    }
}

impl Handler<InboundRequest> for StoreQueryServer {
    type Result = ResponseFuture<Option<Bytes>>;

    fn handle(&mut self, request: InboundRequest, _ctx: &mut Self::Context) -> Self::Result {
        // Counted when the request arrives, on the actor, so no lock is needed.
        let admitted = match &mut self.limiter {
            Some(limiter) => limiter.allow(request.peer, Instant::now()),
            None => true,
        };
        let store = self.store.clone();
        Box::pin(async move {
            let response = answer_admitted(&store, &request.body, admitted).await;
            Some(Bytes::from(response.encode_to_vec()))
        })
    }
}
