//! `LightpushServer`: the actor behind `/vac/waku/lightpush/3.0.0` and
//! `/vac/waku/lightpush/2.0.0-beta1`. The stream server reads one request frame (a frame over
//! the size limit resets only that stream); the actor answers it through the shared
//! [`LightpushService`]. Answers run concurrently, each as its own future.

use std::sync::Arc;

use actix::{Actor, Addr, Context, Handler, ResponseFuture};
use bytes::Bytes;
use prost::Message;
use rwaku_actors::{
    NetworkHandle,
    stream_server::{self, AlreadyServed, InboundRequest, ServeConfig},
};
use rwaku_protocols::lightpush;

use crate::service::LightpushService;

pub struct LightpushServer {
    service: Arc<LightpushService>,
}

impl LightpushServer {
    pub fn new(service: Arc<LightpushService>) -> Self {
        Self { service }
    }

    /// Starts the actor and serves both protocol versions on `network` (identify then
    /// announces them).
    pub fn serve(
        service: Arc<LightpushService>,
        network: &NetworkHandle,
    ) -> Result<Addr<Self>, AlreadyServed> {
        let addr = Self::new(service).start();
        for protocol in [lightpush::PROTOCOL_ID, lightpush::PROTOCOL_ID_V2] {
            let config = ServeConfig::new(protocol, lightpush::MAX_REQUEST_SIZE);
            stream_server::serve(network, config, addr.clone().recipient())?;
        }
        Ok(addr)
    }
}

impl Actor for LightpushServer {
    type Context = Context<Self>;
}

impl Handler<InboundRequest> for LightpushServer {
    type Result = ResponseFuture<Option<Bytes>>;

    fn handle(&mut self, request: InboundRequest, _ctx: &mut Self::Context) -> Self::Result {
        let service = self.service.clone();
        Box::pin(async move {
            let body = if request.protocol.as_ref() == lightpush::PROTOCOL_ID_V2 {
                service
                    .answer_v2(request.peer, &request.body)
                    .await
                    .encode_to_vec()
            } else {
                service
                    .answer_v3(request.peer, &request.body)
                    .await
                    .encode_to_vec()
            };
            Some(Bytes::from(body))
        })
    }
}
