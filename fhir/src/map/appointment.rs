//! Appointment: a booking. Written with its participants and statuses (the
//! table in [`super::status`]) and the visit's link; read from an EHR as
//! the command to book a visit, or to change one.
//!
//! The link is the visit page on the tenant's host, carried in R4 as the
//! R5 cross-version extension `virtualService` in the form its published
//! definition gives (`_datatype` `VirtualServiceDetail`, `channelType`,
//! `address` as a `valueUrl`). It is the same link every
//! participant gets by SMS: it holds no secret, a person still logs in.

use fhir_sdk::r4b::codes::{AppointmentStatus, ParticipationStatus};
use fhir_sdk::r4b::resources::{Appointment, AppointmentParticipant};
use fhir_sdk::r4b::types::{CodeableConcept, Coding, Extension, ExtensionValue, Identifier};
use tillit_domain::Timestamp;
use tillit_domain::booking::{Booking, BookingStatus};

use super::status::to_fhir;
use super::{Target, Version, built, instant, meta, reference, reference_type, target, timestamp};
use crate::identifiers;
use crate::outcome::FhirError;
use crate::wire;

/// The R5 element `Appointment.virtualService`, as an R4 extension.
pub const VIRTUAL_SERVICE: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService";
/// The kind of virtual service: Tillit's own video visits.
pub const CHANNEL_TYPE_SYSTEM: &str = "https://tillit.se/fhir/CodeSystem/virtual-service-type";
/// Names the R5 datatype a cross-version extension carries, as the
/// `hl7.fhir.uv.xver-r5.r4` definition requires.
const DATATYPE: &str = "http://hl7.org/fhir/StructureDefinition/_datatype";

/// Someone taking part, as the Appointment names them.
#[derive(Debug, Clone)]
pub struct Participant {
    pub id: String,
    pub display: String,
}

/// A booking as Tillit holds it, with what its Appointment shows.
#[derive(Debug, Clone)]
pub struct AppointmentOut<'a> {
    pub booking: &'a Booking,
    /// `None` until versions are kept: no `meta` is written.
    pub version: Option<Version>,
    /// When it was booked, if known.
    pub created: Option<Timestamp>,
    /// The patients, each with the visit as they see it: a group visit's
    /// patients answer for themselves (`tillit_domain::group::seen_by`),
    /// which their participant status shows.
    pub patients: Vec<(Participant, BookingStatus)>,
    pub clinician: Participant,
    /// Colleagues invited besides the clinician.
    pub colleagues: Vec<Participant>,
    /// The EHR's own ids of the booking, by system.
    pub external_ids: &'a [(String, String)],
    /// The visit page on the tenant's host.
    pub visit_url: &'a str,
    /// The patient is in the room before the visit has started.
    pub patient_waiting: bool,
}

fn virtual_service(url: &str) -> Result<Extension, FhirError> {
    let channel = built(
        Coding::builder()
            .system(CHANNEL_TYPE_SYSTEM.to_owned())
            .code("tillit-video".to_owned())
            .display("Tillit video visit".to_owned())
            .build(),
    )?;
    let sub = |name: &str, value: ExtensionValue| {
        built(
            Extension::builder()
                .url(name.to_owned())
                .value(value)
                .build(),
        )
    };
    built(
        Extension::builder()
            .url(VIRTUAL_SERVICE.to_owned())
            .extension(vec![
                sub(
                    DATATYPE,
                    ExtensionValue::String("VirtualServiceDetail".to_owned()),
                )?,
                sub("channelType", ExtensionValue::Coding(channel))?,
                sub("address", ExtensionValue::Url(url.to_owned()))?,
            ])
            .build(),
    )
}

