//! The NetworkDriver: the one task that owns the libp2p Swarm. It polls the swarm and a
//! bounded command queue, hands gossip messages to the shard that subscribed to their topic,
//! applies the verdicts that come back, and keeps static peers connected.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use futures::{StreamExt, stream::FuturesUnordered};
use libp2p::{
    Multiaddr, PeerId, Swarm,
    connection_limits::{self, ConnectionLimits},
    gossipsub::{self, IdentTopic, MessageAcceptance, TopicHash},
    identify,
    identity::Keypair,
    multiaddr::Protocol,
    ping,
    swarm::{SwarmEvent, behaviour::toggle::Toggle},
};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::{
    behaviour::{NodeBehaviour, NodeBehaviourEvent},
    gossipsub_config::{GRAYLIST_THRESHOLD, waku_gossipsub, waku_topic_score_params},
    handle::{
        COMMAND_CAPACITY, GossipMessage, NetworkCommand, NetworkEvent, NetworkHandle, NodeInfo,
        PublishError, Verdict,
    },
    inbound_streams::InboundStreams,
    peers::PeerBook,
    transport,
};

/// How long listeners get to bind before start-up fails.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
const EVENT_CAPACITY: usize = 1024;
const REDIAL_MIN: Duration = Duration::from_millis(500);
const REDIAL_MAX: Duration = Duration::from_secs(30);
/// How often connected peers are checked for a graylisting score.
const GRAYLIST_SWEEP_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// TCP and WebSocket (plus DNS resolution), for real nodes.
    Tcp,
    /// The in-process memory transport, for in-process test networks.
    Memory,
}

#[derive(Debug, Clone)]
pub struct NetworkConfig {
    pub keypair: Keypair,
    pub transport: TransportKind,
    pub listen: Vec<Multiaddr>,
    pub static_peers: Vec<Multiaddr>,
    pub max_connections: u32,
    pub relay: bool,
    pub agent_version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the network: {0}")]
    Build(String),
    #[error("cannot listen on {address}: {reason}")]
    Listen { address: Multiaddr, reason: String },
    #[error("listeners did not come up within {0:?}")]
    ListenTimeout(Duration),
    #[error("static node {0} has no /p2p/<peer id>")]
    StaticPeerWithoutId(Multiaddr),
}

pub struct NetworkDriver {
    swarm: Swarm<NodeBehaviour>,
    commands: mpsc::Receiver<NetworkCommand>,
    verdicts: mpsc::UnboundedReceiver<(gossipsub::MessageId, PeerId, Verdict)>,
    events: broadcast::Sender<NetworkEvent>,
    peers: PeerBook,
    static_peers: HashMap<PeerId, Multiaddr>,
    redial_backoff: HashMap<PeerId, Duration>,
    redials: FuturesUnordered<std::pin::Pin<Box<dyn std::future::Future<Output = PeerId> + Send>>>,
    topic_handlers: HashMap<TopicHash, mpsc::Sender<GossipMessage>>,
    pending_dials: HashMap<PeerId, Vec<oneshot::Sender<Result<(), String>>>>,
    listen_addresses: Vec<Multiaddr>,
}

use rwaku_core::time::now_ns;

