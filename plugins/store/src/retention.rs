//! `--store-message-retention-policy`: `time:<seconds>`, `capacity:<count>`, `size:<N>MB|GB`
//! or `none` (nwaku's syntax; default `time:172800`, two days).
//!
//! Size units are binary like nwaku's (its default size limit is 30 GiB = 32 212 254 720
//! bytes): `MB` = 1024² bytes, `GB` = 1024³ bytes. The unit is case-insensitive and the number
//! may have a fraction (`size:2.5GB`).

use std::{fmt, str::FromStr};

/// nwaku's default policy: two days.
pub const DEFAULT_RETENTION_POLICY: RetentionPolicy = RetentionPolicy::Time { seconds: 172_800 };

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionPolicy {
    /// Keep everything.
    None,
    /// Keep messages whose timestamp is at most this many seconds old.
    Time { seconds: u64 },
    /// Keep at most this many messages (the newest).
    Capacity { messages: u64 },
    /// Keep the database at most this many bytes, dropping the oldest messages.
    Size { bytes: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionPolicyError {
    #[error(
        "retention policy {0:?} is not time:<seconds>, capacity:<count>, size:<N>MB|GB or none"
    )]
    UnknownForm(String),
    #[error("retention policy {policy:?}: {value:?} is not a positive whole number")]
    BadNumber { policy: String, value: String },
    #[error("retention policy {policy:?}: {value:?} is not a positive size with unit MB or GB")]
    BadSize { policy: String, value: String },
}

impl FromStr for RetentionPolicy {
    type Err = RetentionPolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("none") || text.is_empty() {
            return Ok(Self::None);
        }
        let (kind, value) = text
            .split_once(':')
            .ok_or_else(|| RetentionPolicyError::UnknownForm(text.to_string()))?;
        let bad_number = || RetentionPolicyError::BadNumber {
            policy: text.to_string(),
            value: value.to_string(),
        };
        let positive = |v: &str| match v.parse::<u64>() {
            Ok(n) if n > 0 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
            _ => Err(bad_number()),
        };
        match kind.to_ascii_lowercase().as_str() {
            "time" => Ok(Self::Time {
                seconds: positive(value)?,
            }),
            "capacity" => Ok(Self::Capacity {
                messages: positive(value)?,
            }),
            "size" => parse_size(value)
                .map(|bytes| Self::Size { bytes })
                .ok_or_else(|| RetentionPolicyError::BadSize {
                    policy: text.to_string(),
                    value: value.to_string(),
                }),
            _ => Err(RetentionPolicyError::UnknownForm(text.to_string())),
        }
    }
}

fn parse_size(value: &str) -> Option<u64> {
    if value.len() < 3 || !value.is_char_boundary(value.len() - 2) {
        return None;
    }
    let (number, unit) = value.split_at(value.len() - 2);
    let multiplier: f64 = match unit.to_ascii_lowercase().as_str() {
        "mb" => 1024.0 * 1024.0,
        "gb" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let number = number.trim();
    if !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let quantity: f64 = number.parse().ok()?;
    let bytes = quantity * multiplier;
    // Refuses 0, NaN and anything beyond u64 (1.8e19 bytes).
    (1.0..1.8e19).contains(&bytes).then_some(bytes as u64)
}

impl fmt::Display for RetentionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Time { seconds } => write!(f, "time:{seconds}"),
            Self::Capacity { messages } => write!(f, "capacity:{messages}"),
            Self::Size { bytes } if bytes % (1 << 30) == 0 => write!(f, "size:{}GB", bytes >> 30),
            Self::Size { bytes } => write!(f, "size:{}MB", *bytes as f64 / (1u64 << 20) as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("none".parse(), Ok(RetentionPolicy::None));
        assert_eq!(
            "time:172800".parse(),
            Ok(RetentionPolicy::Time { seconds: 172_800 })
        );
        assert_eq!(
            "capacity:25000".parse(),
            Ok(RetentionPolicy::Capacity { messages: 25_000 })
        );
        assert_eq!(
            "size:30GB".parse(),
            Ok(RetentionPolicy::Size {
                bytes: 32_212_254_720
            })
        );
        assert_eq!(
            "size:512mb".parse(),
            Ok(RetentionPolicy::Size {
                bytes: 512 * 1024 * 1024
            })
        );
        assert_eq!(
            "size:2.5GB".parse(),
            Ok(RetentionPolicy::Size {
                bytes: 2_684_354_560
            })
        );
        assert_eq!(DEFAULT_RETENTION_POLICY.to_string(), "time:172800");
    }

    #[test]
    fn errors_name_the_bad_value() {
        let err = "time:abc".parse::<RetentionPolicy>().err();
        assert_eq!(
            err,
            Some(RetentionPolicyError::BadNumber {
                policy: "time:abc".into(),
                value: "abc".into()
            })
        );
        assert!(err.is_some_and(|e| e.to_string().contains("\"abc\"")));
        for bad in [
            "time:0",
            "time:-5",
            "capacity:1e3",
            "size:10TB",
            "size:GB",
            "size:0MB",
            "size:-1GB",
            "size:€€",
            "forever",
            "age:10",
        ] {
            assert!(
                bad.parse::<RetentionPolicy>().is_err(),
                "{bad} should not parse"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["none", "time:60", "capacity:10", "size:3GB", "size:100MB"] {
            let p: RetentionPolicy = text.parse().expect("valid");
            assert_eq!(p.to_string().parse::<RetentionPolicy>(), Ok(p));
        }
    }
}
