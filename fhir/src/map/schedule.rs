//! Schedule: a clinician's calendar in Tillit, with the visit types they
//! can be booked for; Slot: a time in it that is taken. Tillit keeps no
//! opening hours, so its Slots are the busy times its bookings make: an
//! EHR sees when a clinician is taken before it books. Read-only, and
//! without patient data (a busy Slot names no one).

use fhir_sdk::r4b::codes::SlotStatus;
use fhir_sdk::r4b::resources::{Schedule, Slot};
use fhir_sdk::r4b::types::{CodeableConcept, Coding};
use tillit_domain::{Person, PersonStatus, Timestamp};

use super::{built, instant, reference};
use crate::identifiers;
use crate::outcome::FhirError;
use crate::wire;

/// A visit type a clinician can be booked for.
#[derive(Debug, Clone, Copy)]
pub struct VisitTypeOut<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub minutes: u32,
}

/// A clinician's calendar: its id is the clinician's.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleOut<'a> {
    pub clinician: &'a Person,
    /// Whether their profile is published (bookable).
    pub published: bool,
    pub visit_types: &'a [VisitTypeOut<'a>],
}

/// The visit type as a `serviceType` an Appointment can name back.
fn service_type(t: &VisitTypeOut<'_>) -> Result<Option<CodeableConcept>, FhirError> {
    let coding = built(
        Coding::builder()
            .system(identifiers::VISIT_TYPE.to_owned())
            .code(t.id.to_owned())
            .display(t.title.to_owned())
            .build(),
    )?;
    built(
        CodeableConcept::builder()
            .coding(vec![Some(coding)])
            .text(format!("{} ({} min)", t.title, t.minutes))
            .build(),
    )
    .map(Some)
}

/// The Schedule resource, as JSON.
pub fn write_schedule(s: ScheduleOut<'_>) -> Result<String, FhirError> {
    let c = s.clinician;
    let types = s
        .visit_types
        .iter()
        .map(service_type)
        .collect::<Result<Vec<_>, _>>()?;
    let r = built(
        Schedule::builder()
            .id(c.id.as_str().to_owned())
            .active(s.published && c.status == PersonStatus::Active)
            .service_type(types)
            .actor(vec![Some(reference(
                "Practitioner",
                c.id.as_str(),
                Some(c.full_name()),
            )?)])
            .build(),
    )?;
    wire::write(&r)
}

/// A taken time in a clinician's Schedule.
#[derive(Debug, Clone, Copy)]
pub struct SlotOut<'a> {
    pub id: &'a str,
    /// The clinician's id (their Schedule's).
    pub schedule: &'a str,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// The Slot resource, as JSON: always `busy`.
pub fn write_slot(s: SlotOut<'_>) -> Result<String, FhirError> {
    let r = built(
        Slot::builder()
            .id(s.id.to_owned())
            .schedule(reference("Schedule", s.schedule, None)?)
            .status(SlotStatus::Busy)
            .start(instant(s.start)?)
            .end(instant(s.end)?)
            .build(),
    )?;
    wire::write(&r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_names_the_clinician_and_what_they_can_be_booked_for() {
        let karin = crate::map::test_clinician();
        let types = [VisitTypeOut {
            id: "vt1",
            title: "Uppföljning",
            minutes: 30,
        }];
        let v: serde_json::Value = serde_json::from_str(
            &write_schedule(ScheduleOut {
                clinician: &karin,
                published: true,
                visit_types: &types,
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["actor"][0]["reference"], "Practitioner/karin");
        assert_eq!(v["active"], true);
        assert_eq!(v["serviceType"][0]["coding"][0]["code"], "vt1");
        assert_eq!(
            v["serviceType"][0]["coding"][0]["system"],
            identifiers::VISIT_TYPE
        );
        let slot: serde_json::Value = serde_json::from_str(
            &write_slot(SlotOut {
                id: "b1",
                schedule: "karin",
                start: Timestamp(1_800_000_000_000),
                end: Timestamp(1_800_001_800_000),
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(slot["status"], "busy");
        assert_eq!(slot["schedule"]["reference"], "Schedule/karin");
        assert_eq!(slot["start"], "2027-01-15T08:00:00Z");
    }
}
