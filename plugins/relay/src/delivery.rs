//! What happens once a received gossip message is judged: the verdict goes back to gossipsub
//! (exactly once per message), an accepted message goes on the bus, and every outcome is
//! counted. A Reject counts against the sender's gossipsub score (P4 on the shard's topic);
//! the network driver disconnects peers whose score falls below the graylist threshold.

use std::sync::Arc;

use rwaku_actors::{
    EventBus, NetworkHandle,
    libp2p::{PeerId, gossipsub::MessageId},
    network::Verdict,
};
use rwaku_core::{MessageAccepted, MessageHash, PubsubTopic, time::now_ns};

use crate::{metrics as names, stats::ShardStats, validation::Judgement};

/// The gossip message a judgement is about.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: MessageId,
    pub source: PeerId,
    pub bytes: usize,
    pub received_at_ns: i64,
}

/// Everything needed to act on a judgement; cheap to clone into a validation task.
#[derive(Clone)]
pub struct Delivery {
    pub topic: PubsubTopic,
    pub topic_text: String,
    pub network: NetworkHandle,
    pub bus: EventBus,
    pub stats: Arc<ShardStats>,
}

impl Delivery {
    /// Applies `judgement` to the gossip message `received`. Called exactly once per message.
    pub fn finish(&self, received: Received, judgement: Judgement) {
        let topic = self.topic_text.clone();
        self.stats.judged(&judgement);
        metrics::counter!(names::VALIDATION_OUTCOMES, "topic" => topic.clone(),
            "outcome" => judgement.outcome(), "reason" => judgement.label())
        .increment(1);
        let waited_ns = now_ns().saturating_sub(received.received_at_ns).max(0);
        metrics::histogram!(names::VALIDATION_SECONDS, "topic" => topic.clone())
            .record(waited_ns as f64 / 1e9);

        let verdict = match &judgement {
            Judgement::Accept(_) => Verdict::Accept,
            Judgement::Reject { .. } => Verdict::Reject,
            Judgement::Ignore { .. } => Verdict::Ignore,
        };
        // The verdict first: gossipsub forwards as soon as it has it.
        self.network
            .report_validation(received.message_id, received.source, verdict);

        match judgement {
            Judgement::Accept(message) => {
                metrics::counter!(names::NETWORK_BYTES, "topic" => topic, "type" => "net", "direction" => "in")
                    .increment(received.bytes as u64);
                metrics::counter!(names::NODE_MESSAGES, "type" => "relay").increment(1);
                let hash = MessageHash::compute(&self.topic_text, &message);
                self.bus.publish_accepted(Arc::new(MessageAccepted {
                    pubsub_topic: self.topic.clone(),
                    message,
                    hash,
                    received_at_ns: received.received_at_ns,
                }));
            }
            Judgement::Reject { reason, .. } => {
                tracing::debug!(peer = %received.source, topic = %self.topic_text, %reason, "relay message rejected");
            }
            Judgement::Ignore { reason, .. } => {
                tracing::debug!(peer = %received.source, topic = %self.topic_text, %reason, "relay message ignored");
            }
        }
    }
}
