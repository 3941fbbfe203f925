//! What a plugin gets when it starts: the configuration, the network, the bus, the health
//! registry, the REST route table, and the ways to report a critical failure and to be told
//! about shutdown.

use std::{future::Future, pin::Pin, sync::Arc};

use actix::Recipient;
use rwaku_core::NodeConfig;
use tokio::sync::mpsc;

use crate::{
    bus::EventBus, health::HealthRegistry, local_enr::LocalEnr, metadata::AnnounceShards,
    network::NetworkHandle, relay_port::RelayPort, rest_routes::RestRoutes,
    validation::ValidatorRegistry,
};

pub type ShutdownHook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A critical component failed: the node shuts down with a non-zero exit.
#[derive(Debug, Clone)]
pub struct CriticalFailure {
    pub component: &'static str,
    pub reason: String,
}

/// Cloneable sender for critical failures, for actors that must be able to stop the node.
#[derive(Clone)]
pub struct CriticalFailures(pub(crate) mpsc::UnboundedSender<CriticalFailure>);

impl CriticalFailures {
    pub fn report(&self, component: &'static str, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::error!(component, %reason, "critical component failed");
        let _ = self.0.send(CriticalFailure { component, reason });
    }
}

pub struct NodeContext {
    pub config: Arc<NodeConfig>,
    pub network: NetworkHandle,
    pub bus: EventBus,
    pub health: HealthRegistry,
    pub rest: RestRoutes,
    /// Shard validators; validator plugins start before relay and lightpush.
    pub validators: ValidatorRegistry,
    /// Publishing through the relay, once the relay plugin has started.
    pub relay: RelayPort,
    /// The node's own ENR (peer exchange, `/info`).
    pub local_enr: Option<LocalEnr>,
    /// Tells the metadata protocol which shards the node relays now.
    pub metadata: Recipient<AnnounceShards>,
    pub(crate) critical: CriticalFailures,
    pub(crate) shutdown_hooks: Vec<(&'static str, ShutdownHook)>,
}

impl NodeContext {
    pub fn critical_failures(&self) -> CriticalFailures {
        self.critical.clone()
    }

    /// Runs `hook` when the node shuts down, before the network stops; hooks run in reverse
    /// start order (the store flushes before anything it depends on goes away).
    pub fn on_shutdown<F, Fut>(&mut self, name: &'static str, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shutdown_hooks
            .push((name, Box::new(move || Box::pin(hook()))));
    }
}
