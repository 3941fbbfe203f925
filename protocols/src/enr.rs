//! WAKU2-ENR: the Waku keys of an Ethereum Node Record — `waku2` capabilities, `rs`/`rsv` relay
//! shards and `multiaddrs` for addresses EIP-778 keys cannot express (dns4, wss, …) — on top
//! of the `enr` crate, which handles signing, `ip`/`tcp`/`udp` and the text form.
//!
//! Multiaddrs are taken and returned as raw binary multiaddrs so this crate needs no libp2p.

use std::net::IpAddr;
use std::ops::{BitOr, BitOrAssign};

use alloy_rlp::Decodable;
use bytes::Bytes;
use rwaku_core::topics::MAX_SHARD_INDEX;
use rwaku_core::{ClusterId, ShardId};

pub use ::enr::k256::ecdsa::SigningKey;
pub use ::enr::{Enr, EnrKey};

/// An ENR signed with a secp256k1 key, as every Waku node uses.
pub type WakuEnr = Enr<SigningKey>;

pub const WAKU2_KEY: &str = "waku2";
pub const MULTIADDRS_KEY: &str = "multiaddrs";
/// Shard index list: `cluster_u16_BE ‖ count_u8 ‖ shard_u16_BE × count`.
pub const RS_KEY: &str = "rs";
/// Shard bit vector: `cluster_u16_BE ‖ 128 bytes`, shard `n` at bit `n % 8` of byte `n / 8`.
pub const RSV_KEY: &str = "rsv";

/// From this many shards on, [`Fields::build`] writes `rsv` instead of `rs` (nwaku's rule).
pub const RSV_THRESHOLD: usize = 64;

const RSV_VECTOR_LEN: usize = 128;
const RSV_LEN: usize = 2 + RSV_VECTOR_LEN;

