//! The visit page: waiting room, start and end, by the handbook's rules.

use crate::support::*;

/// The visit page's rules: the room opens 15 minutes before; only a
/// clinician taking part starts it (a colleague who does becomes the
/// responsible clinician); the patient waits until then; it runs past its
/// end until a clinician ends it; then nobody gets back in. Non-participants
/// see nothing.
#[tokio::test]
async fn the_visit_room_opens_starts_and_ends_by_the_handbooks_rules() {
    use tillit_domain::booking::BookingStatus;
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let olof_id = person_id(&app, "19700101-0003").await;
        let tomorrow = tomorrow(&app);
        let ten = Timestamp::from_stockholm(&tomorrow, "10:00").unwrap();
        book_visit(&app, "visit-1", ten, vec![olof_id.clone()]).await;

        let mut tove = app.browser("demo.localhost");
        tove.login(TOVE).await;
        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;

        // A day early: not open yet, and it cannot be started.
        let page = tove.get("/visits/visit-1").await;
        assert!(page.body.contains("öppnar kl. 09:45"), "{}", page.body);
        karin.get("/visits/visit-1").await;
        assert_eq!(
            karin.post("/visits/visit-1/start", &[]).await.status,
            StatusCode::CONFLICT
        );

        // Others see nothing at all.
        let mut sami = app.browser("demo.localhost");
        sami.login("19811278-9873").await;
        assert_eq!(
            sami.get("/visits/visit-1").await.status,
            StatusCode::NOT_FOUND
        );
        let mut ada = app.browser("demo.localhost");
        ada.login(ADA).await;
        assert_eq!(
            ada.get("/visits/visit-1").await.status,
            StatusCode::NOT_FOUND
        );

        // 10 minutes before: open. The patient waits; a patient cannot start it.
        // (A day later everyone logs in again: sessions last hours.)
        app.clock.set(ten.minus(10 * MINUTE));
        for (b, pnr) in [
            (&mut tove, TOVE),
            (&mut olof, "19700101-0003"),
            (&mut karin, KARIN),
        ] {
            b.login(pnr).await;
        }
        let page = tove.get("/visits/visit-1").await;
        assert!(page.body.contains("Väntar på att besöket ska startas"));
        assert_eq!(
            tove.post("/visits/visit-1/start", &[]).await.status,
            StatusCode::FORBIDDEN
        );
        // Olof, an invited colleague, starts it and becomes responsible.
        let page = olof.get("/visits/visit-1").await;
        assert!(page.body.contains("id=\"start-visit\""));
        let page = olof.post("/visits/visit-1/start", &[]).await;
        assert_eq!(page.location(), "/visits/visit-1");
        let b = demo.booking("visit-1").await.unwrap().unwrap();
        assert_eq!(
            (b.status, b.clinician),
            (BookingStatus::InProgress, olof_id.clone())
        );
        let page = tove.get("/visits/visit-1").await;
        assert!(page.body.contains("Gå till besöket") && page.body.contains("Olof Berg"));
        // Karin is still part of it (now as a colleague).
        assert_eq!(karin.get("/visits/visit-1").await.status, StatusCode::OK);

        // Long past the planned end it is still in progress.
        app.clock.set(ten.plus(2 * HOUR));
        for (b, pnr) in [
            (&mut tove, TOVE),
            (&mut olof, "19700101-0003"),
            (&mut karin, KARIN),
        ] {
            b.login(pnr).await;
        }
        let page = tove.get("/visits/visit-1").await;
        assert!(
            page.body.contains("Planerad tid kvar: 0 min"),
            "{}",
            page.body
        );
        // Karin ends it; it is closed for everyone, for good.
        karin.get("/visits/visit-1").await;
        let page = karin
            .post("/visits/visit-1/end", &[("confirmed", "1")])
            .await;
        assert_eq!(page.location(), "/visits/visit-1");
        let page = tove.get("/visits/visit-1").await;
        assert!(
            page.body.contains("Besöket är avslutat") && !page.body.contains("Gå till besöket")
        );
        olof.get("/visits/visit-1").await;
        assert_eq!(
            olof.post("/visits/visit-1/start", &[]).await.status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            olof.post("/visits/visit-1/end", &[("confirmed", "1")])
                .await
                .status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            demo.booking("visit-1").await.unwrap().unwrap().status,
            BookingStatus::Finished
        );
    }
}

