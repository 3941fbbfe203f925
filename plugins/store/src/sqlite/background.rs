//! Running a maintenance step at the lowest CPU priority. Retention shares the writer thread
//! with inserts; while a step runs, that thread is put in Linux's `SCHED_IDLE` class, so on a
//! busy machine the query threads keep their cores and the step uses what is left. Measured on
//! 2 cores with 10 query clients, dropping a day of 1M messages: query p99 rose 2.4x at normal
//! priority (the step took one of the two cores for about 2 s); see `benches/store.rs`.
//!
//! Switching to `SCHED_IDLE` and back to `SCHED_OTHER` needs no privilege as long as the nice
//! value is unchanged; a failure only costs the priority and is logged once per step.

#[cfg(target_os = "linux")]
pub(crate) fn at_idle_priority<T>(step: impl FnOnce() -> T) -> T {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let set = |policy| {
        set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Os(Default::default()),
            ThreadSchedulePolicy::Normal(policy),
        )
    };
    if let Err(e) = set(NormalThreadSchedulePolicy::Idle) {
        tracing::debug!(error = ?e, "store maintenance runs at normal priority");
    }
    let out = step();
    if let Err(e) = set(NormalThreadSchedulePolicy::Other) {
        tracing::warn!(error = ?e, "store writer thread could not return to normal priority");
    }
    out
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn at_idle_priority<T>(step: impl FnOnce() -> T) -> T {
    step()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy,
    };

    #[test]
    fn the_step_runs_idle_and_the_thread_returns_to_normal() {
        let during = at_idle_priority(|| thread_schedule_policy().expect("policy"));
        assert_eq!(
            during,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        assert_eq!(
            thread_schedule_policy().expect("policy"),
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
        );
    }
}
