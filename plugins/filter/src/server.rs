//! `FilterServer`: the actor that serves `/vac/waku/filter-subscribe/2.0.0-beta1`, hears
//! every message the relay accepted and queues its pushes, follows peer disconnects, and
//! expires subscriptions that were not refreshed in time.

use std::time::{Duration, Instant};

use actix::{Actor, AsyncContext, Context, Handler, StreamHandler};
use bytes::Bytes;
use prost::Message;
use rwaku_actors::{
    NetworkEvent, NetworkHandle,
    bus::AcceptedMessages,
    stream_server::{self, InboundRequest, ServeConfig},
};
use rwaku_core::SharedMessage;
use rwaku_protocols::filter::{MAX_REQUEST_SIZE, SUBSCRIBE_PROTOCOL_ID};
use tokio::sync::broadcast;

use crate::{admin::SubscriptionsSnapshot, service::FilterService};

/// How often stale subscriptions are looked for, at most.
const MAX_EXPIRY_INTERVAL: Duration = Duration::from_secs(10);

/// Told whether the subscribe protocol could be served.
type ServedReport = Box<dyn FnOnce(Result<(), String>) + Send>;

pub struct FilterServer {
    service: FilterService,
    network: NetworkHandle,
    accepted: Option<AcceptedMessages>,
    /// Called once the subscribe protocol is served (or could not be).
    on_served: Option<ServedReport>,
}

impl FilterServer {
    pub fn new(service: FilterService, network: NetworkHandle, accepted: AcceptedMessages) -> Self {
        Self {
            service,
            network,
            accepted: Some(accepted),
            on_served: None,
        }
    }

    /// Runs `report` when the actor has registered the protocol (for the health entry).
    pub fn on_served(mut self, report: impl FnOnce(Result<(), String>) + Send + 'static) -> Self {
        self.on_served = Some(Box::new(report));
        self
    }
}

/// The driver's events as a stream; a lagging receiver skips what it missed (a missed
/// disconnect only means a few pushes fail instead of being skipped).
fn network_events(
    receiver: broadcast::Receiver<NetworkEvent>,
) -> impl futures::Stream<Item = NetworkEvent> + Unpin {
    Box::pin(futures::stream::unfold(
        receiver,
        |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => return Some((event, receiver)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    ))
}

impl Actor for FilterServer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let config = ServeConfig::new(SUBSCRIBE_PROTOCOL_ID, MAX_REQUEST_SIZE);
        let served = stream_server::serve(&self.network, config, ctx.address().recipient())
            .map(|_| ())
            .map_err(|e| e.to_string());
        if let Err(e) = &served {
            tracing::error!(error = %e, "filter subscribe protocol not served");
        }
        if let Some(report) = self.on_served.take() {
            report(served);
        }
        if let Some(accepted) = self.accepted.take() {
            ctx.add_stream(accepted.into_stream("filter"));
        }
        ctx.add_stream(network_events(self.network.subscribe_events()));
        let interval = (self.service.subscriptions().limits().timeout / 4)
            .clamp(Duration::from_millis(100), MAX_EXPIRY_INTERVAL);
        ctx.run_interval(interval, |actor, _| {
            actor.service.expire(Instant::now());
        });
    }
}

impl Handler<InboundRequest> for FilterServer {
    type Result = Option<Bytes>;

    fn handle(&mut self, request: InboundRequest, _ctx: &mut Self::Context) -> Self::Result {
        let response = self
            .service
            .handle_request(request.peer, &request.body, Instant::now());
        Some(Bytes::from(response.encode_to_vec()))
    }
}

impl Handler<SubscriptionsSnapshot> for FilterServer {
    type Result = actix::MessageResult<SubscriptionsSnapshot>;

    fn handle(&mut self, _: SubscriptionsSnapshot, _ctx: &mut Self::Context) -> Self::Result {
        actix::MessageResult(self.service.subscriptions().snapshot())
    }
}

impl StreamHandler<SharedMessage> for FilterServer {
    fn handle(&mut self, message: SharedMessage, _ctx: &mut Self::Context) {
        self.service.on_message(&message, Instant::now());
    }

    // The bus closing means the node is stopping; the server keeps answering until then.
    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

impl StreamHandler<NetworkEvent> for FilterServer {
    fn handle(&mut self, event: NetworkEvent, _ctx: &mut Self::Context) {
        match event {
            NetworkEvent::PeerDisconnected { peer } => self.service.peer_disconnected(peer),
            NetworkEvent::PeerConnected { peer, .. } => self.service.peer_connected(peer),
            NetworkEvent::PeerIdentified { .. } => {}
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}