/// Books `id` for Tove with Karin at `starts_at`, 15 minutes, in `status`,
/// with a message to Tove and these colleagues invited (straight in the
/// store, as `book_visit` does).
pub(crate) async fn book(
    app: &TestApp,
    id: &str,
    starts_at: Timestamp,
    status: tillit_domain::booking::BookingStatus,
    participants: Vec<tillit_domain::PersonId>,
) {
    let visit = (id, starts_at, status, "Ta med din medicinlista.");
    book_in_store(app, ("demo", KARIN, TOVE), visit, participants).await;
}

/// The status of booking `id` in the demo tenant.
pub(crate) async fn status_of(app: &TestApp, id: &str) -> tillit_domain::booking::BookingStatus {
    let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
    demo.booking(id).await.unwrap().unwrap().status
}

/// [2.4] defect 1: ending a visit ends it for everyone, so it takes a
/// confirmation that says so. `GET /visits/{id}/end` is that page (no
/// script needed); `POST /visits/{id}/end` without `confirmed=1` changes
/// nothing and leads there. Patients may not end a visit; an invited
/// colleague may, and their confirmation names no patient.
#[tokio::test]
async fn ending_a_visit_takes_a_confirmation_that_it_closes_for_everyone() {
    use tillit_domain::booking::BookingStatus;
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let olof_id = person_id(&app, "19700101-0003").await;
    let ten = Timestamp::from_stockholm(&tomorrow(&app), "10:00").unwrap();
    book(&app, "e1", ten, BookingStatus::Confirmed, vec![olof_id]).await;
    app.clock.set(ten.minus(5 * MINUTE));
    karin.login(KARIN).await;
    karin.get("/visits/e1").await;
    karin.post("/visits/e1/start", &[]).await;
    assert_eq!(status_of(&app, "e1").await, BookingStatus::InProgress);

    // The visit page's "Avsluta besöket" leads to the confirmation, and
    // is no form that ends the visit at once.
    let page = karin.get("/visits/e1").await;
    assert!(
        page.body
            .contains("href=\"/visits/e1/end\" id=\"end-visit\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("action=\"/visits/e1/end\""));

    let page = karin.get("/visits/e1/end").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "Avsluta besöket för alla?",
        "patienten och alla gäster kopplas bort",
        "name=\"confirmed\" value=\"1\"",
        "action=\"/visits/e1/end\"",
        "href=\"/visits/e1\" id=\"end-back\"",
    ] {
        assert!(page.body.contains(text), "missing {text:?}: {}", page.body);
    }

    // Without the confirmation nothing changes.
    let page = karin.post("/visits/e1/end", &[]).await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/visits/e1/end")
    );
    let page = karin.post("/visits/e1/end", &[("confirmed", "yes")]).await;
    assert_eq!(page.location(), "/visits/e1/end");
    assert_eq!(status_of(&app, "e1").await, BookingStatus::InProgress);

    // The patient cannot end it, confirmed or not.
    let mut tove = app.browser("demo.localhost");
    tove.login(TOVE).await;
    assert_eq!(
        tove.get("/visits/e1/end").await.status,
        StatusCode::FORBIDDEN
    );
    tove.get("/visits/e1").await;
    assert_eq!(
        tove.post("/visits/e1/end", &[("confirmed", "1")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status_of(&app, "e1").await, BookingStatus::InProgress);

    // An invited colleague's confirmation names the visit, not the patient.
    let mut olof = app.browser("demo.localhost");
    olof.login("19700101-0003").await;
    let page = olof.get("/visits/e1/end").await;
    assert!(page.body.contains("Uppföljning") && page.body.contains("Avsluta besöket för alla"));
    assert!(!page.body.contains("Tove") && !page.body.contains("Toll"));

    // Confirmed: ended for everyone; the confirmation page now leads back.
    karin.get("/visits/e1/end").await;
    let page = karin.post("/visits/e1/end", &[("confirmed", "1")]).await;
    assert_eq!(page.location(), "/visits/e1");
    assert_eq!(status_of(&app, "e1").await, BookingStatus::Finished);
    assert!(
        tove.get("/visits/e1")
            .await
            .body
            .contains("Besöket är avslutat")
    );
    assert_eq!(karin.get("/visits/e1/end").await.location(), "/visits/e1");
}

/// [2.4] defect 3: an unconfirmed visit inside the room's window cannot
/// start, so its patient is not told to wait for it but to confirm it, and
/// can, on the visit page; then the clinician can start it.
#[tokio::test]
async fn a_patient_confirms_on_the_visit_page_and_the_visit_can_then_start() {
    use tillit_domain::booking::BookingStatus;
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let ten = Timestamp::from_stockholm(&tomorrow(&app), "10:00").unwrap();
        book(&app, "u1", ten, BookingStatus::Unconfirmed, Vec::new()).await;
        app.clock.set(ten.minus(10 * MINUTE));
        karin.login(KARIN).await;
        let mut tove = app.browser("demo.localhost");
        tove.login(TOVE).await;

        let page = tove.get("/visits/u1").await;
        assert!(
            !page.body.contains("Väntar på att besöket ska startas"),
            "{backend:?}: told to wait for a visit that cannot start"
        );
        assert!(
            page.body
                .contains("kan inte starta förrän du har bekräftat det")
        );
        assert!(
            page.body.contains("action=\"/bookings/u1/confirm\"")
                && page.body.contains("id=\"confirm-visit\""),
            "{}",
            page.body
        );
        let page = karin.get("/visits/u1").await;
        assert!(
            page.body.contains("kan inte startas") && !page.body.contains("id=\"start-visit\"")
        );
        assert_eq!(
            karin.post("/visits/u1/start", &[]).await.status,
            StatusCode::CONFLICT
        );

        // Tove confirms there, and is back on the visit page, waiting.
        tove.get("/visits/u1").await;
        let page = tove
            .post("/bookings/u1/confirm", &[("from", "visit")])
            .await;
        assert_eq!(page.location(), "/visits/u1?done=confirmed");
        let page = tove.get(page.location()).await;
        assert!(
            page.body.contains("Besöket är bekräftat")
                && page.body.contains("Väntar på att besöket ska startas")
                && !page.body.contains("id=\"confirm-visit\"")
        );
        assert_eq!(status_of(&app, "u1").await, BookingStatus::Confirmed);

        // Now Karin can start it, and Tove can go in.
        let page = karin.get("/visits/u1").await;
        assert!(page.body.contains("id=\"start-visit\""));
        assert_eq!(
            karin.post("/visits/u1/start", &[]).await.location(),
            "/visits/u1"
        );
        assert!(
            tove.get("/visits/u1")
                .await
                .body
                .contains("Gå till besöket")
        );
    }
}

