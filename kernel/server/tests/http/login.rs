//! Logging in and out with the test login, refusals that change nothing,
//! and sessions ending after the idle timeout and the absolute lifetime.

use crate::support::*;
use tillit_domain::Clock;

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
        assert_eq!(b.get("/me").await.location(), "/login?next=%2Fme");
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
                &tillit_store::ChangedBy {
                    person: &karin.id,
                    role: tillit_domain::Role::Administrator,
                    logged_as: None,
                    via: None,
                    at_version: None,
                },
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
        assert_eq!(
            page.location(),
            "/login?ended=idle&next=%2Fme",
            "{backend:?}"
        );
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
        assert_eq!(
            page.location(),
            "/login?ended=absolute&next=%2Fme",
            "{backend:?}"
        );
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
        assert_eq!(
            n.get("/me").await.location(),
            "/login?ended=idle&next=%2Fme"
        );
    }
}

/// [2.2] finding 4 at the HTTP level (the browser test is in
/// `login_browser.rs`): a login posted with a session cookie that has
/// expired meanwhile sets the new session cookie, and only that one.
#[tokio::test]
async fn a_login_with_a_stale_session_cookie_ends_logged_in() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    b.get("/login").await;
    let form_token = b.csrf.clone();
    let page = b.post("/login/test", &[("personnummer", KARIN)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    app.clock.advance(3 * HOUR);
    b.csrf = form_token;
    let page = b.post("/login/test", &[("personnummer", KARIN)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let session_cookies: Vec<&str> = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .filter(|v| v.contains("session="))
        .collect();
    assert_eq!(session_cookies.len(), 1, "{session_cookies:?}");
    assert!(
        !session_cookies[0].contains("Max-Age=0"),
        "{session_cookies:?}"
    );
    let home = b.get("/").await;
    assert!(home.body.contains("id=\"greeting\""), "{}", home.body);
}

/// Nobody is born in the future: a date of birth after today is a field
/// error, like any other number that cannot be right.
#[tokio::test]
async fn a_date_of_birth_after_today_is_a_field_error_at_login() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    b.get("/login").await;
    // The test clock says 2027-01-15: the 16th is in the future too.
    for typed in ["29991231-1231", "20270116-1230"] {
        let page = b.post("/login/test", &[("personnummer", typed)]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        assert!(
            page.body.contains("Födelsedatumet ligger i framtiden"),
            "{typed}: {}",
            page.body
        );
        assert!(page.body.contains("aria-invalid=\"true\""));
        assert!(b.session_cookie().is_none());
    }
}

/// [2.4] defect 12: the ten-digit form of a personnummer is told that 12
/// digits are needed, not that only digits and a hyphen are allowed.
#[tokio::test]
async fn a_ten_digit_personnummer_is_told_to_use_twelve() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    b.get("/login").await;
    for typed in ["121212-1212", "1212121212", "121212+1212"] {
        let page = b.post("/login/test", &[("personnummer", typed)]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        assert!(
            page.body
                .contains("Personnumret ska ha 12 siffror (ÅÅÅÅMMDD-NNNN)."),
            "{typed}: {}",
            page.body
        );
        assert!(!page.body.contains("får bara innehålla siffror"), "{typed}");
    }
}
