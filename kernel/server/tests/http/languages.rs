//! Swedish by default, English on request, and the language switch's return path.

use crate::support::*;

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
    // Browsers drop the tab and the newline, which would leave `//evil…`;
    // a newline must not break the response either.
    for sneaky in ["/\t/evil.example", "/\n/evil.example", "/\\evil.example"] {
        let res = b
            .post("/language", &[("lang", "sv"), ("return_to", sneaky)])
            .await;
        assert_eq!(
            (res.status, res.location()),
            (StatusCode::SEE_OTHER, "/"),
            "{sneaky:?}"
        );
    }
    let res = b.post("/language", &[("lang", "xx")]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}
