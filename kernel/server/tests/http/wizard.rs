//! The booking wizard for visits with several participants.

use crate::support::*;
use tillit_domain::Clock;

/// The Vård och hälsa wizard: details with a sökorsak from the tenant's
/// list, participants (the patient and a colleague found by name or by unit
/// and role), and nothing saved or sent before "Skapa och skicka
/// inbjudningar". The colleague then sees the visit as a guest.
#[tokio::test]
async fn the_booking_wizard_invites_a_patient_and_a_colleague_only_at_the_last_step() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        // Olof, a nurse at the same unit, is found by colleagues.
        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;
        olof.get("/profile").await;
        let page = olof
            .post(
                "/profile",
                &[
                    ("title", "Sjuksköterska"),
                    ("unit", "Vårdcentralen Centrum"),
                ],
            )
            .await;
        assert_eq!(page.location(), "/profile?done=saved", "{}", page.body);

        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let page = karin.get("/bookings/group").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("Aknebesvär"),
            "the tenant's reasons are offered"
        );
        let vt = visit_type_id(&page);
        let tomorrow = tomorrow(&app);
        let yesterday = app
            .clock
            .now()
            .minus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();

        // Step 1: a reason not on the list and a past date are refused.
        let page = karin
            .post(
                "/bookings/group",
                &[
                    ("step", "1"),
                    ("action", "next"),
                    ("visit_type_id", &vt),
                    ("reason", "Huvudvärk"),
                    ("date", &yesterday),
                    ("time", "14:00"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}");
        assert!(page.body.contains("Välj en av mottagningens sökorsaker"));
        assert!(page.body.contains("Tiden har redan passerat"));
        assert!(page.body.contains("name=\"step\" value=\"1\""));

        let details = [
            ("visit_type_id", vt.as_str()),
            ("reason", "Aknebesvär"),
            ("date", tomorrow.as_str()),
            ("time", "14:00"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, String)> {
            details
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned()))
                .chain(extra.iter().map(|(k, v)| (*k, (*v).to_owned())))
                .collect()
        };
        let page = karin
            .post(
                "/bookings/group",
                &as_refs(&with(&[("step", "1"), ("action", "next")])),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("name=\"step\" value=\"2\""),
            "{}",
            page.body
        );

        // Step 2: colleagues by name, and by unit and role.
        let page = karin
            .post(
                "/bookings/group",
                &as_refs(&with(&[("step", "2"), ("action", "search"), ("q", "olof")])),
            )
            .await;
        let olof_id = person_id(&app, "19700101-0003").await;
        assert!(
            page.body.contains(&format!("value=\"add:{olof_id}\"")),
            "found by name"
        );
        let page = karin
            .post(
                "/bookings/group",
                &as_refs(&with(&[
                    ("step", "2"),
                    ("action", "search"),
                    ("unit", "Vårdcentralen Centrum"),
                    ("role", "Sjuksköterska"),
                ])),
            )
            .await;
        assert!(
            page.body.contains(&format!("value=\"add:{olof_id}\"")),
            "found by unit and role"
        );
        let add = format!("add:{olof_id}");
        let mut fields = with(&[("step", "2")]);
        fields.push(("action", add));
        let page = karin.post("/bookings/group", &as_refs(&fields)).await;
        assert!(
            page.body
                .contains(&format!("name=\"colleagues\" value=\"{olof_id}\""))
        );
        assert!(page.body.contains(&format!("value=\"remove:{olof_id}\"")));

        // Next without a patient: the patient's fields say what is missing.
        let mut fields = with(&[("step", "2"), ("action", "next"), ("who", "new")]);
        fields.push(("colleagues", olof_id.to_string()));
        let page = karin.post("/bookings/group", &as_refs(&fields)).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("svenskt mobilnummer"));

        // With the patient: step 3 sums up; still nothing is saved or sent.
        let mut fields = with(&[
            ("step", "2"),
            ("action", "next"),
            ("who", "new"),
            ("phone", "070-123 45 67"),
            ("personnummer", "19850707-1119"),
            ("given_name", "Pål"),
            ("family_name", "Persson"),
        ]);
        fields.push(("colleagues", olof_id.to_string()));
        let page = karin.post("/bookings/group", &as_refs(&fields)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("name=\"step\" value=\"3\""));
        for shown in [
            "Aknebesvär",
            "Pål Persson",
            "Karin Lindblad",
            "Olof Berg",
            "Ansvarig vårdpersonal",
        ] {
            assert!(
                page.body.contains(shown),
                "{backend:?}: summary lacks {shown}"
            );
        }
        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        assert!(
            demo.recent_notifications(10).await.unwrap().is_empty(),
            "nothing sent before step 3"
        );
        assert!(
            demo.person_by_personnummer(&Personnummer::parse("19850707-1119").unwrap())
                .await
                .unwrap()
                .is_none(),
            "nothing saved before step 3"
        );

        // "Skapa och skicka inbjudningar".
        let mut fields = fields.clone();
        fields.retain(|(k, _)| *k != "step" && *k != "action");
        fields.push(("step", "3".into()));
        fields.push(("action", "send".into()));
        let page = karin.post("/bookings/group", &as_refs(&fields)).await;
        assert_eq!(page.location(), "/bookings?done=created", "{}", page.body);
        let karin_id = person_id(&app, KARIN).await;
        let booking = demo
            .bookings_of(&karin_id, Timestamp(0))
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(booking.booking.title, "Aknebesvär");
        assert_eq!(
            booking.booking.clinician, karin_id,
            "the booker is responsible"
        );
        let participants = demo.participants_of(&booking.booking.id).await.unwrap();
        assert_eq!(participants.len(), 1);
        assert_eq!(participants[0].id, olof_id);
        let sent = demo
            .notifications_of_booking(&booking.booking.id)
            .await
            .unwrap();
        assert_eq!(sent.len(), 1, "one invitation to the patient");

        // Olof sees it as a guest: heading, time, responsible clinician, no patient.
        let home = olof.get("/").await;
        assert!(home.body.contains("id=\"as-guest\""), "{backend:?}");
        assert!(home.body.contains("Aknebesvär") && home.body.contains("Karin Lindblad"));
        assert!(
            !home.body.contains("Pål"),
            "a guest colleague sees no patient"
        );
        // Karin, who has no guest visits, has no such section.
        assert!(!karin.get("/").await.body.contains("id=\"as-guest\""));
    }
}

