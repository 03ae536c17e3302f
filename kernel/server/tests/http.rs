//! The portal over HTTP, in process: tenant routing, login and logout,
//! session expiry with a controlled clock, CSRF, tenant isolation of
//! sessions, bad input, headers, languages, the admin pages and the access
//! log. The flows run on SQLite and on the machine's PostgreSQL.

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use support::*;
use tillit_domain::Clock;

#[tokio::test]
async fn each_host_gets_its_own_branded_portal_and_unknown_hosts_learn_nothing() {
    let app = TestApp::new(Backend::Sqlite).await;
    let demo = app.browser("demo.localhost:8080").get("/").await;
    assert_eq!(demo.status, StatusCode::OK);
    assert!(demo.body.contains("Demovården") && demo.body.contains("<html lang=\"sv\""));
    assert!(!demo.body.contains("Vårdmöte Norr") && !demo.body.contains("Norrland"));

    let norr = app.browser("NORRLAND.localhost").get("/").await;
    assert!(
        norr.body.contains("Vårdmöte Norr") && norr.body.contains("class=\"fjord\""),
        "{}",
        norr.body
    );
    assert!(!norr.body.contains("Demov"));
    // Each tenant's brand stylesheet carries its own colours.
    let css_href = |body: &str| {
        let i = body.find("/brand/").unwrap();
        body[i..i + body[i..].find('"').unwrap()].to_owned()
    };
    let demo_css = app
        .browser("demo.localhost")
        .get(&css_href(&demo.body))
        .await;
    let norr_css = app
        .browser("norrland.localhost")
        .get(&css_href(&norr.body))
        .await;
    assert!(demo_css.body.contains("#1f5f8b") && norr_css.body.contains("#0e4d4a"));

    for host in ["unknown.localhost", "localhost", "127.0.0.1:8080", ""] {
        let page = app.browser(host).get("/login").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{host}");
        for leak in ["Demo", "demo", "Norr", "norr", "Tillit"] {
            assert!(
                !page.body.contains(leak),
                "{host}: 404 page mentions {leak}: {}",
                page.body
            );
        }
        assert!(page.headers.get("set-cookie").is_none());
    }
}

#[tokio::test]
async fn log_in_and_out_with_the_test_login() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut b = app.browser("demo.localhost");
        let login = b.get("/login").await;
        assert!(
            login.body.contains("Testinloggning"),
            "the test login is labelled as such"
        );
        let res = b.post("/login/test", &[("personnummer", ADA)]).await;
        assert_eq!(
            (res.status, res.location()),
            (StatusCode::SEE_OTHER, "/"),
            "{backend:?}"
        );
        let cookie = res.header("set-cookie");
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && !cookie.contains("Secure"),
            "{cookie}"
        );
        let home = b.get("/").await;
        assert!(
            home.body.contains("Välkommen, Ada"),
            "{backend:?}: {}",
            home.body
        );
        assert!(home.body.contains("administratör"));
        let old_session = b.session_cookie().cloned().unwrap();

        let out = b.post("/logout", &[]).await;
        assert_eq!(
            (out.status, out.location()),
            (StatusCode::SEE_OTHER, "/login?ended=logout")
        );
        assert!(b.session_cookie().is_none(), "logout clears the cookie");
        assert!(
            b.get("/login?ended=logout")
                .await
                .body
                .contains("Du är nu utloggad")
        );

        // The old token is dead on the server too.
        b.cookies.insert("tillit_session".into(), old_session);
        assert_eq!(b.get("/me").await.location(), "/login");
    }
}

#[tokio::test]
async fn login_refuses_malformed_unknown_and_inactive_people_and_changes_nothing() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut b = app.browser("demo.localhost");
        b.get("/login").await;
        for (typed, message) in [
            ("12121212", "ska ha 12 siffror"),
            ("19121212-121x", "bara innehålla siffror"),
            ("19121312-1212", "inte ett giltigt datum"),
            ("19121212-1213", "Kontrollsiffran stämmer inte"),
        ] {
            let page = b.post("/login/test", &[("personnummer", typed)]).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
            assert!(page.body.contains(message), "{typed}: {}", page.body);
            assert!(page.body.contains("aria-invalid=\"true\""));
            assert!(
                page.body.contains(&format!("value=\"{typed}\"")),
                "the typed value is kept"
            );
            assert!(b.session_cookie().is_none());
        }
        // A valid number that is not a user here (Nils belongs to the other tenant).
        let page = b.post("/login/test", &[("personnummer", NILS)]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("ingen aktiv användare"));
        assert!(b.session_cookie().is_none());

        // An administrator makes Karin inactive; she can no longer log in.
        let store = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let karin = store
            .person_by_personnummer(&Personnummer::parse(KARIN).unwrap())
            .await
            .unwrap()
            .unwrap();
        store
            .set_person_status(
                &karin.id,
                tillit_domain::PersonStatus::Inactive,
                app.clock.now(),
            )
            .await
            .unwrap();
        let page = b.post("/login/test", &[("personnummer", KARIN)]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{backend:?}");
    }
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_the_absolute_lifetime() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        // Idle: the demo tenant logs people out after 2 hours without activity.
        let mut b = app.browser("demo.localhost");
        b.login(ADA).await;
        app.clock.advance(HOUR + 59 * MINUTE);
        assert!(
            b.get("/").await.body.contains("Välkommen, Ada"),
            "1h59m idle is fine"
        );
        app.clock.advance(HOUR + 59 * MINUTE);
        assert!(
            b.get("/").await.body.contains("Välkommen, Ada"),
            "the last request reset the idle clock"
        );
        app.clock.advance(2 * HOUR);
        let page = b.get("/me").await;
        assert_eq!(page.location(), "/login?ended=idle", "{backend:?}");
        assert!(
            b.get(page.location())
                .await
                .body
                .contains("inte har varit aktiv")
        );
        assert!(b.session_cookie().is_none());

        // Absolute: active every 30 minutes, still out after 12 hours.
        let mut b = app.browser("demo.localhost");
        b.login(ADA).await;
        for _ in 0..23 {
            app.clock.advance(30 * MINUTE);
            assert!(b.get("/").await.body.contains("Välkommen, Ada"));
        }
        app.clock.advance(30 * MINUTE);
        let page = b.get("/me").await;
        assert_eq!(page.location(), "/login?ended=absolute", "{backend:?}");
        assert!(
            b.get(page.location())
                .await
                .body
                .contains("längsta tillåtna tid")
        );

        // The other tenant has its own, shorter idle timeout (1 hour).
        let mut n = app.browser("norrland.localhost");
        n.login(NILS).await;
        app.clock.advance(HOUR);
        assert_eq!(n.get("/me").await.location(), "/login?ended=idle");
    }
}

