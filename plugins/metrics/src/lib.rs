//! rwaku-metrics (being written).
