//! rwaku-plugin-dos-validator: being written.
