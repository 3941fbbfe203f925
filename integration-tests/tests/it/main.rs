//! Scenario tests against real rwaku processes and in-process nodes. One test binary; each
//! module is a scenario family.

mod cli;
mod js_waku;
mod metadata_shards;
mod oversized_frames;
mod relay_mesh;
mod relay_rest;
mod shared_pg_store;
mod store_rate_limit;
mod two_nodes;
