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

/// Care happens in Sweden: times are stored in UTC and shown, and typed, in
/// Europe/Stockholm.
pub fn stockholm() -> jiff::tz::TimeZone {
    // The zone database is compiled into the binary (jiff's bundled tzdb),
    // and a test checks that this zone is in it. Looked up once: a lookup
    // parses the zone's rules, and lists convert hundreds of times a page.
    static ZONE: std::sync::OnceLock<jiff::tz::TimeZone> = std::sync::OnceLock::new();
    ZONE.get_or_init(|| {
        jiff::tz::TimeZone::get("Europe/Stockholm").unwrap_or(jiff::tz::TimeZone::UTC)
    })
    .clone()
}

/// Why a date and time typed in a form is not a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    #[error("expected a date as YYYY-MM-DD")]
    BadDate,
    #[error("expected a time as HH:MM")]
    BadTime,
    /// The clocks skip this time when summer time starts.
    #[error("that time does not exist in Sweden (the clocks move forward)")]
    DoesNotExist,
}

impl Timestamp {
    /// The moment a Swedish wall clock shows `date` (`YYYY-MM-DD`) and `time`
    /// (`HH:MM`). When the clocks go back, the earlier of the two moments.
    pub fn from_stockholm(date: &str, time: &str) -> Result<Timestamp, LocalTimeError> {
        let date: jiff::civil::Date = date.trim().parse().map_err(|_| LocalTimeError::BadDate)?;
        let time: jiff::civil::Time = time.trim().parse().map_err(|_| LocalTimeError::BadTime)?;
        let ambiguous = stockholm().to_ambiguous_timestamp(date.to_datetime(time));
        if let jiff::tz::AmbiguousOffset::Gap { .. } = ambiguous.offset() {
            return Err(LocalTimeError::DoesNotExist);
        }
        let ts = ambiguous
            .earlier()
            .map_err(|_| LocalTimeError::DoesNotExist)?;
        Ok(Timestamp(ts.as_millisecond()))
    }

    /// The Swedish wall-clock date and time of this moment.
    pub fn to_stockholm(self) -> jiff::civil::DateTime {
        jiff::Timestamp::from_millisecond(self.0)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(stockholm())
            .datetime()
    }
}

/// Why a duration in a config file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a duration such as \"30m\", \"2h\" or \"90d\" (units: ms, s, m, h, d)")]
pub struct DurationSyntaxError;

/// Parses `"<number><unit>"` with unit `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration, DurationSyntaxError> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or(DurationSyntaxError)?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| DurationSyntaxError)?;
    if unit == "ms" {
        return Ok(Duration::from_millis(n));
    }
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
    if d.subsec_millis() != 0 {
        return format!("{}ms", d.as_millis());
    }
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
        for (text, secs) in [
            ("30m", 1800),
            ("2h", 7200),
            ("90d", 7_776_000),
            ("45s", 45),
            ("0s", 0),
        ] {
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
    fn stockholm_time_round_trips_across_summer_time() {
        assert_eq!(
            stockholm().iana_name(),
            Some("Europe/Stockholm"),
            "the zone is bundled"
        );
        // Winter: UTC+1.
        let t = Timestamp::from_stockholm("2026-11-23", "14:30").unwrap();
        assert_eq!(t.0, 1_795_440_600_000, "13:30 UTC");
        assert_eq!(t.to_stockholm().to_string(), "2026-11-23T14:30:00");
        // Summer: UTC+2.
        let s = Timestamp::from_stockholm("2026-06-22", "17:00").unwrap();
        assert_eq!(
            jiff::Timestamp::from_millisecond(s.0).unwrap().to_string(),
            "2026-06-22T15:00:00Z"
        );
        // 29 March 2026: 02:30 never happens; 25 October 2026: 02:30 happens twice.
        assert_eq!(
            Timestamp::from_stockholm("2026-03-29", "02:30"),
            Err(LocalTimeError::DoesNotExist)
        );
        let twice = Timestamp::from_stockholm("2026-10-25", "02:30").unwrap();
        assert_eq!(
            jiff::Timestamp::from_millisecond(twice.0)
                .unwrap()
                .to_string(),
            "2026-10-25T00:30:00Z",
            "the earlier"
        );
        assert_eq!(
            Timestamp::from_stockholm("2026-02-30", "10:00"),
            Err(LocalTimeError::BadDate)
        );
        assert_eq!(
            Timestamp::from_stockholm("2026-02-03", "25:00"),
            Err(LocalTimeError::BadTime)
        );
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
