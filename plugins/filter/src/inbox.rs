//! `PushInbox`: the client side's record of what it subscribed to at which service peer, and
//! a bounded per-content-topic queue of the messages those peers pushed. Pushes from a peer
//! we did not subscribe with, or for criteria we do not hold, are refused (go-waku does the
//! same). The REST routes drain it.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use rwaku_actors::libp2p::PeerId;
use rwaku_core::WakuMessage;

use crate::metrics as names;

#[derive(Debug, Clone, Copy)]
pub struct InboxLimits {
    /// Messages kept per content topic; the oldest is evicted first.
    pub per_topic: usize,
    /// Content topics tracked at once.
    pub max_topics: usize,
}

impl Default for InboxLimits {
    fn default() -> Self {
        Self {
            per_topic: 100,
            max_topics: 1000,
        }
    }
}

/// One message a filter service pushed to us.
#[derive(Debug, Clone, PartialEq)]
pub struct PushedMessage {
    pub from: PeerId,
    pub pubsub_topic: String,
    pub message: WakuMessage,
}

/// What became of one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushVerdict {
    Kept,
    /// Not from a peer we subscribed with, or not matching our criteria.
    Unsolicited,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the inbox already tracks {max} content topics")]
pub struct TooManyTopics {
    pub max: usize,
}

#[derive(Debug, Default)]
struct InboxState {
    /// service peer → (pubsub topic, content topic) criteria held there.
    criteria: HashMap<PeerId, HashSet<(String, String)>>,
    /// content topic → pushed messages, oldest first. A key exists while some service holds
    /// a criterion with that content topic.
    messages: HashMap<String, VecDeque<PushedMessage>>,
    held: usize,
}

impl InboxState {
    fn topic_in_use(&self, content_topic: &str) -> bool {
        self.criteria
            .values()
            .any(|set| set.iter().any(|(_, c)| c == content_topic))
    }

    fn drop_unused_topics(&mut self, candidates: impl IntoIterator<Item = String>) {
        for topic in candidates {
            if !self.topic_in_use(&topic)
                && let Some(queue) = self.messages.remove(&topic)
            {
                self.held -= queue.len();
            }
        }
        metrics::gauge!(names::CLIENT_CACHE_MESSAGES).set(self.held as f64);
    }
}

/// A pubsub topic and the content topics held on it at one service.
pub type CriteriaGroup = (String, Vec<String>);

#[derive(Debug, Default)]
pub struct PushInbox {
    limits: InboxLimits,
    state: Mutex<InboxState>,
    /// Every push offered to `accept`, kept or not.
    offered: AtomicU64,
}

impl PushInbox {
    pub fn new(limits: InboxLimits) -> Self {
        Self {
            limits: InboxLimits {
                per_topic: limits.per_topic.max(1),
                max_topics: limits.max_topics.max(1),
            },
            state: Mutex::default(),
            offered: AtomicU64::new(0),
        }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut InboxState) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-update; the maps are still
        // consistent enough to keep serving.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Records that `service` now pushes `content_topics` on `pubsub_topic` to us.
    pub fn subscribed(
        &self,
        service: PeerId,
        pubsub_topic: &str,
        content_topics: &[String],
    ) -> Result<(), TooManyTopics> {
        let max_topics = self.limits.max_topics;
        self.with_state(|state| {
            let new_topics = content_topics
                .iter()
                .filter(|t| !state.messages.contains_key(*t))
                .collect::<HashSet<_>>()
                .len();
            if state.messages.len() + new_topics > max_topics {
                return Err(TooManyTopics { max: max_topics });
            }
            let set = state.criteria.entry(service).or_default();
            for topic in content_topics {
                set.insert((pubsub_topic.to_string(), topic.clone()));
                state.messages.entry(topic.clone()).or_default();
            }
            Ok(())
        })
    }

    pub fn unsubscribed(&self, service: PeerId, pubsub_topic: &str, content_topics: &[String]) {
        self.with_state(|state| {
            if let Some(set) = state.criteria.get_mut(&service) {
                for topic in content_topics {
                    set.remove(&(pubsub_topic.to_string(), topic.clone()));
                }
                if set.is_empty() {
                    state.criteria.remove(&service);
                }
            }
            state.drop_unused_topics(content_topics.iter().cloned());
        });
    }

    /// Every service we hold criteria at, with them grouped by pubsub topic (sorted).
    pub fn criteria(&self) -> Vec<(PeerId, Vec<CriteriaGroup>)> {
        self.with_state(|state| {
            state
                .criteria
                .iter()
                .map(|(service, set)| {
                    let mut by_pubsub: std::collections::BTreeMap<String, Vec<String>> =
                        Default::default();
                    for (pubsub, content) in set {
                        by_pubsub
                            .entry(pubsub.clone())
                            .or_default()
                            .push(content.clone());
                    }
                    for topics in by_pubsub.values_mut() {
                        topics.sort();
                    }
                    (*service, by_pubsub.into_iter().collect())
                })
                .collect()
        })
    }

