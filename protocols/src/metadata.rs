//! 66/WAKU2-METADATA: on every new connection both sides exchange their cluster id and shards;
//! nwaku hangs up on a peer whose cluster differs or that does not answer.
//!
//! The shards go on the wire twice, as nwaku writes them: field 2 unpacked (js-waku's decoder
//! throws on a packed field 2) and field 3 packed (what nwaku reads first).

use bytes::Bytes;
use prost::Message;
use rwaku_core::topics::MAX_SHARD_INDEX;
use rwaku_core::{ClusterId, ShardId};

/// The generated `waku.metadata.v1` types. Request and response have the same fields.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/waku.metadata.v1.rs"));
}

pub const PROTOCOL_ID: &str = "/vac/waku/metadata/1.0.0";

/// nwaku's `RpcResponseMaxBytes`, applied to requests too. With both shard fields written,
/// about 200 shards fit.
pub const MAX_REQUEST_SIZE: usize = 1024;

pub const MAX_RESPONSE_SIZE: usize = 1024;

/// What a peer says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// `None` when the peer sent no cluster, which nwaku treats as a reason to disconnect.
    pub cluster_id: Option<ClusterId>,
    pub shards: Vec<ShardId>,
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("metadata is not a valid WakuMetadata protobuf: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("cluster id {0} does not fit in 16 bits")]
    ClusterOutOfRange(u32),
    #[error("shard {0} is above the highest shard index {MAX_SHARD_INDEX}")]
    ShardOutOfRange(u32),
}

/// A metadata request or response body for `cluster` and `shards`, with the shards written
/// both unpacked (field 2) and packed (field 3).
pub fn encode(cluster: ClusterId, shards: &[ShardId]) -> Bytes {
    let shards: Vec<u32> = shards.iter().copied().map(u32::from).collect();
    let message = pb::WakuMetadataResponse {
        cluster_id: Some(u32::from(cluster)),
        shards: shards.clone(),
        shards_packed: shards,
    };
    Bytes::from(message.encode_to_vec())
}

/// Reads a metadata request or response. Shards come from field 3 when it has any, otherwise
/// from field 2 in either packing.
pub fn decode(bytes: &[u8]) -> Result<Metadata, MetadataError> {
    let message = pb::WakuMetadataResponse::decode(bytes)?;
    let cluster_id = message
        .cluster_id
        .map(|cluster| {
            ClusterId::try_from(cluster).map_err(|_| MetadataError::ClusterOutOfRange(cluster))
        })
        .transpose()?;
    let raw = if message.shards_packed.is_empty() {
        message.shards
    } else {
        message.shards_packed
    };
    let shards = raw
        .into_iter()
        .map(|shard| match ShardId::try_from(shard) {
            Ok(id) if id <= MAX_SHARD_INDEX => Ok(id),
            _ => Err(MetadataError::ShardOutOfRange(shard)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Metadata { cluster_id, shards })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        hex::encode(bytes)
    }

    #[test]
    fn writes_unpacked_field_2_and_packed_field_3() {
        // nwaku's form: 08 01 | 10 00 | 1a 01 00
        assert_eq!(hex(&encode(1, &[0])), "080110001a0100");
        // cluster 16 | field 2: 32, 64 | field 3 packed: 32, 64
        assert_eq!(hex(&encode(16, &[32, 64])), "0810102010401a022040");
        // No shards: only the cluster.
        assert_eq!(hex(&encode(1, &[])), "0801");
    }

    #[test]
    fn field_3_wins_over_field_2() {
        // cluster 1, field 2 = [5], field 3 = [6, 7]
        let bytes = [0x08, 0x01, 0x10, 0x05, 0x1a, 0x02, 0x06, 0x07];
        let got = decode(&bytes).expect("decodes");
        assert_eq!(got.shards, vec![6, 7]);
    }

    #[test]
    fn field_2_is_read_in_either_packing() {
        let unpacked = decode(&[0x08, 0x01, 0x10, 0x00, 0x10, 0x03]).expect("unpacked");
        let packed = decode(&[0x08, 0x01, 0x12, 0x02, 0x00, 0x03]).expect("packed");
        assert_eq!(unpacked.shards, vec![0, 3]);
        assert_eq!(packed, unpacked);
    }

    #[test]
    fn missing_cluster_is_none() {
        assert_eq!(decode(&[]).expect("empty is valid"), Metadata::default());
    }

    #[test]
    fn out_of_range_values_are_refused() {
        // cluster 65536
        let err = decode(&[0x08, 0x80, 0x80, 0x04]).expect_err("cluster too big");
        assert!(
            matches!(err, MetadataError::ClusterOutOfRange(65536)),
            "{err:?}"
        );
        // shard 1024 in field 3
        let err = decode(&[0x08, 0x01, 0x1a, 0x02, 0x80, 0x08]).expect_err("shard too big");
        assert!(
            matches!(err, MetadataError::ShardOutOfRange(1024)),
            "{err:?}"
        );
        // shard 1023 is the last valid one
        let ok = decode(&[0x08, 0x01, 0x10, 0xff, 0x07]).expect("1023 is valid");
        assert_eq!(ok.shards, vec![1023]);
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let err = decode(&[0x0a, 0x05]).expect_err("truncated length-delimited field");
        assert!(matches!(err, MetadataError::Decode(_)), "{err:?}");
    }
}
