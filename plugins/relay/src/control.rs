//! `RelayControl`: a cloneable handle on a node's relay for code that embeds the node (tests,
//! benchmarks, an application): subscribe and unsubscribe shards, publish, read the counters.
//! It is handed out before the node starts and becomes usable once the relay plugin has.

use std::sync::{Arc, OnceLock};

use actix::Addr;
use rwaku_core::{PubsubTopic, WakuMessage};

use crate::{
    publish::{Publish, PublishError, PublishReceipt},
    shard_set::{
        RelayError, RelayShardSet, ShardFor, ShardStatsQuery, SubscribeShard, SubscribedShards,
        UnsubscribeShard,
    },
    stats::ShardStatsSnapshot,
};

#[derive(Clone, Default)]
pub struct RelayControl {
    shard_set: Arc<OnceLock<Addr<RelayShardSet>>>,
}

impl RelayControl {
    pub(crate) fn attach(&self, addr: Addr<RelayShardSet>) {
        let _ = self.shard_set.set(addr);
    }

    /// The shard registry, once the relay has started.
    pub fn shard_set(&self) -> Option<Addr<RelayShardSet>> {
        self.shard_set.get().cloned()
    }

    fn addr(&self) -> Result<&Addr<RelayShardSet>, RelayError> {
        self.shard_set.get().ok_or(RelayError::NotStarted)
    }

    pub async fn subscribe(&self, topic: PubsubTopic) -> Result<bool, RelayError> {
        self.addr()?
            .send(SubscribeShard(topic))
            .await
            .map_err(|_| RelayError::Stopped)?
    }

    pub async fn unsubscribe(&self, topic: PubsubTopic) -> Result<bool, RelayError> {
        self.addr()?
            .send(UnsubscribeShard(topic))
            .await
            .map_err(|_| RelayError::Stopped)
    }

    pub async fn shards(&self) -> Result<Vec<PubsubTopic>, RelayError> {
        self.addr()?
            .send(SubscribedShards)
            .await
            .map_err(|_| RelayError::Stopped)
    }

    /// Validates `message` with the shard's own rules and validator, publishes it and
    /// delivers it to this node's bus.
    pub async fn publish(
        &self,
        topic: PubsubTopic,
        message: WakuMessage,
    ) -> Result<PublishReceipt, PublishError> {
        let set = self.addr().map_err(|_| PublishError::Stopped)?;
        let shard = set
            .send(ShardFor(topic.clone()))
            .await
            .map_err(|_| PublishError::Stopped)?
            .ok_or_else(|| PublishError::NotSubscribed(topic.to_string()))?;
        shard
            .send(Publish { message })
            .await
            .map_err(|_| PublishError::Stopped)?
    }

    /// Every shard's counters, sorted by topic.
    pub async fn stats(&self) -> Result<Vec<(PubsubTopic, ShardStatsSnapshot)>, RelayError> {
        self.addr()?
            .send(ShardStatsQuery)
            .await
            .map_err(|_| RelayError::Stopped)
    }
}
