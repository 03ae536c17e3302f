//! Group visits with several patients: each patient answers for themself.
//!
//! A group visit (`VisitKind::GroupVideo`) keeps one status of its own (the
//! status machine of [`crate::booking`]), and each patient an
//! [`Attendance`]: invited, confirmed or declined. A patient's confirmation
//! confirms their own place, and the visit with it if it was unconfirmed
//! (someone is coming, so it can be held); a patient's cancellation
//! declines their own place only, and cancels the visit once nobody is left.
//! What each patient is told, and what their lists show, is the visit as
//! they see it ([`seen_by`]): a visit confirmed by others is still
//! unconfirmed for a patient who has not answered.

use crate::booking::{BookingAction, BookingStatus, TransitionError, transition};

/// The most patients one group visit takes. The FAQ: "Gruppbesök upp till
/// 20 deltagare vet vi fungerar bra. Rent tekniskt kan det vara 50
/// deltagare"; the room's cap (`visit::DEFAULT_GROUP_CAP`) counts staff too.
pub const MAX_PATIENTS: usize = 20;

/// A patient's answer to a group visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    Invited,
    Confirmed,
    Declined,
}

impl Attendance {
    pub const ALL: [Attendance; 3] = [Self::Invited, Self::Confirmed, Self::Declined];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Confirmed => "confirmed",
            Self::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// A new patient's answer: confirmed already when the visit needs no
    /// confirmation (it starts confirmed).
    pub fn initial(visit: BookingStatus) -> Self {
        if visit == BookingStatus::Unconfirmed {
            Self::Invited
        } else {
            Self::Confirmed
        }
    }
}

/// The visit as a patient with `attendance` sees it: cancelled once they
/// declined, unconfirmed while they have not confirmed a visit others
/// confirmed.
pub fn seen_by(visit: BookingStatus, attendance: Attendance) -> BookingStatus {
    match (visit, attendance) {
        (_, Attendance::Declined) => BookingStatus::Cancelled,
        (BookingStatus::Confirmed, Attendance::Invited) => BookingStatus::Unconfirmed,
        (status, _) => status,
    }
}

/// What a patient's answer comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    pub attendance: Attendance,
    /// The visit's own move, if the answer moves it.
    pub visit: Option<BookingStatus>,
}

/// A patient confirms or cancels their place. `others_coming` is how many
/// other patients have not declined. Only the moves the status machine
/// allows the patient on the visit as they see it are allowed.
pub fn answer(
    visit: BookingStatus,
    attendance: Attendance,
    action: BookingAction,
    others_coming: usize,
) -> Result<Answered, TransitionError> {
    let seen = seen_by(visit, attendance);
    let to = transition(seen, action, crate::booking::Actor::Patient)?;
    Ok(match to {
        BookingStatus::Confirmed => Answered {
            attendance: Attendance::Confirmed,
            visit: (visit == BookingStatus::Unconfirmed).then_some(BookingStatus::Confirmed),
        },
        // The status machine lets a patient confirm or cancel only.
        _ => Answered {
            attendance: Attendance::Declined,
            visit: (others_coming == 0)
                .then(|| transition(visit, action, crate::booking::Actor::Patient).ok())
                .flatten(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookingAction as A;
    use BookingStatus as S;

    #[test]
    fn the_first_confirmation_confirms_the_visit_and_later_ones_only_their_place() {
        let first = answer(S::Unconfirmed, Attendance::Invited, A::Confirm, 2).unwrap();
        assert_eq!(first.attendance, Attendance::Confirmed);
        assert_eq!(first.visit, Some(S::Confirmed));
        let second = answer(S::Confirmed, Attendance::Invited, A::Confirm, 2).unwrap();
        assert_eq!(second.attendance, Attendance::Confirmed);
        assert_eq!(second.visit, None);
        assert!(answer(S::Confirmed, Attendance::Confirmed, A::Confirm, 2).is_err());
    }

    #[test]
    fn a_cancellation_declines_one_place_until_nobody_is_left() {
        let one = answer(S::Confirmed, Attendance::Confirmed, A::Cancel, 1).unwrap();
        assert_eq!(one.attendance, Attendance::Declined);
        assert_eq!(one.visit, None);
        let last = answer(S::Confirmed, Attendance::Invited, A::Cancel, 0).unwrap();
        assert_eq!(last.attendance, Attendance::Declined);
        assert_eq!(last.visit, Some(S::Cancelled));
        assert!(answer(S::Confirmed, Attendance::Declined, A::Cancel, 3).is_err());
        assert!(answer(S::Confirmed, Attendance::Declined, A::Confirm, 3).is_err());
    }

    #[test]
    fn a_patient_cannot_answer_a_visit_that_began_or_ended() {
        for visit in [S::InProgress, S::Finished, S::Cancelled, S::NoShow] {
            for a in Attendance::ALL {
                for action in [A::Confirm, A::Cancel] {
                    assert!(answer(visit, a, action, 1).is_err(), "{visit:?} {a:?}");
                }
            }
        }
        assert!(answer(S::Confirmed, Attendance::Confirmed, A::Start, 1).is_err());
    }

    #[test]
    fn each_patient_sees_the_visit_by_their_own_answer() {
        assert_eq!(seen_by(S::Confirmed, Attendance::Invited), S::Unconfirmed);
        assert_eq!(seen_by(S::Confirmed, Attendance::Confirmed), S::Confirmed);
        assert_eq!(seen_by(S::Confirmed, Attendance::Declined), S::Cancelled);
        assert_eq!(seen_by(S::InProgress, Attendance::Invited), S::InProgress);
        assert_eq!(Attendance::initial(S::Unconfirmed), Attendance::Invited);
        assert_eq!(Attendance::initial(S::Confirmed), Attendance::Confirmed);
    }
}
