//! Versions over FHIR: every change of a booking or a patient, through any
//! door, is a numbered version the journal system can read back as it was
//! (`vread`, `_history`, `_lastUpdated`), and an update that names a
//! version no longer current (`If-Match`) is refused and changes nothing.

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use tillit_domain::{Clock, Personnummer, TenantId};

use super::{
    ALL_SCOPES, BASE, CLIENT, Ehr, HOST, appointment_json, fhir, karin_bookable, new_personnummer,
    patient_json, token, tomorrow_at, validate_served,
};
use crate::support::{BACKENDS, KARIN, MINUTE, TestApp, person_id};

/// The `ETag` and `meta.versionId` of an answer, which must agree.
fn version_of(headers: &axum::http::HeaderMap, v: &Value) -> String {
    let etag = headers
        .get(header::ETAG)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let id = v["meta"]["versionId"].as_str().unwrap_or_default();
    assert_eq!(etag, format!("W/\"{id}\""), "{v}");
    assert!(headers.get(header::LAST_MODIFIED).is_some(), "{v}");
    id.to_owned()
}

/// The versions a history Bundle lists, in order, as (versionId, method).
fn listed(bundle: &Value) -> Vec<(String, String)> {
    bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["resource"]["meta"]["versionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["request"]["method"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_change_is_a_version_read_back_as_it_was_and_updates_check_it() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let visit_type = karin_bookable(&app).await;
        let karin = person_id(&app, KARIN).await;
        let t = token(&app, ALL_SCOPES).await;
        let ehr = Ehr {
            app: &app,
            token: t.clone(),
        };
        let pnr = new_personnummer("19920303", "247");
        let (status, p, headers) = ehr.post("/Patient", patient_json(&pnr), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?}: {p}");
        assert_eq!(version_of(&headers, &p), "1");
        let patient = p["id"].as_str().unwrap().to_owned();

        // Booked (version 1), then moved an hour later a minute on (2).
        let ten = tomorrow_at(&app, "10:00");
        let body = appointment_json(&patient, karin.as_str(), &visit_type, &ten);
        let (status, a, headers) = ehr.post("/Appointment", body, &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?}: {a}");
        assert_eq!(version_of(&headers, &a), "1");
        let id = a["id"].as_str().unwrap().to_owned();
        let path = format!("/Appointment/{id}");
        app.clock.advance(MINUTE);
        let eleven = tomorrow_at(&app, "11:00");
        let patch =
            |field: &str, value: &str| json!([{"op": "replace", "path": field, "value": value}]);
        let as_patch = ("content-type", "application/json-patch+json");
        let (status, moved, headers) = fhir(
            &app,
            &t,
            "PATCH",
            &path,
            Some(patch("/start", &eleven)),
            &[as_patch, ("if-match", "W/\"1\"")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {moved}");
        assert_eq!(version_of(&headers, &moved), "2");
        let moved_at = app.clock.now();

        // A change made against version 1 now is refused, and changes
        // nothing: not the booking, not the patient's messages.
        app.clock.advance(MINUTE);
        let store = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let messages = store.notifications_of_booking(&id).await.unwrap().len();
        let (status, o, _) = fhir(
            &app,
            &t,
            "PATCH",
            &path,
            Some(patch("/status", "cancelled")),
            &[as_patch, ("if-match", "W/\"1\"")],
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{backend:?}: {o}");
        assert!(
            o["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("version 2"),
            "{o}"
        );
        let (status, now) = ehr.get(&path).await;
        assert_eq!(
            (status, &now["status"]),
            (StatusCode::OK, &json!("pending"))
        );
        assert_eq!(now["meta"]["versionId"], "2", "{now}");
        assert_eq!(
            store.notifications_of_booking(&id).await.unwrap().len(),
            messages
        );

        // A patch whose test fails changes nothing (RFC 6902); the length
        // of a visit is its visit type's, in a patch as in an update.
        let ops = json!([
            {"op": "test", "path": "/status", "value": "cancelled"},
            {"op": "replace", "path": "/start", "value": ten}
        ]);
        let (status, o, _) = fhir(&app, &t, "PATCH", &path, Some(ops), &[as_patch]).await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend:?}: {o}");
        let ops = json!([{"op": "replace", "path": "/minutesDuration", "value": 60}]);
        let (status, o, _) = fhir(&app, &t, "PATCH", &path, Some(ops), &[as_patch]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}: {o}");
        let mut longer = now.clone();
        longer["minutesDuration"] = json!(60);
        let (status, o, _) = fhir(&app, &t, "PUT", &path, Some(longer), &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}: {o}");
        let (_, still) = ehr.get(&path).await;
        assert_eq!(
            (&still["meta"]["versionId"], &still["start"]),
            (&now["meta"]["versionId"], &now["start"]),
            "{still}"
        );

        // Found by its id alone; the self link names only what was used.
        let (_, by_id) = ehr.get(&format!("/Appointment?_id={id}&_sort=-date")).await;
        assert_eq!(by_id["total"], 1, "{by_id}");
        let self_link = by_id["link"][0]["url"].as_str().unwrap_or_default();
        assert!(
            self_link.contains("_id=") && !self_link.contains("_sort"),
            "{self_link}"
        );
        let (_, one) = ehr.get(&format!("/Patient?_id={patient}")).await;
        assert_eq!(one["total"], 1, "{one}");

        // An update (PUT) against the current version cancels (3), and the
        // patient is told as from the portal. It cannot change the patient.
        let mut wanted = now.clone();
        wanted["participant"][0]["actor"]["reference"] = json!("Patient/someone-else");
        let (status, o, _) = fhir(
            &app,
            &t,
            "PUT",
            &path,
            Some(wanted),
            &[("if-match", "W/\"2\"")],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}: {o}");
        let mut wanted = now.clone();
        wanted["status"] = json!("cancelled");
        let (status, o, _) = fhir(
            &app,
            &t,
            "PUT",
            "/Appointment/other",
            Some(wanted.clone()),
            &[],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "the id must be the URL's: {o}"
        );
        let (status, c, headers) = fhir(
            &app,
            &t,
            "PUT",
            &path,
            Some(wanted),
            &[("if-match", "W/\"2\"")],
        )
        .await;
        assert_eq!(
            (status, &c["status"]),
            (StatusCode::OK, &json!("cancelled")),
            "{backend:?}: {c}"
        );
        assert_eq!(version_of(&headers, &c), "3");
        let cancelled = store.notifications_of_booking(&id).await.unwrap();
        assert_eq!(
            cancelled
                .iter()
                .filter(|n| n.kind.as_str() == "cancelled")
                .count(),
            1
        );

        // Each version reads back as it was.
        let (status, v1) = ehr.get(&format!("{path}/_history/1")).await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {v1}");
        assert_eq!(
            (&v1["status"], &v1["meta"]["versionId"]),
            (&json!("pending"), &json!("1"))
        );
        let instant = |s: &Value| s.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok());
        assert_eq!(instant(&v1["start"]), instant(&json!(ten)), "{v1}");
        let (_, v2) = ehr.get(&format!("{path}/_history/2")).await;
        assert_eq!(instant(&v2["start"]), instant(&json!(eleven)), "{v2}");
        assert_eq!(v2["status"], "pending", "{v2}");
        let (status, o) = ehr.get(&format!("{path}/_history/4")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{o}");
        let (status, o) = ehr.get(&format!("{path}/_history/x")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{o}");

        // The history lists them newest first, as the changes that made them.
        let (status, h) = ehr.get(&format!("{path}/_history")).await;
        assert_eq!(
            (status, &h["type"], &h["total"]),
            (StatusCode::OK, &json!("history"), &json!(3)),
            "{h}"
        );
        let expected = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        assert_eq!(
            listed(&h),
            expected(&[("3", "PUT"), ("2", "PUT"), ("1", "POST")])
        );
        assert_eq!(h["entry"][2]["fullUrl"], format!("{BASE}/Appointment/{id}"));
        let (_, paged) = ehr.get(&format!("{path}/_history?_count=1")).await;
        assert_eq!(listed(&paged), expected(&[("3", "PUT")]));
        let next = paged["link"][1]["url"].as_str().unwrap_or_default();
        assert!(next.contains("_offset=1"), "{paged}");

        // The tenant's Appointment history since the move: the move and the
        // cancellation, and the search by last change finds the booking.
        let since = jiff::Timestamp::from_millisecond(moved_at.0)
            .unwrap()
            .to_string();
        let (status, h) = ehr
            .get(&format!(
                "/Appointment/_history?_since={}",
                since.replace('+', "%2B")
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {h}");
        assert_eq!(listed(&h), expected(&[("3", "PUT"), ("2", "PUT")]), "{h}");
        let (_, found) = ehr
            .get(&format!(
                "/Appointment?_lastUpdated=ge{}",
                since.replace('+', "%2B")
            ))
            .await;
        assert_eq!(found["total"], 1, "{found}");
        let (_, none) = ehr
            .get(&format!(
                "/Appointment?_lastUpdated=lt{}",
                since.replace('+', "%2B")
            ))
            .await;
        assert_eq!(none["total"], 0, "{none}");

        // The patient changes their mobile number in the portal: a new
        // version of the Patient; the first still has the old number.
        app.clock.advance(MINUTE);
        let mut jonna = app.browser(HOST);
        jonna.login(&pnr).await;
        let page = jonna
            .post(
                "/me",
                &[
                    ("given_name", "Jonna"),
                    ("family_name", "Journalsson"),
                    ("phone", "070 111 22 33"),
                    ("email", ""),
                ],
            )
            .await;
        assert_eq!(page.location(), "/me?done=saved", "{backend:?}");
        let (status, now, headers) =
            fhir(&app, &t, "GET", &format!("/Patient/{patient}"), None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(version_of(&headers, &now), "2");
        assert_eq!(now["telecom"][0]["value"], "+46701112233", "{now}");
        let (_, then) = ehr.get(&format!("/Patient/{patient}/_history/1")).await;
        assert_eq!(then["telecom"][0]["value"], "+46707654321", "{then}");
        let (_, h) = ehr.get(&format!("/Patient/{patient}/_history")).await;
        assert_eq!(listed(&h), expected(&[("2", "PUT"), ("1", "POST")]), "{h}");
        let (_, h) = ehr.get("/Patient/_history?_count=1").await;
        assert_eq!(h["entry"][0]["resource"]["id"], patient.as_str(), "{h}");

        // Reading history is reading the patient's data: logged.
        let log = store
            .access_log_for(&Personnummer::parse(&pnr).unwrap())
            .await
            .unwrap();
        for what in ["fhir.appointment.history", "fhir.patient.history"] {
            assert!(
                log.iter()
                    .any(|e| e.actor_id == format!("journal-system:{CLIENT}")
                        && e.action == "read"
                        && e.what == what),
                "{backend:?}: {what} not logged"
            );
        }
    }
    validate_served();
}