fn peer_id_of(address: &Multiaddr) -> Option<PeerId> {
    address.iter().find_map(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

fn build_behaviour(
    key: &Keypair,
    config: &NetworkConfig,
    inbound: &InboundStreams,
) -> Result<NodeBehaviour, String> {
    let limits = ConnectionLimits::default()
        .with_max_established(Some(config.max_connections))
        .with_max_established_per_peer(Some(2))
        .with_max_pending_incoming(Some(config.max_connections));
    let identify = identify::Behaviour::new(
        identify::Config::new("/ipfs/id/1.0.0".into(), key.public())
            .with_agent_version(config.agent_version.clone())
            .with_push_listen_addr_updates(true),
    );
    let gossipsub = if config.relay {
        Some(waku_gossipsub(true)?)
    } else {
        None
    };
    Ok(NodeBehaviour {
        limits: connection_limits::Behaviour::new(limits),
        identify,
        ping: ping::Behaviour::new(ping::Config::new()),
        gossipsub: Toggle::from(gossipsub),
        streams: libp2p_stream::Behaviour::new(),
        inbound: inbound.clone(),
    })
}

impl NetworkDriver {
    /// Builds the swarm, binds every listener and returns the driver (not yet running) with
    /// its handle. Fails if a listener cannot bind.
    pub async fn start(config: NetworkConfig) -> Result<(Self, NetworkHandle), StartError> {
        let mut behaviour_error = None;
        let inbound = InboundStreams::default();
        let make = |key: &Keypair| match build_behaviour(key, &config, &inbound) {
            Ok(b) => b,
            Err(e) => {
                behaviour_error = Some(e);
                // A behaviour without gossipsub, discarded below.
                NodeBehaviour {
                    limits: connection_limits::Behaviour::new(ConnectionLimits::default()),
                    identify: identify::Behaviour::new(identify::Config::new(
                        "/ipfs/id/1.0.0".into(),
                        key.public(),
                    )),
                    ping: ping::Behaviour::default(),
                    gossipsub: Toggle::from(None),
                    streams: libp2p_stream::Behaviour::new(),
                    inbound: InboundStreams::default(),
                }
            }
        };
        let swarm = match config.transport {
            TransportKind::Tcp => transport::build_tcp_swarm(config.keypair.clone(), make).await,
            TransportKind::Memory => transport::build_memory_swarm(config.keypair.clone(), make),
        }
        .map_err(StartError::Build)?;
        if let Some(e) = behaviour_error {
            return Err(StartError::Build(e));
        }

        let (command_tx, commands) = mpsc::channel(COMMAND_CAPACITY);
        let (verdict_tx, verdicts) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let control = swarm.behaviour().streams.new_control();
        let local_peer_id = *swarm.local_peer_id();
        let mut driver = Self {
            swarm,
            commands,
            verdicts,
            events: events.clone(),
            peers: PeerBook::new(config.max_connections as usize * 4 + 100),
            static_peers: HashMap::new(),
            redial_backoff: HashMap::new(),
            redials: FuturesUnordered::new(),
            topic_handlers: HashMap::new(),
            pending_dials: HashMap::new(),
            listen_addresses: Vec::new(),
        };
        driver.bind_listeners(&config.listen).await?;
        for address in &config.static_peers {
            let peer = peer_id_of(address)
                .ok_or_else(|| StartError::StaticPeerWithoutId(address.clone()))?;
            driver.static_peers.insert(peer, address.clone());
            driver.peers.mark_static(peer, address.clone());
        }
        let handle = NetworkHandle {
            commands: command_tx,
            verdicts: verdict_tx,
            events,
            control,
            inbound,
            local_peer_id,
        };
        Ok((driver, handle))
    }

    async fn bind_listeners(&mut self, addresses: &[Multiaddr]) -> Result<(), StartError> {
        let mut pending = HashMap::new();
        for address in addresses {
            let id = self
                .swarm
                .listen_on(address.clone())
                .map_err(|e| StartError::Listen {
                    address: address.clone(),
                    reason: e.to_string(),
                })?;
            pending.insert(id, address.clone());
        }
        let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
        while !pending.is_empty() {
            let event = tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .map_err(|_| StartError::ListenTimeout(LISTEN_TIMEOUT))?;
            match event {
                SwarmEvent::NewListenAddr { listener_id, .. } => {
                    pending.remove(&listener_id);
                    self.handle_swarm_event(event);
                }
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason,
                    ..
                } => {
                    if let Some(address) = pending.remove(&listener_id) {
                        let reason = match reason {
                            Err(e) => e.to_string(),
                            Ok(()) => "closed".into(),
                        };
                        return Err(StartError::Listen { address, reason });
                    }
                }
                SwarmEvent::ListenerError { listener_id, error } => {
                    if let Some(address) = pending.remove(&listener_id) {
                        return Err(StartError::Listen {
                            address,
                            reason: error.to_string(),
                        });
                    }
                }
                other => self.handle_swarm_event(other),
            }
        }
        Ok(())
    }

    /// Runs until a `Shutdown` command or until every handle is dropped.
    pub async fn run(mut self) {
        let mut score_sweep = tokio::time::interval(GRAYLIST_SWEEP_INTERVAL);
        score_sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = score_sweep.tick() => self.disconnect_graylisted(),
                event = self.swarm.select_next_some() => self.handle_swarm_event(event),
                Some((id, source, verdict)) = self.verdicts.recv() => self.apply_verdict(id, source, verdict),
                command = self.commands.recv() => match command {
                    Some(NetworkCommand::Shutdown) | None => break,
                    Some(command) => self.handle_command(command),
                },
                Some(peer) = self.redials.next(), if !self.redials.is_empty() => self.redial(peer),
            }
        }
        tracing::info!("network driver stopped");
    }

    /// Gossipsub only ignores a graylisted peer; nwaku and go-waku drop it. Static nodes are
    /// kept (the operator asked for them) but still counted.
    fn disconnect_graylisted(&mut self) {
        let Some(gossipsub) = self.swarm.behaviour().gossipsub.as_ref() else {
            return;
        };
        let graylisted: Vec<PeerId> = self
            .swarm
            .connected_peers()
            .filter(|peer| {
                gossipsub
                    .peer_score(peer)
                    .is_some_and(|score| score < GRAYLIST_THRESHOLD)
            })
            .copied()
            .collect();
        for peer in graylisted {
            let is_static = self.static_peers.contains_key(&peer);
            metrics::counter!("rwaku_relay_graylisted_disconnects_total", "static" => if is_static { "true" } else { "false" }).increment(1);
            if is_static {
                continue;
            }
            tracing::info!(%peer, "peer graylisted by gossipsub score; disconnecting");
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    fn apply_verdict(&mut self, id: gossipsub::MessageId, source: PeerId, verdict: Verdict) {
        let acceptance = match verdict {
            Verdict::Accept => MessageAcceptance::Accept,
            Verdict::Reject => MessageAcceptance::Reject,
            Verdict::Ignore => MessageAcceptance::Ignore,
        };
        if let Some(gossipsub) = self.swarm.behaviour_mut().gossipsub.as_mut()
            && !gossipsub.report_message_validation_result(&id, &source, acceptance)
        {
            metrics::counter!("rwaku_relay_verdicts_expired_total").increment(1);
        }
    }

    fn dial_static(&mut self, peer: PeerId) {
        if let Some(address) = self.static_peers.get(&peer).cloned()
            && let Err(e) = self.swarm.dial(address.clone())
        {
            tracing::debug!(%peer, %address, error = %e, "static node dial not started");
            self.schedule_redial(peer);
        }
    }

    fn schedule_redial(&mut self, peer: PeerId) {
        let backoff = self.redial_backoff.entry(peer).or_insert(REDIAL_MIN);
        let delay = *backoff;
        *backoff = (*backoff * 2).min(REDIAL_MAX);
        self.redials.push(Box::pin(async move {
            tokio::time::sleep(delay).await;
            peer
        }));
    }

    fn redial(&mut self, peer: PeerId) {
        if !self.swarm.is_connected(&peer) {
            tracing::debug!(%peer, "redialing static node");
            self.dial_static(peer);
        }
    }

    fn emit(&self, event: NetworkEvent) {
        let _ = self.events.send(event);
    }

    fn handle_swarm_event(&mut self, event: SwarmEvent<NodeBehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let local = *self.swarm.local_peer_id();
                let full = address.with_p2p(local).unwrap_or_else(|a| a);
                tracing::info!(address = %full, "listening");
                if !self.listen_addresses.contains(&full) {
                    self.listen_addresses.push(full);
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addresses
                    .retain(|a| !a.to_string().starts_with(&address.to_string()));
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                let address = endpoint.get_remote_address().clone();
                let outbound = endpoint.is_dialer();
                self.peers.connected(peer_id, address.clone());
                self.redial_backoff.remove(&peer_id);
                metrics::gauge!("libp2p_peers").set(self.swarm.connected_peers().count() as f64);
                if let Some(waiters) = self.pending_dials.remove(&peer_id) {
                    for w in waiters {
                        let _ = w.send(Ok(()));
                    }
                }
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, %address, outbound, "peer connected");
                    self.emit(NetworkEvent::PeerConnected {
                        peer: peer_id,
                        address,
                        outbound,
                    });
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                self.peers.disconnected(peer_id);
                metrics::gauge!("libp2p_peers").set(self.swarm.connected_peers().count() as f64);
                if num_established == 0 {
                    tracing::info!(peer = %peer_id, cause = ?cause.map(|c| c.to_string()), "peer disconnected");
                    self.emit(NetworkEvent::PeerDisconnected { peer: peer_id });
                    if self.static_peers.contains_key(&peer_id) {
                        self.schedule_redial(peer_id);
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } => {
                if let Some(waiters) = self.pending_dials.remove(&peer) {
                    for w in waiters {
                        let _ = w.send(Err(error.to_string()));
                    }
                }
                if self.static_peers.contains_key(&peer) && !self.swarm.is_connected(&peer) {
                    tracing::debug!(%peer, error = %error, "static node unreachable");
                    self.schedule_redial(peer);
                }
            }
            SwarmEvent::IncomingConnectionError { error, .. } => {
                metrics::counter!("rwaku_network_incoming_connection_errors_total").increment(1);
                tracing::debug!(error = %error, "incoming connection failed");
            }
            SwarmEvent::Behaviour(event) => self.handle_behaviour_event(event),
            _ => {}
        }
    }

    fn handle_behaviour_event(&mut self, event: NodeBehaviourEvent) {
        match event {
            NodeBehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let protocols: Vec<String> = info.protocols.iter().map(|p| p.to_string()).collect();
                for address in info.listen_addrs.iter().take(8) {
                    self.peers.add_address(peer_id, address.clone());
                }
                self.peers
                    .identified(peer_id, protocols.clone(), info.agent_version.clone());
                self.emit(NetworkEvent::PeerIdentified {
                    peer: peer_id,
                    protocols,
                    agent: info.agent_version,
                });
            }
            NodeBehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.route_gossip(propagation_source, message_id, message),
            NodeBehaviourEvent::Gossipsub(gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            }) => {
                metrics::counter!("rwaku_relay_slow_peer_events_total").increment(1);
                tracing::debug!(peer = %peer_id, ?failed_messages, "slow gossipsub peer");
            }
            _ => {}
        }
    }

    fn route_gossip(
        &mut self,
        source: PeerId,
        message_id: gossipsub::MessageId,
        message: gossipsub::Message,
    ) {
        let verdict = match self.topic_handlers.get(&message.topic) {
            Some(handler) => {
                let gossip = GossipMessage {
                    topic: message.topic.as_str().to_string(),
                    message_id: message_id.clone(),
                    source,
                    data: message.data.into(),
                    received_at_ns: now_ns(),
                };
                match handler.try_send(gossip) {
                    Ok(()) => return,
                    Err(_) => {
                        // The shard cannot keep up: drop without penalising the sender.
                        metrics::counter!("rwaku_relay_validation_queue_full_total").increment(1);
                        Verdict::Ignore
                    }
                }
            }
            None => Verdict::Ignore,
        };
        self.apply_verdict(message_id, source, verdict);
    }

    fn handle_command(&mut self, command: NetworkCommand) {
        match command {
            NetworkCommand::Dial(address, reply) => {
                let peer = peer_id_of(&address);
                if let Some(peer) = peer
                    && self.swarm.is_connected(&peer)
                {
                    let _ = reply.send(Ok(()));
                    return;
                }
                match self.swarm.dial(address) {
                    Ok(()) => match peer {
                        Some(peer) => self.pending_dials.entry(peer).or_default().push(reply),
                        None => {
                            let _ = reply.send(Ok(()));
                        }
                    },
                    Err(e) => {
                        let _ = reply.send(Err(e.to_string()));
                    }
                }
            }
            NetworkCommand::Disconnect(peer) => {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            NetworkCommand::Subscribe {
                topic,
                handler,
                reply,
            } => {
                let result = match self.swarm.behaviour_mut().gossipsub.as_mut() {
                    None => Err("relay is not mounted".to_string()),
                    Some(gossipsub) => {
                        let ident = IdentTopic::new(topic.clone());
                        // Without topic parameters gossipsub would not score invalid
                        // deliveries on this shard, and a flooder would never be graylisted.
                        if let Err(e) =
                            gossipsub.set_topic_params(ident.clone(), waku_topic_score_params())
                        {
                            tracing::warn!(%topic, error = e, "topic score parameters not set");
                        }
                        gossipsub
                            .subscribe(&ident)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                            .map(|()| {
                                self.topic_handlers.insert(ident.hash(), handler);
                            })
                    }
                };
                let _ = reply.send(result);
            }
            NetworkCommand::Unsubscribe { topic, reply } => {
                let ident = IdentTopic::new(topic);
                self.topic_handlers.remove(&ident.hash());
                let done = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .as_mut()
                    .map(|g| g.unsubscribe(&ident))
                    .unwrap_or(false);
                let _ = reply.send(done);
            }
            NetworkCommand::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
            NetworkCommand::PeerMetadata {
                peer,
                cluster,
                shards,
            } => self.peers.set_metadata(peer, cluster, shards),
            NetworkCommand::Info(reply) => {
                let _ = reply.send(NodeInfo {
                    peer_id: *self.swarm.local_peer_id(),
                    listen_addresses: self.listen_addresses.clone(),
                });
            }
            NetworkCommand::Peers(reply) => {
                let _ = reply.send(self.peers.summaries());
            }
            NetworkCommand::TopicPeers { topic, reply } => {
                let hash = IdentTopic::new(topic).hash();
                let answer = match self.swarm.behaviour().gossipsub.as_ref() {
                    Some(g) => {
                        let mesh: Vec<PeerId> = g.mesh_peers(&hash).copied().collect();
                        let subscribed: HashSet<PeerId> = g
                            .all_peers()
                            .filter(|(_, topics)| topics.contains(&&hash))
                            .map(|(p, _)| *p)
                            .collect();
                        (mesh, subscribed.into_iter().collect())
                    }
                    None => (Vec::new(), Vec::new()),
                };
                let _ = reply.send(answer);
            }
            NetworkCommand::DialStaticPeers => {
                let peers: Vec<PeerId> = self.static_peers.keys().copied().collect();
                for peer in peers {
                    if !self.swarm.is_connected(&peer) {
                        self.dial_static(peer);
                    }
                }
            }
            NetworkCommand::Shutdown => {}
        }
    }

    fn publish(&mut self, topic: String, data: bytes::Bytes) -> Result<usize, PublishError> {
        let gossipsub = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .as_mut()
            .ok_or(PublishError::RelayDisabled)?;
        let hash = IdentTopic::new(topic.clone()).hash();
        let reached = gossipsub
            .all_peers()
            .filter(|(_, topics)| topics.contains(&&hash))
            .count();
        match gossipsub.publish(hash, data.to_vec()) {
            Ok(_) => Ok(reached),
            Err(gossipsub::PublishError::Duplicate) => Err(PublishError::Duplicate),
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic)
            | Err(gossipsub::PublishError::AllQueuesFull(_)) => Err(PublishError::NoPeers),
            Err(gossipsub::PublishError::MessageTooLarge) => Err(PublishError::TooLarge),
            Err(e) => Err(PublishError::Other(e.to_string())),
        }
    }
}
