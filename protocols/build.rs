//! Compiles the Waku .proto files in `proto/` into prost types with protox, so the build needs
//! no `protoc` binary. WakuMessage is not generated: it maps onto `rwaku_core::WakuMessage`.

const PROTOS: &[&str] = &[
    "proto/message.proto",
    "proto/store_v3.proto",
    "proto/filter_v2.proto",
    "proto/lightpush_v3.proto",
    "proto/lightpush_v2.proto",
    "proto/peer_exchange.proto",
    "proto/metadata.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    prost_build::Config::new()
        .extern_path(".waku.message.v1.WakuMessage", "::rwaku_core::WakuMessage")
        // Bytes fields become `bytes::Bytes`, so decoding from a `Bytes` buffer does not copy.
        .bytes(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
