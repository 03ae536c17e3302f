//! What every request passes: CSRF tokens bound to this origin, a size limit,
//! the security headers, and secure cookies behind TLS.

use crate::support::*;

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
/// A client's `X-Request-Id` is echoed and logged only if it is a short
/// token of safe characters; anything else, or two of them, is replaced by
/// an id of the kernel's own, so a client cannot forge log fields.
#[tokio::test]
async fn a_clients_request_id_is_kept_only_if_short_and_plain() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    let mut with_ids = async |ids: &[&str]| {
        let mut req = b.request("GET", "/login");
        for id in ids {
            req = req.header("x-request-id", *id);
        }
        b.send(req.body(Body::empty()).unwrap()).await
    };
    let page = with_ids(&["lb-7f3a.1_X"]).await;
    assert_eq!(page.header("x-request-id"), "lb-7f3a.1_X");

    let long = "r".repeat(65);
    for ids in [
        &["req\" forged-field-4c1=\"x"][..],
        &["<script>forged-field-4c1</script>"],
        &[long.as_str()],
        &["forged-field-4c1 two words"],
        &["first-4c1", "second-4c1"],
    ] {
        let page = with_ids(ids).await;
        let id = page.header("x-request-id");
        assert!(
            id.len() == 36 && id.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-'),
            "{ids:?} gave {id:?}"
        );
    }
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(logs.contains("lb-7f3a.1_X"), "a good id is logged");
    for forged in ["forged-field-4c1", "first-4c1", &long] {
        assert!(!logs.contains(forged), "{forged} reached the log");
    }
}
