//! One `--protected-shard` value, as nwaku spells it: `<shard>:<public key hex>`, or the legacy
//! `/waku/2/rs/<cluster>/<shard>:<public key hex>` whose cluster part nwaku ignores (the node's
//! own `--cluster-id` applies). The flag is repeatable; each value gives one `ProtectedShard`.

use std::{fmt, str::FromStr};

use rwaku_core::{PubsubTopic, ShardId, topics::MAX_SHARD_INDEX};

use crate::key::{KeyError, ProtectedShardKey};

/// A `--protected-shard` value that could not be read. Names the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtectedShardError {
    #[error("protected shard {0:?} is not of the form <shard>:<public key hex>")]
    MissingSeparator(String),
    #[error("bad shard {value:?} in protected shard: {problem}")]
    BadShard { value: String, problem: String },
    #[error("bad public key in protected shard {shard}: {source}")]
    BadKey {
        shard: ShardId,
        #[source]
        source: KeyError,
    },
}

/// A shard whose messages must carry a signature by `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedShard {
    pub shard: ShardId,
    pub key: ProtectedShardKey,
}

fn parse_shard(text: &str) -> Result<ShardId, ProtectedShardError> {
    let bad = |problem: String| ProtectedShardError::BadShard {
        value: text.to_string(),
        problem,
    };
    if text.starts_with('/') {
        return match text.parse::<PubsubTopic>() {
            Ok(PubsubTopic::StaticShard { shard, .. }) => Ok(shard),
            Ok(PubsubTopic::Named(_)) => Err(bad(
                "a named pubsub topic cannot be protected; use a static shard".into(),
            )),
            Err(e) => Err(bad(e.to_string())),
        };
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a decimal shard number".into()));
    }
    let shard: u32 = text
        .parse()
        .map_err(|_| bad(format!("above the highest shard index {MAX_SHARD_INDEX}")))?;
    if shard > u32::from(MAX_SHARD_INDEX) {
        return Err(bad(format!(
            "above the highest shard index {MAX_SHARD_INDEX}"
        )));
    }
    Ok(shard as ShardId)
}

impl FromStr for ProtectedShard {
    type Err = ProtectedShardError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        // Neither a topic nor hex holds a ':', so the last one splits them.
        let (shard, key) = text
            .rsplit_once(':')
            .ok_or_else(|| ProtectedShardError::MissingSeparator(text.to_string()))?;
        let shard = parse_shard(shard.trim())?;
        let key = ProtectedShardKey::from_hex(key)
            .map_err(|source| ProtectedShardError::BadKey { shard, source })?;
        Ok(Self { shard, key })
    }
}

impl fmt::Display for ProtectedShard {
    /// The canonical flag value; it parses back to the same shard and key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.shard, self.key.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "049c5fac802da41e07e6cdf51c3b9a6351ad5e65921527f2df5b7d59fd9b56ab02\
                       bab736cdcfc37f25095e78127500da371947217a8cd5186ab890ea866211c3f6";

    #[test]
    fn both_forms_parse() {
        let plain: ProtectedShard = format!("32:{KEY}").parse().expect("parses");
        assert_eq!(plain.shard, 32);
        let legacy: ProtectedShard = format!("/waku/2/rs/99/32:0x{KEY}").parse().expect("parses");
        assert_eq!(legacy, plain);
        assert_eq!(plain.to_string().parse::<ProtectedShard>(), Ok(plain));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(matches!(
            KEY.parse::<ProtectedShard>(),
            Err(ProtectedShardError::MissingSeparator(_))
        ));
        for shard in [
            "",
            "x",
            "-1",
            "1024",
            "99999999999",
            "/waku/2/rs/16/1024",
            "/waku/2/foo",
        ] {
            assert!(
                matches!(
                    format!("{shard}:{KEY}").parse::<ProtectedShard>(),
                    Err(ProtectedShardError::BadShard { .. })
                ),
                "{shard:?} should be a bad shard"
            );
        }
        assert!(matches!(
            "32:xyz".parse::<ProtectedShard>(),
            Err(ProtectedShardError::BadKey {
                shard: 32,
                source: KeyError::BadHex(_)
            })
        ));
        assert_eq!(
            format!("32:{}", &KEY[..40]).parse::<ProtectedShard>(),
            Err(ProtectedShardError::BadKey {
                shard: 32,
                source: KeyError::WrongPublicKeyLength(20)
            })
        );
    }
}
