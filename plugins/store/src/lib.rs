//! rwaku-plugin-store: being written.
