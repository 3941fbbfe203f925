//! The validator's metrics. The outcome counter keeps nwaku's name and label values, so an
//! nwaku dashboard reads an rwaku node; the rest are rwaku's own.

use std::time::Duration;

use crate::verdict::Verdict;

/// nwaku's `waku_msg_validator_signed_outcome{result}` counter as Prometheus scrapes it (nim-metrics
/// adds `_total`; the `metrics` exporter adds nothing, so the suffix is written here).
/// `result` is `Accept` or `Reject`. Counted only for messages on protected shards, as nwaku does.
pub const SIGNED_OUTCOME: &str = "waku_msg_validator_signed_outcome_total";
/// Rejections on protected shards by `reason` (see [`crate::RejectReason::as_str`]).
pub const REJECTED: &str = "rwaku_dos_validator_rejected_total";
/// Jobs waiting in the validation pool's queue.
pub const QUEUE_DEPTH: &str = "rwaku_dos_validator_queue_depth";
/// From submission to verdict, for jobs that went through the pool (queue wait + verify).
pub const LATENCY: &str = "rwaku_dos_validator_latency_seconds";

/// Registers help texts; call once after installing the recorder.
pub fn describe() {
    metrics::describe_counter!(
        SIGNED_OUTCOME,
        "number of messages for each validation outcome"
    );
    metrics::describe_counter!(REJECTED, "protected-shard rejections by reason");
    metrics::describe_gauge!(QUEUE_DEPTH, "signature jobs waiting for a worker");
    metrics::describe_histogram!(
        LATENCY,
        metrics::Unit::Seconds,
        "time from submission to verdict for signature jobs"
    );
}

pub(crate) fn record_verdict(verdict: Verdict) {
    metrics::counter!(SIGNED_OUTCOME, "result" => verdict.outcome_label()).increment(1);
    if let Verdict::Reject(reason) = verdict {
        metrics::counter!(REJECTED, "reason" => reason.as_str()).increment(1);
    }
}

pub(crate) fn set_queue_depth(depth: usize) {
    metrics::gauge!(QUEUE_DEPTH).set(depth as f64);
}

pub(crate) fn record_latency(elapsed: Duration) {
    metrics::histogram!(LATENCY).record(elapsed.as_secs_f64());
}