/// [2.4] defect 5 on the visit page: a 15-minute visit at 17:30 started at
/// 17:16 begins in 14 minutes (not "29 min left"); from 17:30 it counts
/// down the planned 15.
#[tokio::test]
async fn the_visit_page_counts_from_the_booked_time_not_before_it() {
    use tillit_domain::booking::BookingStatus;
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let at = Timestamp::from_stockholm(&tomorrow(&app), "17:30").unwrap();
    book(&app, "m1", at, BookingStatus::Confirmed, Vec::new()).await;
    app.clock.set(at.minus(14 * MINUTE));
    karin.login(KARIN).await;
    karin.get("/visits/m1").await;
    karin.post("/visits/m1/start", &[]).await;
    let mut tove = app.browser("demo.localhost");
    tove.login(TOVE).await;
    let page = tove.get("/visits/m1").await;
    assert!(page.body.contains("börjar om 14 min"), "{}", page.body);
    assert!(!page.body.contains("kvar: 29"), "{}", page.body);
    app.clock.set(at.plus(MINUTE));
    let page = karin.get("/visits/m1").await;
    assert!(
        page.body.contains("Planerad tid kvar: 14 min"),
        "{}",
        page.body
    );
}

/// [2.4] defect 6: the group wizard promises invited colleagues nothing
/// but the visit's title and time. The visit page, its confirmation page,
/// the overview, "Mina bokningar", the state the page polls and the
/// messages sent never name the patient to them (nor show the message to
/// the patient); the responsible clinician sees the patient.
#[tokio::test]
async fn an_invited_colleague_never_sees_the_patient_outside_the_room() {
    use tillit_domain::booking::BookingStatus;
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let olof_id = person_id(&app, "19700101-0003").await;
        let ten = Timestamp::from_stockholm(&tomorrow(&app), "10:00").unwrap();
        book(
            &app,
            "g1",
            ten,
            BookingStatus::Confirmed,
            vec![olof_id.clone()],
        )
        .await;
        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;
        let shows_patient = |body: &str| {
            ["Tove", "Toll", "20000229", "200002292381", "medicinlista"]
                .iter()
                .any(|s| body.contains(s))
        };

        let responsible = karin.get("/visits/g1").await;
        assert!(
            responsible.body.contains("Tove Toll") && responsible.body.contains("medicinlista"),
            "{backend:?}: the responsible clinician sees the patient"
        );
        let mut pages = Vec::new();
        for path in [
            "/",
            "/bookings",
            "/bookings?view=history",
            "/visits/g1",
            "/visits/g1/status",
        ] {
            pages.push((path, olof.get(path).await));
        }
        // In progress, and its end's confirmation.
        app.clock.set(ten);
        karin.login(KARIN).await;
        olof.login("19700101-0003").await;
        karin.get("/visits/g1").await;
        karin.post("/visits/g1/start", &[]).await;
        for path in ["/", "/visits/g1", "/visits/g1/end"] {
            pages.push((path, olof.get(path).await));
        }
        for (path, page) in &pages {
            assert!(
                page.status.is_success(),
                "{backend:?} {path}: {}",
                page.status
            );
            assert!(
                !shows_patient(&page.body),
                "{backend:?}: {path} shows the patient to an invited colleague:\n{}",
                page.body
            );
        }
        assert!(pages[3].1.body.contains("Uppföljning"), "the visit's title");
        // Nothing is sent to the colleague.
        let sent = demo.notifications_of_booking("g1").await.unwrap();
        assert!(sent.iter().all(|n| n.person != olof_id), "{sent:?}");
    }
}

