//! Time as the domain sees it: a [`Timestamp`] in UTC milliseconds, a
//! [`Clock`] passed in by whoever calls the domain, and durations written the
//! way people write them in config files (`"2h"`, `"30m"`, `"3650d"`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Milliseconds since the Unix epoch, UTC. Stored as a 64-bit integer in
/// both database backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_millis(d)))
    }

    pub fn minus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(duration_millis(d)))
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Where the domain gets "now" from. The kernel passes the system clock;
/// tests pass a [`ManualClock`] and move it by hand.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.0))
    }

    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(duration_millis(d), Ordering::SeqCst);
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// Why a duration in a config file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a duration such as \"30m\", \"2h\" or \"90d\" (units: s, m, h, d)")]
pub struct DurationSyntaxError;

/// Parses `"<number><unit>"` with unit `s`, `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration, DurationSyntaxError> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or(DurationSyntaxError)?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| DurationSyntaxError)?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    };
    secs.map(Duration::from_secs).ok_or(DurationSyntaxError)
}

/// Formats a duration the way [`parse_duration`] reads it, in the largest exact unit.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_owned(),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format() {
        for (text, secs) in [("30m", 1800), ("2h", 7200), ("90d", 7_776_000), ("45s", 45)] {
            let d = parse_duration(text).unwrap();
            assert_eq!(d.as_secs(), secs);
            assert_eq!(format_duration(d), text);
        }
        for bad in [
            "",
            "2",
            "h",
            "2 hours",
            "-1h",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), Err(DurationSyntaxError), "{bad:?}");
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Timestamp(1000));
        assert_eq!(c.now(), Timestamp(1000));
        c.advance(Duration::from_secs(2));
        assert_eq!(c.now(), Timestamp(3000));
        assert_eq!(c.now().since(Timestamp(1000)), Duration::from_secs(2));
        assert_eq!(Timestamp(0).since(c.now()), Duration::ZERO);
    }
}
