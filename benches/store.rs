//! Store benchmark: being written.
fn main() {}
