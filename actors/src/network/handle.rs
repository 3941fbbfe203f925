//! The typed interface to the network driver: commands in, events out.

use bytes::Bytes;
use libp2p::{Multiaddr, PeerId, StreamProtocol, gossipsub::MessageId};
use tokio::sync::{broadcast, mpsc, oneshot};

use rwaku_core::{ClusterId, ShardId};

use super::inbound_streams::{AlreadyServed, InboundStreams};

/// A gossipsub message waiting for its shard's verdict.
#[derive(Debug, Clone)]
pub struct GossipMessage {
    pub topic: String,
    pub message_id: MessageId,
    pub source: PeerId,
    /// The serialized WakuMessage, exactly as received.
    pub data: Bytes,
    pub received_at_ns: i64,
}

/// What a shard's validation pipeline decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Invalid: the sender loses score (P4) and is eventually graylisted.
    Reject,
    /// Dropped without penalty.
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("no peers subscribed to the topic")]
    NoPeers,
    #[error("message already published")]
    Duplicate,
    #[error("message too large")]
    TooLarge,
    #[error("relay is not mounted")]
    RelayDisabled,
    #[error("not subscribed to topic {0}")]
    NotSubscribed(String),
    #[error("publish failed: {0}")]
    Other(String),
    #[error("network driver is gone")]
    DriverGone,
}

/// One known peer, as `/admin/v1/peers` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerSummary {
    pub peer_id: PeerId,
    pub addresses: Vec<Multiaddr>,
    pub protocols: Vec<String>,
    pub agent: Option<String>,
    pub cluster: Option<ClusterId>,
    pub shards: Vec<ShardId>,
    pub connected: bool,
    pub is_static: bool,
}

/// The node's identity and addresses.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeInfo {
    pub peer_id: PeerId,
    /// Bound listen addresses, each ending in `/p2p/<peer id>`.
    pub listen_addresses: Vec<Multiaddr>,
}

#[derive(Debug)]
pub enum NetworkCommand {
    Dial(Multiaddr, oneshot::Sender<Result<(), String>>),
    Disconnect(PeerId),
    /// Subscribes to a gossipsub topic; its messages go to `handler` for a verdict.
    Subscribe {
        topic: String,
        handler: mpsc::Sender<GossipMessage>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Unsubscribe {
        topic: String,
        reply: oneshot::Sender<bool>,
    },
    Publish {
        topic: String,
        data: Bytes,
        reply: oneshot::Sender<Result<usize, PublishError>>,
    },
    /// Records what a peer told us over the metadata protocol.
    PeerMetadata {
        peer: PeerId,
        cluster: Option<ClusterId>,
        shards: Vec<ShardId>,
    },
    Info(oneshot::Sender<NodeInfo>),
    Peers(oneshot::Sender<Vec<PeerSummary>>),
    /// Mesh peers of a topic and all peers subscribed to it.
    TopicPeers {
        topic: String,
        reply: oneshot::Sender<(Vec<PeerId>, Vec<PeerId>)>,
    },
    /// Dials the static nodes (and keeps redialling them). Sent by the supervisor once every
    /// protocol is served, so the first identify and metadata exchange see the whole node.
    DialStaticPeers,
    Shutdown,
}

#[derive(Debug, Clone)]
pub enum NetworkEvent {
    /// The first connection to a peer is up.
    PeerConnected {
        peer: PeerId,
        address: Multiaddr,
        outbound: bool,
    },
    /// The last connection to a peer is gone.
    PeerDisconnected { peer: PeerId },
    PeerIdentified {
        peer: PeerId,
        protocols: Vec<String>,
        agent: String,
    },
}

/// How many commands may wait for the driver before senders wait too.
pub const COMMAND_CAPACITY: usize = 1024;

/// A cloneable handle on the network driver.
#[derive(Clone)]
pub struct NetworkHandle {
    pub(super) commands: mpsc::Sender<NetworkCommand>,
    /// Verdicts go on their own unbounded channel: they flow against the message direction,
    /// and a bounded cycle driver → relay → driver could deadlock. Their number is bounded
    /// by the messages in flight, which the per-topic handler queues bound.
    pub(super) verdicts: mpsc::UnboundedSender<(MessageId, PeerId, Verdict)>,
    pub(super) events: broadcast::Sender<NetworkEvent>,
    pub(super) control: libp2p_stream::Control,
    pub(super) inbound: InboundStreams,
    pub(super) local_peer_id: PeerId,
}

impl NetworkHandle {
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// A stream control, to open protocol streams from any task.
    pub fn stream_control(&self) -> libp2p_stream::Control {
        self.control.clone()
    }

