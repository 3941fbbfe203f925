//! ECDSA over secp256k1, the scheme nwaku and go-waku check on protected shards: 64-byte r ‖ s
//! (big-endian) over the prehashed app digest, low-S only. Two libraries can do the curve math —
//! libsecp256k1 (the C library nwaku and go-waku use, through the `secp256k1` crate) and the
//! pure-Rust `k256` — and both are kept so each can check the other and the faster one serves.

use k256::ecdsa::signature::hazmat::PrehashVerifier;

use crate::verdict::RejectReason;

/// The group order n, big-endian.
const ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
];

/// ⌊n / 2⌋, big-endian: the largest S libsecp256k1 accepts.
const HALF_ORDER: [u8; 32] = [
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
];

/// Which library does the secp256k1 curve math.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Secp256k1Backend {
    /// libsecp256k1 (C, via the `secp256k1` crate): what nwaku and go-waku verify with.
    Libsecp256k1,
    /// RustCrypto `k256` (pure Rust).
    K256,
}

impl Secp256k1Backend {
    /// The backend the validator uses unless told otherwise: libsecp256k1. On the project
    /// machine it verified 1.9–2.2× faster than k256 (about 45–55 µs against 95–120 µs, see
    /// `benches/validation.rs`), and it is the very code nwaku and go-waku verify with, so edge
    /// cases cannot drift. k256 stays as the cross-check and the pure-Rust fallback.
    pub const PREFERRED: Self = Self::Libsecp256k1;

    pub fn name(self) -> &'static str {
        match self {
            Self::Libsecp256k1 => "libsecp256k1",
            Self::K256 => "k256",
        }
    }

    /// One bare verify in this library: parse r ‖ s and run the curve check, nothing before it.
    /// Both libraries refuse a high-S signature here. This is what the benchmark's raw rate
    /// measures; the validator calls it only after [`precheck_signature`].
    pub fn verify_prehash(self, key: &Secp256k1Key, digest: &[u8; 32], signature: &[u8]) -> bool {
        match self {
            Self::Libsecp256k1 => {
                let Ok(sig) = secp256k1::ecdsa::Signature::from_compact(signature) else {
                    return false;
                };
                let message = secp256k1::Message::from_digest(*digest);
                secp256k1::SECP256K1
                    .verify_ecdsa(message, &sig, &key.libsecp)
                    .is_ok()
            }
            Self::K256 => {
                let Ok(sig) = k256::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                key.k256.verify_prehash(digest, &sig).is_ok()
            }
        }
    }
}

/// A secp256k1 public key, parsed once by both libraries so either can verify with it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secp256k1Key {
    k256: k256::ecdsa::VerifyingKey,
    libsecp: secp256k1::PublicKey,
}

impl Secp256k1Key {
    /// From SEC1 bytes: 33-byte compressed (02/03) or 65-byte uncompressed (04). libsecp256k1
    /// would also take the "hybrid" 06/07 forms; nobody publishes those, so they are refused
    /// rather than have the two libraries disagree. `None` when the point is not on the curve.
    pub(crate) fn from_sec1(bytes: &[u8]) -> Option<Self> {
        let tag_ok = match bytes.len() {
            33 => matches!(bytes[0], 0x02 | 0x03),
            65 => bytes[0] == 0x04,
            _ => false,
        };
        if !tag_ok {
            return None;
        }
        let k256 = k256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).ok()?;
        let libsecp = secp256k1::PublicKey::from_slice(bytes).ok()?;
        Some(Self { k256, libsecp })
    }

    /// SEC1 encoding; uncompressed (65 bytes) is what go-waku's `--protected-topic` needs.
    pub fn to_sec1(&self, compressed: bool) -> Vec<u8> {
        if compressed {
            self.libsecp.serialize().to_vec()
        } else {
            self.libsecp.serialize_uncompressed().to_vec()
        }
    }
}

impl std::fmt::Debug for Secp256k1Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secp256k1Key({})", hex::encode(self.to_sec1(true)))
    }
}

