//! Builds the Swarm: TCP and WebSocket (over the same TCP stack) with Noise and yamux or mplex
//! (js-waku's stock SDK only offers mplex), or the in-memory transport for in-process networks.

use std::time::Duration;

use libp2p::{
    Swarm, SwarmBuilder, Transport as _,
    core::{transport::MemoryTransport, upgrade::Version},
    identity::Keypair,
    noise, yamux,
};

use super::behaviour::NodeBehaviour;

/// Connections with nothing on them stay open this long; light clients keep idle
/// connections and expect filter pushes on them.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);

pub(super) async fn build_tcp_swarm(
    keypair: Keypair,
    behaviour: impl FnOnce(&Keypair) -> NodeBehaviour,
) -> Result<Swarm<NodeBehaviour>, String> {
    let builder = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            noise::Config::new,
            (yamux::Config::default, libp2p_mplex::Config::default),
        )
        .map_err(|e| format!("tcp transport: {e}"))?
        .with_dns()
        .map_err(|e| format!("dns transport: {e}"))?;
    let builder = builder
        .with_websocket(
            noise::Config::new,
            (yamux::Config::default, libp2p_mplex::Config::default),
        )
        .await
        .map_err(|e| format!("websocket transport: {e}"))?;
    Ok(builder
        .with_behaviour(|key| behaviour(key))
        .map_err(|e| format!("behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build())
}

pub(super) fn build_memory_swarm(
    keypair: Keypair,
    behaviour: impl FnOnce(&Keypair) -> NodeBehaviour,
) -> Result<Swarm<NodeBehaviour>, String> {
    Ok(SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_other_transport(|key| {
            let noise = noise::Config::new(key)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(MemoryTransport::default()
                .upgrade(Version::V1)
                .authenticate(noise)
                .multiplex(yamux::Config::default())
                .timeout(Duration::from_secs(20)))
        })
        .map_err(|e| format!("memory transport: {e}"))?
        .with_behaviour(|key| behaviour(key))
        .map_err(|e| format!("behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build())
}
