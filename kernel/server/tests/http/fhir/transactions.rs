//! Transactions: an EHR registers a patient and books their visit in one
//! Bundle, the visit naming the patient by `urn:uuid:`; all or nothing, so
//! a visit that cannot be booked leaves no patient behind and sends no SMS.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tillit_domain::TenantId;

use super::{
    ALL_SCOPES, BASE, Ehr, appointment_json, karin_bookable, new_personnummer, patient_json, token,
    tomorrow_at, validate_served,
};
use crate::support::{BACKENDS, KARIN, TestApp, person_id};

/// A transaction of `entries`, each (fullUrl, method url, resource).
fn transaction(entries: &[(&str, &str, Value)]) -> Value {
    let entry: Vec<Value> = entries
        .iter()
        .map(|(full_url, request, resource)| {
            let (method, url) = request.split_once(' ').unwrap();
            json!({
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": method, "url": url}
            })
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entry})
}

#[tokio::test]
async fn a_patient_and_their_visit_are_made_together_or_not_at_all() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let visit_type = karin_bookable(&app).await;
        let karin = person_id(&app, KARIN).await;
        let ehr = Ehr {
            app: &app,
            token: token(&app, ALL_SCOPES).await,
        };
        let store = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let ten = tomorrow_at(&app, "10:00");
        let visit = |patient: &str, start: &str| {
            let mut a = appointment_json(patient, karin.as_str(), &visit_type, start);
            a["participant"][0]["actor"]["reference"] = json!(patient);
            a.as_object_mut().unwrap().remove("identifier");
            a
        };

        // Both made: the visit names the new patient, who gets the SMS.
        let pnr = new_personnummer("19930404", "246");
        let bundle = transaction(&[
            (
                "urn:uuid:7f6c1c70-0000-4000-8000-000000000001",
                "POST Patient",
                patient_json(&pnr),
            ),
            (
                "urn:uuid:7f6c1c70-0000-4000-8000-000000000002",
                "POST Appointment",
                visit("urn:uuid:7f6c1c70-0000-4000-8000-000000000001", &ten),
            ),
        ]);
        // At the base as clients write it too, with a slash.
        let (status, r, _) = ehr.post("/", bundle, &[]).await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {r}");
        assert_eq!(r["type"], "transaction-response", "{r}");
        let patient = r["entry"][0]["resource"]["id"].as_str().unwrap().to_owned();
        assert_eq!(r["entry"][0]["response"]["status"], "201 Created");
        assert_eq!(
            r["entry"][0]["response"]["location"],
            format!("Patient/{patient}/_history/1")
        );
        assert_eq!(
            r["entry"][0]["fullUrl"],
            format!("{BASE}/Patient/{patient}")
        );
        let a = &r["entry"][1]["resource"];
        assert_eq!(r["entry"][1]["response"]["status"], "201 Created");
        assert_eq!(
            a["participant"][0]["actor"]["reference"],
            format!("Patient/{patient}"),
            "{a}"
        );
        let id = a["id"].as_str().unwrap();
        let sent = store.notifications_of_booking(id).await.unwrap();
        assert_eq!(
            sent.iter().filter(|n| n.kind.as_str() == "invited").count(),
            1
        );

        // The visit's time is taken now: a second transaction with a new
        // patient fails on the visit, and leaves no patient behind.
        let other = new_personnummer("19940505", "245");
        let find = format!(
            "/Patient?identifier=http://electronichealth.se/identifier/personnummer|{other}"
        );
        let bundle = transaction(&[
            ("urn:uuid:p", "POST Patient", patient_json(&other)),
            ("urn:uuid:a", "POST Appointment", visit("urn:uuid:p", &ten)),
        ]);
        let (status, o, _) = ehr.post("", bundle, &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}: {o}");
        let at = o["issue"][0]["expression"][0].as_str().unwrap_or_default();
        assert!(at.starts_with("Bundle.entry[1]"), "the entry is named: {o}");
        let (_, found) = ehr.get(&find).await;
        assert_eq!(
            found["total"], 0,
            "{backend:?}: the patient was taken back: {found}"
        );

        // A visit naming a patient the Bundle does not hold: the same.
        let bundle = transaction(&[
            ("urn:uuid:p", "POST Patient", patient_json(&other)),
            (
                "urn:uuid:a",
                "POST Appointment",
                visit("urn:uuid:nobody", &tomorrow_at(&app, "13:00")),
            ),
        ]);
        let (status, o, _) = ehr.post("", bundle, &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
        assert!(o.to_string().contains("urn:uuid:nobody"), "{o}");
        let (_, found) = ehr.get(&find).await;
        assert_eq!(found["total"], 0, "{found}");

        // What a transaction does not do is refused before anything is.
        let two = transaction(&[
            (
                "urn:uuid:a",
                "POST Appointment",
                visit(&format!("Patient/{patient}"), &tomorrow_at(&app, "14:00")),
            ),
            (
                "urn:uuid:b",
                "POST Appointment",
                visit(&format!("Patient/{patient}"), &tomorrow_at(&app, "15:00")),
            ),
        ]);
        let (status, o, _) = ehr.post("", two, &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
        let delete = transaction(&[(
            "urn:uuid:x",
            "DELETE Patient/1",
            json!({"resourceType": "Patient"}),
        )]);
        let (status, o, _) = ehr.post("", delete, &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
        assert_eq!(
            o["issue"][0]["expression"][0], "Bundle.entry[0].request",
            "{o}"
        );
        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": []});
        let (status, o, _) = ehr.post("", batch, &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
        let (status, o, _) = ehr
            .post("", json!({"resourceType": "Bundle", "typo": 1}), &[])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{o}");
        let (status, o) = ehr.get("/").await;
        assert_eq!(
            (status, &o["resourceType"]),
            (StatusCode::NOT_FOUND, &json!("OperationOutcome")),
            "the base answers in FHIR: {o}"
        );
        let bookings = store
            .bookings_of(&karin, tillit_domain::Timestamp(0))
            .await
            .unwrap();
        assert_eq!(
            bookings.len(),
            1,
            "{backend:?}: only the first visit was booked"
        );
    }
    validate_served();
}

/// A group visit for two new patients in one transaction: both registered,
/// the visit names both by `urn:uuid:`, and each gets their invitation.
#[tokio::test]
async fn two_new_patients_and_their_group_visit_are_made_together() {
    let app = TestApp::new(crate::support::Backend::Sqlite).await;
    karin_bookable(&app).await;
    let mut karin_b = app.browser("demo.localhost");
    karin_b.login(KARIN).await;
    let group_type = crate::support::add_group_visit_type(&app, &mut karin_b).await;
    let karin = person_id(&app, KARIN).await;
    let ehr = Ehr {
        app: &app,
        token: token(&app, ALL_SCOPES).await,
    };
    let (first, second) = (
        "urn:uuid:7f6c1c70-0000-4000-8000-000000000011",
        "urn:uuid:7f6c1c70-0000-4000-8000-000000000012",
    );
    let mut a = appointment_json(
        first,
        karin.as_str(),
        &group_type,
        &tomorrow_at(&app, "15:00"),
    );
    a["minutesDuration"] = json!(60);
    a["participant"] = json!([
        {"actor": {"reference": first}, "status": "needs-action"},
        {"actor": {"reference": second}, "status": "needs-action"},
        {"actor": {"reference": format!("Practitioner/{karin}")}, "status": "accepted"}
    ]);
    let bundle = transaction(&[
        (
            first,
            "POST Patient",
            patient_json(&new_personnummer("19930404", "257")),
        ),
        (
            second,
            "POST Patient",
            patient_json(&new_personnummer("19940505", "268")),
        ),
        (
            "urn:uuid:7f6c1c70-0000-4000-8000-000000000013",
            "POST Appointment",
            a,
        ),
    ]);
    let (status, r, _) = ehr.post("/", bundle, &[]).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let ids: Vec<String> = (0..2)
        .map(|n| r["entry"][n]["resource"]["id"].as_str().unwrap().to_owned())
        .collect();
    let appointment = &r["entry"][2]["resource"];
    let named: Vec<&str> = appointment["participant"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["actor"]["reference"].as_str())
        .filter(|r| r.starts_with("Patient/"))
        .collect();
    assert_eq!(
        named,
        vec![format!("Patient/{}", ids[0]), format!("Patient/{}", ids[1])],
        "{r}"
    );
    let store = app.state.store.tenant(TenantId::parse("demo").unwrap());
    let booking = appointment["id"].as_str().unwrap();
    let sent = store.notifications_of_booking(booking).await.unwrap();
    for id in &ids {
        assert!(
            sent.iter().any(|n| n.person.as_str() == id),
            "no invitation to {id}: {sent:?}"
        );
    }
    validate_served();
}