/// [2.4] defect 2, in a browser: a patient chosen from "Välj en av dina
/// patienter" is named in step 3's summary (it was blank), the summary
/// names the visit type, each step is numbered once ("1. Besöksdetaljer",
/// not "1. 1. Besöksdetaljer"), and "Avbryt" looks like the secondary
/// action it is, not like "Nästa".
#[tokio::test(flavor = "multi_thread")]
async fn the_wizard_sums_up_the_chosen_patient_and_the_visit_type() {
    use crate::headless::{Headless, login, screenshot, wait_for_text};
    use fantoccini::Locator::{Css, Id};

    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    // Tove becomes one of Karin's patients.
    let in_two_days = app.clock.now().plus(48 * HOUR);
    book_visit(&app, "earlier", in_two_days, vec![]).await;
    let tove_id = person_id(&app, TOVE).await;
    let port = serve(&app).await;
    let chrome = Headless::start().await;
    let c = &chrome.client;
    login(c, port, KARIN).await;

    c.goto(&format!("http://demo.localhost:{port}/bookings/group"))
        .await
        .unwrap();
    wait_for_text(c, "#steps li.current", "Besöksdetaljer").await;
    // Step 1: the steps, numbered once each, and a secondary "Avbryt".
    let steps = c.find_all(Css("#steps li")).await.unwrap();
    assert_eq!(steps.len(), 3);
    for (i, step) in steps.iter().enumerate() {
        let text = step.text().await.unwrap();
        let marker = step.css_value("list-style-type").await.unwrap();
        assert!(
            text.starts_with(&format!("{}. ", i + 1)) && !text.contains(". 1.") && marker == "none",
            "step {}: {text:?} with list marker {marker:?}",
            i + 1
        );
    }
    let primary = c.find(Id("next")).await.unwrap();
    let cancel = c.find(Id("cancel")).await.unwrap();
    let (next_bg, cancel_bg) = (
        primary.css_value("background-color").await.unwrap(),
        cancel.css_value("background-color").await.unwrap(),
    );
    assert_ne!(next_bg, cancel_bg, "Avbryt looks like Nästa");
    assert_eq!(cancel_bg, "rgba(0, 0, 0, 0)", "Avbryt has no fill");

    c.find(Id("reason"))
        .await
        .unwrap()
        .send_keys("Aknebesvär")
        .await
        .unwrap();
    // Date and time pickers type in the browser's locale: set them as a
    // picker would.
    c.execute(
        "document.getElementById('date').value = arguments[0];
         document.getElementById('time').value = '14:00';",
        vec![serde_json::json!(tomorrow(&app))],
    )
    .await
    .unwrap();
    primary.click().await.unwrap();

    // Step 2: one of Karin's patients.
    wait_for_text(c, "#steps li.current", "Deltagare").await;
    c.find(Css("input[name=who][value=existing]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Id("patient_id"))
        .await
        .unwrap()
        .select_by_value(tove_id.as_str())
        .await
        .unwrap();
    c.find(Id("next")).await.unwrap().click().await.unwrap();

    // Step 3: the summary names her and the visit type.
    wait_for_text(c, "#steps li.current", "Bekräfta och skicka").await;
    screenshot(c, "wizard-step3").await;
    wait_for_text(c, "#summary-patient", "Tove Toll").await;
    let visit_type = wait_for_text(c, "#summary-visit-type", "Återbesök").await;
    assert!(visit_type.contains("15 min"), "{visit_type}");
    c.find(Id("send")).await.unwrap().click().await.unwrap();
    wait_for_text(c, "main", "Tove Toll").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/bookings");
    let _ = c.clone().close().await;
}
