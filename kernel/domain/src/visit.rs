//! The visit room's rules, as the handbook and FAQ state them (sections
//! 5–7): when the room opens, who may start and end a visit, who may enter,
//! and how participants see each other.
//!
//! - The room opens 15 minutes before the booked time. Clinicians are
//!   prompted to start ("Starta videomöte") from then until 5 minutes after
//!   the planned end.
//! - Only a clinician who takes part can start the visit; until then a
//!   patient waits ("Väntar på att besöket ska startas"), then may go in
//!   ("Gå till besöket"). A clinician who starts a colleague's booking
//!   becomes its responsible clinician.
//! - A visit that waits for the patient's confirmation cannot be started;
//!   the patient is asked to confirm it ("Bekräfta besöket"), not told to
//!   wait.
//! - Any clinician participant can end it; then it is finished for everyone
//!   and nobody can enter again. Until a clinician ends it, it stays in
//!   progress, also past its planned end.
//! - A visit started before its booked time shows when it begins ("Börjar om
//!   14 min"); from the booked time, the minutes left of its planned length.
//! - In a group visit a patient sees other patients by their initials only.

use std::time::Duration;

use crate::Timestamp;
use crate::booking::{Booking, BookingStatus};

/// The room opens this long before the booked time.
pub const OPENS_BEFORE: Duration = Duration::from_secs(15 * 60);
/// The start prompt stays this long after the planned end.
pub const START_UNTIL_AFTER_END: Duration = Duration::from_secs(5 * 60);
/// The default cap on a group visit's participants (tenant-configurable).
pub const DEFAULT_GROUP_CAP: usize = 50;

/// How someone takes part in a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The booking's patient.
    Patient,
    /// The responsible clinician, or a colleague invited to the visit.
    Clinician,
}

/// What the room shows a participant, and lets them do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomState {
    /// Too early: the room opens at `opens_at`.
    NotOpen { opens_at: Timestamp },
    /// Open, not started. A clinician may start it; a patient waits.
    Waiting {
        can_start: bool,
        /// The patient has not confirmed the visit, so it cannot be started
        /// until they do.
        needs_confirmation: bool,
    },
    /// Started: participants may go in.
    InProgress { planned: Planned },
    /// Ended, cancelled, or a no-show: nobody can enter.
    Closed,
    /// Open but past the start window and never started.
    Missed,
}

/// Where a started visit is in its booked time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planned {
    /// Started early: the booked time begins in this many minutes (rounded
    /// up, so never 0 before the start).
    StartsIn { minutes: u64 },
    /// From the booked time: this many minutes left of the planned length,
    /// zero once past it (the visit goes on until a clinician ends it).
    Left { minutes: u64 },
}

/// Where `booking` is in its booked time at `now`: minutes before the
/// start are not minutes of the visit.
pub fn planned(booking: &Booking, now: Timestamp) -> Planned {
    let minutes = |d: Duration| d.as_secs().div_ceil(60);
    if now < booking.starts_at {
        Planned::StartsIn {
            minutes: minutes(booking.starts_at.since(now)),
        }
    } else {
        Planned::Left {
            minutes: minutes(booking.ends_at().since(now)),
        }
    }
}

/// The room as `role` sees it at `now`.
pub fn room_state(booking: &Booking, role: Role, now: Timestamp) -> RoomState {
    let opens_at = booking.starts_at.minus(OPENS_BEFORE);
    let start_until = booking.ends_at().plus(START_UNTIL_AFTER_END);
    match booking.status {
        BookingStatus::InProgress => RoomState::InProgress {
            planned: planned(booking, now),
        },
        BookingStatus::Finished | BookingStatus::Cancelled | BookingStatus::NoShow => {
            RoomState::Closed
        }
        BookingStatus::Unconfirmed | BookingStatus::Confirmed => {
            if now < opens_at {
                RoomState::NotOpen { opens_at }
            } else if now > start_until {
                RoomState::Missed
            } else {
                // An unconfirmed visit cannot be held (except "Boka nu",
                // which is confirmed when booked).
                let needs_confirmation = booking.status == BookingStatus::Unconfirmed;
                RoomState::Waiting {
                    can_start: role == Role::Clinician && !needs_confirmation,
                    needs_confirmation,
                }
            }
        }
    }
}

