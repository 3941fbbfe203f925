//! What `/health` reports: the node's state and each protocol's, with nwaku's names.

use std::sync::{Arc, RwLock};

use rwaku_core::HealthState;

#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolHealth {
    /// nwaku's protocol name, e.g. "Relay", "Store".
    pub protocol: String,
    pub state: HealthState,
    pub desc: Option<String>,
}

#[derive(Debug)]
struct Inner {
    node: HealthState,
    protocols: Vec<ProtocolHealth>,
}

#[derive(Clone, Debug)]
pub struct HealthRegistry {
    inner: Arc<RwLock<Inner>>,
}

impl Default for HealthRegistry {
    fn default() -> Self {
        Self {
            inner: Arc::new(RwLock::new(Inner {
                node: HealthState::Initializing,
                protocols: Vec::new(),
            })),
        }
    }
}

impl HealthRegistry {
    pub fn set_node(&self, state: HealthState) {
        if let Ok(mut inner) = self.inner.write() {
            inner.node = state;
        }
    }

    pub fn node(&self) -> HealthState {
        self.inner
            .read()
            .map(|i| i.node)
            .unwrap_or(HealthState::NotReady)
    }

    /// Sets (or adds) one protocol's state.
    pub fn set_protocol(&self, protocol: &str, state: HealthState, desc: Option<String>) {
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        let entry = ProtocolHealth {
            protocol: protocol.to_string(),
            state,
            desc,
        };
        match inner.protocols.iter_mut().find(|p| p.protocol == protocol) {
            Some(existing) => *existing = entry,
            None => inner.protocols.push(entry),
        }
    }

    pub fn protocols(&self) -> Vec<ProtocolHealth> {
        self.inner
            .read()
            .map(|i| i.protocols.clone())
            .unwrap_or_default()
    }
}
