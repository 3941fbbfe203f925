//! A shard's validation pipeline, shared by gossip it receives and messages it publishes: the
//! generic relay rules, then the validator registered for the shard's topic (if any). Calls to
//! the validator run as futures outside the shard's mailbox, at most `max_in_flight` at once;
//! past that a message is ignored (no penalty for the sender) and counted.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;
use tokio::sync::Semaphore;

use rwaku_actors::{ValidateMessage, ValidationOutcome, ValidatorRegistry};
use rwaku_core::{PubsubTopic, WakuMessage};

use crate::{checks::check_generic, metrics as names};

/// Validations a shard keeps in flight at most.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 512;

/// How long a validator may take. gossipsub keeps an unvalidated message for 6 heartbeats
/// (6 s); a verdict after that finds nothing to forward, so give up well before.
pub const VALIDATOR_TIMEOUT: Duration = Duration::from_secs(3);

/// What the pipeline decided. Refusals carry a short label (bounded, for metrics) and the
/// reason as text (for logs and REST answers).
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    Accept(WakuMessage),
    Reject { label: &'static str, reason: String },
    Ignore { label: &'static str, reason: String },
}

impl Judgement {
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Accept(_) => "accept",
            Self::Reject { .. } => "reject",
            Self::Ignore { .. } => "ignore",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Accept(_) => "valid",
            Self::Reject { label, .. } | Self::Ignore { label, .. } => label,
        }
    }

    fn from_outcome(outcome: ValidationOutcome, message: Arc<WakuMessage>) -> Self {
        match outcome {
            ValidationOutcome::Accept => {
                Self::Accept(Arc::try_unwrap(message).unwrap_or_else(|shared| (*shared).clone()))
            }
            ValidationOutcome::Reject(reason) => Self::Reject {
                label: "validator",
                reason,
            },
            ValidationOutcome::Ignore(reason) => Self::Ignore {
                label: "validator",
                reason,
            },
        }
    }
}

