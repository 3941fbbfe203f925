//! Integration tests for rwaku-protocols: real js-waku wire fixtures, nwaku's required-field
//! rules, and property tests over every decoder. One binary, one module per concern.

mod fixtures;
mod presence;
mod props;
