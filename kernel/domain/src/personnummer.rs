//! Swedish personal identity numbers (personnummer) and coordination numbers
//! (samordningsnummer).
//!
//! Only the 12-digit form is accepted (`YYYYMMDDNNNC`, optionally with a
//! hyphen before the last four digits): the 10-digit form leaves the century
//! to guesswork. A samordningsnummer has 60 added to the day of birth. The
//! last digit is a Luhn check digit over the last ten.
//!
//! A number someone gives (a form, an identity provider, an EHR) is read
//! with [`Personnummer::parse_at`], which also refuses a date of birth
//! after today: the domain has no clock, so the door passes the time.
//! [`Personnummer::parse`] alone is for numbers accepted once already
//! (stored rows, the tenant files' staff).
//!
//! A [`Personnummer`] never prints its digits: `Debug` and `Display` show a
//! placeholder, so one cannot reach a log line by accident. Code that needs
//! the digits (storage, lookups) calls [`Personnummer::as_str`].

use std::fmt;

use crate::Timestamp;

/// A validated personnummer or samordningsnummer, normalised to 12 digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Personnummer(String);

/// Why a text is not a valid personnummer. Each variant is something the
/// person typing it can fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PersonnummerError {
    #[error("a personnummer has 12 digits (YYYYMMDDNNNN)")]
    WrongLength,
    #[error("a personnummer contains only digits and an optional hyphen")]
    NotDigits,
    #[error("the first eight digits are not a real date of birth")]
    InvalidDate,
    #[error("the check digit does not match; a digit may be mistyped")]
    BadCheckDigit,
    /// A real date, but after today: nobody is born in the future.
    #[error("the date of birth is in the future")]
    BornInFuture,
}

/// Whether the number identifies someone by birth date or by coordination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    Personnummer,
    Samordningsnummer,
}

impl Personnummer {
    /// Parses and validates `input`. Surrounding white space is ignored; a
    /// hyphen is allowed only before the last four digits.
    pub fn parse(input: &str) -> Result<Self, PersonnummerError> {
        let trimmed = input.trim();
        // The ten-digit forms (ÅÅMMDD-NNNN, ÅÅMMDD+NNNN) are not accepted,
        // and whoever types one is told how many digits are needed, not
        // that the hyphen is misplaced.
        let digit_count = trimmed.chars().filter(char::is_ascii_digit).count();
        let separators = trimmed.chars().filter(|c| matches!(c, '-' | '+')).count();
        let plain = trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '+');
        if plain && separators <= 1 && digit_count != 12 {
            return Err(PersonnummerError::WrongLength);
        }
        let digits: String = match trimmed.char_indices().find(|&(_, c)| c == '-') {
            Some((8, _)) if trimmed.len() == 13 => trimmed.replacen('-', "", 1),
            Some(_) => return Err(PersonnummerError::NotDigits),
            None => trimmed.to_owned(),
        };
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(PersonnummerError::NotDigits);
        }
        if digits.len() != 12 {
            return Err(PersonnummerError::WrongLength);
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3];
        let month = d[4] * 10 + d[5];
        let mut day = d[6] * 10 + d[7];
        if day > 60 {
            day -= 60;
        }
        if !(1800..=2999).contains(&year) || !is_real_date(year, month, day) {
            return Err(PersonnummerError::InvalidDate);
        }
        if luhn_check_digit(&d[2..11]) != d[11] {
            return Err(PersonnummerError::BadCheckDigit);
        }
        Ok(Self(digits))
    }

    /// [`parse`](Self::parse), and the date of birth is not after today
    /// (in Sweden) at `now`. Every door that takes a personnummer from a
    /// person or another system reads it with this, so a number is refused
    /// for the same reason with the same error wherever it is typed.
    pub fn parse_at(input: &str, now: Timestamp) -> Result<Self, PersonnummerError> {
        let pnr = Self::parse(input)?;
        let today = now.to_stockholm().date();
        let today = (
            i32::from(today.year()),
            i32::from(today.month()),
            i32::from(today.day()),
        );
        if pnr.date_of_birth() > today {
            return Err(PersonnummerError::BornInFuture);
        }
        Ok(pnr)
    }

    /// Year, month and day of birth (a samordningsnummer's day less 60).
    pub fn date_of_birth(&self) -> (i32, i32, i32) {
        let n = |r: std::ops::Range<usize>| self.0[r].parse::<i32>().unwrap_or(0);
        let day = n(6..8);
        (n(0..4), n(4..6), if day > 60 { day - 60 } else { day })
    }

    /// The 12 digits. For storage and lookups only; never log this.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> IdentityKind {
        if self.0[6..8] > *"60" {
            IdentityKind::Samordningsnummer
        } else {
            IdentityKind::Personnummer
        }
    }
}