#[tokio::test]
async fn state_changing_requests_need_a_valid_csrf_token_from_this_origin() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    b.get("/login").await;
    let token = b.csrf.clone().unwrap();

    let page = b
        .post_raw("/login/test", &[("personnummer", ADA)], &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("Formuläret kunde inte skickas"),
        "{}",
        page.body
    );
    assert!(b.session_cookie().is_none(), "nothing happened");

    let page = b
        .post_raw(
            "/login/test",
            &[("personnummer", ADA), ("_csrf", "forged")],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let evil = [("origin", "http://evil.example")];
    let page = b
        .post_raw(
            "/login/test",
            &[("personnummer", ADA), ("_csrf", &token)],
            &evil,
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = b
        .post_raw(
            "/login/test",
            &[("personnummer", ADA), ("_csrf", &token)],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(b.session_cookie().is_none());

    // A visitor without the pre-session cookie cannot use someone else's token.
    let mut other = app.browser("demo.localhost");
    let page = other
        .post_raw(
            "/login/test",
            &[("personnummer", ADA), ("_csrf", &token)],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    // The same origin with the right token works, and the token changes at login.
    let same = [("origin", "http://demo.localhost")];
    let page = b
        .post_raw(
            "/login/test",
            &[("personnummer", ADA), ("_csrf", &token)],
            &same,
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    b.get("/").await;
    assert_ne!(
        b.csrf.as_deref(),
        Some(token.as_str()),
        "the token is bound to the new session"
    );
    // Logging out needs the token too.
    let page = b.post_raw("/logout", &[("_csrf", &token)], &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        b.get("/").await.body.contains("Välkommen, Ada"),
        "still logged in"
    );
}

#[tokio::test]
async fn a_session_from_one_tenant_is_refused_on_another() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut demo = app.browser("demo.localhost");
        demo.login(ADA).await;
        let mut norr = app.browser("norrland.localhost");
        norr.cookies.insert(
            "tillit_session".into(),
            demo.session_cookie().unwrap().clone(),
        );
        let page = norr.get("/me").await;
        assert_eq!(page.location(), "/login", "{backend:?}");
        assert!(!norr.get("/").await.body.contains("Ada"));
        // …and the visit to the other tenant did not end the session where it belongs.
        assert!(demo.get("/").await.body.contains("Välkommen, Ada"));
    }
}

#[tokio::test]
async fn oversized_requests_are_refused_with_a_clear_page() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    b.get("/login").await;
    let big = "1".repeat(200 * 1024);
    let page = b.post("/login/test", &[("personnummer", &big)]).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("För mycket data"), "{}", page.body);
    assert!(b.session_cookie().is_none());
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_assets_are_cacheable() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    let home = b.get("/").await;
    let missing = b.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body.contains("Sidan finns inte") && missing.body.contains("Demovården"),
        "themed 404"
    );
    let unknown = app.browser("nobody.localhost").get("/").await;
    for page in [&home, &missing, &unknown] {
        let csp = page.header("content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(page.header("x-content-type-options"), "nosniff");
        assert_eq!(page.header("referrer-policy"), "same-origin");
        assert!(!page.header("x-request-id").is_empty());
    }
    assert_eq!(home.header("cache-control"), "no-store");
    assert!(
        !home.body.contains("style=") && !home.body.contains("<script>"),
        "nothing inline for the CSP to block"
    );

    let end = home.body.find("/style.css\"").unwrap() + "/style.css".len();
    let css_url = &home.body[home.body[..end].rfind('"').unwrap() + 1..end];
    let css = b.get(css_url).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(
        css.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    let stale = b
        .get(&css_url.replacen("/assets/default/", "/assets/default/0", 1))
        .await;
    assert_eq!(
        stale.header("cache-control"),
        "no-cache",
        "an old hash is served but not cached forever"
    );
}

#[tokio::test]
async fn behind_tls_cookies_are_secure_and_host_prefixed() {
    let app = TestApp::with(Backend::Sqlite, |c| c.server.behind_tls = true).await;
    let mut b = app.browser("demo.localhost");
    b.get("/login").await;
    let res = b.post("/login/test", &[("personnummer", ADA)]).await;
    let cookie = res.header("set-cookie");
    assert!(
        cookie.starts_with("__Host-tillit_session=") && cookie.contains("Secure"),
        "{cookie}"
    );
    assert!(res.header("strict-transport-security").contains("max-age="));
}

#[tokio::test]
async fn swedish_by_default_english_on_request() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    let page = b.get("/login").await;
    assert!(page.body.contains("Logga in") && page.body.contains("lang=\"sv\""));
    let res = b
        .post("/language", &[("lang", "en"), ("return_to", "/login")])
        .await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let page = b.get("/login").await;
    assert!(
        page.body.contains("Test login") && page.body.contains("<html lang=\"en\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Testinloggning"));
    // Not an open redirect.
    let res = b
        .post(
            "/language",
            &[("lang", "sv"), ("return_to", "//evil.example/")],
        )
        .await;
    assert_eq!(res.location(), "/");
    let res = b.post("/language", &[("lang", "xx")]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn administrators_manage_staff_with_field_errors_and_nothing_else_can() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut admin = app.browser("demo.localhost");
        admin.login(ADA).await;
        let page = admin.get("/admin/people").await;
        assert!(
            page.body.contains("Karin Lindblad") && page.body.contains("Tove Toll"),
            "{}",
            page.body
        );

        // Every field wrong at once: every field says so, nothing is created.
        let page = admin
            .post(
                "/admin/people",
                &[
                    ("role", "patient"),
                    ("personnummer", "19121212-1213"),
                    ("given_name", " "),
                    ("family_name", &"x".repeat(101)),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}");
        for msg in [
            "Välj vårdpersonal eller administratör",
            "Kontrollsiffran",
            "Fyll i namnet",
            "högst 100 tecken",
        ] {
            assert!(page.body.contains(msg), "missing {msg:?}");
        }
        // A name with markup is stored as text and shown escaped.
        let page = admin
            .post(
                "/admin/people",
                &[
                    ("role", "clinician"),
                    ("personnummer", "19900315-4565"),
                    ("given_name", "<script>alert(1)</script>"),
                    ("family_name", "Läkare"),
                ],
            )
            .await;
        assert_eq!(
            (page.status, page.location()),
            (StatusCode::SEE_OTHER, "/admin/people?done=created")
        );
        let page = admin.get("/admin/people?done=created").await;
        assert!(
            page.body
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; Läkare")
                && !page.body.contains("<script>alert")
        );
        assert!(page.body.contains("Användaren har lagts till"));

        // The same personnummer again is refused on its field.
        let page = admin
            .post(
                "/admin/people",
                &[
                    ("role", "administrator"),
                    ("personnummer", "199003154565"),
                    ("given_name", "A"),
                    ("family_name", "B"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("finns redan en användare"));

        // Clinicians and patients cannot reach the admin pages or act on them.
        for pnr in [KARIN, TOVE] {
            let mut other = app.browser("demo.localhost");
            other.login(pnr).await;
            assert_eq!(
                other.get("/admin/people").await.status,
                StatusCode::FORBIDDEN
            );
            let page = other
                .post(
                    "/admin/people",
                    &[
                        ("role", "administrator"),
                        ("personnummer", "19550505-1234"),
                        ("given_name", "X"),
                        ("family_name", "Y"),
                    ],
                )
                .await;
            assert_eq!(page.status, StatusCode::FORBIDDEN);
        }
        // An administrator of another tenant has no say here.
        let mut nils = app.browser("norrland.localhost");
        nils.login(NILS).await;
        let demo = TenantId::parse("demo").unwrap();
        let karin = app
            .state
            .store
            .tenant(demo.clone())
            .person_by_personnummer(&Personnummer::parse(KARIN).unwrap())
            .await
            .unwrap()
            .unwrap();
        let page = nils
            .post(
                &format!("/admin/people/{}/status", karin.id),
                &[("status", "inactive")],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);

        // Making Karin inactive ends her session at once.
        let mut karin_b = app.browser("demo.localhost");
        karin_b.login(KARIN).await;
        admin.get("/admin/people").await;
        let page = admin
            .post(
                &format!("/admin/people/{}/status", karin.id),
                &[("status", "inactive")],
            )
            .await;
        assert_eq!(page.location(), "/admin/people?done=status");
        assert_eq!(karin_b.get("/me").await.location(), "/login");
        let status = app
            .state
            .store
            .tenant(demo)
            .person(&karin.id)
            .await
            .unwrap()
            .unwrap()
            .status;
        assert_eq!(status, tillit_domain::PersonStatus::Inactive);
    }
}

#[tokio::test]
async fn every_read_of_patient_data_is_in_the_access_log() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let tove_pnr = Personnummer::parse(TOVE).unwrap();
        let tove = demo
            .person_by_personnummer(&tove_pnr)
            .await
            .unwrap()
            .unwrap();
        assert!(demo.access_log_for(&tove_pnr).await.unwrap().is_empty());

        let mut patient = app.browser("demo.localhost");
        patient.login(TOVE).await;
        let page = patient.get("/me").await;
        assert!(page.body.contains("Tove Toll") && page.body.contains("20000229-2381"));

        let mut admin = app.browser("demo.localhost");
        admin.login(ADA).await;
        admin.get("/admin/people").await;
        admin
            .post(
                &format!("/admin/people/{}/status", tove.id),
                &[("status", "inactive")],
            )
            .await;

        let ada = demo
            .person_by_personnummer(&Personnummer::parse(ADA).unwrap())
            .await
            .unwrap()
            .unwrap();
        let log = demo.access_log_for(&tove_pnr).await.unwrap();
        let got: Vec<(&str, &str, &str)> = log
            .iter()
            .map(|e| (e.actor_id.as_str(), e.action.as_str(), e.what.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (tove.id.as_str(), "update", "terms"),
                (tove.id.as_str(), "read", "profile"),
                (ada.id.as_str(), "read", "people.list"),
                (ada.id.as_str(), "update", "status"),
            ],
            "{backend:?}"
        );
        assert!(log.iter().all(|e| e.at == app.clock.now()));
    }
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::new(Backend::Postgres).await;
    let mut ops = app.browser("anything.example");
    assert_eq!(ops.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(ops.get("/readyz").await.status, StatusCode::OK);
    app.browser("demo.localhost").get("/").await;
    let metrics = ops.get("/metrics").await;
    assert!(
        metrics.body.contains("http_requests_total"),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains("route=\"/\""));

    // The database goes away: the process is still alive, but not ready.
    app.db.drop_database_now();
    assert_eq!(ops.get("/healthz").await.status, StatusCode::OK);
    let page = ops.get("/readyz").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("database"));
    // A page that needs the database says so rather than failing obscurely.
    let mut b = app.browser("demo.localhost");
    b.cookies.insert("tillit_session".into(), "x".repeat(43));
    let page = b.get("/").await;
    assert!(page.status.is_server_error(), "{}", page.status);
}

/// Runs a full round of logins, failures and admin work, then reads every
/// log line this test binary produced: no personnummer, in any format.
#[tokio::test]
async fn no_personnummer_ever_reaches_the_logs() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    b.get("/login").await;
    b.post("/login/test", &[("personnummer", "19121212-1213")])
        .await;
    b.post("/login/test", &[("personnummer", NILS)]).await;
    b.login(ADA).await;
    b.get("/admin/people").await;
    b.post(
        "/admin/people",
        &[
            ("role", "clinician"),
            ("personnummer", "19900315-4565"),
            ("given_name", "Ny"),
            ("family_name", "Person"),
        ],
    )
    .await;
    b.post(
        "/admin/people",
        &[
            ("role", "clinician"),
            ("personnummer", "19900315-4565"),
            ("given_name", "Ny"),
            ("family_name", "Person"),
        ],
    )
    .await;
    b.get("/me").await;
    b.post("/logout", &[]).await;

    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    assert!(logs.contains("logged in"), "logs were captured");
    for pnr in [ADA, NILS, "19121212-1213", "19900315-4565"] {
        let digits: String = pnr.chars().filter(char::is_ascii_digit).collect();
        for form in [
            pnr.to_owned(),
            digits.clone(),
            format!("{}-{}", &digits[..8], &digits[8..]),
            digits[2..].to_owned(),
        ] {
            if let Some(i) = logs.find(&form) {
                panic!(
                    "{form} appears in the logs: {}",
                    &logs[i.saturating_sub(300)..(i + 100).min(logs.len())]
                );
            }
        }
    }
}

