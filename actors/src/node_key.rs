//! The node's secp256k1 identity, like nwaku's: generated on first start and kept in the data
//! directory so the peer id survives restarts; `--nodekey` overrides it.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use libp2p::identity::{self, Keypair};

const NODE_KEY_FILE: &str = "nodekey";

#[derive(Debug, thiserror::Error)]
pub enum NodeKeyError {
    #[error("node key is not 64 hex characters of a valid secp256k1 secret key")]
    Invalid,
    #[error("node key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Parses a hex secp256k1 secret key (optionally `0x`-prefixed).
pub fn keypair_from_hex(text: &str) -> Result<Keypair, NodeKeyError> {
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    let mut bytes = hex::decode(digits).map_err(|_| NodeKeyError::Invalid)?;
    if bytes.len() != 32 {
        return Err(NodeKeyError::Invalid);
    }
    let secret = identity::secp256k1::SecretKey::try_from_bytes(&mut bytes)
        .map_err(|_| NodeKeyError::Invalid)?;
    Ok(identity::secp256k1::Keypair::from(secret).into())
}

/// The secret key of a secp256k1 keypair as hex.
pub fn keypair_to_hex(keypair: &Keypair) -> Option<String> {
    let secp = keypair.clone().try_into_secp256k1().ok()?;
    Some(hex::encode(secp.secret().to_bytes()))
}

/// The configured key, else the one in `data_dir`, else a new one written there (mode 0600).
pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<Keypair, NodeKeyError> {
    if let Some(text) = configured {
        return keypair_from_hex(text);
    }
    let path = data_dir.join(NODE_KEY_FILE);
    let io_err = |source| NodeKeyError::Io {
        path: path.clone(),
        source,
    };
    match fs::read_to_string(&path) {
        Ok(text) => return keypair_from_hex(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    fs::create_dir_all(data_dir).map_err(io_err)?;
    let keypair = Keypair::generate_secp256k1();
    let text = keypair_to_hex(&keypair).ok_or(NodeKeyError::Invalid)?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(io_err)?;
    file.write_all(text.as_bytes()).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    Ok(keypair)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(None, dir.path()).expect("created");
        let second = load_or_create(None, dir.path()).expect("loaded");
        assert_eq!(first.public().to_peer_id(), second.public().to_peer_id());
        assert!(
            first
                .public()
                .to_peer_id()
                .to_string()
                .starts_with("16Uiu2")
        );
    }

    #[test]
    fn configured_key_wins_and_bad_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hex_key = "5526a8990317c9b7b58d07843d270f9cd1d9aaee129294c1c478abf7261dd9e6";
        let a = load_or_create(Some(hex_key), dir.path()).expect("valid");
        let b = load_or_create(Some(&format!("0x{hex_key}")), dir.path()).expect("valid");
        assert_eq!(a.public(), b.public());
        assert!(!dir.path().join(NODE_KEY_FILE).exists());
        assert!(matches!(
            keypair_from_hex("abcd"),
            Err(NodeKeyError::Invalid)
        ));
        assert!(matches!(
            keypair_from_hex(&"0".repeat(64)),
            Err(NodeKeyError::Invalid)
        ));
    }
}