impl fmt::Debug for Personnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Personnummer(<redacted>)")
    }
}

impl fmt::Display for Personnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<personnummer>")
    }
}

/// The Luhn check digit for the given digits (weights 2, 1, 2, … from the left,
/// as Skatteverket computes it over YYMMDDNNN).
pub fn luhn_check_digit(digits: &[u32]) -> u32 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let p = if i % 2 == 0 { d * 2 } else { d };
            p / 10 + p % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

fn is_real_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_numbers_with_and_without_hyphen() {
        for ok in [
            "191212121212",
            "19121212-1212",
            " 198112189876 ",
            "200002292381",
        ] {
            let p = Personnummer::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(p.as_str().len(), 12);
            assert_eq!(p.kind(), IdentityKind::Personnummer);
        }
    }

    #[test]
    fn accepts_samordningsnummer() {
        // 1981-12-18 as a coordination number: day 18 + 60 = 78.
        let p = Personnummer::parse("198112789873").unwrap();
        assert_eq!(p.kind(), IdentityKind::Samordningsnummer);
    }

    #[test]
    fn names_what_is_wrong() {
        use PersonnummerError::*;
        let cases = [
            ("1212121212", WrongLength),
            ("121212-1212", WrongLength),
            ("121212+1212", WrongLength),
            ("1212-121212", WrongLength),
            ("1912121212123", WrongLength),
            ("", WrongLength),
            ("19121212+1212", NotDigits),
            ("1912-12121212", NotDigits),
            ("19121212121a", NotDigits),
            ("191213121212", InvalidDate),
            ("190002291234", InvalidDate),
            ("198112929874", InvalidDate),
            ("191212121213", BadCheckDigit),
        ];
        for (input, want) in cases {
            assert_eq!(Personnummer::parse(input), Err(want), "{input:?}");
        }
    }

    /// A valid number born on `date` (`YYYYMMDD`, day + 60 for a
    /// samordningsnummer).
    fn born(date: &str) -> String {
        let digits: Vec<u32> = format!("{date}123")
            .bytes()
            .map(|b| u32::from(b - b'0'))
            .collect();
        format!("{date}123{}", luhn_check_digit(&digits[2..]))
    }

    #[test]
    fn nobody_is_born_after_today() {
        // 2027-01-15 09:00 in Stockholm.
        let now = Timestamp(1_800_000_000_000);
        for ok in [
            "19121212-1212",
            &born("20270115"),
            &born("20270175"),
            &born("20261231"),
        ] {
            assert!(Personnummer::parse_at(ok, now).is_ok(), "{ok}");
        }
        for future in [
            born("20270116"),
            born("20270176"),
            born("20280101"),
            born("29991231"),
        ] {
            assert!(
                Personnummer::parse(&future).is_ok(),
                "{future}: well-formed"
            );
            assert_eq!(
                Personnummer::parse_at(&future, now),
                Err(PersonnummerError::BornInFuture),
                "{future}"
            );
        }
        // Malformed first: the date is checked only on a well-formed number.
        assert_eq!(
            Personnummer::parse_at("29991231123", now),
            Err(PersonnummerError::WrongLength)
        );
    }

    #[test]
    fn formatting_never_shows_the_digits() {
        let p = Personnummer::parse("191212121212").unwrap();
        assert!(!format!("{p} {p:?}").contains("1212"));
    }
}
