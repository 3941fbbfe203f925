//! The community owner's side: make a shard key pair and sign messages for a protected shard.
//! This backs `rwaku keygen --scheme …` and `rwaku sign …`. secp256k1 signatures are what
//! go-waku's `SignMessage` makes: RFC 6979 deterministic ECDSA over the app hash, low S,
//! r ‖ s without the recovery byte.

use bytes::Bytes;
use ed25519_dalek::Signer;
use rand::RngCore;
use rwaku_core::WakuMessage;

use crate::{
    app_hash::app_message_hash,
    ecdsa_secp256k1::Secp256k1Key,
    key::{KeyError, ProtectedShardKey, SignatureScheme, decode_hex},
};

/// A message that should not be signed as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// Relays refuse a message without a timestamp, so a signature over it would be wasted;
    /// set `timestamp` (Unix ns) before signing, since it is part of the signed hash.
    #[error("message has no timestamp; set it before signing, it is part of the signed hash")]
    MissingTimestamp,
}

enum SecretKind {
    Secp256k1(secp256k1::SecretKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// The secret key of a protected shard.
pub struct ShardSigningKey {
    secret: SecretKind,
    public: ProtectedShardKey,
}

impl ShardSigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(scheme: SignatureScheme) -> Self {
        loop {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            // Only secp256k1 can refuse, for zero or ≥ n: odds about 2^-128.
            if let Ok(key) = Self::from_bytes(scheme, &bytes) {
                return key;
            }
        }
    }

    /// From 32 secret bytes in hex (optionally `0x`-prefixed). Both schemes use 32 bytes, so the
    /// scheme must be named.
    pub fn from_hex(scheme: SignatureScheme, text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(scheme, &decode_hex(text)?)
    }

    pub fn from_bytes(scheme: SignatureScheme, bytes: &[u8]) -> Result<Self, KeyError> {
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::WrongSecretKeyLength(bytes.len()))?;
        match scheme {
            SignatureScheme::Secp256k1 => {
                let secret = secp256k1::SecretKey::from_byte_array(raw)
                    .map_err(|_| KeyError::SecretOutOfRange)?;
                let public = secp256k1::PublicKey::from_secret_key_global(&secret);
                let public = Secp256k1Key::from_sec1(&public.serialize_uncompressed())
                    .ok_or(KeyError::NotOnCurve(SignatureScheme::Secp256k1))?;
                Ok(Self {
                    secret: SecretKind::Secp256k1(secret),
                    public: ProtectedShardKey::from_secp256k1(public),
                })
            }
            SignatureScheme::Ed25519 => {
                let secret = ed25519_dalek::SigningKey::from_bytes(&raw);
                let public = ProtectedShardKey::from_ed25519(secret.verifying_key());
                Ok(Self {
                    secret: SecretKind::Ed25519(secret),
                    public,
                })
            }
        }
    }

    pub fn scheme(&self) -> SignatureScheme {
        self.public.scheme()
    }

    /// The 32 secret bytes in hex. Handle with care: whoever has them can publish on the shard.
    pub fn secret_hex(&self) -> String {
        match &self.secret {
            SecretKind::Secp256k1(key) => hex::encode(key.secret_bytes()),
            SecretKind::Ed25519(key) => hex::encode(key.to_bytes()),
        }
    }

    /// The key relays configure with `--protected-shard`.
    pub fn public_key(&self) -> &ProtectedShardKey {
        &self.public
    }

    /// Signs a 32-byte digest: r ‖ s (low S) for secp256k1, R ‖ S for ed25519.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 64] {
        match &self.secret {
            SecretKind::Secp256k1(key) => {
                // libsecp256k1 signs with RFC 6979 nonces and always emits low S.
                let message = secp256k1::Message::from_digest(*digest);
                secp256k1::SECP256K1
                    .sign_ecdsa(message, key)
                    .serialize_compact()
            }
            SecretKind::Ed25519(key) => key.sign(digest).to_bytes(),
        }
    }

    /// The 64-byte `meta` for `message` on `pubsub_topic` (the exact topic text it will be
    /// published on, e.g. `/waku/2/rs/16/32`).
    pub fn sign(&self, message: &WakuMessage, pubsub_topic: &str) -> Result<[u8; 64], SignError> {
        if message.timestamp_or_zero() == 0 {
            return Err(SignError::MissingTimestamp);
        }
        Ok(self.sign_digest(&app_message_hash(pubsub_topic, message)))
    }

    /// Signs `message` and puts the signature in its `meta`.
    pub fn sign_in_place(
        &self,
        message: &mut WakuMessage,
        pubsub_topic: &str,
    ) -> Result<(), SignError> {
        let meta = self.sign(message, pubsub_topic)?;
        message.meta = Some(Bytes::copy_from_slice(&meta));
        Ok(())
    }
}

impl std::fmt::Debug for ShardSigningKey {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShardSigningKey({:?})", self.public)
    }
}

/// What `rwaku keygen` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKeys {
    pub scheme: SignatureScheme,
    /// 32 bytes, hex: the publishers' secret.
    pub secret_hex: String,
    /// For `--protected-shard`: 65-byte uncompressed secp256k1 (go-waku needs this form) or
    /// 32-byte ed25519.
    pub public_hex: String,
    /// 33-byte compressed secp256k1, which nwaku and rwaku also take; `None` for ed25519.
    pub public_compressed_hex: Option<String>,
}

/// A new shard key pair, as hex.
pub fn keygen(scheme: SignatureScheme) -> GeneratedKeys {
    let key = ShardSigningKey::generate(scheme);
    GeneratedKeys {
        scheme,
        secret_hex: key.secret_hex(),
        public_hex: key.public_key().to_hex(),
        public_compressed_hex: key.public_key().to_compressed_hex(),
    }
}
