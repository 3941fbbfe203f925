//! Gossipsub set up as Waku relay: `/vac/waku/relay/2.0.0` only, StrictNoSign (anonymous),
//! message id = sha256 of the message data, D 6/4/8, 1 s heartbeat, flood publish, manual
//! validation, and nwaku's peer-score parameters (waku-wire-facts §2.2).

use std::time::Duration;

use libp2p::gossipsub::{
    self, ConfigBuilder, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds,
    TopicScoreParams, ValidationMode, Version,
};
use sha2::{Digest, Sha256};

use rwaku_core::MAX_WAKU_MESSAGE_SIZE;

/// The largest gossipsub frame accepted: a 150 KiB message plus RPC headroom.
pub const WAKU_MAX_TRANSMIT_SIZE: usize = MAX_WAKU_MESSAGE_SIZE + 64 * 1024;

pub const RELAY_PROTOCOL_ID: &str = "/vac/waku/relay/2.0.0";

fn waku_config() -> Result<gossipsub::Config, String> {
    ConfigBuilder::default()
        .protocol_id(RELAY_PROTOCOL_ID, Version::V1_1)
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(Sha256::digest(&m.data).to_vec()))
        .mesh_n(6)
        .mesh_n_low(4)
        .mesh_n_high(8)
        .mesh_outbound_min(3)
        .gossip_lazy(6)
        .gossip_factor(0.25)
        .heartbeat_interval(Duration::from_secs(1))
        .history_length(6)
        .history_gossip(3)
        .fanout_ttl(Duration::from_secs(60))
        .duplicate_cache_time(Duration::from_secs(120))
        .prune_backoff(Duration::from_secs(60))
        .unsubscribe_backoff(Duration::from_secs(5))
        .flood_publish(true)
        .max_transmit_size(WAKU_MAX_TRANSMIT_SIZE)
        .build()
        .map_err(|e| e.to_string())
}

/// nwaku's per-topic score parameters, applied to every subscribed shard.
pub fn waku_topic_score_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 10.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.5,
        first_message_deliveries_cap: 10.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: 0.5,
        mesh_message_deliveries_cap: 10.0,
        mesh_message_deliveries_threshold: 0.0,
        mesh_message_deliveries_window: Duration::from_millis(5),
        mesh_message_deliveries_activation: Duration::from_secs(10),
        mesh_failure_penalty_weight: 0.0,
        mesh_failure_penalty_decay: 0.5,
        invalid_message_deliveries_weight: -100.0,
        invalid_message_deliveries_decay: 0.5,
    }
}

/// Below this score gossipsub ignores a peer; the driver then disconnects it.
pub const GRAYLIST_THRESHOLD: f64 = -10000.0;

fn waku_peer_score() -> (PeerScoreParams, PeerScoreThresholds) {
    let params = PeerScoreParams {
        topic_score_cap: 10.0,
        app_specific_weight: 0.0,
        ip_colocation_factor_weight: -50.0,
        ip_colocation_factor_threshold: 5.0,
        behaviour_penalty_weight: -10.0,
        behaviour_penalty_decay: 0.986,
        decay_interval: Duration::from_secs(12),
        decay_to_zero: 0.01,
        retain_score: Duration::from_secs(600),
        ..PeerScoreParams::default()
    };
    let thresholds = PeerScoreThresholds {
        gossip_threshold: -100.0,
        publish_threshold: -1000.0,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 0.0,
        opportunistic_graft_threshold: 0.0,
    };
    (params, thresholds)
}

/// A gossipsub behaviour configured as Waku relay. `colocation_whitelist_loopback` turns off
/// the IP-colocation penalty for loopback, where every test peer shares one address.
pub fn waku_gossipsub(colocation_whitelist_loopback: bool) -> Result<gossipsub::Behaviour, String> {
    let mut behaviour = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, waku_config()?)?;
    let (mut params, thresholds) = waku_peer_score();
    if colocation_whitelist_loopback {
        params
            .ip_colocation_factor_whitelist
            .insert([127, 0, 0, 1].into());
    }
    behaviour.with_peer_score(params, thresholds)?;
    Ok(behaviour)
}
