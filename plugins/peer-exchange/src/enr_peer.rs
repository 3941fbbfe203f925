//! What a dialer needs from a Waku ENR: the libp2p peer id (from the record's secp256k1 key)
//! and the dialable multiaddrs (`ip`/`tcp` plus the `multiaddrs` field), each ending in
//! `/p2p/<peer id>`.

use rwaku_actors::libp2p::{Multiaddr, PeerId, identity, multiaddr::Protocol};
use rwaku_protocols::enr::{self, EnrError, WakuEnr};

#[derive(Debug, thiserror::Error)]
pub enum EnrPeerError {
    #[error("the record's public key is not a valid secp256k1 key")]
    Key,
    #[error(transparent)]
    Enr(#[from] EnrError),
}

/// The libp2p peer id of the node that signed `record`.
pub fn peer_id(record: &WakuEnr) -> Result<PeerId, EnrPeerError> {
    let compressed = ::enr::EnrPublicKey::encode(&record.public_key());
    let public = identity::secp256k1::PublicKey::try_from_bytes(&compressed)
        .map_err(|_| EnrPeerError::Key)?;
    Ok(identity::PublicKey::from(public).to_peer_id())
}

/// Every address the record advertises, with `/p2p/<peer id>` appended where missing.
pub fn dial_addresses(record: &WakuEnr) -> Result<Vec<Multiaddr>, EnrPeerError> {
    let peer = peer_id(record)?;
    let mut out = Vec::new();
    if let (Some(ip), Some(port)) = (record.ip4(), record.tcp4()) {
        out.push(
            Multiaddr::empty()
                .with(Protocol::Ip4(ip))
                .with(Protocol::Tcp(port)),
        );
    }
    if let (Some(ip), Some(port)) = (record.ip6(), record.tcp6()) {
        out.push(
            Multiaddr::empty()
                .with(Protocol::Ip6(ip))
                .with(Protocol::Tcp(port)),
        );
    }
    for bytes in enr::multiaddrs(record)? {
        // An unparseable entry is skipped: the rest of the record is still usable.
        if let Ok(address) = Multiaddr::try_from(bytes) {
            out.push(address);
        }
    }
    Ok(out
        .into_iter()
        .map(|a| {
            if a.iter().any(|p| matches!(p, Protocol::P2p(_))) {
                a
            } else {
                a.with(Protocol::P2p(peer))
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rwaku_protocols::enr::{Capabilities, Fields, SigningKey};

    #[test]
    fn addresses_end_in_the_records_peer_id() {
        let key = SigningKey::from_slice(&[7u8; 32]).expect("key");
        let ws: Multiaddr = "/ip4/10.0.0.1/tcp/8000/ws".parse().expect("multiaddr");
        let record = Fields {
            ip: Some([10, 0, 0, 1].into()),
            tcp: Some(60000),
            multiaddrs: vec![ws.to_vec()],
            capabilities: Capabilities::RELAY,
            ..Default::default()
        }
        .build(&key)
        .expect("record");
        // The same secret as a libp2p key gives the same peer id.
        let mut secret = [7u8; 32];
        let libp2p_key = identity::secp256k1::SecretKey::try_from_bytes(&mut secret).expect("key");
        let expected = identity::PublicKey::from(
            identity::secp256k1::Keypair::from(libp2p_key)
                .public()
                .clone(),
        )
        .to_peer_id();
        assert_eq!(peer_id(&record).expect("peer id"), expected);
        let addresses: Vec<String> = dial_addresses(&record)
            .expect("addresses")
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(
            addresses,
            vec![
                format!("/ip4/10.0.0.1/tcp/60000/p2p/{expected}"),
                format!("/ip4/10.0.0.1/tcp/8000/ws/p2p/{expected}"),
            ]
        );
    }
}