/// "Min profil": a clinician fills in the profile, meets every field error,
/// is told what blocks publishing, creates and edits visit types, publishes.
#[tokio::test]
async fn a_clinician_builds_and_publishes_a_profile() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        let page = karin.get("/profile").await;
        assert_eq!(page.status, StatusCode::OK, "{backend:?}");
        assert!(page.body.contains("<strong>0%</strong>"));

        // Publishing an empty profile says what is missing and changes nothing.
        let page = karin.post("/profile/publish", &[]).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(
            page.body.contains("Fyll i din yrkestitel först")
                && page.body.contains("Skapa minst ett bokningsbart besök")
        );
        assert!(page.body.contains("Din profil är inte publicerad"));

        // Too long: the handbook's 22 and 250 characters.
        let too_long_title = "Legitimerad psykoterapeut";
        let page = karin
            .post(
                "/profile",
                &[
                    ("title", too_long_title),
                    ("introduction", &"x".repeat(251)),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.body.contains("Högst 22 tecken.") && page.body.contains("Högst 250 tecken."),
            "{}",
            page.body
        );
        assert!(
            page.body.contains(&format!("value=\"{too_long_title}\"")),
            "what was typed stays"
        );
        assert!(
            app.state
                .store
                .tenant(TenantId::parse("demo").unwrap())
                .profile(&person_id(&app, KARIN).await)
                .await
                .unwrap()
                .is_none()
        );

        let page = karin
            .post(
                "/profile",
                &[
                    ("title", "Leg. psykolog"),
                    ("introduction", "Jag arbetar med <KBT>."),
                    ("visiting_address", "Storgatan 1, Umeå"),
                ],
            )
            .await;
        assert_eq!(
            (page.status, page.location()),
            (StatusCode::SEE_OTHER, "/profile?done=saved")
        );
        let page = karin.get("/profile?done=saved").await;
        assert!(page.body.contains("Profilen har sparats"));
        assert!(
            page.body
                .contains("Karin Lindblad, <span class=\"job-title\">Leg. psykolog</span>"),
            "the preview"
        );
        assert!(
            page.body.contains("Jag arbetar med &lt;KBT&gt;."),
            "escaped"
        );
        assert!(page.body.contains("<strong>37%</strong>"), "3 of 8 steps");

        // Visit types: every field's error at once, then a valid one.
        let page = karin
            .post(
                "/profile/visit-types",
                &[("title", ""), ("minutes", "4"), ("kind", "video")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.body.contains("Fyll i fältet.")
                && page.body.contains("Ett besök är minst 5 minuter.")
        );
        let page = karin
            .post(
                "/profile/visit-types",
                &[("title", "Återbesök"), ("minutes", "15"), ("kind", "video")],
            )
            .await;
        assert_eq!(page.location(), "/profile?done=type_saved");
        let page = karin.get("/profile").await;
        assert!(page.body.contains("value=\"Återbesök\"") && page.body.contains("value=\"15\""));
        let i = page.body.find("/profile/visit-types/").unwrap() + "/profile/visit-types/".len();
        let type_id = page.body[i..i + page.body[i..].find('"').unwrap()].to_owned();

        // Editing it: a bad length is refused on that form only.
        let page = karin
            .post(
                &format!("/profile/visit-types/{type_id}"),
                &[
                    ("title", "Återbesök"),
                    ("minutes", "en kvart"),
                    ("kind", "video"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("Ange antal minuter med siffror"));
        let page = karin
            .post(
                &format!("/profile/visit-types/{type_id}"),
                &[("title", "Återbesök"), ("minutes", "20"), ("kind", "video")],
            )
            .await;
        assert_eq!(page.location(), "/profile?done=type_saved");

        // Another clinician cannot touch it.
        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;
        olof.get("/profile").await;
        let page = olof
            .post(&format!("/profile/visit-types/{type_id}/archive"), &[])
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);

        let page = karin.post("/profile/publish", &[]).await;
        assert_eq!(page.location(), "/profile?done=published");
        let page = karin.get("/profile?done=published").await;
        assert!(
            page.body.contains("Din profil är publicerad")
                && page.body.contains("<strong>62%</strong>")
        );

        // Administrators and patients have no profile page.
        for pnr in [ADA, TOVE] {
            let mut other = app.browser("demo.localhost");
            other.login(pnr).await;
            assert_eq!(other.get("/profile").await.status, StatusCode::FORBIDDEN);
        }
    }
}

/// "Bjud in till besök" end to end at the HTTP level: the clinician invites a
/// new patient (after every kind of mistake), the patient sees the visit with
/// the message and confirms it, the clinician cancels another; double
/// bookings, "Boka nu", self-invites and other clinicians' bookings.
#[tokio::test]
async fn a_clinician_invites_a_patient_who_confirms() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;

        // Not published yet: told why, and nothing can be sent.
        let page = karin.get("/bookings/new").await;
        assert!(
            page.body.contains("när din profil är publicerad"),
            "{backend:?}"
        );
        assert_eq!(
            karin.post("/bookings", &[("who", "new")]).await.status,
            StatusCode::CONFLICT
        );

        publish_profile(&mut karin).await;
        let page = karin.get("/bookings/new").await;
        let vt = visit_type_id(&page);
        let tomorrow = app
            .clock
            .now()
            .plus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();
        let yesterday = app
            .clock
            .now()
            .minus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();
        let invite = |phone: &'static str, pnr: &'static str, date: String, time: &'static str| {
            vec![
                ("who", "new".to_owned()),
                ("phone", phone.to_owned()),
                ("personnummer", pnr.to_owned()),
                ("given_name", "Sara".to_owned()),
                ("family_name", "Svensson".to_owned()),
                ("visit_type_id", vt.clone()),
                ("date", date),
                ("time", time.to_owned()),
                ("message", "Ta med din medicinlista.".to_owned()),
            ]
        };
        let post = |f: &Vec<(&'static str, String)>| {
            f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
        };

        // Mistakes: each is named on its field, and nothing is booked.
        let page = karin
            .post(
                "/bookings",
                &as_refs(&post(&invite(
                    "12345",
                    "19850707-1118",
                    yesterday.clone(),
                    "10:00",
                ))),
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        for msg in [
            "svenskt mobilnummer",
            "Kontrollsiffran",
            "Tiden har redan passerat",
        ] {
            assert!(page.body.contains(msg), "{backend:?}: missing {msg:?}");
        }
        assert!(page.body.contains("value=\"Sara\""), "what was typed stays");
        let page = karin
            .post(
                "/bookings",
                &as_refs(&post(&invite(
                    "070-123 45 67",
                    KARIN,
                    tomorrow.clone(),
                    "10:00",
                ))),
            )
            .await;
        assert!(page.body.contains("Du kan inte bjuda in dig själv"));
        assert!(
            karin
                .get("/bookings")
                .await
                .body
                .contains("Du har inga kommande bokningar")
        );

        let page = karin
            .post(
                "/bookings",
                &as_refs(&post(&invite(
                    "070-123 45 67",
                    "19850707-1119",
                    tomorrow.clone(),
                    "10:00",
                ))),
            )
            .await;
        assert_eq!(
            (page.status, page.location()),
            (StatusCode::SEE_OTHER, "/bookings?done=created"),
            "{}",
            page.body
        );
        let list = karin.get("/bookings?done=created").await;
        assert!(
            list.body.contains("Inbjudan är skapad")
                && list.body.contains("Sara Svensson")
                && list.body.contains("Obekräftad")
        );
        assert!(
            list.body.contains(", 10:00–10:15"),
            "Stockholm time: {}",
            list.body
        );

        // The same time again: first a warning about the double booking, then
        // (when the clinician insists) a clear refusal for the taken slot.
        let mut again = invite("0701234568", "20000229-2381", tomorrow.clone(), "10:00");
        again[3] = ("given_name", "Tove".to_owned());
        let page = karin.post("/bookings", &as_refs(&post(&again))).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("överlappar"));
        again.push(("confirm_overlap", "1".to_owned()));
        let page = karin.post("/bookings", &as_refs(&post(&again))).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("börjar den tiden"), "{}", page.body);
        // A member of staff's personnummer is not a patient's.
        let staff = invite("0701234568", "19121212-1212", tomorrow.clone(), "11:00");
        let page = karin.post("/bookings", &as_refs(&post(&staff))).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("tillhör en medarbetare"));

        // The patient logs in, sees the visit, the message and who, and confirms.
        let mut sara = app.browser("demo.localhost");
        sara.login("19850707-1119").await;
        let home = sara.get("/").await;
        assert!(
            home.body
                .contains("Karin Lindblad, <span class=\"job-title\">Leg. psykolog</span>"),
            "{}",
            home.body
        );
        assert!(home.body.contains("Ta med din medicinlista.") && home.body.contains("Obekräftad"));
        let i = home.body.find("/bookings/").unwrap() + "/bookings/".len();
        let booking_id = home.body[i..i + home.body[i..].find('/').unwrap()].to_owned();
        let page = sara
            .post(&format!("/bookings/{booking_id}/confirm"), &[])
            .await;
        assert_eq!(page.location(), "/?done=confirmed");
        assert!(
            sara.get("/?done=confirmed")
                .await
                .body
                .contains("Bekräftad")
        );
        let page = sara
            .post(&format!("/bookings/{booking_id}/confirm"), &[])
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT, "confirming twice");
        assert!(page.body.contains("Besöket har redan ändrats"));
        assert!(karin.get("/bookings").await.body.contains("Bekräftad"));

        // Another clinician cannot touch it; Karin can cancel it.
        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;
        olof.get("/").await;
        assert_eq!(
            olof.post(&format!("/bookings/{booking_id}/cancel"), &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        karin.get("/bookings").await;
        let page = karin
            .post(&format!("/bookings/{booking_id}/cancel"), &[])
            .await;
        assert_eq!(page.location(), "/bookings?done=cancelled");
        assert!(!karin.get("/bookings").await.body.contains("Sara Svensson"));
        assert!(
            sara.get("/")
                .await
                .body
                .contains("Du har inga kommande besök")
        );

        // "Boka nu" needs no confirmation; a colleague can be invited for a test visit.
        karin.get("/bookings/new").await;
        let mut now = invite("070-123 45 67", "19850707-1119", String::new(), "");
        now.push(("book_now", "1".to_owned()));
        let page = karin.post("/bookings", &as_refs(&post(&now))).await;
        assert_eq!(page.location(), "/bookings?done=created", "{}", page.body);
        assert!(karin.get("/bookings").await.body.contains("Bekräftad"));
        let olof_id = person_id(&app, "19700101-0003").await;
        let test_visit = [
            ("who", "colleague"),
            ("colleague_id", olof_id.as_str()),
            ("visit_type_id", vt.as_str()),
            ("date", tomorrow.as_str()),
            ("time", "15:00"),
        ];
        let page = karin.post("/bookings", &test_visit).await;
        assert_eq!(page.location(), "/bookings?done=created", "{}", page.body);

        // Every booking of the patient is in the access log, with who did what.
        let log = app
            .state
            .store
            .tenant(TenantId::parse("demo").unwrap())
            .access_log_for(&Personnummer::parse("19850707-1119").unwrap())
            .await
            .unwrap();
        let whats: Vec<&str> = log.iter().map(|e| e.what.as_str()).collect();
        for what in ["booking", "bookings.list", "bookings", "booking.status"] {
            assert!(whats.contains(&what), "{backend:?}: no {what} in {whats:?}");
        }
    }
}

