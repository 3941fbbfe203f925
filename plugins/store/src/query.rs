//! The backend-neutral store v3 query (`StoreQueryRequest` minus the request id) and its
//! validation into a `ValidQuery` the backends can execute without re-checking anything.

use rwaku_core::MessageHash;

use crate::error::QueryError;

/// A page size of 0 or none means this many entries (nwaku and go-waku).
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Larger page sizes are clamped to this (nwaku and go-waku).
pub const MAX_PAGE_SIZE: u64 = 100;
/// nwaku's `MaxContentTopicsPerQuery`.
pub const MAX_CONTENT_TOPICS: usize = 10;
/// Bounds the work of one hash lookup: every listed hash is fetched before paging, so a long
/// list would let one request read many rows. nwaku splits lists in sub-queries of 100.
pub const MAX_MESSAGE_HASHES: usize = 100;

/// A store v3 query as the protocol or REST layer decoded it. Nothing here is trusted yet;
/// [`StoreQuery::validate`] checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreQuery {
    /// false (the proto default) returns hashes and pubsub topics only.
    pub include_data: bool,
    /// Content filter: set together with `content_topics`, or neither.
    pub pubsub_topic: Option<String>,
    pub content_topics: Vec<String>,
    /// Unix epoch nanoseconds, inclusive.
    pub time_start: Option<i64>,
    /// Unix epoch nanoseconds, inclusive like nwaku (`timestamp <= end`); the spec says
    /// exclusive, but clients written against nwaku expect the last nanosecond included.
    pub time_end: Option<i64>,
    /// Hash lookup; excludes the content filter and time range.
    pub message_hashes: Vec<MessageHash>,
    /// Exclusive: the page starts after (forward) or before (backward) this message.
    pub cursor: Option<MessageHash>,
    /// false (the proto default) pages backward from the newest message.
    pub forward: bool,
    pub limit: Option<u64>,
}

/// What a validated query selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryFilter {
    /// Messages whose hash is in the list (sorted, without duplicates).
    Hashes(Vec<MessageHash>),
    /// Messages in a time range, optionally restricted to content topics of one pubsub topic.
    Content {
        /// `None` means every message; otherwise the pubsub topic and 1..=10 distinct topics.
        topics: Option<TopicFilter>,
        /// Inclusive bounds; `i64::MIN` / `i64::MAX` when the query left them out.
        time_start: i64,
        time_end: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicFilter {
    pub pubsub_topic: String,
    /// Sorted, without duplicates, never empty.
    pub content_topics: Vec<String>,
}

/// A query that passed validation, normalised: page size clamped, lists de-duplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidQuery {
    pub include_data: bool,
    pub filter: QueryFilter,
    pub cursor: Option<MessageHash>,
    pub forward: bool,
    /// 1..=MAX_PAGE_SIZE.
    pub page_size: usize,
}

impl ValidQuery {
    /// The query's kind, as the `query` label of the query-duration metric (nwaku's Postgres
    /// driver labels: `messages_lookup`, `content_topic`; ours for a time-only query).
    pub fn kind(&self) -> &'static str {
        match &self.filter {
            QueryFilter::Hashes(_) => "messages_lookup",
            QueryFilter::Content {
                topics: Some(_), ..
            } => "content_topic",
            QueryFilter::Content { topics: None, .. } => "time_range",
        }
    }
}

