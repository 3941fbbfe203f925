//! The node's own Waku ENR (EIP-778 + WAKU2-ENR), signed with the node key: `ip`/`tcp` of the
//! TCP listener, the WebSocket listeners in `multiaddrs`, the `waku2` bits of the protocols
//! the configuration mounts, and the relayed shards in `rs`/`rsv`. Peer exchange hands it
//! out and `/info` shows it as `enrUri`.

use std::{net::IpAddr, sync::Arc};

use libp2p::{Multiaddr, identity::Keypair, multiaddr::Protocol};
use rwaku_core::NodeConfig;
use rwaku_protocols::enr::{Capabilities, EnrError, Fields, RelayShards, SigningKey, WakuEnr};

#[derive(Debug, thiserror::Error)]
pub enum LocalEnrError {
    #[error("the node key is not a secp256k1 key, which an ENR needs")]
    NotSecp256k1,
    #[error(transparent)]
    Enr(#[from] EnrError),
}

/// The record and its `enr:` text, shared by whoever hands it out.
#[derive(Debug, Clone)]
pub struct LocalEnr {
    pub record: Arc<WakuEnr>,
    pub text: Arc<str>,
}

/// The `waku2` bits for what this configuration serves.
pub fn capabilities(config: &NodeConfig) -> Capabilities {
    let mut bits = Capabilities::empty();
    for (on, bit) in [
        (config.relay, Capabilities::RELAY),
        (config.store, Capabilities::STORE),
        (config.filter, Capabilities::FILTER),
        (config.lightpush, Capabilities::LIGHTPUSH),
    ] {
        if on {
            bits |= bit;
        }
    }
    bits
}

fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
    address.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

fn tcp_port_of(address: &Multiaddr) -> Option<u16> {
    address.iter().find_map(|p| match p {
        Protocol::Tcp(port) => Some(port),
        _ => None,
    })
}

fn is_websocket(address: &Multiaddr) -> bool {
    address
        .iter()
        .any(|p| matches!(p, Protocol::Ws(_) | Protocol::Wss(_)))
}

fn without_peer_id(address: &Multiaddr) -> Multiaddr {
    address
        .iter()
        .filter(|p| !matches!(p, Protocol::P2p(_)))
        .collect()
}

/// Of several bound addresses (a 0.0.0.0 listener is reported once per interface), the one
/// others are most likely to reach: a routable address before a loopback one.
fn preferred<'a>(addresses: impl Iterator<Item = &'a Multiaddr>) -> Option<&'a Multiaddr> {
    let mut candidates: Vec<&Multiaddr> = addresses.filter(|a| ip_of(a).is_some()).collect();
    candidates.sort_by_key(|a| ip_of(a).is_some_and(|ip| ip.is_loopback()));
    candidates.first().copied()
}

/// Builds the record from the bound listen addresses (memory-transport nodes get a record
/// with no address, which is still a valid identity and shard advertisement).
pub fn build(
    keypair: &Keypair,
    config: &NodeConfig,
    listen: &[Multiaddr],
) -> Result<LocalEnr, LocalEnrError> {
    let secp = keypair
        .clone()
        .try_into_secp256k1()
        .map_err(|_| LocalEnrError::NotSecp256k1)?;
    let key = SigningKey::from_slice(&secp.secret().to_bytes())
        .map_err(|_| LocalEnrError::NotSecp256k1)?;
    let tcp = preferred(
        listen
            .iter()
            .filter(|a| !is_websocket(a) && tcp_port_of(a).is_some()),
    );
    let mut ws: Vec<&Multiaddr> = listen.iter().filter(|a| is_websocket(a)).collect();
    if let Some(ip) = tcp.and_then(ip_of) {
        // One WebSocket address per port is enough: the same interface as the TCP one.
        ws.retain(|a| ip_of(a) == Some(ip));
    }
    ws.truncate(2);
    let shards = if config.relay {
        Some(RelayShards::new(config.cluster_id, config.relay_shards())?)
    } else {
        None
    };
    let fields = Fields {
        seq: 1,
        ip: tcp.and_then(ip_of),
        tcp: tcp.and_then(tcp_port_of),
        udp: None,
        multiaddrs: ws.iter().map(|a| without_peer_id(a).to_vec()).collect(),
        capabilities: capabilities(config),
        shards,
    };
    let record = fields.build(&key)?;
    let text = record.to_base64();
    Ok(LocalEnr {
        record: Arc::new(record),
        text: text.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_key::keypair_from_hex;
    use rwaku_protocols::enr;

    const KEY: &str = "1122334455667788990011223344556677889900112233445566778899001122";

    fn addr(text: &str) -> Multiaddr {
        text.parse().expect("a multiaddr")
    }

    #[test]
    fn record_carries_addresses_capabilities_and_shards() {
        let keypair = keypair_from_hex(KEY).expect("key");
        let config = NodeConfig {
            cluster_id: 1,
            shard: vec![0, 4],
            num_shards_in_network: 8,
            store: true,
            filter: true,
            lightpush: true,
            ..Default::default()
        };
        let peer = keypair.public().to_peer_id();
        let listen = [
            addr(&format!("/ip4/127.0.0.1/tcp/60001/p2p/{peer}")),
            addr(&format!("/ip4/10.1.2.3/tcp/60001/p2p/{peer}")),
            addr(&format!("/ip4/10.1.2.3/tcp/8000/ws/p2p/{peer}")),
        ];
        let local = build(&keypair, &config, &listen).expect("a record");
        assert!(local.text.starts_with("enr:"));
        let parsed: WakuEnr = enr::parse(&local.text).expect("the text parses back");
        assert_eq!(
            parsed.ip4(),
            Some([10, 1, 2, 3].into()),
            "routable before loopback"
        );
        assert_eq!(parsed.tcp4(), Some(60001));
        assert_eq!(
            enr::capabilities(&parsed).expect("waku2").map(|c| c.bits()),
            Some(0x0f)
        );
        let shards = enr::relay_shards(&parsed).expect("rs").expect("present");
        assert_eq!((shards.cluster(), shards.shards()), (1, &[0u16, 4][..]));
        let multiaddrs = enr::multiaddrs(&parsed).expect("multiaddrs");
        assert_eq!(multiaddrs, vec![addr("/ip4/10.1.2.3/tcp/8000/ws").to_vec()]);
        // The record's public key is the node's: peers derive the same peer id from it.
        let public = ::enr::EnrPublicKey::encode(&parsed.public_key());
        let libp2p_public = keypair
            .public()
            .try_into_secp256k1()
            .expect("secp256k1")
            .to_bytes();
        assert_eq!(&public[..], &libp2p_public[..]);
    }

    #[test]
    fn a_light_node_advertises_no_shards() {
        let keypair = keypair_from_hex(KEY).expect("key");
        let config = NodeConfig {
            relay: false,
            ..Default::default()
        };
        let local = build(&keypair, &config, &[]).expect("a record");
        let parsed: WakuEnr = enr::parse(&local.text).expect("parses");
        assert!(enr::relay_shards(&parsed).expect("no rs").is_none());
        assert_eq!(parsed.tcp4(), None);
    }
}
