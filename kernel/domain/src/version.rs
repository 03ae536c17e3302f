//! Versions of bookings and people, as journal systems read them (FHIR
//! `meta.versionId`, `vread`, `_history`). The store keeps one for every
//! change of what can change; the rest of a booking or a person never
//! changes after it is made, so a version holds only the changing part and
//! is applied to the record on file to give the record as it was then.

use crate::booking::{Booking, BookingStatus};
use crate::group::Attendance;
use crate::people::{Person, PersonName, PersonStatus};
use crate::{PersonId, Timestamp};

/// A version's number (1 for the first) and when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub number: u64,
    pub last_updated: Timestamp,
}

/// What a booking was at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingVersion {
    pub version: Version,
    pub clinician: PersonId,
    pub starts_at: Timestamp,
    pub status: BookingStatus,
    /// A group visit's patients' answers then, in the order invited; empty
    /// for a one-to-one visit.
    pub attendance: Vec<Attendance>,
}

impl BookingVersion {
    /// `current` (the booking on file) as it was at this version.
    pub fn apply(&self, current: &Booking) -> Booking {
        Booking {
            clinician: self.clinician.clone(),
            starts_at: self.starts_at,
            status: self.status,
            ..current.clone()
        }
    }
}

/// What a person was at one version: name, status and how to reach them
/// (kept out of `Debug`, as personal data).
#[derive(Clone, PartialEq, Eq)]
pub struct PersonVersion {
    pub version: Version,
    pub status: PersonStatus,
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl std::fmt::Debug for PersonVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonVersion")
            .field("version", &self.version)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl PersonVersion {
    /// `current` (the person on file) as they were at this version.
    pub fn apply(&self, current: &Person) -> Person {
        Person {
            status: self.status,
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            ..current.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::VisitKind;

    #[test]
    fn a_booking_version_gives_back_what_changed_and_keeps_the_rest() {
        let now = Booking {
            id: "b1".into(),
            clinician: PersonId::new("olof"),
            patient: PersonId::new("tove"),
            visit_type_id: "vt".into(),
            title: "Uppföljning".into(),
            minutes: 30,
            kind: VisitKind::Video,
            starts_at: Timestamp(2_000),
            status: BookingStatus::Cancelled,
            message: "Hej".into(),
        };
        let v1 = BookingVersion {
            version: Version {
                number: 1,
                last_updated: Timestamp(10),
            },
            clinician: PersonId::new("karin"),
            starts_at: Timestamp(1_000),
            status: BookingStatus::Unconfirmed,
            attendance: Vec::new(),
        };
        let then = v1.apply(&now);
        assert_eq!(then.clinician, PersonId::new("karin"));
        assert_eq!(then.starts_at, Timestamp(1_000));
        assert_eq!(then.status, BookingStatus::Unconfirmed);
        assert_eq!((then.patient, then.title), (now.patient, now.title));
    }
}
