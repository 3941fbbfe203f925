//! 66/WAKU2-METADATA as nwaku runs it: served on every connection, and queried on every new
//! one. A peer of another cluster, one that reports no cluster, or one that does not speak
//! metadata is disconnected; a light client that reports no shards is kept.

use std::{sync::Arc, time::Duration};

use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, StreamHandler, WrapFuture};
use bytes::Bytes;
use libp2p::{PeerId, StreamProtocol};
use tokio::sync::{Semaphore, broadcast};

use rwaku_core::{ClusterId, ShardId};
use rwaku_protocols::metadata;

use crate::{
    network::{NetworkCommand, NetworkEvent, NetworkHandle},
    stream_server::{self, InboundRequest, ServeConfig},
};

const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONCURRENT_QUERIES: usize = 32;

/// Why a peer was dropped after the metadata exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ClusterMismatch,
    NoCluster,
    NoMetadata,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Self::ClusterMismatch => "cluster_mismatch",
            Self::NoCluster => "no_cluster",
            Self::NoMetadata => "no_metadata",
        }
    }
}

/// Decides on a peer's metadata answer.
pub fn judge(own_cluster: ClusterId, reported: Option<ClusterId>) -> Result<(), Refusal> {
    match reported {
        None => Err(Refusal::NoCluster),
        Some(c) if c != own_cluster => Err(Refusal::ClusterMismatch),
        Some(_) => Ok(()),
    }
}

/// The shards this node relays now (the relay subscribes and unsubscribes at runtime); what
/// the metadata protocol reports from then on.
#[derive(Debug, Clone)]
pub struct AnnounceShards(pub Vec<ShardId>);

impl actix::Message for AnnounceShards {
    type Result = ();
}

pub struct MetadataService {
    cluster: ClusterId,
    shards: Vec<ShardId>,
    network: NetworkHandle,
    queries: Arc<Semaphore>,
}

impl MetadataService {
    /// `shards` are the relayed shards; a node that does not relay reports none.
    pub fn new(cluster: ClusterId, shards: Vec<ShardId>, network: NetworkHandle) -> Self {
        Self {
            cluster,
            shards,
            network,
            queries: Arc::new(Semaphore::new(MAX_CONCURRENT_QUERIES)),
        }
    }

    fn encoded_self(&self) -> Bytes {
        metadata::encode(self.cluster, &self.shards)
    }
}

async fn refuse(network: &NetworkHandle, peer: PeerId, refusal: Refusal, detail: &str) {
    metrics::counter!("rwaku_metadata_disconnects_total", "reason" => refusal.label()).increment(1);
    tracing::info!(%peer, reason = refusal.label(), detail, "disconnecting peer after metadata exchange");
    network.disconnect(peer).await;
}

/// Attempts at the metadata query before a peer is judged to have none. A stream that fails
/// to open or breaks off (a connection still settling, a muxer under load, a peer whose
/// protocols are not all registered yet) is retried.
const QUERY_ATTEMPTS: u32 = 3;
const QUERY_RETRY_DELAY: Duration = Duration::from_millis(250);

async fn query_peer(network: NetworkHandle, own_cluster: ClusterId, request: Bytes, peer: PeerId) {
    let mut attempt = 0;
    let body = loop {
        attempt += 1;
        let mut control = network.stream_control();
        let answer = stream_server::request(
            &mut control,
            peer,
            StreamProtocol::new(metadata::PROTOCOL_ID),
            &request,
            metadata::MAX_RESPONSE_SIZE,
            QUERY_TIMEOUT,
        )
        .await;
        match answer {
            Ok(body) => break body,
            // A peer still starting may not serve metadata yet, so "unsupported" is retried
            // like the rest; a peer that never serves it is dropped after the last attempt.
            Err(e) if attempt >= QUERY_ATTEMPTS => {
                return refuse(&network, peer, Refusal::NoMetadata, &e.to_string()).await;
            }
            Err(e) => {
                metrics::counter!("rwaku_metadata_query_retries_total").increment(1);
                tracing::debug!(%peer, error = %e, attempt, "metadata query failed; retrying");
                tokio::time::sleep(QUERY_RETRY_DELAY * attempt).await;
                let still_connected = network
                    .peers()
                    .await
                    .iter()
                    .any(|p| p.peer_id == peer && p.connected);
                if !still_connected {
                    return;
                }
            }
        }
    };
    let reported = match metadata::decode(&body) {
        Ok(m) => m,
        Err(e) => return refuse(&network, peer, Refusal::NoMetadata, &e.to_string()).await,
    };
    match judge(own_cluster, reported.cluster_id) {
        Ok(()) => {
            network
                .send(NetworkCommand::PeerMetadata {
                    peer,
                    cluster: reported.cluster_id,
                    shards: reported.shards,
                })
                .await;
        }
        Err(refusal) => refuse(&network, peer, refusal, "").await,
    }
}

impl Actor for MetadataService {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let config = ServeConfig::new(metadata::PROTOCOL_ID, metadata::MAX_REQUEST_SIZE);
        if let Err(e) = stream_server::serve(&self.network, config, ctx.address().recipient()) {
            tracing::error!(error = %e, "metadata protocol not served");
        }
        let events = self.network.subscribe_events();
        ctx.add_stream(futures::stream::unfold(events, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(event) => return Some((event, rx)),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        metrics::counter!("rwaku_metadata_events_lagged_total").increment(n);
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }));
    }
}

impl StreamHandler<NetworkEvent> for MetadataService {
    fn handle(&mut self, event: NetworkEvent, ctx: &mut Self::Context) {
        let NetworkEvent::PeerConnected { peer, .. } = event else {
            return;
        };
        let network = self.network.clone();
        let request = self.encoded_self();
        let cluster = self.cluster;
        let slots = self.queries.clone();
        ctx.spawn(
            async move {
                let Ok(_permit) = slots.acquire_owned().await else {
                    return;
                };
                query_peer(network, cluster, request, peer).await;
            }
            .into_actor(self)
            .map(|_, _, _| ()),
        );
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

impl Handler<InboundRequest> for MetadataService {
    type Result = Option<Bytes>;

    fn handle(&mut self, request: InboundRequest, ctx: &mut Self::Context) -> Self::Result {
        // nwaku ignores the request's contents; we also drop a peer that tells us it is on
        // another cluster, after answering, in case our own query raced its disconnect.
        if let Ok(m) = metadata::decode(&request.body)
            && let Err(Refusal::ClusterMismatch) = judge(self.cluster, m.cluster_id)
        {
            let network = self.network.clone();
            let peer = request.peer;
            ctx.spawn(
                async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    refuse(&network, peer, Refusal::ClusterMismatch, "from its request").await;
                }
                .into_actor(self),
            );
        }
        Some(self.encoded_self())
    }
}

impl Handler<AnnounceShards> for MetadataService {
    type Result = ();

    fn handle(&mut self, AnnounceShards(mut shards): AnnounceShards, _ctx: &mut Self::Context) {
        shards.sort_unstable();
        shards.dedup();
        self.shards = shards;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_like_nwaku() {
        assert_eq!(judge(16, Some(16)), Ok(()));
        assert_eq!(judge(16, Some(1)), Err(Refusal::ClusterMismatch));
        assert_eq!(judge(16, None), Err(Refusal::NoCluster));
    }
}
