//! nwaku's `/relay/v1/*` REST API: subscriptions, publishing and the message cache, by pubsub
//! topic and (`/relay/v1/auto/*`) by content topic through autosharding.

mod answers;
mod auto_routes;
pub mod cache;
mod pubsub_routes;

use std::sync::Arc;

use axum::{
    Router,
    routing::{get, post},
};
use rwaku_core::ClusterId;

use crate::control::RelayControl;

pub use cache::RelayMessageCache;
pub use rwaku_actors::rest_message::{MessageJsonError, RelayWakuMessage};

/// What the relay handlers share.
#[derive(Clone)]
pub struct RelayRest {
    pub control: RelayControl,
    pub cache: Arc<RelayMessageCache>,
    pub cluster: ClusterId,
    /// 0 turns autosharding (and the `/auto` routes) off.
    pub num_shards_in_network: u16,
}

pub fn router(state: RelayRest) -> Router {
    Router::new()
        .route(
            "/relay/v1/subscriptions",
            post(pubsub_routes::subscribe).delete(pubsub_routes::unsubscribe),
        )
        .route(
            "/relay/v1/messages/{topic}",
            get(pubsub_routes::messages).post(pubsub_routes::publish),
        )
        .route(
            "/relay/v1/auto/subscriptions",
            post(auto_routes::subscribe).delete(auto_routes::unsubscribe),
        )
        .route(
            "/relay/v1/auto/messages/{topic}",
            get(auto_routes::messages),
        )
        .route("/relay/v1/auto/messages", post(auto_routes::publish))
        .with_state(state)
}