/// The checks that need no curve math, so a flood of junk costs a few comparisons: exactly 64
/// bytes, 0 < r < n, 0 < s ≤ n/2. A signature that fails here would fail the real verify too.
pub(crate) fn precheck_signature(meta: &[u8]) -> Result<(), RejectReason> {
    let (r, s) = meta
        .split_at_checked(32)
        .ok_or(RejectReason::WrongMetaLength(meta.len()))?;
    if s.len() != 32 {
        return Err(RejectReason::WrongMetaLength(meta.len()));
    }
    // Big-endian byte strings of equal length compare like the numbers they encode.
    let in_range = |x: &[u8]| x.iter().any(|b| *b != 0) && x < &ORDER[..];
    if !in_range(r) || !in_range(s) {
        return Err(RejectReason::MalformedSignature);
    }
    if s > &HALF_ORDER[..] {
        return Err(RejectReason::HighS);
    }
    Ok(())
}

/// s ↦ n − s: turns a valid low-S signature into the high-S twin libsecp256k1 refuses. For tests
/// and the benchmark; no validator path uses it.
pub fn flip_s(signature: &[u8; 64]) -> [u8; 64] {
    let mut out = *signature;
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let diff = u16::from(ORDER[i])
            .wrapping_sub(u16::from(signature[32 + i]))
            .wrapping_sub(borrow);
        out[32 + i] = diff as u8;
        borrow = (diff >> 8) & 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounds_are_consistent() {
        // n = 2·⌊n/2⌋ + 1
        let mut doubled = [0u8; 32];
        let mut carry = 1u16;
        for i in (0..32).rev() {
            let v = u16::from(HALF_ORDER[i]) * 2 + carry;
            doubled[i] = v as u8;
            carry = v >> 8;
        }
        assert_eq!(doubled, ORDER);
    }

    #[test]
    fn precheck_edges() {
        let mut sig = [0u8; 64];
        assert_eq!(
            precheck_signature(&sig),
            Err(RejectReason::MalformedSignature)
        );
        sig[31] = 1;
        sig[63] = 1;
        assert_eq!(precheck_signature(&sig), Ok(()));
        sig[32..].copy_from_slice(&HALF_ORDER);
        assert_eq!(precheck_signature(&sig), Ok(()));
        sig[63] += 1;
        assert_eq!(precheck_signature(&sig), Err(RejectReason::HighS));
        sig[..32].copy_from_slice(&ORDER);
        assert_eq!(
            precheck_signature(&sig),
            Err(RejectReason::MalformedSignature)
        );
        assert_eq!(
            precheck_signature(&sig[..63]),
            Err(RejectReason::WrongMetaLength(63))
        );
        assert_eq!(
            precheck_signature(&[0; 65]),
            Err(RejectReason::WrongMetaLength(65))
        );
    }

    proptest! {
        // The byte comparison must agree with k256's own scalar parsing and high-S test.
        #[test]
        fn precheck_agrees_with_k256(bytes in proptest::collection::vec(any::<u8>(), 64)) {
            let k256_view = k256::ecdsa::Signature::from_slice(&bytes)
                .map(|sig| sig.normalize_s() != sig);
            match precheck_signature(&bytes) {
                Ok(()) => prop_assert_eq!(k256_view.ok(), Some(false)),
                Err(RejectReason::HighS) => prop_assert_eq!(k256_view.ok(), Some(true)),
                Err(RejectReason::MalformedSignature) => prop_assert!(k256_view.is_err()),
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }

        #[test]
        fn flip_s_is_an_involution_on_valid_s(s in proptest::collection::vec(any::<u8>(), 32)) {
            let mut sig = [1u8; 64];
            sig[32..].copy_from_slice(&s);
            prop_assume!(precheck_signature(&sig).is_ok());
            let flipped = flip_s(&sig);
            prop_assert_eq!(precheck_signature(&flipped), Err(RejectReason::HighS));
            prop_assert_eq!(flip_s(&flipped), sig);
        }
    }
}
