//! The public key a relay holds for a protected shard, parsed from the hex an operator writes.
//! The length says the scheme: 33 or 65 bytes is secp256k1 (what nwaku and go-waku take),
//! 32 bytes is ed25519 (rwaku only).

use std::fmt;

use crate::{
    ecdsa_secp256k1::{self, Secp256k1Backend, Secp256k1Key},
    ed25519,
    verdict::RejectReason,
};

/// The signature schemes a protected shard can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// ECDSA over secp256k1, byte-compatible with nwaku and go-waku.
    Secp256k1,
    /// Ed25519: rwaku nodes only; nwaku and go-waku do not check it.
    Ed25519,
}

impl SignatureScheme {
    pub fn name(self) -> &'static str {
        match self {
            Self::Secp256k1 => "secp256k1",
            Self::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SignatureScheme {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "secp256k1" => Ok(Self::Secp256k1),
            "ed25519" => Ok(Self::Ed25519),
            _ => Err(KeyError::UnknownScheme(text.to_string())),
        }
    }
}

/// A key that could not be read. Names what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key is not valid hex: {0}")]
    BadHex(String),
    #[error(
        "public key is {0} bytes; expected 33 (compressed secp256k1), 65 (uncompressed secp256k1) or 32 (ed25519)"
    )]
    WrongPublicKeyLength(usize),
    #[error("secret key is {0} bytes; expected 32")]
    WrongSecretKeyLength(usize),
    #[error("{0} public key is not a point on the curve")]
    NotOnCurve(SignatureScheme),
    #[error("ed25519 public key has small order, so any signature could pass for it")]
    WeakEd25519Key,
    #[error("secp256k1 secret key is zero or not below the group order")]
    SecretOutOfRange,
    #[error("unknown signature scheme {0:?}; expected secp256k1 or ed25519")]
    UnknownScheme(String),
}

/// Decodes hex with an optional `0x`, as nwaku's `fromHex` does.
pub(crate) fn decode_hex(text: &str) -> Result<Vec<u8>, KeyError> {
    let text = text.trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    hex::decode(digits).map_err(|e| KeyError::BadHex(e.to_string()))
}

#[derive(Clone, PartialEq, Eq)]
enum KeyKind {
    Secp256k1(Secp256k1Key),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// The public key of one protected shard.
#[derive(Clone, PartialEq, Eq)]
pub struct ProtectedShardKey {
    kind: KeyKind,
}

impl ProtectedShardKey {
    /// From hex (optionally `0x`-prefixed): 33/65 bytes → secp256k1, 32 bytes → ed25519.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&decode_hex(text)?)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        match bytes.len() {
            33 | 65 => Secp256k1Key::from_sec1(bytes)
                .map(|key| Self {
                    kind: KeyKind::Secp256k1(key),
                })
                .ok_or(KeyError::NotOnCurve(SignatureScheme::Secp256k1)),
            32 => {
                let mut raw = [0u8; 32];
                raw.copy_from_slice(bytes);
                let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
                    .map_err(|_| KeyError::NotOnCurve(SignatureScheme::Ed25519))?;
                // A small-order key lets anyone craft signatures that verify.
                if key.is_weak() {
                    return Err(KeyError::WeakEd25519Key);
                }
                Ok(Self {
                    kind: KeyKind::Ed25519(key),
                })
            }
            n => Err(KeyError::WrongPublicKeyLength(n)),
        }
    }

    pub(crate) fn from_secp256k1(key: Secp256k1Key) -> Self {
        Self {
            kind: KeyKind::Secp256k1(key),
        }
    }

    pub(crate) fn from_ed25519(key: ed25519_dalek::VerifyingKey) -> Self {
        Self {
            kind: KeyKind::Ed25519(key),
        }
    }

    pub fn scheme(&self) -> SignatureScheme {
        match self.kind {
            KeyKind::Secp256k1(_) => SignatureScheme::Secp256k1,
            KeyKind::Ed25519(_) => SignatureScheme::Ed25519,
        }
    }

    /// The key's bytes: 65-byte uncompressed for secp256k1 (what go-waku needs), 32 for ed25519.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.kind {
            KeyKind::Secp256k1(key) => key.to_sec1(false),
            KeyKind::Ed25519(key) => key.to_bytes().to_vec(),
        }
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// The 33-byte compressed form of a secp256k1 key (nwaku takes it too); `None` for ed25519.
    pub fn to_compressed_hex(&self) -> Option<String> {
        match &self.kind {
            KeyKind::Secp256k1(key) => Some(hex::encode(key.to_sec1(true))),
            KeyKind::Ed25519(_) => None,
        }
    }

    /// The secp256k1 key, for a raw verify with a chosen backend.
    pub fn as_secp256k1(&self) -> Option<&Secp256k1Key> {
        match &self.kind {
            KeyKind::Secp256k1(key) => Some(key),
            KeyKind::Ed25519(_) => None,
        }
    }

    pub(crate) fn as_ed25519(&self) -> Option<&ed25519_dalek::VerifyingKey> {
        match &self.kind {
            KeyKind::Ed25519(key) => Some(key),
            KeyKind::Secp256k1(_) => None,
        }
    }

    /// The checks that need no curve math (length, scalar ranges, low S).
    pub fn precheck_signature(&self, signature: &[u8]) -> Result<(), RejectReason> {
        match &self.kind {
            KeyKind::Secp256k1(_) => ecdsa_secp256k1::precheck_signature(signature),
            KeyKind::Ed25519(_) => ed25519::precheck_signature(signature).map(|_| ()),
        }
    }

    /// The full check of `signature` over `digest`: prechecks, then the curve math.
    pub fn verify_digest(
        &self,
        backend: Secp256k1Backend,
        digest: &[u8; 32],
        signature: &[u8],
    ) -> Result<(), RejectReason> {
        match &self.kind {
            KeyKind::Secp256k1(key) => {
                ecdsa_secp256k1::precheck_signature(signature)?;
                if backend.verify_prehash(key, digest, signature) {
                    Ok(())
                } else {
                    Err(RejectReason::InvalidSignature)
                }
            }
            KeyKind::Ed25519(key) => {
                let sig = ed25519::precheck_signature(signature)?;
                if ed25519::verify_one(key, digest, &sig) {
                    Ok(())
                } else {
                    Err(RejectReason::InvalidSignature)
                }
            }
        }
    }
}

