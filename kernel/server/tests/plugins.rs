//! Plugins through the real kernel: the private-notes plugin (built and
//! packaged by `cargo xtask plugins`) in a visit's room and behind its
//! routes, on both databases; who may see a note is checked at the HTTP
//! level, not only in the page. And the room in a real browser: a
//! clinician writes, saves, and finds the note at the next visit.

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "support/headless.rs"]
mod headless;
mod support;

use axum::body::Body;
use axum::http::StatusCode;
use fantoccini::Locator::{Css, Id};
use headless::{Headless, login, wait_for_text};
use support::*;
use tillit_domain::Clock;

const OLOF: &str = "19700101-0003"; // a second demo clinician

/// The patient reference in the notes panel of a room page.
fn patient_ref(room: &str) -> String {
    let needle = "name=\"patient\" value=\"";
    let i = room
        .find(needle)
        .unwrap_or_else(|| panic!("no notes panel in the room:\n{room}"));
    let rest = &room[i + needle.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A plugin request as `b`, from the room of `visit` (as the room's
/// script sends it), with the CSRF token of the last page.
async fn call(
    b: &mut Browser<'_>,
    method: &str,
    path: &str,
    visit: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    let mut req = b
        .request(method, path)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(v) = visit {
        req = req.header("x-tillit-visit", v);
    }
    if let Some(token) = b.csrf.clone() {
        req = req.header("x-csrf-token", token);
    }
    let body = serde_urlencoded::to_string(form).unwrap();
    let page = b.send(req.body(Body::from(body)).unwrap()).await;
    let json = serde_json::from_str(&page.body).unwrap_or(serde_json::Value::Null);
    (page.status, json)
}

/// Karin's visit `id` with Tove (and Olof as a second clinician), started.
async fn started(app: &TestApp, id: &str, starts_in_minutes: u32) {
    let olof = person_id(app, OLOF).await;
    book_visit(
        app,
        id,
        app.clock.now().plus(starts_in_minutes * MINUTE),
        vec![olof],
    )
    .await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    karin.get(&format!("/visits/{id}")).await;
    let page = karin.post(&format!("/visits/{id}/start"), &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn private_notes_are_the_writing_clinicians_alone() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        assert!(
            app.state.plugins.plugin("notes").is_some(),
            "the notes plugin is not loaded: run `cargo xtask plugins`"
        );
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let mut tove = app.browser("demo.localhost");
        tove.login(TOVE).await;
        started(&app, "n1", 5).await;

        // The room has the notes tab for Karin.
        let room = karin.get("/visits/n1/room").await;
        assert_eq!(room.status, StatusCode::OK);
        assert!(room.body.contains("Anteckningar"), "{}", room.body);
        let tove_ref = patient_ref(&room.body);

        // Karin saves a note, explicitly, and reads it back.
        let (status, saved) = call(
            &mut karin,
            "PUT",
            "/plugins/notes/note",
            Some("n1"),
            &[
                ("patient", &tove_ref),
                ("text", "Sover bättre. Följ upp om två veckor."),
                ("base_version", "0"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        assert!(
            saved["status_text"].as_str().unwrap().contains("Sparad"),
            "{saved}"
        );
        let version = saved["version"].as_u64().unwrap().to_string();
        let (status, read) = call(
            &mut karin,
            "GET",
            &format!("/plugins/notes/note?patient={tove_ref}"),
            Some("n1"),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read["text"], "Sover bättre. Följ upp om två veckor.");

        // A second tab with the old version cannot overwrite it.
        let (status, _) = call(
            &mut karin,
            "PUT",
            "/plugins/notes/note",
            Some("n1"),
            &[
                ("patient", &tove_ref),
                ("text", "Annat"),
                ("base_version", "0"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);

        // Reading a note about a patient is access-logged.
        let demo = app
            .state
            .store
            .tenant(tillit_domain::TenantId::parse("demo").unwrap());
        let log = demo
            .access_log_for(&tillit_domain::Personnummer::parse(TOVE).unwrap())
            .await
            .unwrap();
        assert!(
            log.iter().any(|e| format!("{e:?}").contains("plugin")),
            "{log:?}"
        );

        // The patient: no tab, and the route refuses her.
        let room = tove.get("/visits/n1/room").await;
        assert!(!room.body.contains("plugin-notes"), "{}", room.body);
        let (status, body) = call(
            &mut tove,
            "GET",
            &format!("/plugins/notes/note?patient={tove_ref}"),
            Some("n1"),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(!body.to_string().contains("Sover"));

        // Another clinician in the same visit sees a note of his own: empty.
        let mut olof = app.browser("demo.localhost");
        olof.login(OLOF).await;
        let room = olof.get("/visits/n1/room").await;
        assert!(!room.body.contains("Sover"), "{}", room.body);
        let olof_ref = patient_ref(&room.body);
        let (status, read) = call(
            &mut olof,
            "GET",
            &format!("/plugins/notes/note?patient={olof_ref}"),
            Some("n1"),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read["text"], "", "{read}");

        // The administrator: refused, with or without a visit.
        let mut ada = app.browser("demo.localhost");
        ada.login(ADA).await;
        let (status, body) = call(
            &mut ada,
            "GET",
            &format!("/plugins/notes/note?patient={tove_ref}"),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, _) = call(&mut ada, "GET", "/plugins/notes/note", Some("n1"), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "not a participant");

        // Another tenant has not enabled notes: no trace of it.
        let mut nils = app.browser("norrland.localhost");
        nils.login(NILS).await;
        let (status, _) = call(
            &mut nils,
            "GET",
            &format!("/plugins/notes/note?patient={tove_ref}"),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Notes has no page of its own; the profile page works with plugins.
        assert_eq!(
            karin.get("/features/notes").await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(karin.get("/profile").await.status, StatusCode::OK);

        // A write without the CSRF token changes nothing.
        karin.csrf = None;
        let (status, _) = call(
            &mut karin,
            "PUT",
            "/plugins/notes/note",
            Some("n1"),
            &[
                ("patient", &tove_ref),
                ("text", "Falsk"),
                ("base_version", &version),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The next visit with Tove: the note is there for Karin.
        karin.get("/visits/n1").await;
        karin.post("/visits/n1/end", &[("confirmed", "1")]).await;
        app.clock.advance(7 * 24 * 60 * MINUTE);
        started(&app, "n2", 5).await;
        karin.login(KARIN).await; // a week later: a new session
        let room = karin.get("/visits/n2/room").await;
        assert!(room.body.contains("Sover bättre"), "{}", room.body);
    }
}

/// [2.2] finding 2: a note read or written outside a visit (no
/// `X-Tillit-Visit`) is logged as it is in one, however the patient's
/// reference is written (query, form, JSON with escapes), and also when
/// the plugin's answer is a conflict that shows the current note.
#[tokio::test]
async fn notes_outside_a_visit_are_access_logged_too() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        started(&app, "o1", 5).await;
        let room = karin.get("/visits/o1/room").await;
        let tove_ref = patient_ref(&room.body);
        let demo = app
            .state
            .store
            .tenant(tillit_domain::TenantId::parse("demo").unwrap());
        let karin_id = person_id(&app, KARIN).await;
        let logged = || async {
            demo.access_log_for(&tillit_domain::Personnummer::parse(TOVE).unwrap())
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.actor_id == karin_id.as_str() && e.what == "plugin")
                .map(|e| e.action)
                .collect::<Vec<_>>()
        };
        let before = logged().await.len();

        let (status, saved) = call(
            &mut karin,
            "PUT",
            "/plugins/notes/note",
            None,
            &[
                ("patient", &tove_ref),
                ("text", "Utanför besöket."),
                ("base_version", "0"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {saved}");
        assert_eq!(
            logged().await[before..],
            ["update"],
            "{backend:?}: the write"
        );

        let (status, read) = call(
            &mut karin,
            "GET",
            &format!("/plugins/notes/note?patient={tove_ref}"),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read["text"], "Utanför besöket.");
        assert_eq!(
            logged().await[before..],
            ["update", "read"],
            "{backend:?}: the read"
        );

        // JSON with the reference's first letter escaped, and a stale
        // version: the conflict answer shows the note, so it is logged.
        let escaped = format!("\\u0070{}", &tove_ref[1..]);
        let body = format!(r#"{{"patient":"{escaped}","text":"x","base_version":0}}"#);
        let mut req = karin
            .request("PUT", "/plugins/notes/note")
            .header("accept", "application/json")
            .header("content-type", "application/json");
        if let Some(token) = karin.csrf.clone() {
            req = req.header("x-csrf-token", token);
        }
        let page = karin.send(req.body(Body::from(body)).unwrap()).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
        assert_eq!(
            logged().await[before..],
            ["update", "read", "update"],
            "{backend:?}: the escaped reference"
        );
    }
}

/// In a real browser: Karin writes in the room's notes tab, saves with the
/// button, and the note is there when the room is opened again; Tove's
/// room has no notes tab.
#[tokio::test(flavor = "multi_thread")]
async fn a_clinician_writes_and_saves_a_note_in_the_room() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    app.browser("demo.localhost").login(TOVE).await;
    started(&app, "nb", 5).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = app.state.clone();
    tokio::spawn(async move {
        let _ = tillit_kernel::app::serve(listener, state, std::future::pending()).await;
    });

    let (a, b) = tokio::join!(Headless::with_fake_media(), Headless::with_fake_media());
    let (ca, cb) = (&a.client, &b.client);
    for (c, pnr) in [(ca, "19811218-9876"), (cb, TOVE)] {
        login(c, port, pnr).await;
        c.goto(&format!("http://demo.localhost:{port}/visits/nb/room"))
            .await
            .unwrap();
    }
    let text = c_textarea(ca).await;
    text.send_keys("Föreslår sömndagbok.").await.unwrap();
    ca.find(Css(".plugin-notes button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(ca, ".plugin-notes [data-tillit-status]", "Sparad").await;

    // Opened again (a reload, or the next visit): the saved note is there.
    ca.refresh().await.unwrap();
    let value = c_textarea(ca).await.prop("value").await.unwrap();
    assert_eq!(value.as_deref(), Some("Föreslår sömndagbok."));

    // Tove's room (loaded) has no notes tab.
    cb.wait().for_element(Id("tiles")).await.unwrap();
    assert!(cb.find(Css(".plugin-notes")).await.is_err());
    let _ = ca.clone().close().await;
    let _ = cb.clone().close().await;
}

async fn c_textarea(c: &fantoccini::Client) -> fantoccini::elements::Element {
    c.wait()
        .for_element(Css(".plugin-notes textarea"))
        .await
        .unwrap()
}

/// Every booking change made in the portal (invited, confirmed by the
/// patient, moved, cancelled) is recorded for the tenant's plugins in the
/// change's own transaction, and the worker delivers each once. Before,
/// confirming and moving reached no plugin at all, and the others were
/// fire-and-forget tasks a crash could lose.
#[tokio::test]
async fn every_booking_change_reaches_plugins_through_the_outbox() {
    use tillit_domain::events::BookingEvent;
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let demo = app
            .state
            .store
            .tenant(tillit_domain::TenantId::parse("demo").unwrap());
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let vt = visit_type_id(&karin.get("/bookings/new").await);
        let day = |days: u32| {
            app.clock
                .now()
                .plus(days * 24 * HOUR)
                .to_stockholm()
                .date()
                .to_string()
        };
        let page = karin
            .post(
                "/bookings",
                &[
                    ("who", "new"),
                    ("phone", "0701234567"),
                    ("personnummer", "19900101-2385"),
                    ("given_name", "Sara"),
                    ("family_name", "Svensson"),
                    ("visit_type_id", &vt),
                    ("date", &day(1)),
                    ("time", "10:00"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let booking = demo.pending_plugin_events(10).await.unwrap()[0]
            .booking_id
            .clone();

        let mut sara = app.browser("demo.localhost");
        sara.login("19900101-2385").await;
        sara.post("/terms", &[]).await;
        sara.get("/").await;
        let page = sara
            .post(&format!("/bookings/{booking}/confirm"), &[])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        karin.get(&format!("/bookings/{booking}/time")).await;
        let page = karin
            .post(
                &format!("/bookings/{booking}/time"),
                &[("date", &day(2)), ("time", "11:00")],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        karin.get("/bookings").await;
        let page = karin
            .post(
                &format!("/bookings/{booking}/cancel"),
                &[("confirmed", "1")],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

        let pending = demo.pending_plugin_events(10).await.unwrap();
        assert_eq!(
            pending.iter().map(|e| e.kind).collect::<Vec<_>>(),
            [
                BookingEvent::Created,
                BookingEvent::Confirmed,
                BookingEvent::Moved,
                BookingEvent::Cancelled
            ],
            "{backend:?}"
        );
        assert!(pending.iter().all(|e| e.booking_id == booking));
        // Nothing was lost while no worker ran (as after a crash): the
        // worker delivers all four, and each once.
        assert_eq!(
            tillit_kernel::plugins::deliver_recorded_events(&app.state).await,
            4
        );
        assert!(demo.pending_plugin_events(10).await.unwrap().is_empty());
        assert_eq!(
            tillit_kernel::plugins::deliver_recorded_events(&app.state).await,
            0
        );
    }
}

/// [2.3] item 1: a hostile vendor's plugin (`plugins/hostile/scripter`)
/// tries to run script in the portal as the viewing clinician, by every
/// way its template and routes still allow after the template check. In a
/// real browser, nothing of it runs: its `javascript:` link is `#`, its data
/// stays text, its script, page and SVG are refused, and a script tag
/// pointing at its route (as a template that slipped through would make)
/// is blocked by the portal's policy.
#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_plugin_cannot_run_script_in_the_portal() {
    let app = TestApp::new(Backend::Sqlite).await;
    let dir = repo("plugins/target/dist-hostile/hostile-scripter-0.1.0");
    let info = app
        .state
        .plugins
        .load(&dir)
        .unwrap_or_else(|e| panic!("{e}: run `cargo xtask plugins`"));
    let demo = tillit_domain::TenantId::parse("demo").unwrap();
    app.state
        .plugins
        .enable(
            &demo,
            "hostile-scripter",
            tillit_plugins::Grant::requested(&info),
        )
        .unwrap();
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    started(&app, "xs", 5).await;

    // In the HTML: the kernel neutralised what the data tried.
    let room = karin.get("/visits/xs/room").await;
    assert!(room.body.contains("plugin-scripter"), "{}", room.body);
    assert!(room.body.contains(r##"id="scripter-link" href="#""##));
    assert!(!room.body.contains("javascript:"));
    assert!(!room.body.contains("<script>document.title"));
    assert!(!room.body.contains("\"><img src=x"));
    let csp = room.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src http://demo.localhost/assets/;"),
        "{csp}"
    );
    // An https image of another site may be in the page, but not loaded.
    assert!(csp.contains("img-src 'self' data:;"), "{csp}");

    // Its routes: nothing a browser would run, and no cookie planted.
    for path in ["evil.js", "page", "picture.svg"] {
        let page = karin
            .get(&format!("/plugins/hostile-scripter/{path}"))
            .await;
        assert_eq!(
            page.status,
            StatusCode::BAD_GATEWAY,
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("document.title"), "{path}");
        assert!(page.headers.get("set-cookie").is_none(), "{path}");
    }

    // In Chromium.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = app.state.clone();
    tokio::spawn(async move {
        let _ = tillit_kernel::app::serve(listener, state, std::future::pending()).await;
    });
    let chrome = Headless::with_fake_media().await;
    let c = &chrome.client;
    login(c, port, "19811218-9876").await;
    c.goto(&format!("http://demo.localhost:{port}/visits/xs/room"))
        .await
        .unwrap();
    c.wait().for_element(Id("scripter-link")).await.unwrap();
    // A script tag naming the plugin's route, as a template that slipped
    // through the check would write: the portal's policy does not run it.
    let ran = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const s = document.createElement('script');
               s.src = '/plugins/hostile-scripter/evil.js';
               s.onload = () => done('loaded');
               s.onerror = () => done('blocked');
               document.head.appendChild(s);
               setTimeout(() => done('timeout'), 5000);"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(ran.as_str(), Some("blocked"));
    c.find(Id("scripter-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Css(".plugin-scripter p")).await.unwrap();
    for path in ["page", "picture.svg"] {
        c.goto(&format!(
            "http://demo.localhost:{port}/plugins/hostile-scripter/{path}"
        ))
        .await
        .unwrap();
        assert_ne!(c.title().await.unwrap(), "pwned-by-scripter", "{path}");
    }
    c.goto(&format!("http://demo.localhost:{port}/visits/xs/room"))
        .await
        .unwrap();
    c.wait().for_element(Id("scripter-quote")).await.unwrap();
    assert_ne!(c.title().await.unwrap(), "pwned-by-scripter");
    let text = c
        .find(Id("scripter-quote"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("onerror"),
        "the quote is shown as text: {text}"
    );
    let _ = c.clone().close().await;
}
