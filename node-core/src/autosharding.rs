//! Autosharding: which shard of a cluster a content topic lives on.
//!
//! shard = u64 big-endian of the last 8 bytes of sha256(application ‖ version), modulo the
//! number of shards. The spec only says "modulo of the hash"; nwaku, go-waku and js-waku all use
//! the last 64 bits, which matters for shard counts that are not powers of two.

use sha2::{Digest, Sha256};

use crate::topics::{ClusterId, ContentTopic, PubsubTopic, ShardId};

/// The shard of `topic` among `num_shards` shards. `num_shards` must be at least 1.
pub fn shard_for_content_topic(topic: &ContentTopic, num_shards: u16) -> ShardId {
    let mut hasher = Sha256::new();
    hasher.update(topic.application().as_bytes());
    hasher.update(topic.version().as_bytes());
    let digest = hasher.finalize();
    let mut last = [0u8; 8];
    last.copy_from_slice(&digest[24..32]);
    (u64::from_be_bytes(last) % u64::from(num_shards.max(1))) as ShardId
}

/// The pubsub topic `topic` maps to in `cluster` with `num_shards` shards.
pub fn pubsub_topic_for(topic: &ContentTopic, cluster: ClusterId, num_shards: u16) -> PubsubTopic {
    PubsubTopic::static_shard(cluster, shard_for_content_topic(topic, num_shards))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(topic: &str, n: u16) -> ShardId {
        shard_for_content_topic(&topic.parse().expect("content topic"), n)
    }

    #[test]
    fn matches_js_waku_probe() {
        assert_eq!(shard("/test/1/probe/proto", 8), 4);
        assert_eq!(shard("/test/1/probe/proto", 1), 0);
    }

    #[test]
    fn uses_last_64_bits() {
        assert_eq!(shard("/myapp/1/x/proto", 8), 0);
        assert_eq!(shard("/myapp/1/x/proto", 5), 2);
        assert_eq!(shard("/toychat/2/x/proto", 8), 3);
        assert_eq!(shard("/toychat/2/x/proto", 5), 1);
        assert_eq!(shard("/status/1/x/proto", 8), 5);
        assert_eq!(shard("/status/1/x/proto", 5), 0);
    }

    #[test]
    fn generation_prefix_is_ignored() {
        assert_eq!(shard("/0/test/1/probe/proto", 8), 4);
        let t = pubsub_topic_for(&"/test/1/probe/proto".parse().expect("topic"), 1, 8);
        assert_eq!(t.to_string(), "/waku/2/rs/1/4");
    }
}
