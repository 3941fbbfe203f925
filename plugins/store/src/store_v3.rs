//! Store v3 on the wire: a `StoreQueryRequest` into a `StoreQuery`, and a page or an error
//! into a `StoreQueryResponse` with nwaku's status codes ("OK" on success).

use bytes::Bytes;
use rwaku_core::MessageHash;
use rwaku_protocols::store::pb;

use crate::{StoreError, StorePage, StoreQuery, status};

/// A request that cannot be turned into a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("message hash {0} is not 32 bytes")]
    BadHash(usize),
    #[error("pagination cursor is not 32 bytes")]
    BadCursor,
}

pub fn query_from_request(request: &pb::StoreQueryRequest) -> Result<StoreQuery, RequestError> {
    let message_hashes = request
        .message_hashes
        .iter()
        .map(|h| MessageHash::from_slice(h).ok_or(RequestError::BadHash(h.len())))
        .collect::<Result<Vec<_>, _>>()?;
    let cursor = match &request.pagination_cursor {
        Some(c) => Some(MessageHash::from_slice(c).ok_or(RequestError::BadCursor)?),
        None => None,
    };
    Ok(StoreQuery {
        include_data: request.include_data.unwrap_or(false),
        pubsub_topic: request.pubsub_topic.clone().filter(|t| !t.is_empty()),
        content_topics: request.content_topics.clone(),
        time_start: request.time_start,
        time_end: request.time_end,
        message_hashes,
        cursor,
        forward: request.pagination_forward.unwrap_or(false),
        limit: request.pagination_limit,
    })
}

pub fn success(request_id: String, page: StorePage) -> pb::StoreQueryResponse {
    pb::StoreQueryResponse {
        request_id,
        status_code: status::SUCCESS,
        status_desc: "OK".into(),
        messages: page
            .entries
            .into_iter()
            .map(|e| {
                let with_data = e.message.is_some();
                pb::WakuMessageKeyValue {
                    message_hash: Bytes::copy_from_slice(e.hash.as_bytes()),
                    pubsub_topic: with_data.then_some(e.pubsub_topic),
                    message: e.message,
                }
            })
            .collect(),
        pagination_cursor: page.cursor.map(|c| Bytes::copy_from_slice(c.as_bytes())),
    }
}

pub fn failure(
    request_id: String,
    status_code: u32,
    status_desc: String,
) -> pb::StoreQueryResponse {
    pb::StoreQueryResponse {
        request_id,
        status_code,
        status_desc,
        messages: Vec::new(),
        pagination_cursor: None,
    }
}

pub fn from_store_error(request_id: String, error: &StoreError) -> pb::StoreQueryResponse {
    failure(request_id, error.status_code(), error.to_string())
}
