//! Schedule and Slot: an EHR sees each clinician's calendar (bookable or
//! not, for which visit types) and the times their bookings take, books
//! with what it read, and sees a cancelled booking's time freed. Nothing
//! in them names a patient.

use axum::http::StatusCode;
use serde_json::json;
use tillit_domain::Clock;

use super::{
    ALL_SCOPES, BASE, Ehr, appointment_json, ids, karin_bookable, new_personnummer, patient_json,
    token, validate_served,
};
use crate::support::{BACKENDS, HOUR, KARIN, TOVE, TestApp, person_id};

#[tokio::test]
async fn an_ehr_sees_when_a_clinician_is_taken_and_for_what_to_book_them() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let visit_type = karin_bookable(&app).await;
        let karin = person_id(&app, KARIN).await;
        let ehr = Ehr {
            app: &app,
            token: token(&app, ALL_SCOPES).await,
        };

        // Her calendar: bookable, for the visit type she published.
        let (status, s) = ehr.get(&format!("/Schedule/{}", karin.as_str())).await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {s}");
        assert_eq!(s["active"], true, "{s}");
        assert_eq!(
            s["actor"][0]["reference"],
            format!("Practitioner/{}", karin.as_str())
        );
        let coding = &s["serviceType"][0]["coding"][0];
        assert_eq!(
            coding["system"],
            "https://tillit.se/fhir/CodeSystem/visit-type"
        );
        assert_eq!(coding["code"], visit_type.as_str(), "{s}");
        let (_, found) = ehr
            .get(&format!("/Schedule?actor=Practitioner/{}", karin.as_str()))
            .await;
        assert_eq!(ids(&found), [karin.as_str()], "{found}");
        let tove = person_id(&app, TOVE).await;
        let (status, o) = ehr.get(&format!("/Schedule/{}", tove.as_str())).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a patient has no schedule: {o}"
        );

        // A visit booked in the portal takes its time.
        let start = app.clock.now().plus(26 * HOUR);
        crate::support::book_visit(&app, "p1", start, Vec::new()).await;
        let schedule = format!("Schedule/{}", karin.as_str());
        let (status, slots) = ehr
            .get(&format!("/Slot?schedule={schedule}&status=busy"))
            .await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {slots}");
        assert_eq!(ids(&slots), ["p1"], "{slots}");
        let slot = &slots["entry"][0]["resource"];
        assert_eq!(slot["status"], "busy");
        assert_eq!(slot["schedule"]["reference"], schedule.as_str());
        let starts = slot["start"].as_str().unwrap().to_owned();
        let at = starts.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        assert_eq!(at, start.0, "{slot}");
        let end = slot["end"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap();
        assert_eq!(end.as_millisecond() - at, 15 * 60_000, "{slot}");
        assert!(
            !slot.to_string().contains("Patient"),
            "a Slot names no patient: {slot}"
        );
        let (_, free) = ehr
            .get(&format!("/Slot?schedule={schedule}&status=free"))
            .await;
        assert_eq!(free["total"], 0, "Tillit keeps no free slots: {free}");
        let later = jiff::Timestamp::from_millisecond(start.0 + 1)
            .unwrap()
            .to_string();
        let (_, after) = ehr
            .get(&format!("/Slot?start=ge{}", later.replace('+', "%2B")))
            .await;
        assert_eq!(after["total"], 0, "{after}");
        let (status, read) = ehr.get("/Slot/p1").await;
        assert_eq!((status, &read["id"]), (StatusCode::OK, &json!("p1")));

        // The EHR books with what the Schedule named; the taken time is
        // refused with the slot named.
        let pnr = new_personnummer("19880808", "123");
        let (status, p, _) = ehr.post("/Patient", patient_json(&pnr), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let patient = p["id"].as_str().unwrap();
        let code = coding["code"].as_str().unwrap();
        let (status, o, _) = ehr
            .post(
                "/Appointment",
                appointment_json(patient, karin.as_str(), code, &starts),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}: {o}");
        let an_hour_later = jiff::Timestamp::from_millisecond(start.0 + 3_600_000)
            .unwrap()
            .to_string();
        let (status, a, _) = ehr
            .post(
                "/Appointment",
                appointment_json(patient, karin.as_str(), code, &an_hour_later),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?}: {a}");
        let (_, slots) = ehr.get(&format!("/Slot?schedule={schedule}")).await;
        assert_eq!(slots["total"], 2, "{slots}");

        // Cancelled in the portal: the time is free again.
        let mut b = app.browser("demo.localhost");
        b.login(TOVE).await;
        let page = b.post("/bookings/p1/cancel", &[("confirmed", "1")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let (_, slots) = ehr.get(&format!("/Slot?schedule={schedule}")).await;
        assert_eq!(ids(&slots), [a["id"].as_str().unwrap()], "{slots}");
        let (status, o) = ehr.get("/Slot/p1").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{o}");
        assert!(
            slots["link"][0]["url"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{BASE}/Slot")),
            "{slots}"
        );
    }
    validate_served();
}
