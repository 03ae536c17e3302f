//! Clinicians by HSA-id: the national directory's identity, which journal
//! systems use for staff. A Practitioner carries it, is found by it in
//! either spelling of its system, and an Appointment may name its
//! clinician by it alone.

use axum::http::StatusCode;
use serde_json::json;

use super::{
    ALL_SCOPES, Ehr, appointment_json, ids, karin_bookable, new_personnummer, patient_json, token,
    tomorrow_at, validate_served,
};
use crate::support::{BACKENDS, KARIN, TestApp, person_id};

/// Karin's HSA-id in `tenants/demo.toml`.
const KARIN_HSA: &str = "SE2321000016-D001";
const HSA: &str = "urn:oid:1.2.752.29.4.19";

#[tokio::test]
async fn an_ehr_finds_and_books_a_clinician_by_hsa_id() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let visit_type = karin_bookable(&app).await;
        let karin = person_id(&app, KARIN).await;
        let ehr = Ehr {
            app: &app,
            token: token(&app, ALL_SCOPES).await,
        };

        // Her Practitioner names her by HSA-id and by Tillit's id.
        let (status, p) = ehr.get(&format!("/Practitioner/{}", karin.as_str())).await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {p}");
        let identifiers = p["identifier"].as_array().unwrap();
        assert!(
            identifiers
                .iter()
                .any(|i| i["system"] == HSA && i["value"] == KARIN_HSA),
            "{p}"
        );

        // Found by it: SE Base's system, Inera's, the older profile's, in
        // any case, or with no system at all; nobody by another's.
        for query in [
            format!("identifier={HSA}|{KARIN_HSA}"),
            format!("identifier=urn:oid:1.2.752.129.2.1.4.1|{KARIN_HSA}"),
            format!(
                "identifier=urn:oid:1.2.752.29.6.2.1|{}",
                KARIN_HSA.to_lowercase()
            ),
            format!("identifier={KARIN_HSA}"),
            format!("identifier={KARIN_HSA}&name=lindblad"),
        ] {
            let (status, b) = ehr.get(&format!("/Practitioner?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {b}");
            assert_eq!(ids(&b), [karin.as_str()], "{query}: {b}");
        }
        for query in [
            format!("identifier={HSA}|SE2321000016-D999"),
            format!("identifier={HSA}|not-an-hsa-id"),
            format!("identifier=http://example.org/staff|{KARIN_HSA}"),
            format!("identifier={HSA}|{}", karin.as_str()),
        ] {
            let (status, b) = ehr.get(&format!("/Practitioner?{query}")).await;
            assert_eq!(
                (status, &b["total"]),
                (StatusCode::OK, &json!(0)),
                "{query}: {b}"
            );
        }

        // An Appointment naming her by HSA-id alone is booked with her.
        let pnr = new_personnummer("19900101", "238");
        let (status, patient, _) = ehr.post("/Patient", patient_json(&pnr), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{patient}");
        let patient = patient["id"].as_str().unwrap();
        let by_hsa = |hsa: &str, start: &str| {
            let mut a = appointment_json(patient, karin.as_str(), &visit_type, start);
            a["participant"][1]["actor"] = json!({
                "type": "Practitioner",
                "identifier": {"system": "urn:oid:1.2.752.129.2.1.4.1", "value": hsa}
            });
            a
        };
        let start = tomorrow_at(&app, "10:00");
        let (status, a, _) = ehr
            .post(
                "/Appointment",
                by_hsa(&KARIN_HSA.to_lowercase(), &start),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?}: {a}");
        let clinician = format!("Practitioner/{}", karin.as_str());
        assert_eq!(
            a["participant"][1]["actor"]["reference"],
            clinician.as_str(),
            "{a}"
        );
        let mut mine = app.browser("demo.localhost");
        mine.login(KARIN).await;
        let list = mine.get("/bookings").await;
        assert!(list.body.contains("Journalsson"), "on her list");

        // Someone else's HSA-id, or no HSA-id at all: refused, naming the
        // participant, and nothing is booked.
        let later = tomorrow_at(&app, "11:00");
        for hsa in ["SE2321000016-D999", "Karin"] {
            let (status, o, _) = ehr.post("/Appointment", by_hsa(hsa, &later), &[]).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{hsa}: {o}");
            assert_eq!(o["resourceType"], "OperationOutcome");
            assert!(
                o["issue"][0]["diagnostics"]
                    .as_str()
                    .unwrap()
                    .contains("HSA-id"),
                "{o}"
            );
        }
        let (_, all) = ehr
            .get(&format!("/Appointment?patient=Patient/{patient}"))
            .await;
        assert_eq!(all["total"], 1, "{all}");
    }
    validate_served();
}