/// The first time a patient logs in to a tenant, they see its information
/// notice and terms and must accept them before anything else; the
/// acceptance is stored with the version and the time.
#[tokio::test]
async fn patients_accept_the_terms_once_per_tenant_and_version() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut tove = app.browser("demo.localhost");
        tove.get("/login").await;
        tove.post("/login/test", &[("personnummer", TOVE)]).await;
        for path in ["/", "/me", "/bookings/new"] {
            assert_eq!(
                tove.get(path).await.location(),
                "/terms",
                "{backend:?} {path}"
            );
        }
        let terms = tove.get("/terms").await;
        assert!(
            terms.body.contains("Information och villkor")
                && terms
                    .body
                    .contains("Demo Vårdcentral är personuppgiftsansvarig")
        );
        assert!(terms.body.contains("Version 1"));
        let page = tove.post("/terms", &[]).await;
        assert_eq!(page.location(), "/");
        assert!(tove.get("/").await.body.contains("Välkommen, Tove"));

        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let id = person_id(&app, TOVE).await;
        assert!(demo.has_accepted_terms(&id, "1").await.unwrap());
        assert!(
            !demo.has_accepted_terms(&id, "2").await.unwrap(),
            "a new version asks again"
        );
        // Logging in again does not ask again; staff are never asked.
        let mut again = app.browser("demo.localhost");
        assert!(again.login(TOVE).await.body.contains("Välkommen, Tove"));
        let mut karin = app.browser("demo.localhost");
        karin.get("/login").await;
        karin.post("/login/test", &[("personnummer", KARIN)]).await;
        assert_eq!(karin.get("/").await.status, StatusCode::OK);
        assert_eq!(karin.get("/terms").await.status, StatusCode::FORBIDDEN);
    }
}