/// The Appointment resource, as JSON.
pub fn write(a: &AppointmentOut<'_>) -> Result<String, FhirError> {
    let b = a.booking;
    let status = to_fhir(b.status, a.patient_waiting);
    let participant = |resource_type: &str, p: &Participant, s: ParticipationStatus| {
        built(
            AppointmentParticipant::builder()
                .actor(reference(resource_type, &p.id, Some(p.display.clone()))?)
                .status(s)
                .build(),
        )
    };
    let mut participants = Vec::with_capacity(a.patients.len() + 1 + a.colleagues.len());
    for (p, seen) in &a.patients {
        let own = if a.patients.len() == 1 {
            status.patient
        } else {
            to_fhir(*seen, false).patient
        };
        participants.push(Some(participant("Patient", p, own)?));
    }
    participants.push(Some(participant(
        "Practitioner",
        &a.clinician,
        ParticipationStatus::Accepted,
    )?));
    for c in &a.colleagues {
        participants.push(Some(participant(
            "Practitioner",
            c,
            ParticipationStatus::Accepted,
        )?));
    }
    let identifiers = a
        .external_ids
        .iter()
        .map(|(system, value)| {
            built(
                Identifier::builder()
                    .system(system.clone())
                    .value(value.clone())
                    .build(),
            )
            .map(Some)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let service_type = built(
        CodeableConcept::builder()
            .coding(vec![Some(built(
                Coding::builder()
                    .system(identifiers::VISIT_TYPE.to_owned())
                    .code(b.visit_type_id.clone())
                    .display(b.title.clone())
                    .build(),
            )?)])
            .text(b.title.clone())
            .build(),
    )?;
    let minutes = std::num::NonZeroU32::new(b.minutes);
    let mut builder = Appointment::builder()
        .id(b.id.clone())
        .extension(vec![virtual_service(a.visit_url)?])
        .identifier(identifiers)
        .status(status.appointment)
        .service_type(vec![Some(service_type)])
        .description(b.title.clone())
        .start(instant(b.starts_at)?)
        .end(instant(b.ends_at())?)
        .participant(participants);
    if let Some(v) = a.version {
        builder = builder.meta(meta(v)?);
    }
    if let Some(c) = a.created {
        builder = builder.created(fhir_sdk::DateTime::DateTime(instant(c)?));
    }
    if let Some(m) = minutes {
        builder = builder.minutes_duration(m);
    }
    if !b.message.is_empty() {
        builder = builder.patient_instruction(b.message.clone());
    }
    if status.appointment == AppointmentStatus::Cancelled {
        builder = builder.cancelation_reason(built(
            CodeableConcept::builder()
                .text("Cancelled in Tillit".to_owned())
                .build(),
        )?);
    }
    wire::write(&built(builder.build())?)
}

/// An Appointment an EHR sends: the command to book a visit, or the
/// booking as the EHR wants it now (for an update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentIn {
    /// The resource's id, as an update must name it.
    pub id: Option<String>,
    /// The status code sent (`booked`, `pending`, …).
    pub status: String,
    /// The EHR's own ids, by system (`identifier` with both parts).
    pub external_ids: Vec<(String, String)>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub minutes: Option<u32>,
    /// The Patient participants.
    pub patients: Vec<Target>,
    /// The Practitioner participants; the first is responsible.
    pub practitioners: Vec<Target>,
    /// A Tillit visit type, from `serviceType`.
    pub visit_type: Option<String>,
    /// The message to the patient.
    pub patient_instruction: Option<String>,
}

/// Reads an Appointment sent by an EHR. Malformed: 400, with the path.
pub fn read(body: &[u8]) -> Result<AppointmentIn, FhirError> {
    let a: Appointment = wire::parse(body, "Appointment")?;
    from_model(&a)
}

fn from_model(a: &Appointment) -> Result<AppointmentIn, FhirError> {
    let mut patients = Vec::new();
    let mut practitioners = Vec::new();
    for (n, p) in a.participant.iter().flatten().enumerate() {
        let Some(actor) = &p.actor else { continue };
        let path = format!("Appointment.participant[{n}].actor");
        // `urn:uuid:` names an entry of the same transaction; the only
        // resources a transaction creates before its visit are Patients.
        let placeholder = actor
            .reference
            .as_deref()
            .is_some_and(|r| r.starts_with("urn:uuid:"));
        let kind = match reference_type(actor) {
            None if placeholder => Some("Patient"),
            other => other,
        };
        match kind {
            Some("Patient") => {
                if let Some(t) = target(actor, "Patient", &path)? {
                    patients.push(t);
                }
            }
            Some("Practitioner") => {
                if let Some(t) = target(actor, "Practitioner", &path)? {
                    practitioners.push(t);
                }
            }
            Some(
                other @ ("Location" | "HealthcareService" | "Device" | "RelatedPerson"
                | "PractitionerRole"),
            ) => {
                return Err(FhirError::rule(
                    path,
                    format!("A {other} cannot take part in a Tillit video visit."),
                ));
            }
            _ => {
                return Err(FhirError::rule(
                    path,
                    "A participant must reference a Patient or a Practitioner.",
                ));
            }
        }
    }
    let external_ids = a
        .identifier
        .iter()
        .flatten()
        .filter_map(|i| Some((i.system.clone()?, i.value.clone()?)))
        .collect();
    let visit_type = a
        .service_type
        .iter()
        .flatten()
        .flat_map(|c| c.coding.iter().flatten())
        .find(|c| c.system.as_deref() == Some(identifiers::VISIT_TYPE))
        .and_then(|c| c.code.clone());
    Ok(AppointmentIn {
        id: a.id.clone(),
        status: super::status::code(a.status),
        external_ids,
        start: a.start.as_ref().map(timestamp),
        end: a.end.as_ref().map(timestamp),
        minutes: a.minutes_duration.map(std::num::NonZeroU32::get),
        patients,
        practitioners,
        visit_type,
        patient_instruction: a.patient_instruction.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appointment_is_written_with_its_link_and_read_back() {
        let b = super::super::test_booking(BookingStatus::Confirmed);
        let ids = [("urn:oid:1.2.3".to_owned(), "X-1".to_owned())];
        let out = AppointmentOut {
            booking: &b,
            version: Some(Version {
                number: 2,
                last_updated: Timestamp(1_799_000_000_000),
            }),
            created: Some(Timestamp(1_799_000_000_000)),
            patients: vec![(
                Participant {
                    id: "tove".into(),
                    display: "Tove Toll".into(),
                },
                BookingStatus::Confirmed,
            )],
            clinician: Participant {
                id: "karin".into(),
                display: "Karin Lindblad".into(),
            },
            colleagues: vec![],
            external_ids: &ids,
            visit_url: "https://demo.example.se/visits/b1",
            patient_waiting: false,
        };
        let json = write(&out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["status"], "booked");
        assert_eq!(v["meta"]["versionId"], "2");
        assert_eq!(v["start"], "2027-01-15T08:00:00Z");
        assert_eq!(v["end"], "2027-01-15T08:30:00Z");
        assert_eq!(v["extension"][0]["url"], VIRTUAL_SERVICE);
        assert_eq!(
            v["extension"][0]["extension"][2]["valueUrl"],
            "https://demo.example.se/visits/b1"
        );
        assert_eq!(v["participant"][0]["actor"]["reference"], "Patient/tove");
        let back = read(json.as_bytes()).unwrap();
        assert_eq!(back.patients, vec![Target::Id("tove".into())]);
        assert_eq!(back.practitioners, vec![Target::Id("karin".into())]);
        assert_eq!(back.start, Some(b.starts_at));
        assert_eq!(back.visit_type.as_deref(), Some("vt1"));
        assert_eq!(back.external_ids, ids.to_vec());
    }

    #[test]
    fn each_patient_of_a_group_visit_has_their_own_participant_status() {
        let b = super::super::test_booking(BookingStatus::Confirmed);
        let who = |id: &str| Participant {
            id: id.into(),
            display: id.into(),
        };
        let json = write(&AppointmentOut {
            booking: &b,
            version: None,
            created: None,
            patients: vec![
                (who("tove"), BookingStatus::Confirmed),
                (who("sami"), BookingStatus::Unconfirmed),
                (who("ada"), BookingStatus::Cancelled),
            ],
            clinician: who("karin"),
            colleagues: vec![],
            external_ids: &[],
            visit_url: "https://demo.example.se/visits/b1",
            patient_waiting: false,
        })
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["status"], "booked");
        let p = &v["participant"];
        assert_eq!(p[0]["actor"]["reference"], "Patient/tove");
        assert_eq!(p[0]["status"], "accepted");
        assert_eq!(p[1]["actor"]["reference"], "Patient/sami");
        assert_eq!(p[1]["status"], "needs-action");
        assert_eq!(p[2]["actor"]["reference"], "Patient/ada");
        assert_eq!(p[2]["status"], "declined");
        assert_eq!(p[3]["actor"]["reference"], "Practitioner/karin");
    }

    #[test]
    fn a_practitioner_may_be_named_by_hsa_id_and_a_location_is_refused() {
        let a = read(br#"{"resourceType":"Appointment","status":"booked",
            "start":"2027-01-15T09:00:00+01:00","minutesDuration":20,
            "participant":[
              {"actor":{"reference":"Patient/p1"},"status":"accepted"},
              {"actor":{"type":"Practitioner","identifier":{"system":"urn:oid:1.2.752.29.4.19","value":"SE2321000016-1234"}},"status":"accepted"}]}"#).unwrap();
        // 09:00 in Stockholm in winter is 08:00 UTC.
        assert_eq!(a.start, Some(Timestamp(1_800_000_000_000)));
        assert_eq!(
            a.practitioners,
            vec![Target::Identifier {
                system: identifiers::HSA_ID.into(),
                value: "SE2321000016-1234".into()
            }]
        );
        let e = read(
            br#"{"resourceType":"Appointment","status":"booked",
            "participant":[{"actor":{"reference":"Location/l1"},"status":"accepted"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.status(), 422);
        assert!(e.outcome_json().contains("participant[0].actor"), "{e}");
        let e = read(br#"{"resourceType":"Appointment","status":"sideways","participant":[]}"#)
            .unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.outcome_json().contains("Appointment.status"), "{e}");
    }
}
