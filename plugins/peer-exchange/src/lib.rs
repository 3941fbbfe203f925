//! Peer exchange (34/WAKU2-PEER-EXCHANGE) as a node plugin: a responder that hands out ENRs
//! from a bounded cache (seeded by `--discv5-bootstrap-node` and fed by peer-exchange
//! answers), and, with `--peer-exchange-node`, a client that asks that peer for peers at
//! start, caches what it gets and dials some of them.

pub mod client;
pub mod enr_cache;
pub mod enr_peer;
pub mod metrics;
pub mod server;

use std::time::Duration;

use actix::{Actor, Addr};
use rwaku_actors::{
    NetworkHandle, NodeContext, ServiceRateLimiter,
    libp2p::{Multiaddr, PeerId, multiaddr::Protocol},
};
use rwaku_core::{HealthState, Plugin, PluginError};
use rwaku_protocols::enr::{self, WakuEnr};

pub use client::{PeerExchangeError, request_peers};
pub use enr_cache::{PeerExchangeCache, RefusedEnr};
pub use server::{AddRecords, PeerExchangeServer};

pub const NAME: &str = "peer-exchange";

/// Records asked of `--peer-exchange-node` (the most one answer carries).
const CLIENT_REQUEST: u64 = 60;
/// Peers the client dials out of an answer.
const CLIENT_DIALS: usize = 8;
const CLIENT_ATTEMPTS: u32 = 5;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct PeerExchangePlugin;

fn bad(key: &str, problem: impl std::fmt::Display) -> PluginError {
    PluginError::new(NAME, format!("invalid value for `{key}`: {problem}"))
}

/// The peer id and address of a `/p2p/`-terminated multiaddr.
fn peer_of(text: &str) -> Result<(PeerId, Multiaddr), PluginError> {
    let address: Multiaddr = text
        .parse()
        .map_err(|e| bad("peer-exchange-node", format!("{text:?}: {e}")))?;
    let peer = address
        .iter()
        .find_map(|p| match p {
            Protocol::P2p(peer) => Some(peer),
            _ => None,
        })
        .ok_or_else(|| {
            bad(
                "peer-exchange-node",
                format!("{text:?} has no /p2p/<peer id>"),
            )
        })?;
    Ok((peer, address))
}

impl Plugin<NodeContext> for PeerExchangePlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        let config = ctx.config.clone();
        let seeds = config
            .discv5_bootstrap_node
            .iter()
            .map(|text| {
                enr::parse::<rwaku_protocols::enr::SigningKey>(text)
                    .map_err(|e| bad("discv5-bootstrap-node", e))
            })
            .collect::<Result<Vec<WakuEnr>, _>>()?;
        let remote = config
            .peer_exchange_node
            .as_deref()
            .map(peer_of)
            .transpose()?;
        let mut cache = PeerExchangeCache::new(
            config.cluster_id,
            ctx.network.local_peer_id(),
            enr_cache::DEFAULT_CAPACITY,
        );
        for seed in seeds {
            if let Err(e) = cache.insert(seed) {
                tracing::warn!(reason = %e, "a discv5-bootstrap-node ENR is not handed out");
            }
        }
        let limiter = config
            .rate_limit_for("px")
            .map(|s| ServiceRateLimiter::from_spec(&s));
        let server =
            PeerExchangeServer::new(cache, ctx.network.clone(), limiter, config.peer_exchange)
                .start();
        let state = if config.peer_exchange {
            HealthState::Ready
        } else {
            HealthState::NotMounted
        };
        ctx.health.set_protocol("Peer Exchange", state, None);
        if let Some((peer, address)) = remote {
            ctx.health
                .set_protocol("Peer Exchange Client", HealthState::Initializing, None);
            let network = ctx.network.clone();
            let health = ctx.health.clone();
            actix::spawn(async move {
                let outcome = ask_for_peers(&network, &server, peer, address).await;
                let (state, desc) = match outcome {
                    Ok(n) => {
                        tracing::info!(peers = n, %peer, "peer exchange answered");
                        (HealthState::Ready, None)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, %peer, "peer exchange gave no peers");
                        (HealthState::NotReady, Some(e.to_string()))
                    }
                };
                health.set_protocol("Peer Exchange Client", state, desc);
            });
        }
        Ok(())
    }
}

/// Dials `peer`, asks it for peers (retrying with backoff), caches the answer and dials a
/// few of the peers it named. Returns how many records came back.
async fn ask_for_peers(
    network: &NetworkHandle,
    server: &Addr<PeerExchangeServer>,
    peer: PeerId,
    address: Multiaddr,
) -> Result<usize, PeerExchangeError> {
    let mut delay = Duration::from_millis(500);
    let mut attempt = 0;
    let records = loop {
        attempt += 1;
        if let Err(e) = network.dial(address.clone()).await {
            tracing::debug!(error = %e, "dialing the peer-exchange node");
        }
        let mut control = network.stream_control();
        match request_peers(&mut control, peer, CLIENT_REQUEST, CLIENT_TIMEOUT).await {
            Ok(records) => break records,
            Err(e) if attempt >= CLIENT_ATTEMPTS => return Err(e),
            Err(e) => {
                tracing::info!(error = %e, attempt, "peer exchange failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    };
    ::metrics::counter!(metrics::PEERS_LEARNED).increment(records.len() as u64);
    let count = records.len();
    let to_dial: Vec<Multiaddr> = records
        .iter()
        .filter_map(|r| enr_peer::dial_addresses(r).ok())
        .filter_map(|addresses| addresses.into_iter().next())
        .take(CLIENT_DIALS)
        .collect();
    let _ = server.send(AddRecords(records)).await;
    for address in to_dial {
        if let Err(e) = network.dial(address.clone()).await {
            tracing::debug!(%address, error = %e, "dialing a peer from peer exchange");
        }
    }
    Ok(count)
}
