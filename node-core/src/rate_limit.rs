//! `--rate-limit` values in nwaku's syntax: `[proto:]volume/period<h|m|s|ms>`, for example
//! `lightpush:100/1s` or `filter:30/1m`. Without a protocol the limit applies to every
//! protocol that has none of its own.

use std::{fmt, time::Duration};

/// The protocols nwaku's `--rate-limit` names.
pub const RATE_LIMITED_PROTOCOLS: [&str; 6] =
    ["store", "storev2", "storev3", "lightpush", "px", "filter"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSpec {
    /// `None` for the global entry.
    pub protocol: Option<String>,
    /// Requests allowed per `period`.
    pub volume: u32,
    pub period: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    #[error("{0:?}: expected [proto:]volume/period, e.g. lightpush:100/1s")]
    Shape(String),
    #[error(
        "{0:?} is not a rate-limited protocol (store, storev2, storev3, lightpush, px, filter)"
    )]
    Protocol(String),
    #[error("{0:?}: volume must be a whole number above 0")]
    Volume(String),
    #[error("{0:?}: period must be a number above 0 followed by h, m, s or ms")]
    Period(String),
}

impl RateLimitSpec {
    pub fn parse(text: &str) -> Result<Self, RateLimitError> {
        let text = text.trim();
        let (protocol, rate) = match text.split_once(':') {
            Some((p, rest)) => {
                let p = p.trim().to_ascii_lowercase();
                if !RATE_LIMITED_PROTOCOLS.contains(&p.as_str()) {
                    return Err(RateLimitError::Protocol(p));
                }
                (Some(p), rest)
            }
            None => (None, text),
        };
        let (volume, period) = rate
            .split_once('/')
            .ok_or_else(|| RateLimitError::Shape(text.to_string()))?;
        let volume: u32 = volume
            .trim()
            .parse()
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| RateLimitError::Volume(text.to_string()))?;
        let period =
            parse_period(period.trim()).ok_or_else(|| RateLimitError::Period(text.to_string()))?;
        Ok(Self {
            protocol,
            volume,
            period,
        })
    }
}

fn parse_period(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        "h" => Some(Duration::from_secs(n.checked_mul(3600)?)),
        _ => None,
    }
}

impl fmt::Display for RateLimitSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.protocol {
            write!(f, "{p}:")?;
        }
        write!(f, "{}/{}ms", self.volume, self.period.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nwaku_forms() {
        let s = RateLimitSpec::parse("lightpush:100/1s").expect("valid");
        assert_eq!(
            (s.protocol.as_deref(), s.volume, s.period),
            (Some("lightpush"), 100, Duration::from_secs(1))
        );
        let s = RateLimitSpec::parse("filter:30/1m").expect("valid");
        assert_eq!(s.period, Duration::from_secs(60));
        let s = RateLimitSpec::parse("20/500ms").expect("valid");
        assert_eq!((s.protocol, s.period), (None, Duration::from_millis(500)));
        assert_eq!(
            RateLimitSpec::parse("px:5/2h").expect("valid").period,
            Duration::from_secs(7200)
        );
    }

    #[test]
    fn refuses_bad_forms() {
        for bad in [
            "",
            "lightpush",
            "relay:1/1s",
            "lightpush:0/1s",
            "lightpush:x/1s",
            "lightpush:1/1",
            "lightpush:1/0s",
            "lightpush:1/1d",
            "lightpush:1/s",
        ] {
            assert!(RateLimitSpec::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
