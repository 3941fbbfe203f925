//! The event bus: how plugins meet. The relay (and lightpush) publish `MessageAccepted` once;
//! the store, filter and REST cache each subscribe. A subscriber that falls behind loses the
//! oldest messages and the loss is counted, so a slow consumer never stalls relay.

use rwaku_core::SharedMessage;
use tokio::sync::broadcast;

/// How many accepted messages the bus holds for its slowest subscriber.
pub const BUS_CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct EventBus {
    accepted: broadcast::Sender<SharedMessage>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(BUS_CAPACITY)
    }
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (accepted, _) = broadcast::channel(capacity.max(1));
        Self { accepted }
    }

    /// Publishes an accepted message; returns how many subscribers will see it.
    pub fn publish_accepted(&self, message: SharedMessage) -> usize {
        metrics::counter!("rwaku_bus_messages_total").increment(1);
        self.accepted.send(message).unwrap_or(0)
    }

    pub fn subscribe_accepted(&self) -> AcceptedMessages {
        AcceptedMessages {
            receiver: self.accepted.subscribe(),
        }
    }
}

/// One subscriber's view of the accepted messages.
pub struct AcceptedMessages {
    receiver: broadcast::Receiver<SharedMessage>,
}

impl AcceptedMessages {
    /// The next message; `None` once the bus is gone. Lost messages are counted under
    /// `consumer` and skipped.
    pub async fn next(&mut self, consumer: &'static str) -> Option<SharedMessage> {
        loop {
            match self.receiver.recv().await {
                Ok(message) => return Some(message),
                Err(broadcast::error::RecvError::Lagged(lost)) => {
                    metrics::counter!("rwaku_bus_lagged_messages_total", "consumer" => consumer)
                        .increment(lost);
                    tracing::warn!(
                        consumer,
                        lost,
                        "bus subscriber fell behind; oldest messages skipped"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Turns the subscription into a `Stream`, for `ctx.add_stream` in an actor.
    pub fn into_stream(
        self,
        consumer: &'static str,
    ) -> impl futures::Stream<Item = SharedMessage> + Unpin {
        Box::pin(futures::stream::unfold(self, move |mut me| async move {
            me.next(consumer).await.map(|m| (m, me))
        }))
    }
}
