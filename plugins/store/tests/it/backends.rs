//! Runs every case of `suite.rs` on both backends.

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let f = crate::fixtures::sqlite().await;
                crate::suite::$case(&f.store).await;
                f.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(f) = crate::fixtures::pg().await else { return };
                crate::suite::$case(&f.store).await;
                f.close().await;
            }
        }
    )*};
}

on_both_backends!(
    insert_dedup_and_round_trip,
    hash_lookup_without_data,
    unknown_cursor_gives_empty_page,
    time_range_is_inclusive,
    backward_is_default_and_pages_are_chronological,
    equal_timestamps_break_ties_by_hash,
    content_filter_selects_topics_of_one_pubsub_topic,
    invalid_queries_are_bad_requests,
    time_retention_removes_old_messages,
    capacity_retention_keeps_the_newest,
);
