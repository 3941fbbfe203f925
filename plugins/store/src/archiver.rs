//! `StoreArchiver`: takes what the relay accepted off the bus, keeps what nwaku would archive
//! (not ephemeral, timestamp within ±20 s), and writes it in batches. A message counts as
//! stored once its batch committed. Writes in flight are bounded; past the bound messages
//! wait in a bounded buffer, and what does not fit is counted as lost.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use actix::{Actor, ActorFutureExt, AsyncContext, Context, StreamHandler, WrapFuture};
use rwaku_actors::bus::AcceptedMessages;
use rwaku_core::SharedMessage;

use crate::{AnyStore, ArchivedMessage, MessageStore, check_archivable};

const BATCH: usize = 256;
const FLUSH_AFTER: Duration = Duration::from_millis(5);
const MAX_IN_FLIGHT: usize = 8;
const MAX_BUFFERED: usize = 50_000;

pub struct StoreArchiver {
    store: Arc<AnyStore>,
    bus: Option<AcceptedMessages>,
    buffer: VecDeque<ArchivedMessage>,
    in_flight: usize,
    flush_scheduled: bool,
}

impl StoreArchiver {
    pub fn new(store: Arc<AnyStore>, bus: AcceptedMessages) -> Self {
        Self {
            store,
            bus: Some(bus),
            buffer: VecDeque::new(),
            in_flight: 0,
            flush_scheduled: false,
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        while self.in_flight < MAX_IN_FLIGHT && !self.buffer.is_empty() {
            let take = self.buffer.len().min(BATCH);
            let batch: Vec<ArchivedMessage> = self.buffer.drain(..take).collect();
            self.in_flight += 1;
            let store = self.store.clone();
            let size = batch.len();
            ctx.spawn(
                async move { store.insert(batch).await }
                    .into_actor(self)
                    .map(move |result, me, ctx| {
                        me.in_flight -= 1;
                        if let Err(e) = result {
                            metrics::counter!("waku_archive_errors", "type" => "insert")
                                .increment(1);
                            tracing::warn!(error = %e, messages = size, "store insert failed");
                        }
                        me.flush(ctx);
                    }),
            );
        }
        metrics::gauge!("rwaku_store_archiver_buffered").set(self.buffer.len() as f64);
    }
}

use rwaku_core::time::now_ns;

impl Actor for StoreArchiver {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(bus) = self.bus.take() {
            ctx.add_stream(bus.into_stream("store"));
        }
    }
}

impl StreamHandler<SharedMessage> for StoreArchiver {
    fn handle(&mut self, accepted: SharedMessage, ctx: &mut Self::Context) {
        if let Err(reason) = check_archivable(&accepted.message, now_ns()) {
            if let Some(label) = reason.metric_label() {
                metrics::counter!("rwaku_store_not_archived_total", "reason" => label).increment(1);
            }
            return;
        }
        if self.buffer.len() >= MAX_BUFFERED {
            metrics::counter!("rwaku_store_messages_lost_total").increment(1);
            return;
        }
        self.buffer
            .push_back(ArchivedMessage::from(accepted.as_ref()));
        if self.buffer.len() >= BATCH {
            self.flush(ctx);
        } else if !self.flush_scheduled {
            self.flush_scheduled = true;
            ctx.run_later(FLUSH_AFTER, |me, ctx| {
                me.flush_scheduled = false;
                me.flush(ctx);
            });
        }
    }
}
