//! Filter tests: the js-waku wire fixtures, the status codes, the fan-out at 1,000
//! subscribers, and real nodes on the memory transport (push end to end, bad input, REST).

mod fan_out_scale;
mod over_the_wire;
mod rest_routes;
mod status_codes;
mod support;
mod wire_fixtures;
