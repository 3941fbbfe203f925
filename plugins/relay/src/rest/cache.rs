//! The REST relay cache behind `GET /relay/v1/messages/{pubsubTopic}` and
//! `GET /relay/v1/auto/messages/{contentTopic}`: per subscribed topic, the newest
//! `rest-relay-cache-capacity` accepted messages, fed from the bus and drained by each GET.
//! Topics and messages are both bounded; what is dropped is counted.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use rwaku_actors::EventBus;
use rwaku_core::{PubsubTopic, SharedMessage};

use crate::metrics as names;

/// Topics of each kind the cache tracks at most.
pub const MAX_CACHED_TOPICS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pubsub,
    Content,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Pubsub => "pubsub",
            Self::Content => "content",
        }
    }
}

struct Queues<K> {
    topics: HashMap<K, VecDeque<SharedMessage>>,
    held: usize,
}

impl<K> Default for Queues<K> {
    fn default() -> Self {
        Self {
            topics: HashMap::new(),
            held: 0,
        }
    }
}

impl<K: std::hash::Hash + Eq> Queues<K> {
    fn subscribe(&mut self, key: K, max_topics: usize) -> bool {
        if self.topics.contains_key(&key) {
            return true;
        }
        if self.topics.len() >= max_topics {
            return false;
        }
        self.topics.insert(key, VecDeque::new());
        true
    }

    fn unsubscribe<Q>(&mut self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        match self.topics.remove(key) {
            Some(queue) => {
                self.held -= queue.len();
                true
            }
            None => false,
        }
    }

    /// Appends to `key`'s queue if it is tracked; returns how many old messages were dropped.
    fn push<Q>(&mut self, key: &Q, message: &SharedMessage, capacity: usize) -> Option<usize>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let queue = self.topics.get_mut(key)?;
        queue.push_back(message.clone());
        self.held += 1;
        let mut dropped = 0;
        while queue.len() > capacity {
            queue.pop_front();
            self.held -= 1;
            dropped += 1;
        }
        Some(dropped)
    }

    fn drain<Q>(&mut self, key: &Q) -> Option<Vec<SharedMessage>>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let queue = self.topics.get_mut(key)?;
        self.held -= queue.len();
        Some(queue.drain(..).collect())
    }
}

#[derive(Default)]
struct Inner {
    pubsub: Queues<PubsubTopic>,
    content: Queues<String>,
}

pub struct RelayMessageCache {
    capacity: usize,
    max_topics: usize,
    inner: Mutex<Inner>,
}

impl RelayMessageCache {
    /// Keeps `capacity` messages per topic.
    pub fn new(capacity: usize) -> Self {
        Self::with_max_topics(capacity, MAX_CACHED_TOPICS)
    }

