//! Integration tests of the protected-shard validator: the spec vector, the verdict rules,
//! both signature schemes, signing, the validation pool, and random input.

mod common;
mod fuzz;
mod pool;
mod rules;
mod schemes;
mod spec_vector;