/// [2.4] defect 14: a deep link (a visit page from the SMS) survives the
/// login, for clinicians and for a patient who first accepts the terms;
/// a return path to anywhere but a page of this site is refused, and the
/// person lands on the start page.
#[tokio::test]
async fn a_deep_link_survives_the_login_and_hostile_return_paths_are_refused() {
    use tillit_domain::booking::BookingStatus;
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let ten = Timestamp::from_stockholm(&tomorrow(&app), "10:00").unwrap();
    book(&app, "d1", ten, BookingStatus::Unconfirmed, Vec::new()).await;

    // A clinician: the link, the login page, back at the visit.
    let mut b = app.browser("demo.localhost");
    let page = b.get("/visits/d1").await;
    assert_eq!(page.location(), "/login?next=%2Fvisits%2Fd1");
    let login = b.get(page.location()).await;
    assert!(
        login.body.contains("name=\"next\" value=\"/visits/d1\""),
        "{}",
        login.body
    );
    let page = b
        .post(
            "/login/test",
            &[("personnummer", KARIN), ("next", "/visits/d1")],
        )
        .await;
    assert_eq!(page.location(), "/visits/d1");
    assert!(b.get("/visits/d1").await.body.contains("Uppföljning"));
    // Already logged in, the login page sends them on too.
    assert_eq!(
        b.get("/login?next=%2Fbookings%3Fview%3Dhistory")
            .await
            .location(),
        "/bookings?view=history"
    );

    // A patient logging in for the first time accepts the terms on the way.
    let mut tove = app.browser("demo.localhost");
    let page = tove.get("/visits/d1?from=sms").await;
    assert_eq!(page.location(), "/login?next=%2Fvisits%2Fd1%3Ffrom%3Dsms");
    tove.get(page.location()).await;
    let page = tove
        .post(
            "/login/test",
            &[("personnummer", TOVE), ("next", "/visits/d1?from=sms")],
        )
        .await;
    assert_eq!(page.location(), "/visits/d1?from=sms");
    let page = tove.get(page.location()).await;
    assert_eq!(page.location(), "/terms?next=%2Fvisits%2Fd1%3Ffrom%3Dsms");
    let terms = tove.get(page.location()).await;
    assert!(terms.body.contains("name=\"next\""), "{}", terms.body);
    let page = tove
        .post("/terms", &[("next", "/visits/d1?from=sms")])
        .await;
    assert_eq!(page.location(), "/visits/d1?from=sms");
    assert!(
        tove.get("/visits/d1")
            .await
            .body
            .contains("id=\"confirm-visit\"")
    );

    // After an idle timeout, the page asked for is kept too.
    app.clock.advance(3 * HOUR);
    let page = b.get("/bookings?view=history").await;
    assert_eq!(
        page.location(),
        "/login?ended=idle&next=%2Fbookings%3Fview%3Dhistory"
    );

    // Hostile return paths: each lands on the start page, and the login
    // page carries none of them on.
    for hostile in [
        "//evil.example",
        "///evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/visits/d1",
        "http:evil.example",
        "javascript:alert(1)",
        "/%2F%2Fevil.example",
        "/%5Cevil.example",
        "/\t/evil.example",
        "/visits/../..//evil.example",
        "evil.example",
    ] {
        let mut anon = app.browser("demo.localhost");
        let query = serde_urlencoded::to_string([("next", hostile)]).unwrap();
        let login = anon.get(&format!("/login?{query}")).await;
        assert!(
            !login.body.contains("name=\"next\""),
            "{hostile:?} carried on: {}",
            login.body
        );
        let page = anon
            .post("/login/test", &[("personnummer", KARIN), ("next", hostile)])
            .await;
        assert_eq!(page.location(), "/", "{hostile:?}");
        assert_eq!(
            anon.get(&format!("/login?{query}")).await.location(),
            "/",
            "{hostile:?} when logged in"
        );
    }
    let mut sami = app.browser("demo.localhost");
    sami.get("/login").await;
    sami.post("/login/test", &[("personnummer", "19811278-9873")])
        .await;
    sami.get("/terms").await;
    let page = sami.post("/terms", &[("next", "//evil.example")]).await;
    assert_eq!(page.location(), "/");
}

