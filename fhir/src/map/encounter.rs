//! Encounter: a visit that has happened or is happening. One per patient
//! of a booking ([`id`]: the booking's id for its first patient, and
//! `<booking>.<n>` for a group visit's `n`th), class `VR` (virtual),
//! pointing at its Appointment, with the period from the visit's real
//! start and end. Read-only: the kernel starts and ends visits.

use fhir_sdk::r4b::resources::{Encounter, EncounterParticipant};
use fhir_sdk::r4b::types::{Coding, Period};
use tillit_domain::Timestamp;
use tillit_domain::booking::Booking;

use super::appointment::Participant;
use super::status::to_fhir;
use super::{Version, built, instant, meta, reference};
use crate::outcome::FhirError;
use crate::wire;

/// HL7 v3 ActCode: `VR`, a virtual encounter.
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// A visit as Tillit holds it.
#[derive(Debug, Clone)]
pub struct EncounterOut<'a> {
    /// See [`id`].
    pub id: String,
    pub booking: &'a Booking,
    pub version: Option<Version>,
    pub patient: Participant,
    pub clinician: Participant,
    pub colleagues: Vec<Participant>,
    /// When the clinician started the visit.
    pub started: Timestamp,
    /// When it ended, once it has.
    pub ended: Option<Timestamp>,
}

/// The Encounter resource, as JSON; an error if the booking's status has
/// no Encounter (it never started).
pub fn write(e: &EncounterOut<'_>) -> Result<String, FhirError> {
    let status = to_fhir(e.booking.status, false)
        .encounter
        .ok_or(FhirError::Internal)?;
    let class = built(
        Coding::builder()
            .system(ACT_CODE.to_owned())
            .code("VR".to_owned())
            .display("virtual".to_owned())
            .build(),
    )?;
    let mut period = Period::builder().start(fhir_sdk::DateTime::DateTime(instant(e.started)?));
    if let Some(end) = e.ended {
        period = period.end(fhir_sdk::DateTime::DateTime(instant(end)?));
    }
    let participants = std::iter::once(&e.clinician)
        .chain(&e.colleagues)
        .map(|p| {
            built(
                EncounterParticipant::builder()
                    .individual(reference("Practitioner", &p.id, Some(p.display.clone()))?)
                    .build(),
            )
            .map(Some)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut b = Encounter::builder()
        .id(e.id.clone())
        .status(status)
        .class(class)
        .subject(reference(
            "Patient",
            &e.patient.id,
            Some(e.patient.display.clone()),
        )?)
        .participant(participants)
        .appointment(vec![Some(reference("Appointment", &e.booking.id, None)?)])
        .period(built(period.build())?);
    if let Some(v) = e.version {
        b = b.meta(meta(v)?);
    }
    wire::write(&built(b.build())?)
}

/// The id of the Encounter of the `position`th patient (1 for the first)
/// of booking `booking`. Booking ids hold no `.`, so the two never meet.
pub fn id(booking: &str, position: usize) -> String {
    if position <= 1 {
        booking.to_owned()
    } else {
        format!("{booking}.{position}")
    }
}

/// The booking and patient position an Encounter id names (see [`id`]).
pub fn parse_id(id: &str) -> Option<(&str, usize)> {
    match id.split_once('.') {
        None => Some((id, 1)),
        Some((booking, n)) => {
            let position: usize = n.parse().ok()?;
            (position >= 2 && n == position.to_string()).then_some((booking, position))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillit_domain::booking::BookingStatus;

    #[test]
    fn a_finished_visit_is_a_finished_virtual_encounter_with_its_real_period() {
        let b = super::super::test_booking(BookingStatus::Finished);
        let who = |id: &str| Participant {
            id: id.into(),
            display: id.into(),
        };
        let json = write(&EncounterOut {
            id: id("b1", 1),
            booking: &b,
            version: None,
            patient: who("tove"),
            clinician: who("karin"),
            colleagues: vec![],
            started: Timestamp(1_800_000_120_000),
            ended: Some(Timestamp(1_800_001_500_000)),
        })
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["status"], "finished");
        assert_eq!(v["class"]["code"], "VR");
        assert_eq!(v["appointment"][0]["reference"], "Appointment/b1");
        assert_eq!(v["id"], "b1");
        assert_eq!(v["subject"]["reference"], "Patient/tove");
        assert_eq!(v["period"]["start"], "2027-01-15T08:02:00Z");
        assert_eq!(v["period"]["end"], "2027-01-15T08:25:00Z");
        let not_started = Booking {
            status: BookingStatus::Confirmed,
            ..b.clone()
        };
        assert!(
            write(&EncounterOut {
                id: id("b1", 2),
                booking: &not_started,
                version: None,
                patient: who("tove"),
                clinician: who("karin"),
                colleagues: vec![],
                started: Timestamp(0),
                ended: None,
            })
            .is_err()
        );
    }

    #[test]
    fn each_patient_has_an_encounter_id_of_their_own() {
        assert_eq!(id("b1", 1), "b1");
        assert_eq!(id("b1", 3), "b1.3");
        assert_eq!(parse_id("b1"), Some(("b1", 1)));
        assert_eq!(parse_id("b1.3"), Some(("b1", 3)));
        for bad in ["b1.1", "b1.0", "b1.03", "b1.x", "b1.", "b1.-2"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
