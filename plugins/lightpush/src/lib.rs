//! rwaku-plugin-lightpush: 19/WAKU2-LIGHTPUSH. A light client hands this node a message; the
//! node validates it with its relay's own rules and publishes it, answering with a status
//! code and the number of relay peers reached. Serves v3 (nwaku, js-waku) and the legacy v2
//! (go-waku, status-go), a client for both, and nwaku's `/lightpush/*` REST routes.

pub mod client;
pub mod metrics;
pub mod plugin;
pub mod refusal;
pub mod rest;
pub mod rest_json;
pub mod server;
pub mod service;

pub use client::{ClientError, LegacyPushReply, LightpushClient, PushReply};
pub use plugin::{LightpushPlugin, NAME};
pub use refusal::{PushRefusal, Relayed};
pub use rest::{RemoteLightpush, RestBackend};
pub use server::LightpushServer;
pub use service::LightpushService;
