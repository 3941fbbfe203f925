//! rwaku-plugin-dos-validator: the protected-shard ("signed shard") DoS protection of
//! 57/STATUS-SIMPLE-SCALING. Messages on a protected shard must be signed by the shard's key over
//! the app message hash and carry a timestamp within 5 minutes; anything else is rejected, so
//! gossipsub penalises the peer that forwarded it. Byte-compatible with nwaku and go-waku for
//! secp256k1; ed25519 is an rwaku-only extension.
//!
//! A relay actor builds one [`ProtectedShardValidator`] from the `--protected-shard` values,
//! starts a [`ValidationPool`] with it and submits messages through a [`ValidationHandle`]:
//!
//! ```
//! use std::sync::Arc;
//! use rwaku_core::{PubsubTopic, WakuMessage};
//! use rwaku_plugin_dos_validator::*;
//!
//! // The community owner, once: `rwaku keygen --scheme secp256k1`.
//! let owner = ShardSigningKey::generate(SignatureScheme::Secp256k1);
//! let flag = format!("32:{}", owner.public_key().to_hex());
//!
//! // The relay node, at start-up.
//! let shards = [flag.parse::<ProtectedShard>()?];
//! let validator = Arc::new(ProtectedShardValidator::new(16, shards)?);
//! let pool = ValidationPool::new(validator, PoolConfig::default())?;
//! let handle = pool.handle();
//!
//! // A publisher signs; a relay judges what arrives.
//! let topic = PubsubTopic::static_shard(16, 32);
//! let mut message = WakuMessage {
//!     payload: b"hello".to_vec().into(),
//!     content_topic: "/status/1/chat/proto".into(),
//!     timestamp: Some(unix_time_ns()),
//!     ..Default::default()
//! };
//! owner.sign_in_place(&mut message, &topic.to_string())?;
//! let request = ValidationRequest {
//!     pubsub_topic: topic,
//!     message: Arc::new(message),
//!     source: SourceId::from_bytes(b"peer id bytes"),
//!     now_ns: unix_time_ns(),
//! };
//! // In async code: `handle.try_submit(request)?.await` or `handle.validate(request).await`.
//! let verdict = handle.try_submit(request)?.blocking_wait()?;
//! assert_eq!(verdict, Verdict::Accept);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod app_hash;
pub mod ecdsa_secp256k1;
mod ed25519;
mod fair_queue;
pub mod key;
pub mod metrics;
pub mod plugin;
pub mod pool;
pub mod protected_shard;
pub mod signing;
pub mod validator;
pub mod verdict;

pub use app_hash::app_message_hash;
pub use ecdsa_secp256k1::{Secp256k1Backend, Secp256k1Key};
pub use key::{KeyError, ProtectedShardKey, SignatureScheme};
pub use plugin::{DosValidatorPlugin, ProtectedShardGuard, protected_shards};
pub use pool::{
    PendingVerdict, PoolClosed, PoolConfig, PoolError, SourceId, SubmitError, SubmitErrorKind,
    ValidationHandle, ValidationPool, ValidationRequest,
};
pub use protected_shard::{ProtectedShard, ProtectedShardError};
pub use signing::{GeneratedKeys, ShardSigningKey, SignError, keygen};
pub use validator::{
    MESSAGE_WINDOW_NS, ProtectedShardValidator, ValidatorConfigError, check_envelope, unix_time_ns,
};
pub use verdict::{RejectReason, Verdict};
