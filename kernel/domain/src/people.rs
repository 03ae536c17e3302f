//! The people of a tenant: clinicians (vårdpersonal), administrators and
//! patients.
//!
//! Status follows the handbook's admin tool: *active* people can log in and
//! take part; *inactive* people cannot log in, be invited or receive
//! messages; *removed* people are like inactive and also left out of every
//! list. A removed patient can be invited again later (issue 3), which makes
//! them active.

use crate::{PersonId, Personnummer, TenantId};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clinician,
    Administrator,
    Patient,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Clinician, Role::Administrator, Role::Patient];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Administrator => "administrator",
            Role::Patient => "patient",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff are created by administrators or tenant config; patients by invitation.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Clinician | Role::Administrator)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    Active,
    Inactive,
    Removed,
}

impl PersonStatus {
    pub const ALL: [PersonStatus; 3] = [Self::Active, Self::Inactive, Self::Removed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn can_log_in(self) -> bool {
        self == Self::Active
    }

    /// Whether a visit can be booked with this person as they are: only
    /// the active can. (An inactive patient is refused; a removed one only
    /// comes back when the person inviting chooses so, see `invitee`.) The
    /// booking forms offer no one else.
    pub fn can_be_booked(self) -> bool {
        self == Self::Active
    }
}

/// A validated name part: trimmed, 1–100 characters, no control characters.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than {max} characters")]
    TooLong { max: usize },
    #[error("the name contains characters that are not allowed")]
    BadCharacters,
}

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(s: &str) -> Result<Self, NameError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(NameError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if s.chars().any(|c| c.is_control() || is_invisible_format(c)) {
            return Err(NameError::BadCharacters);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters that change how the text around them is shown without being
/// seen themselves: bidirectional overrides, embeddings and isolates (which
/// can make a name read as another on a clinician's screen) and invisible
/// spaces and marks. The zero-width (non-)joiner stays: names in Persian
/// and Indic scripts need it.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonName(<redacted>)")
    }
}

/// An e-mail address, checked for the shape mail servers accept.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Option<Self> {
        let s = input.trim();
        let (local, domain) = s.rsplit_once('@')?;
        let ok = s.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
            })
            && !local.contains('@');
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(<redacted>)")
    }
}

/// A member of staff's HSA-id, the national directory's identity of
/// people in Swedish healthcare: `SE`, the organisation number of the
/// care provider that issued it (ten digits), a hyphen and the
/// organisation's own suffix of letters and digits, at most 31 characters
/// in all (Inera's HSA specification). Journal systems name clinicians by
/// it; SITHS cards carry it. Written in capitals; `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HsaId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HsaIdError {
    #[error(
        "an HSA-id is SE, a ten-digit organisation number, a hyphen and letters or digits, e.g. SE2321000016-A12B"
    )]
    Shape,
    #[error("an HSA-id has at most {max} characters")]
    TooLong { max: usize },
}

impl HsaId {
    pub const MAX_CHARS: usize = 31;

