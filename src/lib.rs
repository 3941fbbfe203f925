//! rwaku