/// Why someone may not enter the room now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("the room opens at its time")]
    NotOpen,
    #[error("the visit has not been started by a clinician")]
    NotStarted,
    #[error("the visit is over")]
    Closed,
    #[error("the visit is full ({0} participants)")]
    Full(usize),
}

/// Whether a participant may join the media of the visit now, with
/// `present` people already in it and the tenant's `cap`.
pub fn may_enter(
    booking: &Booking,
    role: Role,
    now: Timestamp,
    present: usize,
    cap: usize,
) -> Result<(), EntryError> {
    match room_state(booking, role, now) {
        RoomState::InProgress { .. } => {
            if present >= cap {
                Err(EntryError::Full(cap))
            } else {
                Ok(())
            }
        }
        RoomState::NotOpen { .. } => Err(EntryError::NotOpen),
        RoomState::Waiting { .. } => Err(EntryError::NotStarted),
        RoomState::Closed | RoomState::Missed => Err(EntryError::Closed),
    }
}

/// How one participant is shown to another: a patient sees other patients
/// by initials only; clinicians, and everyone's view of clinicians, by name.
pub fn display_name(viewer: Role, shown: Role, given: &str, family: &str) -> String {
    match (viewer, shown) {
        (Role::Patient, Role::Patient) => {
            let initial = |s: &str| s.chars().next().map(|c| c.to_uppercase().to_string());
            format!(
                "{}{}",
                initial(given).map(|i| format!("{i}.")).unwrap_or_default(),
                initial(family)
                    .map(|i| format!(" {i}."))
                    .unwrap_or_default()
            )
        }
        _ => format!("{given} {family}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PersonId;
    use crate::booking::VisitKind;

    const MIN: Duration = Duration::from_secs(60);
    const STARTABLE: RoomState = RoomState::Waiting {
        can_start: true,
        needs_confirmation: false,
    };

    fn booking(status: BookingStatus) -> Booking {
        Booking {
            id: "b".into(),
            clinician: PersonId::new("c"),
            patient: PersonId::new("p"),
            visit_type_id: "v".into(),
            title: "Samtal".into(),
            minutes: 30,
            kind: VisitKind::Video,
            starts_at: Timestamp(10_000_000_000),
            status,
            message: String::new(),
        }
    }

    #[test]
    fn the_room_opens_fifteen_minutes_before_and_the_prompt_lasts_until_five_after_the_end() {
        let b = booking(BookingStatus::Confirmed);
        let start = b.starts_at;
        let just_before = start.minus(15 * MIN).minus(Duration::from_millis(1));
        assert!(
            matches!(room_state(&b, Role::Clinician, just_before), RoomState::NotOpen { opens_at } if opens_at == start.minus(15 * MIN))
        );
        assert_eq!(
            room_state(&b, Role::Clinician, start.minus(15 * MIN)),
            STARTABLE
        );
        let last = b.ends_at().plus(5 * MIN);
        assert_eq!(room_state(&b, Role::Clinician, last), STARTABLE);
        assert_eq!(
            room_state(&b, Role::Clinician, last.plus(Duration::from_millis(1))),
            RoomState::Missed
        );
    }

    #[test]
    fn only_clinicians_start_and_patients_wait_until_then() {
        let b = booking(BookingStatus::Confirmed);
        let now = b.starts_at;
        assert_eq!(
            room_state(&b, Role::Patient, now),
            RoomState::Waiting {
                can_start: false,
                needs_confirmation: false
            }
        );
        assert_eq!(
            may_enter(&b, Role::Patient, now, 0, 2),
            Err(EntryError::NotStarted)
        );
    }

    #[test]
    fn an_unconfirmed_visit_cannot_start_and_asks_the_patient_to_confirm_not_to_wait() {
        let u = booking(BookingStatus::Unconfirmed);
        let now = u.starts_at.minus(5 * MIN);
        let waiting_for_confirmation = RoomState::Waiting {
            can_start: false,
            needs_confirmation: true,
        };
        assert_eq!(
            room_state(&u, Role::Clinician, now),
            waiting_for_confirmation
        );
        assert_eq!(room_state(&u, Role::Patient, now), waiting_for_confirmation);
        // Once confirmed, the clinician may start it and the patient waits.
        let c = Booking {
            status: BookingStatus::Confirmed,
            ..u
        };
        assert_eq!(room_state(&c, Role::Clinician, now), STARTABLE);
        assert_eq!(
            room_state(&c, Role::Patient, now),
            RoomState::Waiting {
                can_start: false,
                needs_confirmation: false
            }
        );
    }

    #[test]
    fn minutes_before_the_start_are_not_minutes_left_of_the_visit() {
        // A 15-minute visit at 17:30, started early: at 17:16 it begins in
        // 14 minutes (not "29 min left"); at 17:30 all 15 are left.
        let b = Booking {
            minutes: 15,
            ..booking(BookingStatus::InProgress)
        };
        let at = |d: Duration| b.starts_at.minus(d);
        assert_eq!(
            room_state(&b, Role::Patient, at(14 * MIN)),
            RoomState::InProgress {
                planned: Planned::StartsIn { minutes: 14 }
            }
        );
        assert_eq!(
            planned(&b, at(Duration::from_secs(30))),
            Planned::StartsIn { minutes: 1 }
        );
        assert_eq!(planned(&b, b.starts_at), Planned::Left { minutes: 15 });
        assert_eq!(
            planned(&b, b.starts_at.plus(Duration::from_secs(61))),
            Planned::Left { minutes: 14 }
        );
    }

    #[test]
    fn a_started_visit_runs_past_its_end_until_a_clinician_ends_it() {
        let b = booking(BookingStatus::InProgress);
        assert_eq!(
            room_state(&b, Role::Patient, b.starts_at.plus(10 * MIN)),
            RoomState::InProgress {
                planned: Planned::Left { minutes: 20 }
            }
        );
        // Long past the planned end: still in progress, zero minutes left.
        let late = b.ends_at().plus(60 * MIN);
        assert_eq!(
            room_state(&b, Role::Patient, late),
            RoomState::InProgress {
                planned: Planned::Left { minutes: 0 }
            }
        );
        assert_eq!(may_enter(&b, Role::Patient, late, 1, 2), Ok(()));
        // Ended: closed for everyone, no re-entry.
        let f = booking(BookingStatus::Finished);
        for role in [Role::Patient, Role::Clinician] {
            assert_eq!(
                may_enter(&f, role, f.starts_at, 0, 2),
                Err(EntryError::Closed)
            );
        }
    }

    #[test]
    fn a_group_visit_holds_its_cap() {
        let b = booking(BookingStatus::InProgress);
        assert_eq!(
            may_enter(&b, Role::Patient, b.starts_at, 49, DEFAULT_GROUP_CAP),
            Ok(())
        );
        assert_eq!(
            may_enter(&b, Role::Patient, b.starts_at, 50, DEFAULT_GROUP_CAP),
            Err(EntryError::Full(50))
        );
    }

    #[test]
    fn patients_see_other_patients_by_initials_only() {
        assert_eq!(
            display_name(Role::Patient, Role::Patient, "åsa", "Öberg"),
            "Å. Ö."
        );
        assert_eq!(
            display_name(Role::Clinician, Role::Patient, "Åsa", "Öberg"),
            "Åsa Öberg"
        );
        assert_eq!(
            display_name(Role::Patient, Role::Clinician, "Karin", "Lindblad"),
            "Karin Lindblad"
        );
    }
}
