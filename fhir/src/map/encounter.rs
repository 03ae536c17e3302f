//! Encounter: a visit that has happened or is happening. One per patient
//! of a booking (one patient per booking today, so its id is the
//! booking's), class `VR` (virtual), pointing at its Appointment, with the
//! period from the visit's real start and end. Read-only: the kernel
//! starts and ends visits.

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
        .id(e.booking.id.clone())
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
        assert_eq!(v["subject"]["reference"], "Patient/tove");
        assert_eq!(v["period"]["start"], "2027-01-15T08:02:00Z");
        assert_eq!(v["period"]["end"], "2027-01-15T08:25:00Z");
        let not_started = Booking {
            status: BookingStatus::Confirmed,
            ..b.clone()
        };
        assert!(
            write(&EncounterOut {
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
}