    pub fn unsubscribed_all(&self, service: PeerId) {
        self.with_state(|state| {
            if let Some(set) = state.criteria.remove(&service) {
                state.drop_unused_topics(set.into_iter().map(|(_, c)| c));
            }
        });
    }

    /// Files one push, if we asked for it.
    pub fn accept(&self, push: PushedMessage) -> PushVerdict {
        self.offered.fetch_add(1, Ordering::Relaxed);
        let per_topic = self.limits.per_topic;
        let verdict = self.with_state(|state| {
            let wanted = state.criteria.get(&push.from).is_some_and(|set| {
                set.contains(&(
                    push.pubsub_topic.clone(),
                    push.message.content_topic.clone(),
                ))
            });
            let Some(queue) = state
                .messages
                .get_mut(&push.message.content_topic)
                .filter(|_| wanted)
            else {
                return PushVerdict::Unsolicited;
            };
            if queue.len() >= per_topic {
                queue.pop_front();
                state.held -= 1;
                metrics::counter!(names::CLIENT_CACHE_EVICTED).increment(1);
            }
            queue.push_back(push);
            state.held += 1;
            metrics::gauge!(names::CLIENT_CACHE_MESSAGES).set(state.held as f64);
            PushVerdict::Kept
        });
        let outcome = match verdict {
            PushVerdict::Kept => "kept",
            PushVerdict::Unsolicited => "unsolicited",
        };
        metrics::counter!(names::CLIENT_PUSHES, "outcome" => outcome).increment(1);
        verdict
    }

    /// True while some service holds a criterion with this content topic for us.
    pub fn is_subscribed(&self, content_topic: &str) -> bool {
        self.with_state(|state| state.messages.contains_key(content_topic))
    }

    /// Takes every message pushed for `content_topic`; `None` when not subscribed to it.
    pub fn drain(&self, content_topic: &str) -> Option<Vec<PushedMessage>> {
        self.with_state(|state| {
            let queue = state.messages.get_mut(content_topic)?;
            let out: Vec<PushedMessage> = queue.drain(..).collect();
            state.held -= out.len();
            metrics::gauge!(names::CLIENT_CACHE_MESSAGES).set(state.held as f64);
            Some(out)
        })
    }

    /// Pushes received from any peer since start, kept or refused.
    pub fn pushes_received(&self) -> u64 {
        self.offered.load(Ordering::Relaxed)
    }

    /// Messages held over all topics.
    pub fn held(&self) -> usize {
        self.with_state(|state| state.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(from: PeerId, pubsub: &str, content: &str, n: u8) -> PushedMessage {
        PushedMessage {
            from,
            pubsub_topic: pubsub.into(),
            message: WakuMessage {
                payload: vec![n].into(),
                content_topic: content.into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn only_solicited_pushes_are_kept_and_the_queue_is_bounded() {
        let inbox = PushInbox::new(InboxLimits {
            per_topic: 2,
            max_topics: 10,
        });
        let service = PeerId::random();
        inbox
            .subscribed(service, "/waku/2/rs/1/0", &["/a/1/b/proto".into()])
            .expect("room");
        assert_eq!(
            inbox.accept(push(PeerId::random(), "/waku/2/rs/1/0", "/a/1/b/proto", 0)),
            PushVerdict::Unsolicited,
            "another peer"
        );
        assert_eq!(
            inbox.accept(push(service, "/waku/2/rs/1/1", "/a/1/b/proto", 0)),
            PushVerdict::Unsolicited,
            "another pubsub topic"
        );
        for n in 1..=3 {
            assert_eq!(
                inbox.accept(push(service, "/waku/2/rs/1/0", "/a/1/b/proto", n)),
                PushVerdict::Kept
            );
        }
        let drained = inbox.drain("/a/1/b/proto").expect("subscribed");
        let payloads: Vec<u8> = drained.iter().map(|m| m.message.payload[0]).collect();
        assert_eq!(payloads, vec![2, 3], "oldest evicted");
        assert_eq!(inbox.drain("/a/1/b/proto"), Some(vec![]));
        assert_eq!(inbox.drain("/other/1/x/proto"), None);
        inbox.unsubscribed(service, "/waku/2/rs/1/0", &["/a/1/b/proto".into()]);
        assert!(!inbox.is_subscribed("/a/1/b/proto"));
    }

    #[test]
    fn topics_are_bounded() {
        let inbox = PushInbox::new(InboxLimits {
            per_topic: 2,
            max_topics: 2,
        });
        let service = PeerId::random();
        let topics: Vec<String> = (0..3).map(|i| format!("/a/1/t{i}/proto")).collect();
        assert_eq!(
            inbox.subscribed(service, "/waku/2/rs/1/0", &topics),
            Err(TooManyTopics { max: 2 })
        );
        inbox
            .subscribed(service, "/waku/2/rs/1/0", &topics[..2])
            .expect("two fit");
        inbox.unsubscribed_all(service);
        assert!(!inbox.is_subscribed(&topics[0]));
    }
}
