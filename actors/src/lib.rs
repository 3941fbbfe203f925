//! rwaku-actors (being written).
