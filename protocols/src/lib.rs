//! rwaku-protocols (being written).