impl StoreQuery {
    /// Checks the store v3 rules and normalises the query. Every error is a bad request
    /// (status 400); see [`QueryError`].
    pub fn validate(&self) -> Result<ValidQuery, QueryError> {
        let has_content_filter = self.pubsub_topic.is_some()
            || !self.content_topics.is_empty()
            || self.time_start.is_some()
            || self.time_end.is_some();
        if !self.message_hashes.is_empty() && has_content_filter {
            return Err(QueryError::HashesWithContentFilter);
        }
        if let Some(cursor) = &self.cursor
            && cursor.0 == [0u8; 32]
        {
            return Err(QueryError::ZeroCursor);
        }
        let filter = if self.message_hashes.is_empty() {
            let topics = match (&self.pubsub_topic, self.content_topics.is_empty()) {
                (None, true) => None,
                (None, false) => return Err(QueryError::ContentTopicsWithoutPubsubTopic),
                (Some(_), true) => return Err(QueryError::PubsubTopicWithoutContentTopics),
                (Some(pubsub_topic), false) => {
                    let mut content_topics = self.content_topics.clone();
                    content_topics.sort();
                    content_topics.dedup();
                    if content_topics.len() > MAX_CONTENT_TOPICS {
                        return Err(QueryError::TooManyContentTopics {
                            count: content_topics.len(),
                            max: MAX_CONTENT_TOPICS,
                        });
                    }
                    Some(TopicFilter {
                        pubsub_topic: pubsub_topic.clone(),
                        content_topics,
                    })
                }
            };
            QueryFilter::Content {
                topics,
                time_start: self.time_start.unwrap_or(i64::MIN),
                time_end: self.time_end.unwrap_or(i64::MAX),
            }
        } else {
            let mut hashes = self.message_hashes.clone();
            hashes.sort();
            hashes.dedup();
            if hashes.len() > MAX_MESSAGE_HASHES {
                return Err(QueryError::TooManyMessageHashes {
                    count: hashes.len(),
                    max: MAX_MESSAGE_HASHES,
                });
            }
            QueryFilter::Hashes(hashes)
        };
        let page_size = match self.limit {
            None | Some(0) => DEFAULT_PAGE_SIZE,
            Some(n) => n.min(MAX_PAGE_SIZE),
        };
        Ok(ValidQuery {
            include_data: self.include_data,
            filter,
            cursor: self.cursor,
            forward: self.forward,
            // At most MAX_PAGE_SIZE, so the conversion cannot truncate.
            page_size: page_size as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("/app/1/t{i}/proto")).collect()
    }

    #[test]
    fn kinds_label_the_query_metric() {
        let kind = |q: StoreQuery| q.validate().map(|v| v.kind());
        assert_eq!(kind(StoreQuery::default()), Ok("time_range"));
        assert_eq!(
            kind(StoreQuery {
                pubsub_topic: Some("/waku/2/rs/0/0".into()),
                content_topics: topics(2),
                ..Default::default()
            }),
            Ok("content_topic")
        );
        assert_eq!(
            kind(StoreQuery {
                message_hashes: vec![MessageHash([7; 32])],
                ..Default::default()
            }),
            Ok("messages_lookup")
        );
    }

    #[test]
    fn page_size_defaults_and_clamps() {
        let q = StoreQuery::default();
        assert_eq!(q.validate().map(|v| v.page_size), Ok(20));
        let q = StoreQuery {
            limit: Some(0),
            ..Default::default()
        };
        assert_eq!(q.validate().map(|v| v.page_size), Ok(20));
        let q = StoreQuery {
            limit: Some(1000),
            ..Default::default()
        };
        assert_eq!(q.validate().map(|v| v.page_size), Ok(100));
        let q = StoreQuery {
            limit: Some(7),
            ..Default::default()
        };
        assert_eq!(q.validate().map(|v| v.page_size), Ok(7));
    }

    #[test]
    fn content_filter_comes_in_pairs() {
        let q = StoreQuery {
            content_topics: topics(1),
            ..Default::default()
        };
        assert_eq!(
            q.validate(),
            Err(QueryError::ContentTopicsWithoutPubsubTopic)
        );
        let q = StoreQuery {
            pubsub_topic: Some("/waku/2/rs/1/0".into()),
            ..Default::default()
        };
        assert_eq!(
            q.validate(),
            Err(QueryError::PubsubTopicWithoutContentTopics)
        );
    }

    #[test]
    fn at_most_ten_distinct_content_topics() {
        let mut ten = topics(10);
        ten.push(ten[0].clone());
        let q = StoreQuery {
            pubsub_topic: Some("/waku/2/rs/1/0".into()),
            content_topics: ten,
            ..Default::default()
        };
        assert!(q.validate().is_ok(), "a duplicate does not count twice");
        let q = StoreQuery {
            pubsub_topic: Some("/waku/2/rs/1/0".into()),
            content_topics: topics(11),
            ..Default::default()
        };
        assert_eq!(
            q.validate(),
            Err(QueryError::TooManyContentTopics { count: 11, max: 10 })
        );
    }

    #[test]
    fn hashes_exclude_the_content_filter() {
        let q = StoreQuery {
            message_hashes: vec![MessageHash([1; 32])],
            time_start: Some(5),
            ..Default::default()
        };
        assert_eq!(q.validate(), Err(QueryError::HashesWithContentFilter));
        let q = StoreQuery {
            message_hashes: vec![MessageHash([1; 32]), MessageHash([1; 32])],
            ..Default::default()
        };
        assert_eq!(
            q.validate().map(|v| v.filter),
            Ok(QueryFilter::Hashes(vec![MessageHash([1; 32])]))
        );
    }

    #[test]
    fn zero_cursor_is_refused_and_errors_are_bad_requests() {
        let q = StoreQuery {
            cursor: Some(MessageHash([0; 32])),
            ..Default::default()
        };
        let err = q.validate().err();
        assert_eq!(err, Some(QueryError::ZeroCursor));
        assert_eq!(err.map(|e| e.status_code()), Some(400));
    }

    #[test]
    fn open_time_bounds_become_sentinels() {
        let v = StoreQuery::default().validate().ok();
        assert_eq!(
            v.map(|v| v.filter),
            Some(QueryFilter::Content {
                topics: None,
                time_start: i64::MIN,
                time_end: i64::MAX
            })
        );
    }
}