#[derive(Debug, thiserror::Error)]
pub enum EnrError {
    #[error("shard {0} is above the highest shard index {MAX_SHARD_INDEX}")]
    ShardOutOfRange(u16),
    #[error("an `rs` list holds at most 255 shards, not {0}; use `rsv`")]
    TooManyShardsForRs(usize),
    #[error("`rs` value of {len} bytes is shorter than its 3-byte header")]
    RsTooShort { len: usize },
    #[error(
        "`rs` value of {len} bytes does not fit its count of {count} shards ({expected} bytes)"
    )]
    RsLengthMismatch {
        len: usize,
        count: usize,
        expected: usize,
    },
    #[error("`rsv` value is {len} bytes, not {RSV_LEN}")]
    RsvLength { len: usize },
    #[error("`waku2` value is {len} bytes, not 1")]
    Waku2Length { len: usize },
    #[error("multiaddr #{index} is empty")]
    EmptyMultiaddr { index: usize },
    #[error("multiaddr #{index} is {len} bytes, more than a u16 length can say")]
    MultiaddrTooLong { index: usize, len: usize },
    #[error("`multiaddrs` value ends inside multiaddr #{index}")]
    TruncatedMultiaddrs { index: usize },
    #[error("ENR key `{key}` does not hold an RLP byte string: {source}")]
    NotAByteString {
        key: &'static str,
        #[source]
        source: alloy_rlp::Error,
    },
    #[error("could not build or sign the ENR: {0}")]
    Build(#[source] ::enr::Error),
    #[error("not a valid ENR: {0}")]
    InvalidRlp(#[source] alloy_rlp::Error),
    #[error("not a valid ENR text: {0}")]
    InvalidText(String),
}

/// The `waku2` bit field: which Waku protocols a node serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(u8);

impl Capabilities {
    pub const RELAY: Self = Self(1 << 0);
    pub const STORE: Self = Self(1 << 1);
    pub const FILTER: Self = Self(1 << 2);
    pub const LIGHTPUSH: Self = Self(1 << 3);
    /// Store sync (reconciliation).
    pub const SYNC: Self = Self(1 << 4);

    pub const fn empty() -> Self {
        Self(0)
    }

    /// Keeps every bit, including ones not defined here (nwaku uses bit 5 for mix), so a
    /// record read and written back says the same.
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits)
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Discoverers drop records whose `waku2` has no bit set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Capabilities {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for Capabilities {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// The relay shards a node advertises: one cluster, shards sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayShards {
    cluster: ClusterId,
    shards: Vec<ShardId>,
}

impl RelayShards {
    pub fn new(
        cluster: ClusterId,
        shards: impl IntoIterator<Item = ShardId>,
    ) -> Result<Self, EnrError> {
        let mut shards: Vec<ShardId> = shards.into_iter().collect();
        if let Some(&bad) = shards.iter().find(|&&shard| shard > MAX_SHARD_INDEX) {
            return Err(EnrError::ShardOutOfRange(bad));
        }
        shards.sort_unstable();
        shards.dedup();
        Ok(Self { cluster, shards })
    }

    pub fn cluster(&self) -> ClusterId {
        self.cluster
    }

    pub fn shards(&self) -> &[ShardId] {
        &self.shards
    }

    pub fn contains(&self, cluster: ClusterId, shard: ShardId) -> bool {
        self.cluster == cluster && self.shards.binary_search(&shard).is_ok()
    }

    /// The `rs` value: `cluster_u16_BE ‖ count_u8 ‖ shard_u16_BE × count`.
    pub fn to_rs(&self) -> Result<Vec<u8>, EnrError> {
        let count = u8::try_from(self.shards.len())
            .map_err(|_| EnrError::TooManyShardsForRs(self.shards.len()))?;
        let mut out = Vec::with_capacity(3 + 2 * self.shards.len());
        out.extend_from_slice(&self.cluster.to_be_bytes());
        out.push(count);
        for shard in &self.shards {
            out.extend_from_slice(&shard.to_be_bytes());
        }
        Ok(out)
    }

    /// The `rsv` value. Shard 0 is the lowest bit of the first vector byte, as nwaku and
    /// go-waku write it (the spec's wording says otherwise; the implementations win).
    pub fn to_rsv(&self) -> Vec<u8> {
        let mut out = vec![0u8; RSV_LEN];
        out[..2].copy_from_slice(&self.cluster.to_be_bytes());
        for &shard in &self.shards {
            // `new` and the decoders keep shards ≤ 1023, so the index is inside the vector.
            let shard = usize::from(shard);
            out[2 + shard / 8] |= 1 << (shard % 8);
        }
        out
    }

    /// Parses an `rs` value, whose length must be exactly `3 + 2 * count` (nwaku's rule).
    pub fn from_rs(bytes: &[u8]) -> Result<Self, EnrError> {
        let [c0, c1, count, list @ ..] = bytes else {
            return Err(EnrError::RsTooShort { len: bytes.len() });
        };
        let count = usize::from(*count);
        if list.len() != 2 * count {
            return Err(EnrError::RsLengthMismatch {
                len: bytes.len(),
                count,
                expected: 3 + 2 * count,
            });
        }
        let shards = list
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
        Self::new(u16::from_be_bytes([*c0, *c1]), shards)
    }

    /// Parses an `rsv` value: 2 bytes of cluster and a 128-byte bit vector.
    pub fn from_rsv(bytes: &[u8]) -> Result<Self, EnrError> {
        if bytes.len() != RSV_LEN {
            return Err(EnrError::RsvLength { len: bytes.len() });
        }
        let cluster = u16::from_be_bytes([bytes[0], bytes[1]]);
        let mut shards = Vec::new();
        for (index, byte) in bytes[2..].iter().enumerate() {
            for bit in 0..8u16 {
                if byte & (1 << bit) != 0 {
                    // index < 128, so this stays ≤ 1023.
                    shards.push(index as u16 * 8 + bit);
                }
            }
        }
        Ok(Self { cluster, shards })
    }
}

/// What goes into a Waku ENR besides the identity key.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub seq: u64,
    /// Written as `ip` or `ip6`; the ports then go into the matching `tcp`/`tcp6`, `udp`/`udp6`.
    pub ip: Option<IpAddr>,
    pub tcp: Option<u16>,
    /// The discv5 port.
    pub udp: Option<u16>,
    /// Binary multiaddrs, without `/p2p/<id>` (except on circuit addresses).
    pub multiaddrs: Vec<Vec<u8>>,
    pub capabilities: Capabilities,
    pub shards: Option<RelayShards>,
}

impl Fields {
    /// Builds and signs the record. Fails if it would exceed EIP-778's 300 bytes, which in
    /// practice allows about three multiaddrs.
    pub fn build<K: EnrKey>(&self, key: &K) -> Result<Enr<K>, EnrError> {
        let mut builder = Enr::<K>::builder();
        builder.seq(self.seq);
        let ipv6 = matches!(self.ip, Some(IpAddr::V6(_)));
        if let Some(ip) = self.ip {
            builder.ip(ip);
        }
        match (self.tcp, ipv6) {
            (Some(port), false) => {
                builder.tcp4(port);
            }
            (Some(port), true) => {
                builder.tcp6(port);
            }
            (None, _) => {}
        }
        match (self.udp, ipv6) {
            (Some(port), false) => {
                builder.udp4(port);
            }
            (Some(port), true) => {
                builder.udp6(port);
            }
            (None, _) => {}
        }
        if !self.multiaddrs.is_empty() {
            let value = encode_multiaddrs(&self.multiaddrs)?;
            builder.add_value(MULTIADDRS_KEY, &Bytes::from(value));
        }
        builder.add_value(
            WAKU2_KEY,
            &Bytes::copy_from_slice(&[self.capabilities.bits()]),
        );
        if let Some(shards) = &self.shards {
            // A record carries `rs` or `rsv`, never both.
            if shards.shards().len() < RSV_THRESHOLD {
                builder.add_value(RS_KEY, &Bytes::from(shards.to_rs()?));
            } else {
                builder.add_value(RSV_KEY, &Bytes::from(shards.to_rsv()));
            }
        }
        builder.build(key).map_err(EnrError::Build)
    }
}

/// The value of `key` as an RLP byte string, `None` when absent.
fn byte_string<K: EnrKey>(enr: &Enr<K>, key: &'static str) -> Result<Option<Bytes>, EnrError> {
    enr.get_decodable::<Bytes>(key)
        .transpose()
        .map_err(|source| EnrError::NotAByteString { key, source })
}

/// The `waku2` capabilities, `None` when the record has none.
pub fn capabilities<K: EnrKey>(enr: &Enr<K>) -> Result<Option<Capabilities>, EnrError> {
    let Some(value) = byte_string(enr, WAKU2_KEY)? else {
        return Ok(None);
    };
    match value[..] {
        [bits] => Ok(Some(Capabilities::from_bits(bits))),
        _ => Err(EnrError::Waku2Length { len: value.len() }),
    }
}

/// The relay shards, from `rs` if present, else from `rsv`; `None` when neither is there.
pub fn relay_shards<K: EnrKey>(enr: &Enr<K>) -> Result<Option<RelayShards>, EnrError> {
    if let Some(value) = byte_string(enr, RS_KEY)? {
        return RelayShards::from_rs(&value).map(Some);
    }
    match byte_string(enr, RSV_KEY)? {
        Some(value) => RelayShards::from_rsv(&value).map(Some),
        None => Ok(None),
    }
}

/// The binary multiaddrs of the `multiaddrs` key; empty when absent.
pub fn multiaddrs<K: EnrKey>(enr: &Enr<K>) -> Result<Vec<Vec<u8>>, EnrError> {
    match byte_string(enr, MULTIADDRS_KEY)? {
        Some(value) => decode_multiaddrs(&value),
        None => Ok(Vec::new()),
    }
}

/// `len_u16_BE ‖ multiaddr` for each address.
pub fn encode_multiaddrs(addrs: &[Vec<u8>]) -> Result<Vec<u8>, EnrError> {
    let mut out = Vec::with_capacity(addrs.iter().map(|addr| 2 + addr.len()).sum());
    for (index, addr) in addrs.iter().enumerate() {
        if addr.is_empty() {
            return Err(EnrError::EmptyMultiaddr { index });
        }
        let len = u16::try_from(addr.len()).map_err(|_| EnrError::MultiaddrTooLong {
            index,
            len: addr.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(addr);
    }
    Ok(out)
}

/// Splits a `multiaddrs` value; a zero length is an error, as in nwaku.
pub fn decode_multiaddrs(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, EnrError> {
    let mut addrs = Vec::new();
    while !bytes.is_empty() {
        let index = addrs.len();
        let [l0, l1, rest @ ..] = bytes else {
            return Err(EnrError::TruncatedMultiaddrs { index });
        };
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        if len == 0 {
            return Err(EnrError::EmptyMultiaddr { index });
        }
        if rest.len() < len {
            return Err(EnrError::TruncatedMultiaddrs { index });
        }
        let (addr, tail) = rest.split_at(len);
        addrs.push(addr.to_vec());
        bytes = tail;
    }
    Ok(addrs)
}

/// The record's RLP encoding, as peer exchange carries it.
pub fn to_rlp<K: EnrKey>(enr: &Enr<K>) -> Vec<u8> {
    alloy_rlp::encode(enr)
}

/// Parses (and checks the signature of) an RLP-encoded record, as peer exchange carries it.
pub fn from_rlp<K: EnrKey>(mut bytes: &[u8]) -> Result<Enr<K>, EnrError> {
    Enr::decode(&mut bytes).map_err(EnrError::InvalidRlp)
}

/// Parses the `enr:` text form (the prefix is optional).
pub fn parse<K: EnrKey>(text: &str) -> Result<Enr<K>, EnrError> {
    text.parse().map_err(EnrError::InvalidText)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_slice(&[byte; 32]).expect("a valid secret key")
    }

    #[test]
    fn rs_example_from_the_spec() {
        let shards = RelayShards::new(16, [45, 13, 14]).expect("valid");
        assert_eq!(
            hex::encode(shards.to_rs().expect("fits")),
            "001003000d000e002d"
        );
        let back = RelayShards::from_rs(&hex::decode("001003000d000e002d").expect("hex"))
            .expect("decodes");
        assert_eq!(back, shards);
    }

    #[test]
    fn rsv_example_has_shard_0_in_the_low_bit_of_the_first_byte() {
        let shards = RelayShards::new(16, [13, 14, 45]).expect("valid");
        let rsv = shards.to_rsv();
        assert_eq!(rsv.len(), 130);
        assert_eq!(hex::encode(&rsv[..8]), "0010006000000020");
        assert!(rsv[8..].iter().all(|&byte| byte == 0));
        assert_eq!(RelayShards::from_rsv(&rsv).expect("decodes"), shards);

        let edges = RelayShards::new(1, [0, 1023]).expect("valid").to_rsv();
        assert_eq!(edges[2], 0x01);
        assert_eq!(edges[129], 0x80);
    }

    #[test]
    fn twn_bootstrap_rs() {
        let bytes = hex::decode("00010800000001000200030004000500060007").expect("hex");
        let shards = RelayShards::from_rs(&bytes).expect("decodes");
        assert_eq!(shards.cluster(), 1);
        assert_eq!(shards.shards(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(shards.to_rs().expect("fits"), bytes);
    }

    #[test]
    fn rs_length_must_match_count_exactly() {
        let err = RelayShards::from_rs(&hex::decode("00100300").expect("hex")).expect_err("short");
        assert!(
            matches!(
                err,
                EnrError::RsLengthMismatch {
                    len: 4,
                    count: 3,
                    expected: 9
                }
            ),
            "{err:?}"
        );
        let long = hex::decode("0010010001ff").expect("hex");
        assert!(matches!(
            RelayShards::from_rs(&long),
            Err(EnrError::RsLengthMismatch { .. })
        ));
        assert!(matches!(
            RelayShards::from_rs(&[0, 1]),
            Err(EnrError::RsTooShort { len: 2 })
        ));
        let big = hex::decode("0001010400").expect("hex");
        assert!(matches!(
            RelayShards::from_rs(&big),
            Err(EnrError::ShardOutOfRange(1024))
        ));
        assert!(matches!(
            RelayShards::from_rsv(&[0; 129]),
            Err(EnrError::RsvLength { len: 129 })
        ));
    }

    #[test]
    fn capabilities_bits() {
        let twn = Capabilities::RELAY
            | Capabilities::STORE
            | Capabilities::FILTER
            | Capabilities::LIGHTPUSH;
        assert_eq!(twn.bits(), 0x0f);
        assert!(twn.contains(Capabilities::STORE));
        assert!(!twn.contains(Capabilities::SYNC));
        assert_eq!(Capabilities::SYNC.bits(), 0x10);
        assert!(Capabilities::empty().is_empty());
    }

    #[test]
    fn multiaddrs_encoding() {
        // /dns4/node-01.do-ams3.waku.sandbox.status.im/tcp/30303 from the TWN bootstrap ENR.
        let mut dns = vec![0x36, 0x26];
        dns.extend_from_slice(b"node-01.do-ams3.waku.sandbox.status.im");
        dns.extend_from_slice(&[0x06, 0x76, 0x5f]);
        let encoded = encode_multiaddrs(std::slice::from_ref(&dns)).expect("encodes");
        assert_eq!(&encoded[..2], &[0x00, 0x2b]);
        assert_eq!(
            decode_multiaddrs(&encoded).expect("decodes"),
            vec![dns.clone()]
        );

        assert!(matches!(
            encode_multiaddrs(&[vec![]]),
            Err(EnrError::EmptyMultiaddr { index: 0 })
        ));
        assert!(matches!(
            decode_multiaddrs(&[0, 0]),
            Err(EnrError::EmptyMultiaddr { index: 0 })
        ));
        let mut cut = encoded.clone();
        cut.pop();
        assert!(matches!(
            decode_multiaddrs(&cut),
            Err(EnrError::TruncatedMultiaddrs { index: 0 })
        ));
        let mut odd = encoded;
        odd.push(0x00);
        assert!(matches!(
            decode_multiaddrs(&odd),
            Err(EnrError::TruncatedMultiaddrs { index: 1 })
        ));
    }

    #[test]
    fn build_text_parse_round_trip() {
        let wss = {
            let mut addr = vec![0x36, 0x09];
            addr.extend_from_slice(b"localhost");
            addr.extend_from_slice(&[0x06, 0x1f, 0x40, 0xde, 0x03]);
            addr
        };
        let fields = Fields {
            seq: 3,
            ip: Some(IpAddr::V4(Ipv4Addr::new(64, 225, 80, 192))),
            tcp: Some(30303),
            udp: Some(9000),
            multiaddrs: vec![wss.clone()],
            capabilities: Capabilities::RELAY | Capabilities::STORE,
            shards: Some(RelayShards::new(16, [32, 64]).expect("valid")),
        };
        let signer = key(0x11);
        let enr: WakuEnr = fields.build(&signer).expect("builds");

        let text = enr.to_base64();
        assert!(text.starts_with("enr:"), "{text}");
        let parsed: WakuEnr = parse(&text).expect("parses");
        assert_eq!(parsed, enr);
        assert_eq!(parsed.seq(), 3);
        assert_eq!(parsed.public_key(), *signer.verifying_key());
        assert_eq!(parsed.ip4(), Some(Ipv4Addr::new(64, 225, 80, 192)));
        assert_eq!(parsed.tcp4(), Some(30303));
        assert_eq!(parsed.udp4(), Some(9000));
        assert_eq!(multiaddrs(&parsed).expect("valid"), vec![wss]);
        assert_eq!(
            capabilities(&parsed).expect("valid"),
            Some(fields.capabilities)
        );
        assert_eq!(relay_shards(&parsed).expect("valid"), fields.shards);
        assert!(parsed.get_raw_rlp(RSV_KEY).is_none());

        let rlp = to_rlp(&enr);
        let from_rlp: WakuEnr = from_rlp(&rlp).expect("decodes");
        assert_eq!(from_rlp, enr);
    }

    #[test]
    fn many_shards_go_into_rsv() {
        let fields = Fields {
            capabilities: Capabilities::RELAY,
            shards: Some(RelayShards::new(16, 0..64).expect("valid")),
            ..Default::default()
        };
        let enr: WakuEnr = fields.build(&key(0x22)).expect("builds");
        assert!(enr.get_raw_rlp(RS_KEY).is_none());
        assert!(enr.get_raw_rlp(RSV_KEY).is_some());
        assert_eq!(relay_shards(&enr).expect("valid"), fields.shards);
    }

    #[test]
    fn rs_is_preferred_over_rsv_when_both_are_present() {
        let rs = RelayShards::new(1, [3]).expect("valid");
        let rsv = RelayShards::new(1, [4]).expect("valid");
        let mut builder = WakuEnr::builder();
        builder.add_value(RS_KEY, &Bytes::from(rs.to_rs().expect("fits")));
        builder.add_value(RSV_KEY, &Bytes::from(rsv.to_rsv()));
        let enr = builder.build(&key(0x33)).expect("builds");
        assert_eq!(relay_shards(&enr).expect("valid"), Some(rs));
    }

    #[test]
    fn missing_and_malformed_waku_keys() {
        let bare: WakuEnr = WakuEnr::builder().build(&key(0x44)).expect("builds");
        assert_eq!(capabilities(&bare).expect("absent is fine"), None);
        assert_eq!(relay_shards(&bare).expect("absent is fine"), None);
        assert!(multiaddrs(&bare).expect("absent is fine").is_empty());

        let mut builder = WakuEnr::builder();
        builder.add_value(WAKU2_KEY, &Bytes::from_static(&[0x01, 0x02]));
        let enr = builder.build(&key(0x44)).expect("builds");
        assert!(matches!(
            capabilities(&enr),
            Err(EnrError::Waku2Length { len: 2 })
        ));

        // A list where a byte string belongs.
        let mut builder = WakuEnr::builder();
        builder.add_value_rlp(RS_KEY, Bytes::from_static(&[0xc1, 0x01]));
        let enr = builder.build(&key(0x44)).expect("builds");
        assert!(matches!(
            relay_shards(&enr),
            Err(EnrError::NotAByteString { key: "rs", .. })
        ));
    }

    #[test]
    fn oversized_records_are_refused() {
        let fields = Fields {
            multiaddrs: vec![vec![0x04; 120], vec![0x04; 120], vec![0x04; 120]],
            ..Default::default()
        };
        assert!(matches!(fields.build(&key(0x55)), Err(EnrError::Build(_))));
    }
}