impl fmt::Debug for ProtectedShardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtectedShardKey({}:{})", self.scheme(), self.to_hex())
    }
}

impl std::str::FromStr for ProtectedShardKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_PUBLIC: &str = "049c5fac802da41e07e6cdf51c3b9a6351ad5e65921527f2df5b7d59fd9b56ab02\
                               bab736cdcfc37f25095e78127500da371947217a8cd5186ab890ea866211c3f6";

    #[test]
    fn compressed_and_uncompressed_are_the_same_key() {
        let full = ProtectedShardKey::from_hex(SPEC_PUBLIC).expect("uncompressed parses");
        let short_hex = full.to_compressed_hex().expect("secp256k1");
        assert_eq!(short_hex.len(), 66);
        let short = ProtectedShardKey::from_hex(&format!("0x{short_hex}")).expect("compressed");
        assert_eq!(full, short);
        assert_eq!(short.to_hex(), SPEC_PUBLIC);
        assert_eq!(short.scheme(), SignatureScheme::Secp256k1);
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(matches!(
            ProtectedShardKey::from_hex("zz"),
            Err(KeyError::BadHex(_))
        ));
        assert!(matches!(
            ProtectedShardKey::from_hex("abc"),
            Err(KeyError::BadHex(_))
        ));
        assert_eq!(
            ProtectedShardKey::from_hex(&"11".repeat(20)),
            Err(KeyError::WrongPublicKeyLength(20))
        );
        // x = 0 has no point: 7 is not a square mod p.
        let mut off_curve = vec![0x02];
        off_curve.extend([0u8; 32]);
        assert_eq!(
            ProtectedShardKey::from_bytes(&off_curve),
            Err(KeyError::NotOnCurve(SignatureScheme::Secp256k1))
        );
        // A hybrid (06/07) encoding of a valid point is refused, not silently accepted.
        let mut hybrid = decode_hex(SPEC_PUBLIC).expect("hex");
        hybrid[0] = 0x06;
        assert_eq!(
            ProtectedShardKey::from_bytes(&hybrid),
            Err(KeyError::NotOnCurve(SignatureScheme::Secp256k1))
        );
        // The identity (y = 1, x = 0) is a small-order ed25519 point.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            ProtectedShardKey::from_bytes(&identity),
            Err(KeyError::WeakEd25519Key)
        );
    }

    #[test]
    fn scheme_names_parse() {
        assert_eq!("Ed25519".parse(), Ok(SignatureScheme::Ed25519));
        assert_eq!("secp256k1".parse(), Ok(SignatureScheme::Secp256k1));
        assert!(matches!(
            "rsa".parse::<SignatureScheme>(),
            Err(KeyError::UnknownScheme(_))
        ));
    }
}
