//! rwaku-integration-tests (being written).