/// [2.4] defect 4, in a browser on a phone-sized window: the patient's
/// waiting page changes to "Gå till besöket" by itself within seconds of
/// the clinician starting the visit, without a reload, and says so in a
/// live region.
#[tokio::test(flavor = "multi_thread")]
async fn the_patients_waiting_page_shows_go_to_the_visit_by_itself() {
    use crate::headless::{Headless, login, screenshot, wait_for_text};
    use tillit_domain::booking::BookingStatus;
    let app = TestApp::new(Backend::Sqlite).await;
    let port = serve(&app).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let ten = Timestamp::from_stockholm(&tomorrow(&app), "10:00").unwrap();
    book(&app, "w1", ten, BookingStatus::Confirmed, Vec::new()).await;
    app.clock.set(ten.minus(10 * MINUTE));
    karin.login(KARIN).await;
    // Tove has accepted the terms before.
    app.browser("demo.localhost").login(TOVE).await;

    let chrome = Headless::start().await;
    let c = &chrome.client;
    c.set_window_size(390, 844).await.unwrap();
    login(c, port, TOVE).await;
    c.goto(&format!("http://demo.localhost:{port}/visits/w1"))
        .await
        .unwrap();
    wait_for_text(c, "#room-state", "Väntar på att besöket ska startas").await;
    let live = c
        .find(fantoccini::Locator::Id("room-status"))
        .await
        .unwrap()
        .attr("aria-live")
        .await
        .unwrap();
    assert_eq!(live.as_deref(), Some("polite"));
    // A mark that a reload would wipe out.
    c.execute("window.tillitStayed = true;", vec![])
        .await
        .unwrap();

    karin.get("/visits/w1").await;
    assert_eq!(
        karin.post("/visits/w1/start", &[]).await.location(),
        "/visits/w1"
    );
    wait_for_text(c, "#room-status", "Gå till besöket").await;
    let stayed = c
        .execute("return window.tillitStayed === true;", vec![])
        .await
        .unwrap();
    assert_eq!(stayed, serde_json::json!(true), "the page was reloaded");
    let enter = c
        .find(fantoccini::Locator::Id("enter-visit"))
        .await
        .unwrap();
    assert_eq!(
        enter.attr("href").await.unwrap().as_deref(),
        Some("/visits/w1/room")
    );
    // It fits a phone's width.
    let fits = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, serde_json::json!(true), "wider than the phone");
    c.execute(
        "document.getElementById('room-status').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    screenshot(c, "visit-waiting-started-phone").await;
    let _ = c.clone().close().await;
}

