//! rwaku-rest-api (being written).