/// "Mina uppgifter": a patient changes name, mobile number and e-mail; bad
/// values are named on their fields and change nothing; the personnummer
/// cannot be changed, even by a crafted request.
#[tokio::test]
async fn patients_update_their_own_contact_details() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut tove = app.browser("demo.localhost");
        tove.login(TOVE).await;
        let page = tove.get("/me").await;
        assert!(page.body.contains("Ändra dina uppgifter"), "{backend:?}");

        let page = tove
            .post(
                "/me",
                &[
                    ("given_name", ""),
                    ("family_name", "Toll"),
                    ("phone", "112"),
                    ("email", "tove@"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        for msg in ["Fyll i namnet", "svenskt mobilnummer", "namn@exempel.se"] {
            assert!(page.body.contains(msg), "{backend:?}: missing {msg:?}");
        }
        assert!(
            tove.get("/me").await.body.contains("Tove Toll"),
            "nothing changed"
        );

        let page = tove
            .post(
                "/me",
                &[
                    ("given_name", "Tova"),
                    ("family_name", "Toll-Berg"),
                    ("phone", "070 765 43 21"),
                    ("email", "tova@example.se"),
                    ("personnummer", "191212121212"),
                ],
            )
            .await;
        assert_eq!(page.location(), "/me?done=saved");
        let page = tove.get("/me?done=saved").await;
        assert!(
            page.body.contains("Tova Toll-Berg")
                && page.body.contains("+46707654321")
                && page.body.contains("tova@example.se")
        );
        assert!(
            page.body.contains("20000229-2381"),
            "the personnummer is unchanged"
        );
        assert!(tove.get("/").await.body.contains("Välkommen, Tova"));

        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let log = demo
            .access_log_for(&Personnummer::parse(TOVE).unwrap())
            .await
            .unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "update" && e.what == "contact")
        );
        // Staff see their details but do not edit them here.
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        assert!(!karin.get("/me").await.body.contains("contact-form"));
        assert_eq!(
            karin
                .post("/me", &[("given_name", "X"), ("family_name", "Y")])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
}

fn booking_ids(page: &Page, marker: &str) -> Vec<String> {
    page.body
        .match_indices(marker)
        .map(|(i, _)| {
            let rest = &page.body[i + marker.len()..];
            rest[..rest.find(['"', '/']).unwrap()].to_owned()
        })
        .collect()
}

/// The clinician's "Översikt" shows confirmed visits; "Ändra tid" moves a
/// visit, refusing the past, warning about overlaps and refusing a taken
/// start; only the booking's clinician may move it.
#[tokio::test]
async fn the_overview_and_changing_the_time_of_a_visit() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let vt = visit_type_id(&karin.get("/bookings/new").await);
        let tomorrow = app
            .clock
            .now()
            .plus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();
        for (pnr, given, time) in [("19850707-1119", "Sara", "10:00"), (TOVE, "Tove", "11:00")] {
            let f = [
                ("who", "new"),
                ("phone", "0701234567"),
                ("personnummer", pnr),
                ("given_name", given),
                ("family_name", "Test"),
                ("visit_type_id", vt.as_str()),
                ("date", tomorrow.as_str()),
                ("time", time),
            ];
            assert_eq!(
                karin.post("/bookings", &f).await.location(),
                "/bookings?done=created",
                "{backend:?}"
            );
        }
        assert!(
            karin.get("/").await.body.contains("inga bekräftade besök"),
            "nothing confirmed yet"
        );

        let mut sara = app.browser("demo.localhost");
        sara.login("19850707-1119").await;
        let home = sara.get("/").await;
        let sara_booking = booking_ids(&home, "/bookings/")[0].clone();
        let confirmed = sara
            .post(&format!("/bookings/{sara_booking}/confirm"), &[])
            .await;
        assert_eq!(
            confirmed.location(),
            "/?done=confirmed",
            "{sara_booking}: {}",
            confirmed.body
        );
        let overview = karin.get("/").await;
        assert!(
            overview.body.contains("Sara Test") && overview.body.contains(", 10:00–10:15"),
            "{backend:?}: {}",
            overview.body
        );
        assert!(
            !overview.body.contains("Tove Test"),
            "unconfirmed visits are in Mina bokningar, not the overview"
        );

        let form = karin.get(&format!("/bookings/{sara_booking}/time")).await;
        assert!(
            form.body.contains("value=\"10:00\"")
                && form.body.contains(&format!("value=\"{tomorrow}\""))
        );
        let yesterday = app
            .clock
            .now()
            .minus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();
        let page = karin
            .post(
                &format!("/bookings/{sara_booking}/time"),
                &[("date", &yesterday), ("time", "10:00")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("Tiden har redan passerat"));
        let page = karin
            .post(
                &format!("/bookings/{sara_booking}/time"),
                &[("date", &tomorrow), ("time", "11:00")],
            )
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("överlappar"));
        let page = karin
            .post(
                &format!("/bookings/{sara_booking}/time"),
                &[
                    ("date", &tomorrow),
                    ("time", "11:00"),
                    ("confirm_overlap", "1"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("börjar den tiden"));

        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;
        assert_eq!(
            olof.get(&format!("/bookings/{sara_booking}/time"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        let page = karin
            .post(
                &format!("/bookings/{sara_booking}/time"),
                &[("date", &tomorrow), ("time", "12:00")],
            )
            .await;
        assert_eq!(page.location(), "/bookings?done=moved");
        let list = karin.get("/bookings?done=moved").await;
        assert!(
            list.body.contains("Besöket har fått en ny tid") && list.body.contains(", 12:00–12:15")
        );
        assert!(
            sara.get("/").await.body.contains(", 12:00–12:15"),
            "the patient sees the new time"
        );
        let log = app
            .state
            .store
            .tenant(TenantId::parse("demo").unwrap())
            .access_log_for(&Personnummer::parse("19850707-1119").unwrap())
            .await
            .unwrap();
        assert!(
            log.iter().any(|e| e.what == "booking.time")
                && log.iter().any(|e| e.what == "overview")
        );
    }
}

/// "Mina kontakter": the clinician's patients with their history, and only theirs.
#[tokio::test]
async fn my_contacts_lists_my_patients_with_their_history() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        assert!(
            karin
                .get("/contacts")
                .await
                .body
                .contains("Du har inga patienter ännu")
        );
        publish_profile(&mut karin).await;
        let vt = visit_type_id(&karin.get("/bookings/new").await);
        let tomorrow = app
            .clock
            .now()
            .plus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();
        for time in ["09:00", "13:00"] {
            let f = [
                ("who", "new"),
                ("phone", "0701234567"),
                ("personnummer", "19850707-1119"),
                ("given_name", "Sara"),
                ("family_name", "Test"),
                ("visit_type_id", vt.as_str()),
                ("date", tomorrow.as_str()),
                ("time", time),
            ];
            assert_eq!(
                karin.post("/bookings", &f).await.location(),
                "/bookings?done=created"
            );
        }
        let page = karin.get("/contacts").await;
        assert_eq!(
            page.body.matches("<h2>Sara Test</h2>").count(),
            1,
            "{backend:?}: one contact"
        );
        let (later, earlier) = (
            page.body.find(", 13:00–13:15").unwrap(),
            page.body.find(", 09:00–09:15").unwrap(),
        );
        assert!(later < earlier, "newest first");
        // Another clinician's contacts are their own.
        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;
        assert!(!olof.get("/contacts").await.body.contains("Sara"));
        let mut tove = app.browser("demo.localhost");
        tove.login(TOVE).await;
        assert_eq!(tove.get("/contacts").await.status, StatusCode::FORBIDDEN);
    }
}

fn multipart(field: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "tillit-test-boundary-7d9f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Browser<'_> {
    async fn upload(&mut self, path: &str, filename: &str, bytes: &[u8]) -> Page {
        let (content_type, body) = multipart("picture", filename, bytes);
        let req = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}

/// A clinician uploads a profile picture: refused without the CSRF token,
/// refused by content when it is not an image, re-encoded to a 400×400
/// JPEG when it is, shown to people of the same tenant only.
#[tokio::test]
async fn profile_pictures_are_checked_reencoded_and_scoped() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        karin.get("/profile").await;
        let token = karin.csrf.clone().unwrap();
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(900, 600, image::Rgb([200, 30, 30]))
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let png = png.into_inner();

        assert_eq!(
            karin
                .upload("/profile/picture", "me.png", &png)
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{backend:?}"
        );
        let page = karin
            .upload(
                &format!("/profile/picture?_csrf={token}"),
                "me.png",
                b"<svg onload=alert(1)>",
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("inte en JPEG-, PNG- eller WebP-bild"));
        let page = karin
            .upload(
                &format!("/profile/picture?_csrf={token}"),
                "huge.png",
                &vec![0x89; 7 * 1024 * 1024],
            )
            .await;
        assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);

        let page = karin
            .upload(&format!("/profile/picture?_csrf={token}"), "me.png", &png)
            .await;
        assert_eq!(page.location(), "/profile?done=picture");
        let profile = karin.get("/profile?done=picture").await;
        assert!(
            profile.body.contains("Profilbilden har sparats")
                && profile.body.contains("✓ Profilbild")
        );
        let i = profile.body.find("/people/").unwrap();
        let url = profile.body[i..i + profile.body[i..].find('"').unwrap()].to_owned();
        let picture = karin.get(&url).await;
        assert_eq!(
            (picture.status, picture.header("content-type")),
            (StatusCode::OK, "image/jpeg")
        );
        assert!(picture.header("cache-control").starts_with("private"));
        let raw = app
            .state
            .store
            .tenant(TenantId::parse("demo").unwrap())
            .picture(&person_id(&app, KARIN).await)
            .await
            .unwrap()
            .unwrap()
            .2;
        let stored = image::load_from_memory(&raw).unwrap();
        assert_eq!((stored.width(), stored.height()), (400, 400));

        // A patient of the tenant sees it; nobody else does.
        let mut tove = app.browser("demo.localhost");
        tove.login(TOVE).await;
        assert_eq!(tove.get(&url).await.status, StatusCode::OK);
        assert_eq!(
            app.browser("demo.localhost").get(&url).await.location(),
            "/login"
        );
        let mut nils = app.browser("norrland.localhost");
        nils.login(NILS).await;
        assert_eq!(nils.get(&url).await.status, StatusCode::NOT_FOUND);
    }
}

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
        let tomorrow = app
            .clock
            .now()
            .plus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();
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
        let tomorrow = app
            .clock
            .now()
            .plus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();
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
        let page = karin.post("/visits/visit-1/end", &[]).await;
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
            olof.post("/visits/visit-1/end", &[]).await.status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            demo.booking("visit-1").await.unwrap().unwrap().status,
            BookingStatus::Finished
        );
    }
}
