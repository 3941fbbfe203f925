//! Fixtures shared by the test modules: the 57/STATUS spec vector and signed-message builders.

use bytes::Bytes;
use rwaku_core::{PubsubTopic, WakuMessage};
use rwaku_plugin_dos_validator::{ProtectedShard, ShardSigningKey};

pub const SPEC_SECRET: &str = "5526a8990317c9b7b58d07843d270f9cd1d9aaee129294c1c478abf7261dd9e6";
pub const SPEC_PUBLIC: &str = "049c5fac802da41e07e6cdf51c3b9a6351ad5e65921527f2df5b7d59fd9b56ab02\
                               bab736cdcfc37f25095e78127500da371947217a8cd5186ab890ea866211c3f6";
pub const SPEC_PAYLOAD: &str = "1A12E077D0E89F9CAC11FBBB6A676C86120B5AD3E248B1F180E98F15EE43D2DF\
                                CF62F00C92737B2FF6F59B3ABA02773314B991C41DC19ADB0AD8C17C8E26757B";
pub const SPEC_TIMESTAMP: i64 = 1_683_208_172_339_052_800;
pub const SPEC_HASH: &str = "662F8C20A335F170BD60ABC1F02AD66F0C6A6EE285DA2A53C95259E7937C0AE9";
pub const SPEC_META: &str = "127FA211B2514F0E974A055392946DC1A14052182A6ABEFB8A6CD7C51DA1BF2E\
                             40595D28EF1A9488797C297EED3AAC45430005FB3A7F037BDD9FC4BD99F59E63";

pub const CLUSTER: u16 = 16;
pub const NOW: i64 = 1_700_000_000_000_000_000;

pub fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).expect("fixture hex")
}

pub fn spec_message() -> WakuMessage {
    WakuMessage {
        payload: Bytes::from(unhex(SPEC_PAYLOAD)),
        content_topic: "content-topic".into(),
        timestamp: Some(SPEC_TIMESTAMP),
        meta: Some(Bytes::from(unhex(SPEC_META))),
        ephemeral: Some(true),
        ..Default::default()
    }
}

pub fn shard_topic(shard: u16) -> PubsubTopic {
    PubsubTopic::static_shard(CLUSTER, shard)
}

/// A 2 KB-ish message on `shard`, timestamped `NOW`, signed by `key`.
pub fn signed(key: &ShardSigningKey, shard: u16, n: u32) -> WakuMessage {
    let mut message = WakuMessage {
        payload: Bytes::from(vec![n as u8; 2000]),
        content_topic: format!("/status/1/chat-{n}/proto"),
        timestamp: Some(NOW - i64::from(n)),
        ..Default::default()
    };
    key.sign_in_place(&mut message, &shard_topic(shard).to_string())
        .expect("timestamp set");
    message
}

pub fn protected(shard: u16, key: &ShardSigningKey) -> ProtectedShard {
    ProtectedShard {
        shard,
        key: key.public_key().clone(),
    }
}