    /// Starts accepting inbound streams of `protocol` (identify announces it from now on);
    /// they queue up to `INBOUND_QUEUE` deep.
    pub fn accept_streams(
        &self,
        protocol: StreamProtocol,
    ) -> Result<mpsc::Receiver<(PeerId, libp2p::Stream)>, AlreadyServed> {
        self.inbound.accept(protocol)
    }

    pub fn subscribe_events(&self) -> broadcast::Receiver<NetworkEvent> {
        self.events.subscribe()
    }

    /// Sends a command, waiting for room in the driver's queue. False if the driver is gone.
    pub async fn send(&self, command: NetworkCommand) -> bool {
        self.commands.send(command).await.is_ok()
    }

    /// Sends a command without waiting; false if the queue is full or the driver is gone.
    pub fn try_send(&self, command: NetworkCommand) -> bool {
        self.commands.try_send(command).is_ok()
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> NetworkCommand) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        if !self.send(make(tx)).await {
            return None;
        }
        rx.await.ok()
    }

    pub async fn dial(&self, address: Multiaddr) -> Result<(), String> {
        self.ask(|tx| NetworkCommand::Dial(address, tx))
            .await
            .unwrap_or_else(|| Err("network driver is gone".into()))
    }

    pub async fn disconnect(&self, peer: PeerId) {
        self.send(NetworkCommand::Disconnect(peer)).await;
    }

    pub async fn subscribe(
        &self,
        topic: String,
        handler: mpsc::Sender<GossipMessage>,
    ) -> Result<(), String> {
        self.ask(|reply| NetworkCommand::Subscribe {
            topic,
            handler,
            reply,
        })
        .await
        .unwrap_or_else(|| Err("network driver is gone".into()))
    }

    pub async fn unsubscribe(&self, topic: String) -> bool {
        self.ask(|reply| NetworkCommand::Unsubscribe { topic, reply })
            .await
            .unwrap_or(false)
    }

    /// Publishes serialized WakuMessage bytes; returns how many peers it was sent to.
    pub async fn publish(&self, topic: String, data: Bytes) -> Result<usize, PublishError> {
        self.ask(|reply| NetworkCommand::Publish { topic, data, reply })
            .await
            .unwrap_or(Err(PublishError::DriverGone))
    }

    /// Reports a shard's verdict on a gossip message. Never waits.
    pub fn report_validation(&self, message_id: MessageId, source: PeerId, verdict: Verdict) {
        let _ = self.verdicts.send((message_id, source, verdict));
    }

    pub async fn info(&self) -> Option<NodeInfo> {
        self.ask(NetworkCommand::Info).await
    }

    pub async fn peers(&self) -> Vec<PeerSummary> {
        self.ask(NetworkCommand::Peers).await.unwrap_or_default()
    }

    pub async fn topic_peers(&self, topic: String) -> (Vec<PeerId>, Vec<PeerId>) {
        self.ask(|reply| NetworkCommand::TopicPeers { topic, reply })
            .await
            .unwrap_or_default()
    }

    pub async fn shutdown(&self) {
        self.send(NetworkCommand::Shutdown).await;
    }
}
