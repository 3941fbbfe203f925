//! rwaku-plugin-filter: 12/WAKU2-FILTER v2 for light clients.
//!
//! * Server (`--filter`): `FilterSubscriptions` holds who wants what, under nwaku's limits;
//!   `FilterService` answers subscribe requests and turns each message the relay accepted
//!   into pushes; `PushFanOut` gives every subscriber its own bounded queue and sender task;
//!   `FilterServer` is the actor around them.
//! * Client (`--filternode`): `FilterClient` subscribes at a service node and files the
//!   pushes it gets in a `PushInbox`; `rest` serves nwaku's `/filter/v2/*` routes over it.
//!
//! The plugin starts the server when `config.filter` is set and the client (plus its REST
//! routes when `config.rest` is set) when `config.filternode` is set; each works alone.

pub mod admin;
pub mod client;
pub mod fan_out;
pub mod inbox;
pub mod keep_alive;
pub mod metrics;
pub mod plugin;
pub mod recent_hashes;
pub mod rest;
pub mod server;
pub mod service;
pub mod subscriptions;

pub use client::{FilterClient, FilterClientError, is_success, new_request_id};
pub use fan_out::{
    DEFAULT_PUSH_TIMEOUT, Enqueued, FanOutConfig, FanOutCounters, FanOutTotals, PushError,
    PushFanOut, PushSink, StreamPushSink,
};
pub use inbox::{InboxLimits, PushInbox, PushVerdict, PushedMessage};
pub use keep_alive::{KEEP_ALIVE_INTERVAL, keep_alive};
pub use plugin::{FilterPlugin, NAME};
pub use rest::{FilterNode, FilterRest};
pub use server::FilterServer;
pub use service::{DEFAULT_RATE_LIMIT, FilterService, FilterServiceConfig, PushOutcome};
pub use subscriptions::{FilterSubscriptions, SubscriptionError, SubscriptionLimits, Unsubscribed};
