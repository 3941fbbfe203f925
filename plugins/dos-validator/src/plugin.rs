//! The DoS validator as a node plugin: parses `--protected-shard`, starts the verification
//! pool and registers a `ProtectedShardGuard` actor as the validator of every protected shard
//! the node relays, so relay and lightpush reach it through `ValidateMessage` only.

use std::sync::Arc;

use actix::{Actor, Context, Handler, ResponseFuture};
use rwaku_actors::{NodeContext, ValidateMessage, ValidationOutcome};
use rwaku_core::{ConfigError, Plugin, PluginError, PubsubTopic};

use crate::{
    pool::{PoolConfig, SourceId, ValidationHandle, ValidationPool, ValidationRequest},
    protected_shard::ProtectedShard,
    validator::ProtectedShardValidator,
    verdict::Verdict,
};

pub const NAME: &str = "dos-validator";

/// Parses every `--protected-shard` value of the configuration.
pub fn protected_shards(values: &[String]) -> Result<Vec<ProtectedShard>, ConfigError> {
    values
        .iter()
        .map(|v| {
            v.parse::<ProtectedShard>()
                .map_err(|e| ConfigError::new("protected-shard", e.to_string()))
        })
        .collect()
}

#[derive(Default)]
pub struct DosValidatorPlugin;

/// Answers `ValidateMessage` for the protected shards; owns the pool its checks run on.
pub struct ProtectedShardGuard {
    handle: ValidationHandle,
    _pool: ValidationPool,
}

impl Actor for ProtectedShardGuard {
    type Context = Context<Self>;
}

impl Handler<ValidateMessage> for ProtectedShardGuard {
    type Result = ResponseFuture<ValidationOutcome>;

    fn handle(&mut self, request: ValidateMessage, _ctx: &mut Self::Context) -> Self::Result {
        let job = ValidationRequest {
            pubsub_topic: request.topic,
            message: request.message,
            source: SourceId::from_bytes(&request.source),
            now_ns: request.received_at_ns,
        };
        match self.handle.try_submit(job) {
            Ok(pending) => Box::pin(async move {
                match pending.await {
                    Ok(Verdict::Accept) => ValidationOutcome::Accept,
                    Ok(Verdict::Reject(reason)) => ValidationOutcome::Reject(reason.to_string()),
                    Err(_) => ValidationOutcome::Ignore("validation pool closed".into()),
                }
            }),
            Err(refused) => {
                metrics::counter!("rwaku_dos_validator_refused_total", "reason" => refused.kind.to_string())
                    .increment(1);
                Box::pin(std::future::ready(ValidationOutcome::Ignore(
                    refused.kind.to_string(),
                )))
            }
        }
    }
}

impl Plugin<NodeContext> for DosValidatorPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(self: Box<Self>, ctx: &mut NodeContext) -> Result<(), PluginError> {
        let shards = protected_shards(&ctx.config.protected_shard)
            .map_err(|e| PluginError::new(NAME, e.to_string()))?;
        if shards.is_empty() {
            return Ok(());
        }
        let relayed = ctx.config.relay_shards();
        let cluster = ctx.config.cluster_id;
        let (kept, skipped): (Vec<_>, Vec<_>) =
            shards.into_iter().partition(|s| relayed.contains(&s.shard));
        for s in &skipped {
            tracing::warn!(
                shard = s.shard,
                "protected shard is not relayed by this node; its validator is skipped"
            );
        }
        let topics: Vec<PubsubTopic> = kept
            .iter()
            .map(|s| PubsubTopic::static_shard(cluster, s.shard))
            .collect();
        let validator = ProtectedShardValidator::new(cluster, kept)
            .map_err(|e| PluginError::new(NAME, format!("protected-shard: {e}")))?;
        let pool = ValidationPool::new(Arc::new(validator), PoolConfig::default())
            .map_err(|e| PluginError::new(NAME, e.to_string()))?;
        let guard = ProtectedShardGuard {
            handle: pool.handle(),
            _pool: pool,
        }
        .start();
        for topic in topics {
            tracing::info!(%topic, "protected shard: only signed messages are relayed");
            ctx.validators.register(topic, guard.clone().recipient());
        }
        Ok(())
    }
}
