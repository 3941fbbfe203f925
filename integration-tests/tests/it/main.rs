//! Scenario tests against real rwaku processes and in-process nodes. One test binary; each
//! module is a scenario family.

mod cli;
mod oversized_frames;
mod two_nodes;
