//! Group visits over FHIR: one Appointment with several Patient
//! participants, each with their own participant status, and one
//! Encounter per patient, each pointing at the Appointment.

use super::*;
use crate::support::{Backend, MINUTE, SAMI, book_visit_in};

/// Karin's group visit type (60 minutes), made in the portal.
async fn karin_group_type(app: &TestApp) -> String {
    let mut karin = app.browser(HOST);
    karin.login(KARIN).await;
    crate::support::add_group_visit_type(app, &mut karin).await
}

fn group_json(
    patients: &[&str],
    karin: &str,
    visit_type: &str,
    start: &str,
    minutes: u32,
) -> Value {
    let mut participant: Vec<Value> = patients
        .iter()
        .map(|p| json!({"actor": {"reference": format!("Patient/{p}")}, "status": "needs-action"}))
        .collect();
    participant.push(
        json!({"actor": {"reference": format!("Practitioner/{karin}")}, "status": "accepted"}),
    );
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [{"coding": [{"system": "https://tillit.se/fhir/CodeSystem/visit-type", "code": visit_type}]}],
        "start": start,
        "minutesDuration": minutes,
        "participant": participant
    })
}

/// The participant statuses of an Appointment's patients, in order.
fn patient_statuses(a: &Value) -> Vec<(String, String)> {
    a["participant"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let r = p["actor"]["reference"].as_str()?;
            r.starts_with("Patient/").then(|| {
                (
                    r.trim_start_matches("Patient/").to_owned(),
                    p["status"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn a_group_appointment_has_each_patients_own_status_and_encounter() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let one_to_one = karin_bookable(&app).await;
        let group_type = karin_group_type(&app).await;
        crate::support::patient_gives_phone(&app, TOVE, ("Tove", "Toll"), "070-111 22 33").await;
        crate::support::patient_gives_phone(&app, SAMI, ("Sami", "Samordnad"), "070-444 55 66")
            .await;
        let karin = person_id(&app, KARIN).await;
        let (tove, sami) = (person_id(&app, TOVE).await, person_id(&app, SAMI).await);
        let ehr = Ehr {
            app: &app,
            token: token(&app, ALL_SCOPES).await,
        };
        let soon = app.clock.now().plus(10 * MINUTE);
        let start = jiff::Timestamp::from_millisecond(soon.0)
            .unwrap()
            .to_string();
        let both = [tove.as_str(), sami.as_str()];

        // Several patients are for a group visit type only: 422, nothing booked.
        let (status, oo, _) = ehr
            .post(
                "/Appointment",
                group_json(&both, karin.as_str(), &one_to_one, &start, 15),
                &[],
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{backend:?}: {oo}"
        );
        assert!(
            oo["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("group visit"),
            "{oo}"
        );

        // The group visit: each patient needs to answer.
        let (status, a, _) = ehr
            .post(
                "/Appointment",
                group_json(&both, karin.as_str(), &group_type, &start, 60),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?}: {a}");
        let id = a["id"].as_str().unwrap().to_owned();
        assert_eq!(a["status"], "pending");
        let needs = |p: &tillit_domain::PersonId, s: &str| (p.to_string(), s.to_owned());
        assert_eq!(
            patient_statuses(&a),
            vec![needs(&tove, "needs-action"), needs(&sami, "needs-action")]
        );
        // Each patient got their own invitation.
        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let sent = demo.notifications_of_booking(&id).await.unwrap();
        for who in [&tove, &sami] {
            assert_eq!(
                sent.iter().filter(|n| n.person == *who).count(),
                1,
                "{backend:?}: {sent:?}"
            );
        }

        // Sami confirms in the portal: the visit is booked, his place
        // accepted, Tove's still waiting; a new version.
        app.clock.advance(MINUTE);
        let mut sami_b = app.browser(HOST);
        sami_b.login(SAMI).await;
        sami_b.get("/").await;
        let page = sami_b.post(&format!("/bookings/{id}/confirm"), &[]).await;
        assert_eq!(page.location(), "/?done=confirmed", "{}", page.body);
        let (_, a) = ehr.get(&format!("/Appointment/{id}")).await;
        assert_eq!(a["status"], "booked", "{backend:?}: {a}");
        assert_eq!(a["meta"]["versionId"], "2", "{a}");
        assert_eq!(
            patient_statuses(&a),
            vec![needs(&tove, "needs-action"), needs(&sami, "accepted")]
        );
        // Version 1 is as it was.
        let (_, v1) = ehr.get(&format!("/Appointment/{id}/_history/1")).await;
        assert_eq!(
            patient_statuses(&v1),
            vec![needs(&tove, "needs-action"), needs(&sami, "needs-action")],
            "{v1}"
        );
        // Found by either patient, with both brought along.
        let (_, found) = ehr
            .get(&format!(
                "/Appointment?patient=Patient/{sami}&_include=Appointment:patient"
            ))
            .await;
        assert_eq!(found["total"], 1, "{backend:?}: {found}");
        let mut included = ids(&found);
        included.sort();
        let mut want = vec![id.clone(), tove.to_string(), sami.to_string()];
        want.sort();
        assert_eq!(included, want, "{found}");
        // Reading it over FHIR is a read of both patients' data.
        for pnr in [TOVE, SAMI] {
            let log = demo
                .access_log_for(&Personnummer::parse(pnr).unwrap())
                .await
                .unwrap();
            assert!(
                log.iter().any(|e| e.what == "fhir.appointment"
                    && e.actor_id == format!("journal-system:{CLIENT}")),
                "{backend:?}: {pnr}: {log:?}"
            );
        }
        // The patients cannot be changed by an update.
        let mut changed = a.clone();
        changed["participant"].as_array_mut().unwrap().remove(1);
        let (status, oo, _) = fhir(
            &app,
            &ehr.token,
            "PUT",
            &format!("/Appointment/{id}"),
            Some(changed),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{oo}");

        // Karin holds it: one Encounter per patient, each pointing at it.
        app.clock.advance(7 * MINUTE);
        let mut karin_b = app.browser(HOST);
        karin_b.login(KARIN).await;
        karin_b.get(&format!("/visits/{id}")).await;
        let page = karin_b.post(&format!("/visits/{id}/start"), &[]).await;
        assert!(page.status.is_redirection(), "{backend:?}: {}", page.body);
        // Tokens last five minutes: the EHR gets a new one.
        let ehr = Ehr {
            app: &app,
            token: token(&app, ALL_SCOPES).await,
        };
        let (status, bundle) = ehr
            .get(&format!("/Encounter?appointment=Appointment/{id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        assert_eq!(bundle["total"], 2, "{backend:?}: {bundle}");
        let second = format!("{id}.2");
        assert_eq!(ids(&bundle), vec![id.clone(), second.clone()]);
        let (status, e) = ehr.get(&format!("/Encounter/{second}")).await;
        assert_eq!(status, StatusCode::OK, "{e}");
        assert_eq!(e["subject"]["reference"], format!("Patient/{sami}"));
        assert_eq!(
            e["appointment"][0]["reference"],
            format!("Appointment/{id}")
        );
        assert_eq!(e["status"], "in-progress");
        let (_, mine) = ehr.get(&format!("/Encounter?patient=Patient/{sami}")).await;
        assert_eq!(ids(&mine), vec![second.clone()], "{mine}");
        for missing in [format!("{id}.3"), format!("{id}.1"), format!("{id}.02")] {
            let (status, _) = ehr.get(&format!("/Encounter/{missing}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        }
    }
    validate_served();
}

/// A one-to-one visit keeps one patient: its patient's list and the
/// Appointment are as before (no group rows).
#[tokio::test]
async fn a_one_to_one_visit_has_one_patient_and_one_encounter_id() {
    let app = TestApp::new(Backend::Sqlite).await;
    karin_bookable(&app).await;
    book_visit_in(
        &app,
        ("demo", KARIN, TOVE),
        "one",
        app.clock.now().plus(HOUR),
        vec![],
    )
    .await;
    let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
    assert!(demo.group_patients("one").await.unwrap().is_empty());
    let ehr = Ehr {
        app: &app,
        token: token(&app, ALL_SCOPES).await,
    };
    let (_, a) = ehr.get("/Appointment/one").await;
    let tove = person_id(&app, TOVE).await;
    assert_eq!(
        patient_statuses(&a),
        vec![(tove.to_string(), "accepted".to_owned())]
    );
}
