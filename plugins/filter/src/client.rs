//! `FilterClient`: this node as a filter v2 light client — subscribe, ping, unsubscribe and
//! unsubscribe-all against a service peer, and `filter-push` streams accepted into a
//! `PushInbox`. A push stream may carry any number of pushes (nwaku reuses its stream), so
//! each is read until it ends.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use prost::Message;
use rwaku_actors::{
    NetworkHandle,
    libp2p::{PeerId, Stream, StreamProtocol},
    libp2p_stream,
    stream_server::{self, RequestError},
};
use rwaku_core::time::now_ns;
use rwaku_protocols::{
    FrameError,
    filter::{
        MAX_PUSH_SIZE, MAX_RESPONSE_SIZE, PUSH_PROTOCOL_ID, SUBSCRIBE_PROTOCOL_ID,
        pb::{FilterSubscribeRequest, FilterSubscribeResponse, FilterSubscribeType, MessagePush},
        status,
    },
    read_frame,
};
use tokio::sync::Semaphore;

use crate::{
    inbox::{InboxLimits, PushInbox, PushVerdict, PushedMessage, TooManyTopics},
    metrics as names,
};

/// How long one subscribe exchange may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Push streams read at once (js-waku allows 100 too); more are reset.
pub const MAX_PUSH_STREAMS: usize = 100;
/// How long a push stream may sit without a frame before it is dropped.
const PUSH_STREAM_IDLE: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum FilterClientError {
    #[error("this node already accepts filter pushes")]
    AlreadyAccepting,
    #[error("filter request failed: {0}")]
    Request(#[from] RequestError),
    #[error("undecodable filter response: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error(transparent)]
    Inbox(#[from] TooManyTopics),
}

#[derive(Clone)]
pub struct FilterClient {
    control: libp2p_stream::Control,
    inbox: Arc<PushInbox>,
    timeout: Duration,
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// A request id unique within this process and unlikely to repeat across restarts.
pub fn new_request_id() -> String {
    format!(
        "{:016x}-{:08x}",
        now_ns(),
        NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)
    )
}

impl FilterClient {
    /// Starts accepting `filter-push` streams on this node (once per node).
    pub fn start(network: &NetworkHandle, limits: InboxLimits) -> Result<Self, FilterClientError> {
        let control = network.stream_control();
        let incoming = network
            .accept_streams(StreamProtocol::new(PUSH_PROTOCOL_ID))
            .map_err(|_| FilterClientError::AlreadyAccepting)?;
        let inbox = Arc::new(PushInbox::new(limits));
        tokio::spawn(accept_pushes(incoming, inbox.clone()));
        Ok(Self {
            control,
            inbox,
            timeout: REQUEST_TIMEOUT,
        })
    }

    pub fn inbox(&self) -> &Arc<PushInbox> {
        &self.inbox
    }

    /// Sends one request and returns the service's answer, whatever its status.
    pub async fn send(
        &self,
        service: PeerId,
        request: &FilterSubscribeRequest,
    ) -> Result<FilterSubscribeResponse, FilterClientError> {
        let mut control = self.control.clone();
        let body = stream_server::request(
            &mut control,
            service,
            StreamProtocol::new(SUBSCRIBE_PROTOCOL_ID),
            &request.encode_to_vec(),
            MAX_RESPONSE_SIZE,
            self.timeout,
        )
        .await?;
        Ok(FilterSubscribeResponse::decode(body)?)
    }

    pub(crate) fn request(
        request_id: String,
        kind: FilterSubscribeType,
        pubsub_topic: Option<&str>,
        content_topics: &[String],
    ) -> FilterSubscribeRequest {
        FilterSubscribeRequest {
            request_id,
            filter_subscribe_type: Some(kind as i32),
            pubsub_topic: pubsub_topic.map(String::from),
            content_topics: content_topics.to_vec(),
        }
    }

    /// SUBSCRIBE; on success pushes for these criteria from `service` are kept.
    pub async fn subscribe(
        &self,
        service: PeerId,
        request_id: String,
        pubsub_topic: &str,
        content_topics: &[String],
    ) -> Result<FilterSubscribeResponse, FilterClientError> {
        // Registered first so a push racing the response is not refused; undone on failure.
        self.inbox
            .subscribed(service, pubsub_topic, content_topics)?;
        let request = Self::request(
            request_id,
            FilterSubscribeType::Subscribe,
            Some(pubsub_topic),
            content_topics,
        );
        let answer = self.send(service, &request).await;
        if !matches!(&answer, Ok(r) if is_success(r.status_code)) {
            self.inbox
                .unsubscribed(service, pubsub_topic, content_topics);
        }
        answer
    }

    pub async fn ping(
        &self,
        service: PeerId,
        request_id: String,
    ) -> Result<FilterSubscribeResponse, FilterClientError> {
        let request = Self::request(request_id, FilterSubscribeType::SubscriberPing, None, &[]);
        self.send(service, &request).await
    }

    pub async fn unsubscribe(
        &self,
        service: PeerId,
        request_id: String,
        pubsub_topic: &str,
        content_topics: &[String],
    ) -> Result<FilterSubscribeResponse, FilterClientError> {
        let request = Self::request(
            request_id,
            FilterSubscribeType::Unsubscribe,
            Some(pubsub_topic),
            content_topics,
        );
        let answer = self.send(service, &request).await;
        // Whatever the service said, we no longer want these.
        self.inbox
            .unsubscribed(service, pubsub_topic, content_topics);
        answer
    }

    pub async fn unsubscribe_all(
        &self,
        service: PeerId,
        request_id: String,
    ) -> Result<FilterSubscribeResponse, FilterClientError> {
        let request = Self::request(request_id, FilterSubscribeType::UnsubscribeAll, None, &[]);
        let answer = self.send(service, &request).await;
        self.inbox.unsubscribed_all(service);
        answer
    }
}

/// 2xx, as js-waku reads a filter status.
pub fn is_success(code: u32) -> bool {
    (status::SUCCESS..300).contains(&code)
}

async fn accept_pushes(
    mut incoming: tokio::sync::mpsc::Receiver<(PeerId, Stream)>,
    inbox: Arc<PushInbox>,
) {
    let slots = Arc::new(Semaphore::new(MAX_PUSH_STREAMS));
    while let Some((peer, stream)) = incoming.recv().await {
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            metrics::counter!(names::CLIENT_PUSHES, "outcome" => "overloaded").increment(1);
            drop(stream);
            continue;
        };
        let inbox = inbox.clone();
        tokio::spawn(async move {
            read_pushes(peer, stream, &inbox).await;
            drop(permit);
        });
    }
}

/// Reads pushes until the stream ends; a bad frame or an unsolicited push drops (resets)
/// the stream.
async fn read_pushes(peer: PeerId, mut stream: Stream, inbox: &PushInbox) {
    loop {
        let frame =
            match tokio::time::timeout(PUSH_STREAM_IDLE, read_frame(&mut stream, MAX_PUSH_SIZE))
                .await
            {
                Ok(Ok(frame)) => frame,
                Ok(Err(FrameError::Eof)) => return,
                Ok(Err(e)) => {
                    metrics::counter!(names::CLIENT_PUSHES, "outcome" => "malformed").increment(1);
                    tracing::debug!(%peer, error = %e, "bad filter push frame");
                    return;
                }
                Err(_) => return,
            };
        let push = match MessagePush::decode(frame) {
            Ok(push) => push,
            Err(e) => {
                metrics::counter!(names::CLIENT_PUSHES, "outcome" => "malformed").increment(1);
                tracing::debug!(%peer, error = %e, "undecodable filter push");
                return;
            }
        };
        let verdict = inbox.accept(PushedMessage {
            from: peer,
            pubsub_topic: push.pubsub_topic,
            message: push.waku_message,
        });
        if verdict == PushVerdict::Unsolicited {
            metrics::counter!(names::ERRORS, "type" => "unsolicited_push").increment(1);
            tracing::debug!(%peer, "unsolicited filter push refused");
            return;
        }
    }
}
