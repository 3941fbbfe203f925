//! The filter client's keep-alive: a service forgets a subscriber that has not pinged within
//! its subscription timeout (nwaku: 300 s), so every `KEEP_ALIVE_INTERVAL` each service we hold
//! criteria at gets a SUBSCRIBER_PING. If it answers 404 (it expired us, or restarted), the
//! criteria are subscribed again, at most 100 content topics per request. A ping that fails on
//! the wire is retried at the next interval.

use std::time::Duration;

use rwaku_actors::libp2p::PeerId;
use rwaku_protocols::filter::{MAX_CONTENT_TOPICS_PER_REQUEST, pb::FilterSubscribeType, status};

use crate::{
    FilterClient, client::is_success, inbox::CriteriaGroup, metrics as names, new_request_id,
};

/// A fifth of nwaku's default subscription timeout, as js-waku's and go-waku's clients ping.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(60);

/// Runs the keep-alive until the returned task is aborted.
pub fn keep_alive(client: FilterClient, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            for (service, groups) in client.inbox().criteria() {
                let outcome = refresh(&client, service, &groups).await;
                metrics::counter!(names::CLIENT_KEEP_ALIVE, "outcome" => outcome).increment(1);
            }
        }
    })
}

async fn refresh(client: &FilterClient, service: PeerId, groups: &[CriteriaGroup]) -> &'static str {
    match client.ping(service, new_request_id()).await {
        Ok(answer) if is_success(answer.status_code) => "ok",
        Ok(answer) if answer.status_code == status::NOT_FOUND => {
            for (pubsub, topics) in groups {
                for chunk in topics.chunks(MAX_CONTENT_TOPICS_PER_REQUEST) {
                    // Not `FilterClient::subscribe`: the inbox already holds these criteria.
                    let request = FilterClient::request(
                        new_request_id(),
                        FilterSubscribeType::Subscribe,
                        Some(pubsub),
                        chunk,
                    );
                    match client.send(service, &request).await {
                        Ok(r) if is_success(r.status_code) => {}
                        other => {
                            tracing::warn!(%service, pubsub, answer = ?other.map(|r| r.status_code), "filter re-subscribe refused");
                            return "failed";
                        }
                    }
                }
            }
            tracing::info!(%service, "filter service had forgotten our subscription; subscribed again");
            "resubscribed"
        }
        Ok(answer) => {
            tracing::debug!(%service, code = answer.status_code, "filter ping refused");
            "failed"
        }
        Err(e) => {
            tracing::debug!(%service, error = %e, "filter ping failed");
            "failed"
        }
    }
}
