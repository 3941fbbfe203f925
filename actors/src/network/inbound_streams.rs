//! Accepting inbound streams for the request/response protocols, with a real queue.
//!
//! `libp2p_stream` hands inbound streams to its acceptor through a channel with room for one
//! stream per protocol and drops the rest: with 50 light clients asking at once, most of
//! their lightpush or store streams were reset before anyone read them. This behaviour does
//! only the inbound half (outbound streams still go through `libp2p_stream::Control`): each
//! served protocol has a bounded queue (`INBOUND_QUEUE` streams), and a stream that finds the
//! queue full is dropped (a reset) and counted in `rwaku_stream_requests_refused_total`
//! with reason `accept_queue_full`.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::{Ready, ready},
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use libp2p::{
    Multiaddr, PeerId, Stream, StreamProtocol,
    core::{
        Endpoint,
        transport::PortUse,
        upgrade::{DeniedUpgrade, InboundUpgrade, UpgradeInfo},
    },
    swarm::{
        ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
        NetworkBehaviour, SubstreamProtocol, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
        handler::{ConnectionEvent, FullyNegotiatedInbound},
    },
};
use tokio::sync::mpsc;

/// Streams of one protocol waiting to be read; more are refused.
pub const INBOUND_QUEUE: usize = 1024;

type Registry = Arc<Mutex<HashMap<StreamProtocol, mpsc::Sender<(PeerId, Stream)>>>>;

/// The protocols served and where their streams go. Cloneable; the swarm holds one copy.
#[derive(Clone, Default)]
pub struct InboundStreams {
    registry: Registry,
}

#[derive(Debug, thiserror::Error)]
#[error("protocol {0} is already being served")]
pub struct AlreadyServed(pub StreamProtocol);

impl InboundStreams {
    /// Starts accepting `protocol`; identify announces it from now on. Dropping the receiver
    /// stops serving it.
    pub fn accept(
        &self,
        protocol: StreamProtocol,
    ) -> Result<mpsc::Receiver<(PeerId, Stream)>, AlreadyServed> {
        let mut registry = self
            .registry
            .lock()
            .map_err(|_| AlreadyServed(protocol.clone()))?;
        registry.retain(|_, sender| !sender.is_closed());
        if registry.contains_key(&protocol) {
            return Err(AlreadyServed(protocol));
        }
        let (sender, receiver) = mpsc::channel(INBOUND_QUEUE);
        registry.insert(protocol, sender);
        Ok(receiver)
    }

    fn protocols(&self) -> Vec<StreamProtocol> {
        self.registry
            .lock()
            .map(|r| {
                r.iter()
                    .filter(|(_, s)| !s.is_closed())
                    .map(|(p, _)| p.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn deliver(&self, peer: PeerId, protocol: StreamProtocol, stream: Stream) {
        let sender = self
            .registry
            .lock()
            .ok()
            .and_then(|r| r.get(&protocol).cloned());
        let refused = match sender {
            Some(sender) => match sender.try_send((peer, stream)) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => "accept_queue_full",
                Err(mpsc::error::TrySendError::Closed(_)) => "not_served",
            },
            None => "not_served",
        };
        metrics::counter!("rwaku_stream_requests_refused_total", "protocol" => protocol.to_string(), "reason" => refused)
            .increment(1);
        tracing::debug!(%peer, %protocol, reason = refused, "inbound stream dropped");
    }
}

impl NetworkBehaviour for InboundStreams {
    type ConnectionHandler = InboundStreamsHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        peer: PeerId,
        _local_addr: &Multiaddr,
        _remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(InboundStreamsHandler {
            peer,
            streams: self.clone(),
        })
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        peer: PeerId,
        _addr: &Multiaddr,
        _role_override: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(InboundStreamsHandler {
            peer,
            streams: self.clone(),
        })
    }

    fn on_swarm_event(&mut self, _event: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _peer_id: PeerId,
        _connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

/// Per connection: offers every served protocol and forwards each negotiated stream.
pub struct InboundStreamsHandler {
    peer: PeerId,
    streams: InboundStreams,
}

/// Negotiates any of the served protocols and yields the stream with the one chosen.
pub struct AnyServedProtocol(Vec<StreamProtocol>);

impl UpgradeInfo for AnyServedProtocol {
    type Info = StreamProtocol;
    type InfoIter = Vec<StreamProtocol>;

    fn protocol_info(&self) -> Self::InfoIter {
        self.0.clone()
    }
}

impl InboundUpgrade<Stream> for AnyServedProtocol {
    type Output = (Stream, StreamProtocol);
    type Error = Infallible;
    type Future = Ready<Result<Self::Output, Self::Error>>;

    fn upgrade_inbound(self, stream: Stream, protocol: Self::Info) -> Self::Future {
        ready(Ok((stream, protocol)))
    }
}

impl ConnectionHandler for InboundStreamsHandler {
    type FromBehaviour = Infallible;
    type ToBehaviour = Infallible;
    type InboundProtocol = AnyServedProtocol;
    type OutboundProtocol = DeniedUpgrade;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = ();

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol, Self::InboundOpenInfo> {
        SubstreamProtocol::new(AnyServedProtocol(self.streams.protocols()), ())
    }

    fn poll(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, (), Self::ToBehaviour>> {
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, event: Self::FromBehaviour) {
        match event {}
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<Self::InboundProtocol, Self::OutboundProtocol, (), ()>,
    ) {
        if let ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
            protocol: (stream, protocol),
            ..
        }) = event
        {
            self.streams.deliver(self.peer, protocol, stream);
        }
    }
}
