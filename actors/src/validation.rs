//! How shard-specific validators (the DoS validator today, RLN tomorrow) meet the relay and
//! lightpush plugins without depending on them: a validator plugin registers an actor
//! recipient per pubsub topic, and whoever must validate a message on that topic sends it a
//! typed `ValidateMessage`. The validator answers without blocking its mailbox (CPU work runs
//! on its own pool), so the relay can keep many validations in flight.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use actix::{Message, Recipient};
use rwaku_core::{PubsubTopic, WakuMessage};

/// One message to judge, with the time it was received (Unix epoch ns).
#[derive(Debug, Clone)]
pub struct ValidateMessage {
    pub topic: PubsubTopic,
    pub message: Arc<WakuMessage>,
    pub received_at_ns: i64,
    /// Who sent it (peer id bytes; empty for the node's own REST or lightpush clients), so a
    /// validator can share its queue fairly between senders.
    pub source: Vec<u8>,
}

/// A validator's answer; a refusal carries the reason as text for logs and REST errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationOutcome {
    Accept,
    /// Invalid: the relay rejects it (and gossipsub penalises the sender).
    Reject(String),
    /// Dropped without penalty (e.g. the validator is overloaded).
    Ignore(String),
}

impl Message for ValidateMessage {
    type Result = ValidationOutcome;
}

/// The validators registered per pubsub topic.
#[derive(Clone, Default)]
pub struct ValidatorRegistry {
    validators: Arc<RwLock<HashMap<PubsubTopic, Recipient<ValidateMessage>>>>,
}

impl ValidatorRegistry {
    pub fn register(&self, topic: PubsubTopic, validator: Recipient<ValidateMessage>) {
        if let Ok(mut map) = self.validators.write() {
            map.insert(topic, validator);
        }
    }

    pub fn validator_for(&self, topic: &PubsubTopic) -> Option<Recipient<ValidateMessage>> {
        self.validators.read().ok()?.get(topic).cloned()
    }

    pub fn protected_topics(&self) -> Vec<PubsubTopic> {
        self.validators
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}
