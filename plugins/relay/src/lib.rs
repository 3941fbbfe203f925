//! rwaku-relay (being written).