/// [2.4] defects 14, 3 and 1 as people click through them: a patient
/// opens the visit link from the SMS, logs in, accepts the terms and is
/// back on that visit, where she confirms it; the clinician opens the
/// visit from "Mina bokningar", goes back from "Avboka"'s confirmation
/// (nothing changes), then cancels for good.
#[tokio::test(flavor = "multi_thread")]
async fn people_find_their_visit_through_the_login_and_act_on_it() {
    use crate::headless::{Headless, login, screenshot, wait_for_text};
    use fantoccini::Locator::Id;
    use tillit_domain::booking::BookingStatus;
    let app = TestApp::new(Backend::Sqlite).await;
    let port = serve(&app).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let ten = Timestamp::from_stockholm(&tomorrow(&app), "10:00").unwrap();
    book(&app, "l1", ten, BookingStatus::Unconfirmed, Vec::new()).await;
    let url = |path: &str| format!("http://demo.localhost:{port}{path}");

    let chrome = Headless::start().await;
    let c = &chrome.client;
    c.goto(&url("/visits/l1")).await.unwrap();
    c.wait()
        .for_element(Id("personnummer"))
        .await
        .unwrap()
        .send_keys(TOVE)
        .await
        .unwrap();
    crate::headless::click_on(c, "#login-submit").await;
    // Her first login: the terms, then the visit she came for.
    crate::headless::click_on(c, "#accept-terms").await;
    wait_for_text(c, "#visit h1", "Uppföljning").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/visits/l1");
    crate::headless::click_on(c, "#confirm-visit").await;
    wait_for_text(c, "#notice", "Besöket är bekräftat").await;
    wait_for_text(c, "#visit-status", "Bekräftad").await;
    assert_eq!(status_of(&app, "l1").await, BookingStatus::Confirmed);
    screenshot(c, "visit-confirmed-by-patient").await;
    crate::headless::open_account_menu(c).await;
    crate::headless::click_on(c, "#logout").await;

    login(c, port, KARIN).await;
    c.goto(&url("/bookings")).await.unwrap();
    wait_for_text(c, "#booking-l1", "Tove Toll").await;
    screenshot(c, "bookings-desktop").await;
    // On a phone, each booking is a block that fits the width.
    // (The page's menu is the layout's: its own test.)
    c.set_window_size(390, 844).await.unwrap();
    let fits = c
        .execute(
            "const m = document.querySelector('main');
             return m.scrollWidth <= m.clientWidth
               && document.getElementById('bookings').getBoundingClientRect().right <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        fits,
        serde_json::json!(true),
        "Mina bokningar is wider than a phone"
    );
    screenshot(c, "bookings-phone").await;
    c.set_window_size(1280, 900).await.unwrap();
    crate::headless::click_on(c, "#booking-l1 a.row-link").await;
    wait_for_text(c, "#visit-patient", "Tove Toll").await;
    crate::headless::click_on(c, "#cancel-visit").await;
    wait_for_text(c, "#cancel-confirm", "Avboka besöket?").await;
    let text = wait_for_text(c, "#cancel-confirm", "Tove Toll").await;
    assert!(text.contains("10:00–10:15"), "{text}");
    screenshot(c, "booking-cancel-confirmation").await;
    crate::headless::click_on(c, "#cancel-back").await;
    wait_for_text(c, "#visit h1", "Uppföljning").await;
    assert_eq!(status_of(&app, "l1").await, BookingStatus::Confirmed);
    crate::headless::click_on(c, "#cancel-visit").await;
    crate::headless::click_on(c, "#cancel-for-good").await;
    wait_for_text(c, "#notice", "Besöket är avbokat").await;
    assert_eq!(status_of(&app, "l1").await, BookingStatus::Cancelled);
    let _ = c.clone().close().await;
}

