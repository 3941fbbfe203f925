//! Validation benchmark: being written.
fn main() {}
