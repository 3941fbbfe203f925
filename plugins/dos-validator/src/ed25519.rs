//! Ed25519 on protected shards: an rwaku extension. The 64-byte signature sits in `meta` and
//! signs the same 32-byte app digest. nwaku and go-waku only check secp256k1, so a shard signed
//! this way is protected on rwaku nodes alone; mixed fleets must stay on secp256k1.
//!
//! Its point is speed: many signatures can be checked as one batch.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use crate::verdict::RejectReason;

/// The group order ℓ, little-endian, as Ed25519 encodes S.
const ORDER_LE: [u8; 32] = [
    0xED, 0xD3, 0xF5, 0x5C, 0x1A, 0x63, 0x12, 0x58, 0xD6, 0x9C, 0xF7, 0xA2, 0xDE, 0xF9, 0xDE, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// The cheap part of the check: exactly 64 bytes with a canonical S (< ℓ). ed25519-dalek would
/// refuse a non-canonical S anyway; refusing it here keeps it out of a batch, where one bad
/// entry would cost the whole batch a second, one-by-one pass.
pub(crate) fn precheck_signature(meta: &[u8]) -> Result<Signature, RejectReason> {
    let bytes: &[u8; 64] = meta
        .try_into()
        .map_err(|_| RejectReason::WrongMetaLength(meta.len()))?;
    let s = &bytes[32..];
    // Compare little-endian numbers from the most significant byte down.
    let canonical = s.iter().rev().lt(ORDER_LE.iter().rev());
    if !canonical {
        return Err(RejectReason::MalformedSignature);
    }
    Ok(Signature::from_bytes(bytes))
}

pub(crate) fn verify_one(key: &VerifyingKey, digest: &[u8; 32], signature: &Signature) -> bool {
    key.verify(digest, signature).is_ok()
}

/// Verifies `items` as one batch; on failure, one by one so only the bad ones are refused.
/// Returns one bool per item, in order.
pub(crate) fn verify_many(items: &[(&VerifyingKey, [u8; 32], Signature)]) -> Vec<bool> {
    match items {
        [] => return Vec::new(),
        [(key, digest, sig)] => return vec![verify_one(key, digest, sig)],
        _ => {}
    }
    let messages: Vec<&[u8]> = items.iter().map(|(_, d, _)| d.as_slice()).collect();
    let signatures: Vec<Signature> = items.iter().map(|(_, _, s)| *s).collect();
    let keys: Vec<VerifyingKey> = items.iter().map(|(k, _, _)| **k).collect();
    if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok() {
        return vec![true; items.len()];
    }
    items
        .iter()
        .map(|(key, digest, sig)| verify_one(key, digest, sig))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_bytes_are_ell() {
        // ℓ = 2^252 + 27742317777372353535851937790883648493
        let low = 27_742_317_777_372_353_535_851_937_790_883_648_493u128.to_le_bytes();
        assert_eq!(ORDER_LE[..16], low);
        assert_eq!(ORDER_LE[31], 0x10);
    }

    #[test]
    fn non_canonical_s_is_malformed() {
        let mut sig = [0u8; 64];
        sig[32..].copy_from_slice(&ORDER_LE);
        assert_eq!(
            precheck_signature(&sig).err(),
            Some(RejectReason::MalformedSignature)
        );
        sig[32] -= 1;
        assert!(precheck_signature(&sig).is_ok());
        assert_eq!(
            precheck_signature(&sig[..10]).err(),
            Some(RejectReason::WrongMetaLength(10))
        );
    }
}