/// The walkthrough's colleague, in a browser on a desktop and a phone: an
/// invited colleague finds the visit under "Besök som gäst" on the start
/// page, with its title and time and nothing of the patient, and opens it.
#[tokio::test(flavor = "multi_thread")]
async fn a_colleague_finds_the_visit_as_a_guest_in_a_browser() {
    use crate::headless::{Headless, login, screenshot, wait_for_text};
    use tillit_domain::booking::BookingStatus;
    let app = TestApp::new(Backend::Sqlite).await;
    let port = serve(&app).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let olof_id = person_id(&app, "19700101-0003").await;
    let ten = Timestamp::from_stockholm(&tomorrow(&app), "10:00").unwrap();
    book(&app, "g1", ten, BookingStatus::Confirmed, vec![olof_id]).await;

    let chrome = Headless::start().await;
    let c = &chrome.client;
    login(c, port, "19700101-0003").await;
    for (width, height, name) in [(1280, 900, "desktop"), (390, 844, "phone")] {
        c.set_window_size(width, height).await.unwrap();
        c.goto(&format!("http://demo.localhost:{port}/"))
            .await
            .unwrap();
        let guest = wait_for_text(c, "#as-guest", "Besök som gäst").await;
        assert!(guest.contains("10:00"), "{guest}");
        c.execute(
            "document.getElementById('as-guest').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
        screenshot(c, &format!("colleague-as-guest-{name}")).await;
        c.find(fantoccini::Locator::Css("#guest-visit-g1 a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let visit = wait_for_text(c, "#visit", "Karin Lindblad").await;
        let page = c.source().await.unwrap();
        for secret in ["Tove", "Toll", "20000229", "medicinlista"] {
            assert!(
                !page.contains(secret) && !guest.contains(secret),
                "{name}: the colleague sees {secret}: {visit}"
            );
        }
        screenshot(c, &format!("colleague-visit-{name}")).await;
    }
    let _ = c.clone().close().await;
}