    pub fn parse(s: &str) -> Result<Self, HsaIdError> {
        let s = s.trim().to_ascii_uppercase();
        if s.chars().count() > Self::MAX_CHARS {
            return Err(HsaIdError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        let shaped = s
            .strip_prefix("SE")
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(org, suffix)| {
                org.len() == 10
                    && org.bytes().all(|b| b.is_ascii_digit())
                    && !suffix.is_empty()
                    && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if shaped {
            Ok(Self(s))
        } else {
            Err(HsaIdError::Shape)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HsaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HsaId(<redacted>)")
    }
}

/// A person as stored. `Debug` never shows personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub id: PersonId,
    pub tenant: TenantId,
    pub role: Role,
    pub status: PersonStatus,
    pub personnummer: Personnummer,
    pub given_name: PersonName,
    pub family_name: PersonName,
    /// Staff only: their HSA-id, where the tenant's file or an
    /// administrator gave one.
    pub hsa_id: Option<HsaId>,
}

impl Person {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name.as_str(), self.family_name.as_str())
    }

    /// Initials, as a patient sees other patients in a group visit.
    pub fn initials(&self) -> String {
        [&self.given_name, &self.family_name]
            .iter()
            .filter_map(|n| n.as_str().chars().next())
            .flat_map(char::to_uppercase)
            .collect()
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("role", &self.role)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// What is needed to create a person.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub role: Role,
    pub personnummer: Personnummer,
    pub given_name: PersonName,
    pub family_name: PersonName,
    /// Staff only (patients have none).
    pub hsa_id: Option<HsaId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Person {
        Person {
            id: PersonId::new("p1"),
            tenant: TenantId::parse("demo").unwrap(),
            role: Role::Patient,
            status: PersonStatus::Active,
            personnummer: Personnummer::parse("191212121212").unwrap(),
            given_name: PersonName::parse("åsa").unwrap(),
            family_name: PersonName::parse("Öberg").unwrap(),
            hsa_id: None,
        }
    }

    #[test]
    fn hsa_ids_are_validated_and_written_in_capitals() {
        let id = HsaId::parse(" se2321000016-a12b ").unwrap();
        assert_eq!(id.as_str(), "SE2321000016-A12B");
        for bad in [
            "",
            "SE2321000016",
            "SE2321000016-",
            "SE232100001-A1",
            "SE23210000160-A1",
            "DK2321000016-A1",
            "SE2321000016-A 1",
            "SE2321000016-Å1",
            "SE23210000x6-A1",
            "SE2321000016-A1-B",
        ] {
            assert_eq!(HsaId::parse(bad), Err(HsaIdError::Shape), "{bad:?}");
        }
        assert_eq!(
            HsaId::parse(&format!("SE2321000016-{}", "A".repeat(19))),
            Err(HsaIdError::TooLong { max: 31 })
        );
        assert!(HsaId::parse(&format!("SE2321000016-{}", "A".repeat(18))).is_ok());
        assert_eq!(format!("{id:?}"), "HsaId(<redacted>)");
    }

    #[test]
    fn names_are_validated() {
        assert_eq!(PersonName::parse("  "), Err(NameError::Empty));
        assert_eq!(
            PersonName::parse(&"x".repeat(101)),
            Err(NameError::TooLong { max: 100 })
        );
        assert_eq!(PersonName::parse("a\u{0}b"), Err(NameError::BadCharacters));
        // A right-to-left override would show "Anna\u{202e}nossk" as
        // another name; invisible marks hide in copies.
        for sneaky in [
            "Anna\u{202e}nossk",
            "An\u{2066}na",
            "An\u{200b}na",
            "\u{feff}Anna",
        ] {
            assert_eq!(
                PersonName::parse(sneaky),
                Err(NameError::BadCharacters),
                "{sneaky:?}"
            );
        }
        assert!(
            PersonName::parse("\u{645}\u{200c}\u{6cc}").is_ok(),
            "a zero-width non-joiner is part of some names"
        );
        assert_eq!(PersonName::parse(" Anna ").unwrap().as_str(), "Anna");
    }

    #[test]
    fn initials_and_debug() {
        let p = person();
        assert_eq!(p.initials(), "ÅÖ");
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("Öberg") && !dbg.contains("1212"), "{dbg}");
    }

    #[test]
    fn email_addresses() {
        for ok in ["anna@example.se", " a.b+c@vard.region.se "] {
            assert!(EmailAddress::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.se",
            "anna@example",
            "an na@example.se",
            "a@b@c.se",
            "a@.se",
            "<a@b.se>",
        ] {
            assert!(EmailAddress::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn roles_and_statuses_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for s in PersonStatus::ALL {
            assert_eq!(PersonStatus::parse(s.as_str()), Some(s));
        }
        assert!(PersonStatus::Active.can_log_in());
        assert!(!PersonStatus::Inactive.can_log_in());
        assert!(!PersonStatus::Removed.can_log_in());
    }

    #[test]
    fn only_active_people_can_be_booked() {
        assert!(PersonStatus::Active.can_be_booked());
        assert!(!PersonStatus::Inactive.can_be_booked());
        assert!(!PersonStatus::Removed.can_be_booked());
    }
}
