//! Pubsub topics (static shards `/waku/2/rs/<cluster>/<shard>` and deprecated named topics) and
//! content topics (`/{app}/{version}/{name}/{encoding}`, optionally with a generation prefix).

use std::{fmt, str::FromStr};

/// The cluster a node belongs to: 1 is The Waku Network, 16 is Status.
pub type ClusterId = u16;

/// A shard index inside a cluster.
pub type ShardId = u16;

/// nwaku's `MaxShardIndex`: a cluster has 1024 static shards.
pub const MAX_SHARD_INDEX: ShardId = 1023;

const STATIC_SHARD_PREFIX: &str = "/waku/2/rs/";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("pubsub topic {0:?} is not of the form /waku/2/rs/<cluster>/<shard> or /waku/2/<name>")]
    NotAPubsubTopic(String),
    #[error("{what} {value:?} in pubsub topic {topic:?} is not a canonical decimal number")]
    BadNumber {
        what: &'static str,
        value: String,
        topic: String,
    },
    #[error("shard {0} is above the highest shard index {MAX_SHARD_INDEX}")]
    ShardOutOfRange(u32),
    #[error(
        "content topic {0:?} is not of the form /{{application}}/{{version}}/{{name}}/{{encoding}}"
    )]
    NotAContentTopic(String),
    #[error("content topic {0:?} has generation {1}; only generation 0 is supported")]
    UnsupportedGeneration(String, String),
}

/// A pubsub topic. Static shards are the norm; named topics are deprecated but still parsed so
/// old peers can be understood.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PubsubTopic {
    StaticShard { cluster: ClusterId, shard: ShardId },
    Named(String),
}

impl PubsubTopic {
    pub fn static_shard(cluster: ClusterId, shard: ShardId) -> Self {
        Self::StaticShard { cluster, shard }
    }

    /// The (cluster, shard) pair of a static-shard topic.
    pub fn shard(&self) -> Option<(ClusterId, ShardId)> {
        match self {
            Self::StaticShard { cluster, shard } => Some((*cluster, *shard)),
            Self::Named(_) => None,
        }
    }
}

fn parse_canonical_u16(what: &'static str, value: &str, topic: &str) -> Result<u16, TopicError> {
    let bad = || TopicError::BadNumber {
        what,
        value: value.to_string(),
        topic: topic.to_string(),
    };
    let canonical = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value == "0" || !value.starts_with('0'));
    if !canonical {
        return Err(bad());
    }
    value.parse::<u16>().map_err(|_| bad())
}

impl FromStr for PubsubTopic {
    type Err = TopicError;

    fn from_str(topic: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = topic.strip_prefix(STATIC_SHARD_PREFIX) {
            let (cluster, shard) = rest
                .split_once('/')
                .ok_or_else(|| TopicError::NotAPubsubTopic(topic.to_string()))?;
            let cluster = parse_canonical_u16("cluster", cluster, topic)?;
            let shard = parse_canonical_u16("shard", shard, topic)?;
            if shard > MAX_SHARD_INDEX {
                return Err(TopicError::ShardOutOfRange(shard.into()));
            }
            return Ok(Self::StaticShard { cluster, shard });
        }
        match topic.strip_prefix("/waku/2/") {
            Some(name) if !name.is_empty() => Ok(Self::Named(topic.to_string())),
            _ => Err(TopicError::NotAPubsubTopic(topic.to_string())),
        }
    }
}

impl fmt::Display for PubsubTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StaticShard { cluster, shard } => {
                write!(f, "{STATIC_SHARD_PREFIX}{cluster}/{shard}")
            }
            Self::Named(name) => f.write_str(name),
        }
    }
}

/// A parsed content topic. The original string is kept, since matching is on the exact text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentTopic {
    text: String,
    /// Byte ranges of application and version inside `text`.
    application: (usize, usize),
    version: (usize, usize),
}

impl ContentTopic {
    pub fn application(&self) -> &str {
        &self.text[self.application.0..self.application.1]
    }

    pub fn version(&self) -> &str {
        &self.text[self.version.0..self.version.1]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for ContentTopic {
    type Err = TopicError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || TopicError::NotAContentTopic(text.to_string());
        let rest = text.strip_prefix('/').ok_or_else(bad)?;
        // Byte offsets of each part, relative to `text`.
        let mut parts = Vec::with_capacity(5);
        let mut start = 1;
        for part in rest.split('/') {
            if part.is_empty() {
                return Err(bad());
            }
            parts.push((start, start + part.len()));
            start += part.len() + 1;
        }
        let (application, version) = match parts.len() {
            4 => (parts[0], parts[1]),
            5 => {
                let generation = &text[parts[0].0..parts[0].1];
                if generation != "0" {
                    return Err(TopicError::UnsupportedGeneration(
                        text.to_string(),
                        generation.to_string(),
                    ));
                }
                (parts[1], parts[2])
            }
            _ => return Err(bad()),
        };
        Ok(Self {
            text: text.to_string(),
            application,
            version,
        })
    }
}

impl fmt::Display for ContentTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_shard_round_trip() {
        let t: PubsubTopic = "/waku/2/rs/16/32".parse().expect("parses");
        assert_eq!(t, PubsubTopic::static_shard(16, 32));
        assert_eq!(t.to_string(), "/waku/2/rs/16/32");
        assert_eq!(t.shard(), Some((16, 32)));
    }

    #[test]
    fn named_topic_is_kept() {
        let t: PubsubTopic = "/waku/2/default-waku/proto".parse().expect("parses");
        assert_eq!(t, PubsubTopic::Named("/waku/2/default-waku/proto".into()));
        assert_eq!(t.to_string(), "/waku/2/default-waku/proto");
        assert_eq!(t.shard(), None);
    }

    #[test]
    fn bad_pubsub_topics_are_refused() {
        for bad in [
            "/waku/2/rs/16",
            "/waku/2/rs/16/032",
            "/waku/2/rs/x/1",
            "/waku/2/rs/70000/1",
            "/waku/2/rs/16/1024",
            "/waku/2/rs/16/-1",
            "/waku/1/foo",
            "/waku/2/",
            "",
        ] {
            assert!(
                bad.parse::<PubsubTopic>().is_err(),
                "{bad} should not parse"
            );
        }
    }

    #[test]
    fn content_topic_parts() {
        let t: ContentTopic = "/toychat/2/huilong/proto".parse().expect("parses");
        assert_eq!((t.application(), t.version()), ("toychat", "2"));
        let g: ContentTopic = "/0/toychat/2/huilong/proto".parse().expect("parses");
        assert_eq!((g.application(), g.version()), ("toychat", "2"));
        assert_eq!(g.as_str(), "/0/toychat/2/huilong/proto");
    }

    #[test]
    fn bad_content_topics_are_refused() {
        assert!(matches!(
            "/1/toychat/2/huilong/proto".parse::<ContentTopic>(),
            Err(TopicError::UnsupportedGeneration(..))
        ));
        for bad in [
            "toychat/2/huilong/proto",
            "/toychat/2/huilong",
            "/toychat//huilong/proto",
            "/a/b/c/d/e/f",
            "",
        ] {
            assert!(
                bad.parse::<ContentTopic>().is_err(),
                "{bad} should not parse"
            );
        }
    }
}
