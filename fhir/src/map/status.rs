//! The one table between a booking's status and FHIR's Appointment and
//! Encounter statuses, read both ways. Tested as one table.

use fhir_sdk::r4b::codes::{AppointmentStatus, EncounterStatus, ParticipationStatus};
use tillit_domain::booking::{BookingAction, BookingStatus};

/// What a booking looks like over FHIR at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FhirStatus {
    pub appointment: AppointmentStatus,
    /// The patient's participant status.
    pub patient: ParticipationStatus,
    /// The visit's Encounter, once it has one.
    pub encounter: Option<EncounterStatus>,
}

/// The FHIR view of a booking's status. `patient_waiting`: the patient is
/// in the room before the clinician has started the visit.
pub fn to_fhir(status: BookingStatus, patient_waiting: bool) -> FhirStatus {
    use AppointmentStatus as A;
    use ParticipationStatus as P;
    let (appointment, patient, encounter) = match status {
        BookingStatus::Unconfirmed => (A::Pending, P::NeedsAction, None),
        BookingStatus::Confirmed if patient_waiting => (A::Arrived, P::Accepted, None),
        BookingStatus::Confirmed => (A::Booked, P::Accepted, None),
        BookingStatus::InProgress => (A::Arrived, P::Accepted, Some(EncounterStatus::InProgress)),
        BookingStatus::Finished => (A::Fulfilled, P::Accepted, Some(EncounterStatus::Finished)),
        BookingStatus::Cancelled => (A::Cancelled, P::Declined, None),
        BookingStatus::NoShow => (A::Noshow, P::Accepted, None),
    };
    FhirStatus {
        appointment,
        patient,
        encounter,
    }
}

/// What an EHR asks for by setting an Appointment's status, given the
/// booking's status now: `Ok(None)` when nothing changes, the action when
/// it is one an EHR may take, `Err` with the reason when the move is not
/// allowed (answered 422).
pub fn requested_action(
    now: BookingStatus,
    requested: AppointmentStatus,
) -> Result<Option<BookingAction>, String> {
    use AppointmentStatus as A;
    let current = to_fhir(now, false).appointment;
    if requested == current || (requested == A::Arrived && now == BookingStatus::Confirmed) {
        return Ok(None);
    }
    match (now, requested) {
        (s, A::Cancelled) if !s.is_terminal() && s != BookingStatus::InProgress => {
            Ok(Some(BookingAction::Cancel))
        }
        (BookingStatus::Unconfirmed, A::Booked) => Ok(Some(BookingAction::Confirm)),
        _ => Err(format!(
            "An Appointment that is {} cannot be made {} through FHIR.",
            code(current),
            code(requested)
        )),
    }
}

/// The Appointment status code a booking has over FHIR now (`booked`, …).
pub fn appointment_code(status: BookingStatus, patient_waiting: bool) -> String {
    code(to_fhir(status, patient_waiting).appointment)
}

/// [`requested_action`] for a status code as an EHR sent it; an unknown
/// code is refused with the reason.
pub fn requested_action_code(
    now: BookingStatus,
    requested: &str,
) -> Result<Option<BookingAction>, String> {
    let parsed: AppointmentStatus =
        serde_json::from_value(serde_json::Value::String(requested.to_owned()))
            .map_err(|_| format!("\"{requested}\" is not an Appointment status."))?;
    requested_action(now, parsed)
}

/// The code of an Appointment status, as written.
pub fn code(s: AppointmentStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppointmentStatus as A;
    use BookingStatus as B;
    use ParticipationStatus as P;

    #[test]
    fn every_booking_status_has_its_fhir_statuses() {
        let table = [
            (B::Unconfirmed, false, A::Pending, P::NeedsAction, None),
            (B::Confirmed, false, A::Booked, P::Accepted, None),
            (B::Confirmed, true, A::Arrived, P::Accepted, None),
            (
                B::InProgress,
                false,
                A::Arrived,
                P::Accepted,
                Some(EncounterStatus::InProgress),
            ),
            (
                B::Finished,
                false,
                A::Fulfilled,
                P::Accepted,
                Some(EncounterStatus::Finished),
            ),
            (B::Cancelled, false, A::Cancelled, P::Declined, None),
            (B::NoShow, false, A::Noshow, P::Accepted, None),
        ];
        for (b, waiting, a, p, e) in table {
            assert_eq!(
                to_fhir(b, waiting),
                FhirStatus {
                    appointment: a,
                    patient: p,
                    encounter: e
                },
                "{b:?} waiting={waiting}"
            );
        }
        assert_eq!(code(A::Noshow), "noshow");
    }

    #[test]
    fn an_ehr_may_cancel_or_confirm_but_not_reopen() {
        assert_eq!(
            requested_action(B::Confirmed, A::Cancelled),
            Ok(Some(BookingAction::Cancel))
        );
        assert_eq!(
            requested_action(B::Unconfirmed, A::Booked),
            Ok(Some(BookingAction::Confirm))
        );
        assert_eq!(requested_action(B::Confirmed, A::Booked), Ok(None));
        assert_eq!(requested_action(B::Cancelled, A::Cancelled), Ok(None));
        for (now, to) in [
            (B::Finished, A::Booked),
            (B::Cancelled, A::Booked),
            (B::Confirmed, A::Fulfilled),
            (B::InProgress, A::Cancelled),
            (B::Confirmed, A::Noshow),
        ] {
            let e = requested_action(now, to).unwrap_err();
            assert!(e.contains("cannot be made"), "{now:?} → {to:?}: {e}");
        }
    }
}