    pub fn with_max_topics(capacity: usize, max_topics: usize) -> Self {
        Self {
            capacity,
            max_topics,
            inner: Mutex::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> Option<T> {
        let mut inner = self.inner.lock().ok()?;
        let out = f(&mut inner);
        metrics::gauge!(names::REST_CACHE_MESSAGES, "kind" => Kind::Pubsub.label())
            .set(inner.pubsub.held as f64);
        metrics::gauge!(names::REST_CACHE_MESSAGES, "kind" => Kind::Content.label())
            .set(inner.content.held as f64);
        Some(out)
    }

    fn refused(kind: Kind) -> bool {
        metrics::counter!(names::REST_CACHE_TOPICS_REFUSED, "kind" => kind.label()).increment(1);
        false
    }

    /// Starts caching `topic`; false if the cache tracks its maximum of pubsub topics.
    pub fn subscribe_pubsub(&self, topic: PubsubTopic) -> bool {
        let max = self.max_topics;
        match self.with(|i| i.pubsub.subscribe(topic, max)) {
            Some(true) => true,
            _ => Self::refused(Kind::Pubsub),
        }
    }

    pub fn unsubscribe_pubsub(&self, topic: &PubsubTopic) -> bool {
        self.with(|i| i.pubsub.unsubscribe(topic)).unwrap_or(false)
    }

    pub fn is_pubsub_subscribed(&self, topic: &PubsubTopic) -> bool {
        self.with(|i| i.pubsub.topics.contains_key(topic))
            .unwrap_or(false)
    }

    pub fn subscribe_content(&self, topic: &str) -> bool {
        let max = self.max_topics;
        match self.with(|i| i.content.subscribe(topic.to_string(), max)) {
            Some(true) => true,
            _ => Self::refused(Kind::Content),
        }
    }

    pub fn unsubscribe_content(&self, topic: &str) -> bool {
        self.with(|i| i.content.unsubscribe(topic)).unwrap_or(false)
    }

    /// The content topics cached now.
    pub fn content_topics(&self) -> Vec<String> {
        self.with(|i| i.content.topics.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Keeps `message` under its pubsub topic and its content topic, where subscribed.
    pub fn add(&self, message: &SharedMessage) {
        let capacity = self.capacity;
        let dropped = self.with(|i| {
            let pubsub = i.pubsub.push(&message.pubsub_topic, message, capacity);
            let content = i
                .content
                .push(message.message.content_topic.as_str(), message, capacity);
            (pubsub, content)
        });
        if let Some((pubsub, content)) = dropped {
            for (kind, n) in [(Kind::Pubsub, pubsub), (Kind::Content, content)] {
                if let Some(n @ 1..) = n {
                    metrics::counter!(names::REST_CACHE_EVICTED, "kind" => kind.label())
                        .increment(n as u64);
                }
            }
        }
    }

    /// Takes every cached message of `topic`, oldest first; `None` if it is not subscribed.
    pub fn drain_pubsub(&self, topic: &PubsubTopic) -> Option<Vec<SharedMessage>> {
        self.with(|i| i.pubsub.drain(topic)).flatten()
    }

    pub fn drain_content(&self, topic: &str) -> Option<Vec<SharedMessage>> {
        self.with(|i| i.content.drain(topic)).flatten()
    }

    /// Feeds the cache from the bus until the bus closes.
    pub fn feed_from(self: std::sync::Arc<Self>, bus: &EventBus) {
        let mut accepted = bus.subscribe_accepted();
        tokio::spawn(async move {
            while let Some(message) = accepted.next("rest_relay_cache").await {
                self.add(&message);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use rwaku_core::{MessageAccepted, MessageHash, WakuMessage};

    fn message(shard: u16, content: &str, n: u8) -> SharedMessage {
        let topic = PubsubTopic::static_shard(16, shard);
        let message = WakuMessage {
            payload: bytes::Bytes::from(vec![n]),
            content_topic: content.into(),
            ..Default::default()
        };
        Arc::new(MessageAccepted {
            hash: MessageHash::compute(&topic.to_string(), &message),
            pubsub_topic: topic,
            message,
            received_at_ns: 0,
        })
    }

    fn payloads(messages: Option<Vec<SharedMessage>>) -> Option<Vec<u8>> {
        messages.map(|v| v.iter().map(|m| m.message.payload[0]).collect())
    }

    #[test]
    fn only_subscribed_topics_are_kept_and_a_get_drains() {
        let cache = RelayMessageCache::new(10);
        let t32 = PubsubTopic::static_shard(16, 32);
        assert!(cache.subscribe_pubsub(t32.clone()));
        cache.add(&message(32, "/a/1/b/proto", 1));
        cache.add(&message(64, "/a/1/b/proto", 2));
        assert_eq!(payloads(cache.drain_pubsub(&t32)), Some(vec![1]));
        assert_eq!(payloads(cache.drain_pubsub(&t32)), Some(vec![]));
        assert_eq!(
            payloads(cache.drain_pubsub(&PubsubTopic::static_shard(16, 64))),
            None
        );
        assert!(cache.unsubscribe_pubsub(&t32));
        assert_eq!(payloads(cache.drain_pubsub(&t32)), None);
    }

    #[test]
    fn content_topics_are_cached_across_shards() {
        let cache = RelayMessageCache::new(10);
        assert!(cache.subscribe_content("/a/1/b/proto"));
        cache.add(&message(32, "/a/1/b/proto", 1));
        cache.add(&message(64, "/a/1/b/proto", 2));
        cache.add(&message(64, "/other/1/b/proto", 3));
        assert_eq!(
            payloads(cache.drain_content("/a/1/b/proto")),
            Some(vec![1, 2])
        );
        assert_eq!(cache.content_topics(), vec!["/a/1/b/proto".to_string()]);
        assert!(cache.unsubscribe_content("/a/1/b/proto"));
        assert_eq!(payloads(cache.drain_content("/a/1/b/proto")), None);
    }

    #[test]
    fn the_oldest_messages_make_room() {
        let cache = RelayMessageCache::new(3);
        let t = PubsubTopic::static_shard(16, 32);
        cache.subscribe_pubsub(t.clone());
        for n in 0..5 {
            cache.add(&message(32, "/a/1/b/proto", n));
        }
        assert_eq!(payloads(cache.drain_pubsub(&t)), Some(vec![2, 3, 4]));
    }

    #[test]
    fn topics_are_bounded() {
        let cache = RelayMessageCache::with_max_topics(3, 2);
        assert!(cache.subscribe_pubsub(PubsubTopic::static_shard(16, 1)));
        assert!(cache.subscribe_pubsub(PubsubTopic::static_shard(16, 2)));
        assert!(!cache.subscribe_pubsub(PubsubTopic::static_shard(16, 3)));
        // Subscribing again to a tracked topic is fine.
        assert!(cache.subscribe_pubsub(PubsubTopic::static_shard(16, 1)));
        assert!(cache.subscribe_content("/a/1/b/proto"));
        assert!(cache.subscribe_content("/a/1/c/proto"));
        assert!(!cache.subscribe_content("/a/1/d/proto"));
    }
}
