//! `LightpushClient`: pushes a message to a remote lightpush service over v3 or the legacy
//! v2 protocol, one stream per request, and returns the service's answer as a typed value.

use std::time::Duration;

use prost::Message;
use rwaku_actors::{
    libp2p::{PeerId, StreamProtocol},
    libp2p_stream,
    stream_server::{self, RequestError},
};
use rwaku_core::{PubsubTopic, WakuMessage};
use rwaku_protocols::lightpush::{
    self,
    pb::{LightPushRequest, LightPushResponse, PushRequest, PushRpc},
    status,
};

use crate::refusal::PushRefusal;

/// How long one push may take end to end unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A v3 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReply {
    pub request_id: String,
    pub status_code: u32,
    pub status_desc: Option<String>,
    pub relay_peer_count: Option<u32>,
}

impl PushReply {
    /// js-waku's rule: success is status 200 exactly.
    pub fn is_success(&self) -> bool {
        self.status_code == status::SUCCESS
    }

    /// The relay peer count on success; the refusal otherwise. nwaku's client reads
    /// "200 with 0 peers" as no peers to relay.
    pub fn into_result(self) -> Result<u32, PushRefusal> {
        match (self.status_code, self.relay_peer_count) {
            (status::SUCCESS, Some(peers)) if peers > 0 => Ok(peers),
            (status::SUCCESS, _) => Err(PushRefusal::NoPeers(
                "the service relayed to no peer".into(),
            )),
            (code, _) => Err(PushRefusal::from_status(code, self.status_desc)),
        }
    }
}

impl From<LightPushResponse> for PushReply {
    fn from(r: LightPushResponse) -> Self {
        Self {
            request_id: r.request_id,
            status_code: r.status_code,
            status_desc: r.status_desc,
            relay_peer_count: r.relay_peer_count,
        }
    }
}

/// A v2 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyPushReply {
    pub request_id: String,
    pub is_success: bool,
    pub info: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("lightpush request failed: {0}")]
    Request(#[from] RequestError),
    #[error("lightpush response does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the v2 answer carries no response")]
    NoResponse,
}

#[derive(Clone)]
pub struct LightpushClient {
    control: libp2p_stream::Control,
    timeout: Duration,
}

impl LightpushClient {
    pub fn new(control: libp2p_stream::Control) -> Self {
        Self {
            control,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Pushes over v3. `pubsub_topic` None lets the service derive it by autosharding.
    pub async fn push(
        &self,
        peer: PeerId,
        pubsub_topic: Option<&PubsubTopic>,
        message: WakuMessage,
    ) -> Result<PushReply, ClientError> {
        let request = LightPushRequest {
            request_id: new_request_id(),
            pubsub_topic: pubsub_topic.map(ToString::to_string),
            message,
        };
        self.send_v3(peer, &request).await.map(PushReply::from)
    }

    /// Sends one v3 request as it is and decodes the answer.
    pub async fn send_v3(
        &self,
        peer: PeerId,
        request: &LightPushRequest,
    ) -> Result<LightPushResponse, ClientError> {
        let body = self
            .exchange(peer, lightpush::PROTOCOL_ID, &request.encode_to_vec())
            .await?;
        Ok(LightPushResponse::decode(body.as_ref())?)
    }

    /// Pushes over the legacy v2 protocol (the only one go-waku serves).
    pub async fn push_legacy(
        &self,
        peer: PeerId,
        pubsub_topic: &PubsubTopic,
        message: WakuMessage,
    ) -> Result<LegacyPushReply, ClientError> {
        let rpc = PushRpc {
            request_id: new_request_id(),
            request: Some(PushRequest {
                pubsub_topic: pubsub_topic.to_string(),
                message,
            }),
            response: None,
        };
        let body = self
            .exchange(peer, lightpush::PROTOCOL_ID_V2, &rpc.encode_to_vec())
            .await?;
        let answer = PushRpc::decode(body.as_ref())?;
        let response = answer.response.ok_or(ClientError::NoResponse)?;
        Ok(LegacyPushReply {
            request_id: answer.request_id,
            is_success: response.is_success,
            info: response.info,
        })
    }

    async fn exchange(
        &self,
        peer: PeerId,
        protocol: &'static str,
        body: &[u8],
    ) -> Result<bytes::Bytes, ClientError> {
        let mut control = self.control.clone();
        Ok(stream_server::request(
            &mut control,
            peer,
            StreamProtocol::new(protocol),
            body,
            lightpush::MAX_RESPONSE_SIZE,
            self.timeout,
        )
        .await?)
    }
}

/// A random UUID v4 in its usual text form, as js-waku sends.
pub fn new_request_id() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuid_v4() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert_ne!(id, new_request_id());
    }

    #[test]
    fn a_200_with_no_peers_is_no_peers() {
        let reply = |code, peers| PushReply {
            request_id: "x".into(),
            status_code: code,
            status_desc: None,
            relay_peer_count: peers,
        };
        assert_eq!(reply(200, Some(3)).into_result(), Ok(3));
        assert_eq!(
            reply(200, Some(0))
                .into_result()
                .map_err(|e| e.status_code()),
            Err(505)
        );
        assert_eq!(
            reply(421, None).into_result().map_err(|e| e.status_code()),
            Err(421)
        );
    }
}
