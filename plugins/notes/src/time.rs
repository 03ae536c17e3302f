//! Local time labels for "Sparad 10:42", in Swedish time (CET/CEST), the
//! time zone of every tenant so far. Pure arithmetic: the plugin has no
//! time-zone database, and the EU rule has been fixed since 1996.

const MINUTE: i64 = 60 * 1000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// `10:42` if `at` is on the same local day as `now`, else
/// `2026-01-14 10:42`.
pub fn saved_label(at: i64, now: i64) -> String {
    let local = at + offset(at);
    let (y, m, d) = civil(local.div_euclid(DAY));
    let minutes = local.rem_euclid(DAY) / MINUTE;
    let time = format!("{:02}:{:02}", minutes / 60, minutes % 60);
    let today = (now + offset(now)).div_euclid(DAY);
    if today == local.div_euclid(DAY) {
        time
    } else {
        format!("{y:04}-{m:02}-{d:02} {time}")
    }
}

/// Swedish time's offset from UTC at `at`: summer time (UTC+2) from 01:00
/// UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
/// October, else UTC+1.
fn offset(at: i64) -> i64 {
    let (year, _, _) = civil(at.div_euclid(DAY));
    let start = last_sunday(year, 3) * DAY + HOUR;
    let end = last_sunday(year, 10) * DAY + HOUR;
    if (start..end).contains(&at) {
        2 * HOUR
    } else {
        HOUR
    }
}

/// Days since 1970-01-01 of the last Sunday of a 31-day month.
fn last_sunday(year: i64, month: i64) -> i64 {
    let last = days(year, month, 31);
    // 1970-01-01 was a Thursday (weekday 4, Sunday = 0).
    let weekday = (last + 4).rem_euclid(7);
    last - weekday
}

/// Days since 1970-01-01 of a date (Howard Hinnant's days_from_civil).
fn days(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01 (civil_from_days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(year: i64, month: i64, day: i64, hour: i64, minute: i64) -> i64 {
        days(year, month, day) * DAY + hour * HOUR + minute * MINUTE
    }

    #[test]
    fn winter_is_utc_plus_one_and_summer_plus_two() {
        let winter = utc(2026, 1, 15, 9, 42);
        assert_eq!(saved_label(winter, winter), "10:42");
        let summer = utc(2026, 7, 1, 8, 42);
        assert_eq!(saved_label(summer, summer), "10:42");
    }

    #[test]
    fn the_switches_happen_at_one_utc_on_the_last_sundays() {
        // 2026: 29 March and 25 October.
        let spring = utc(2026, 3, 29, 1, 0);
        assert_eq!(saved_label(spring - MINUTE, spring), "01:59");
        assert_eq!(saved_label(spring, spring), "03:00");
        let autumn = utc(2026, 10, 25, 1, 0);
        assert_eq!(saved_label(autumn - MINUTE, autumn), "02:59");
        assert_eq!(saved_label(autumn, autumn), "02:00");
    }

    #[test]
    fn another_day_shows_the_date() {
        let saved = utc(2026, 1, 14, 22, 30); // 23:30 local on the 14th
        assert_eq!(saved_label(saved, saved + 20 * MINUTE), "23:30");
        assert_eq!(saved_label(saved, saved + 40 * MINUTE), "2026-01-14 23:30");
        // Midnight local is 23:00 UTC in winter: 40 minutes later is the 15th.
        assert_eq!(
            saved_label(saved + 40 * MINUTE, saved + 40 * MINUTE),
            "00:10"
        );
    }

    #[test]
    fn dates_round_trip() {
        for d in [-800_000, -1, 0, 1, 19_000, 20_468, 2_000_000] {
            let (y, m, day) = civil(d);
            assert_eq!(days(y, m, day), d);
        }
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(days(2024, 2, 29)), (2024, 2, 29));
    }
}
