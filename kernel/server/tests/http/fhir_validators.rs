//! The FHIR validators harness (`support::fhir_validators`) can fail as well
//! as pass: a correct R4 Appointment, with the R5 virtual-service
//! cross-version extension the server emits, passes all three validators,
//! and each known fault is caught by the validators that check for it. If a
//! validator were missing, misconfigured or silently skipped, the FHIR API
//! tests that rely on it would pass on resources it should have refused.

use serde_json::{Value, json};

use crate::support::fhir_validators::{VALIDATORS, assert_valid, errors};

/// A booked video visit as the FHIR API returns it. Appointment.virtualService
/// is R5; in R4 it is the cross-version extension of package
/// hl7.fhir.uv.xver-r5.r4 0.1.0, whose definition requires the
/// `_datatype` sub-extension naming the R5 type and has one sub-extension
/// per element of VirtualServiceDetail, its url the element's name.
fn booked_video_visit() -> Value {
    json!({
        "resourceType": "Appointment",
        "id": "a1",
        "extension": [{
            "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService",
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/_datatype",
                    "valueString": "VirtualServiceDetail"
                },
                {
                    "url": "channelType",
                    "valueCoding": {
                        "system": "urn:tillit:virtual-service-type",
                        "code": "tillit-video",
                        "display": "Tillit video visit"
                    }
                },
                { "url": "address", "valueUrl": "https://demo.localhost/visits/a1" }
            ]
        }],
        "status": "booked",
        "start": "2027-01-15T09:00:00Z",
        "end": "2027-01-15T09:30:00Z",
        "participant": [{
            "actor": { "reference": "Patient/x" },
            "status": "accepted"
        }]
    })
}

/// The visit with one change made to its JSON.
fn changed(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut visit = booked_video_visit();
    change(visit.as_object_mut().unwrap());
    visit
}

#[test]
fn a_correct_appointment_passes_all_three_validators() {
    assert_valid(&[booked_video_visit()]);
}

#[test]
fn each_known_fault_is_caught_by_the_validators_that_check_for_it() {
    // (fault, resource, the validators that must report it, a text each of
    // their messages about it contains)
    let faults: Vec<(&str, Value, &[&str], &str)> = vec![
        (
            "a status outside the required value set",
            changed(|v| {
                v.insert("status".into(), json!("confirmed"));
            }),
            &["fhir.js"],
            "status",
        ),
        (
            "a required element missing",
            changed(|v| {
                v.remove("participant");
            }),
            &["fhir.resources", "medplum", "fhir.js"],
            "participant",
        ),
        (
            "booked without start or end (invariant app-3)",
            changed(|v| {
                v.remove("start");
                v.remove("end");
            }),
            &["medplum"],
            "app-3",
        ),
        (
            "an element R4 does not have",
            changed(|v| {
                v.insert(
                    "virtualService".into(),
                    json!([{ "addressUrl": "https://demo.localhost/visits/a1" }]),
                );
            }),
            &["fhir.resources", "medplum"],
            "virtualService",
        ),
        (
            "a dateTime that is not one",
            changed(|v| {
                v.insert("created".into(), json!("2027-13-45T25:00:00Z"));
            }),
            &["fhir.resources", "medplum"],
            "created",
        ),
        (
            "an invariant broken inside a search Bundle's entry",
            json!({
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{
                    "fullUrl": "https://demo.localhost/fhir/Appointment/a1",
                    "resource": changed(|v| {
                        v.remove("start");
                        v.remove("end");
                    }),
                    "search": { "mode": "match" }
                }]
            }),
            &["medplum"],
            "Bundle.entry[0].resource: Constraint app-3",
        ),
    ];
    let mut resources = vec![booked_video_visit()];
    resources.extend(faults.iter().map(|(_, resource, _, _)| resource.clone()));

    let found = errors(&resources);

    assert_eq!(found.len(), resources.len() * VALIDATORS.len());
    for (index, validator, messages) in &found {
        if *index == 0 {
            assert!(
                messages.is_empty(),
                "{validator} refused the correct visit: {messages:?}"
            );
            continue;
        }
        let (fault, _, caught_by, needle) = &faults[index - 1];
        if caught_by.contains(validator) {
            assert!(
                messages.iter().any(|m| m.contains(needle)),
                "{validator} did not report {fault} (expected a message with {needle:?}): {messages:?}"
            );
        }
    }
}

#[test]
fn a_refusal_names_the_validator_the_error_and_the_resource() {
    let bad = changed(|v| {
        v.insert("status".into(), json!("confirmed"));
    });
    let refusal = std::panic::catch_unwind(|| assert_valid(&[booked_video_visit(), bad]))
        .expect_err("a visit with an unknown status passed");
    let message = refusal
        .downcast_ref::<String>()
        .expect("the refusal is a formatted message");
    assert!(
        message.contains("1 of 2 FHIR resources are not valid R4"),
        "{message}"
    );
    assert!(
        message.contains("resource #1 (Appointment/a1)"),
        "{message}"
    );
    assert!(
        message.contains("fhir.js:\n    - Appointment.status [a1]: Code \"confirmed\" not found"),
        "{message}"
    );
    assert!(message.contains("\"status\": \"confirmed\""), "{message}");
}
