//! Benchmark: the 14/ message hash and WakuMessage encode/decode of a 2 KB message, each in
//! ns per operation and as a ratio to raw sha256 over the same bytes the hash reads.
//! Run: `cargo bench --bench core_codec`. Prints medians of several rounds.

use std::{hint::black_box, time::Instant};

use bytes::{Bytes, BytesMut};
use prost::Message;
use rwaku_core::{MessageHash, WakuMessage};
use sha2::{Digest, Sha256};

const ROUNDS: usize = 9;
const ITERATIONS: usize = 100_000;
const PUBSUB: &str = "/waku/2/rs/16/32";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median ns per call of `f` over `ROUNDS` rounds of `ITERATIONS` calls.
fn measure(mut f: impl FnMut()) -> f64 {
    for _ in 0..ITERATIONS / 10 {
        f();
    }
    let rounds = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ITERATIONS {
                f();
            }
            start.elapsed().as_nanos() as f64 / ITERATIONS as f64
        })
        .collect();
    median(rounds)
}

fn main() {
    let message = WakuMessage {
        payload: Bytes::from((0..2000u32).map(|i| (i * 31) as u8).collect::<Vec<u8>>()),
        content_topic: "/status/1/community-chat/proto".into(),
        version: Some(0),
        timestamp: Some(1_796_111_933_108_000_000),
        meta: Some(Bytes::from(vec![7u8; 64])),
        ephemeral: Some(false),
        ..Default::default()
    };
    let encoded = Bytes::from(message.encode_to_vec());
    let mut hash_input = Vec::new();
    hash_input.extend_from_slice(PUBSUB.as_bytes());
    hash_input.extend_from_slice(&message.payload);
    hash_input.extend_from_slice(message.content_topic.as_bytes());
    hash_input.extend_from_slice(message.meta_bytes());
    hash_input.extend_from_slice(&(message.timestamp_or_zero() as u64).to_be_bytes());

    let raw = measure(|| {
        black_box(Sha256::digest(black_box(&hash_input)));
    });
    let hash = measure(|| {
        black_box(MessageHash::compute(black_box(PUBSUB), black_box(&message)));
    });
    let mut buffer = BytesMut::with_capacity(encoded.len() * 2);
    let encode = measure(|| {
        buffer.clear();
        black_box(&message).encode(&mut buffer).ok();
        black_box(&buffer);
    });
    let decode = measure(|| {
        black_box(WakuMessage::decode(black_box(encoded.clone())).ok());
    });
    let raw_encoded = measure(|| {
        black_box(Sha256::digest(black_box(&encoded)));
    });

    println!(
        "core_codec: 2 KB WakuMessage ({} bytes encoded, {} bytes hashed), median of {ROUNDS} rounds x {ITERATIONS}",
        encoded.len(),
        hash_input.len()
    );
    println!("  raw sha256 over the hash input      {raw:8.1} ns/op");
    println!(
        "  message hash (14/WAKU2-MESSAGE)     {hash:8.1} ns/op   ratio {:.2}x raw sha256",
        hash / raw
    );
    println!(
        "  encode                              {encode:8.1} ns/op   ratio {:.2}x raw sha256",
        encode / raw
    );
    println!(
        "  decode (zero-copy Bytes)            {decode:8.1} ns/op   ratio {:.2}x raw sha256",
        decode / raw
    );
    println!("  gossipsub message id (sha256 data)  {raw_encoded:8.1} ns/op");
    println!("  goal: hash and codec within 1.5x of raw sha256");
}