/// The first step of a validation: either decided on the spot, or waiting on the validator.
pub enum Step {
    Done(Judgement),
    Validate(BoxFuture<'static, Judgement>),
}

#[derive(Clone)]
pub struct ShardValidation {
    topic: PubsubTopic,
    topic_text: String,
    validators: ValidatorRegistry,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    timeout: Duration,
}

impl ShardValidation {
    pub fn new(topic: PubsubTopic, validators: ValidatorRegistry, max_in_flight: usize) -> Self {
        let max_in_flight = max_in_flight.max(1);
        Self {
            topic_text: topic.to_string(),
            topic,
            validators,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            timeout: VALIDATOR_TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn in_flight(&self) -> usize {
        self.max_in_flight
            .saturating_sub(self.in_flight.available_permits())
    }

    fn gauge_in_flight(&self) {
        metrics::gauge!(names::VALIDATION_IN_FLIGHT, "topic" => self.topic_text.clone())
            .set(self.in_flight() as f64);
    }

    /// Starts judging the encoded message `data`, received (or created) at `received_at_ns`
    /// from `source` (peer id bytes; empty for the node's own messages).
    pub fn begin(&self, data: &[u8], received_at_ns: i64, source: Vec<u8>) -> Step {
        let message = match check_generic(data) {
            Ok(message) => message,
            Err(e) => {
                return Step::Done(Judgement::Reject {
                    label: e.label(),
                    reason: e.to_string(),
                });
            }
        };
        let Some(validator) = self.validators.validator_for(&self.topic) else {
            return Step::Done(Judgement::Accept(message));
        };
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            metrics::counter!(names::VALIDATION_OVERLOAD, "topic" => self.topic_text.clone())
                .increment(1);
            return Step::Done(Judgement::Ignore {
                label: "overload",
                reason: format!(
                    "{} validations already in flight on {}",
                    self.max_in_flight, self.topic_text
                ),
            });
        };
        self.gauge_in_flight();
        let message = Arc::new(message);
        let request = ValidateMessage {
            topic: self.topic.clone(),
            message: message.clone(),
            received_at_ns,
            source,
        };
        let me = self.clone();
        Step::Validate(Box::pin(async move {
            let answer = tokio::time::timeout(me.timeout, validator.send(request)).await;
            drop(permit);
            me.gauge_in_flight();
            match answer {
                Ok(Ok(outcome)) => Judgement::from_outcome(outcome, message),
                Ok(Err(e)) => Judgement::Ignore {
                    label: "validator_unavailable",
                    reason: format!("the shard validator is unavailable: {e}"),
                },
                Err(_) => Judgement::Ignore {
                    label: "validator_timeout",
                    reason: format!("the shard validator did not answer within {:?}", me.timeout),
                },
            }
        }))
    }

    /// The whole pipeline, awaited (for messages this node publishes).
    pub async fn judge(&self, data: &[u8], received_at_ns: i64) -> Judgement {
        match self.begin(data, received_at_ns, Vec::new()) {
            Step::Done(judgement) => judgement,
            Step::Validate(pending) => pending.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::{Actor, Context, Handler, ResponseFuture};
    use bytes::Bytes;
    use prost::Message;

    /// Accepts payload "ok", rejects anything else, after `delay`.
    struct FakeValidator {
        delay: Duration,
    }

    impl Actor for FakeValidator {
        type Context = Context<Self>;
    }

    impl Handler<ValidateMessage> for FakeValidator {
        type Result = ResponseFuture<ValidationOutcome>;

        fn handle(&mut self, m: ValidateMessage, _: &mut Self::Context) -> Self::Result {
            let delay = self.delay;
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                if m.message.payload.as_ref() == b"ok" {
                    ValidationOutcome::Accept
                } else {
                    ValidationOutcome::Reject("bad payload".into())
                }
            })
        }
    }

    fn encoded(payload: &'static [u8]) -> Vec<u8> {
        WakuMessage {
            payload: Bytes::from_static(payload),
            content_topic: "/a/1/b/proto".into(),
            timestamp: Some(1),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn topic() -> PubsubTopic {
        PubsubTopic::static_shard(16, 32)
    }

    #[test]
    fn generic_rules_come_first_and_no_validator_means_accept() {
        let v = ShardValidation::new(topic(), ValidatorRegistry::default(), 4);
        assert!(matches!(
            v.begin(&encoded(b"x"), 0, Vec::new()),
            Step::Done(Judgement::Accept(m)) if m.payload.as_ref() == b"x"
        ));
        assert!(matches!(
            v.begin(&[0xff, 0xff], 0, Vec::new()),
            Step::Done(Judgement::Reject {
                label: "undecodable",
                ..
            })
        ));
    }

    #[actix::test]
    async fn the_registered_validator_decides() {
        let registry = ValidatorRegistry::default();
        let fake = FakeValidator {
            delay: Duration::ZERO,
        }
        .start();
        registry.register(topic(), fake.recipient());
        let v = ShardValidation::new(topic(), registry, 4);
        assert!(matches!(
            v.judge(&encoded(b"ok"), 0).await,
            Judgement::Accept(_)
        ));
        assert_eq!(
            v.judge(&encoded(b"no"), 0).await,
            Judgement::Reject {
                label: "validator",
                reason: "bad payload".into()
            }
        );
        // Another shard's validator does not apply.
        let other =
            ShardValidation::new(PubsubTopic::static_shard(16, 64), v.validators.clone(), 4);
        assert!(matches!(
            other.judge(&encoded(b"no"), 0).await,
            Judgement::Accept(_)
        ));
    }

    #[actix::test]
    async fn in_flight_validations_are_bounded_and_the_excess_ignored() {
        let registry = ValidatorRegistry::default();
        let slow = FakeValidator {
            delay: Duration::from_millis(200),
        }
        .start();
        registry.register(topic(), slow.recipient());
        let v = ShardValidation::new(topic(), registry, 2);
        let mut pending = Vec::new();
        for _ in 0..2 {
            match v.begin(&encoded(b"ok"), 0, Vec::new()) {
                Step::Validate(f) => pending.push(f),
                Step::Done(j) => panic!("decided at once: {j:?}"),
            }
        }
        assert_eq!(v.in_flight(), 2);
        assert!(matches!(
            v.begin(&encoded(b"ok"), 0, Vec::new()),
            Step::Done(Judgement::Ignore {
                label: "overload",
                ..
            })
        ));
        // Both run concurrently: together they take about one delay, not two.
        let started = std::time::Instant::now();
        for judgement in futures::future::join_all(pending).await {
            assert!(matches!(judgement, Judgement::Accept(_)));
        }
        assert!(started.elapsed() < Duration::from_millis(390));
        assert_eq!(v.in_flight(), 0);
    }

    #[actix::test]
    async fn a_slow_validator_times_out_as_ignore() {
        let registry = ValidatorRegistry::default();
        let slow = FakeValidator {
            delay: Duration::from_secs(5),
        }
        .start();
        registry.register(topic(), slow.recipient());
        let v = ShardValidation::new(topic(), registry, 2).with_timeout(Duration::from_millis(50));
        assert!(matches!(
            v.judge(&encoded(b"ok"), 0).await,
            Judgement::Ignore {
                label: "validator_timeout",
                ..
            }
        ));
        assert_eq!(v.in_flight(), 0);
    }
}
