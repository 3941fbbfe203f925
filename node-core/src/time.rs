//! The wall clock as Waku reads it: Unix epoch nanoseconds in an i64, as message timestamps.

/// Now, in Unix epoch nanoseconds; 0 if the clock is before 1970.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}
