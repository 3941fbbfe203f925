//! Lightpush against real nodes on the memory transport: one test binary, one module per
//! scenario family.

mod end_to_end;
mod harness;
mod js_fixture;
mod protected_shard;
mod refusals;
mod rest;
