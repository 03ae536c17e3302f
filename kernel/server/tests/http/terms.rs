//! The information notice and terms patients accept, per tenant and version.

use crate::support::*;

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
        for (path, to) in [
            ("/", "/terms"),
            ("/me", "/terms?next=%2Fme"),
            ("/bookings/new", "/terms?next=%2Fbookings%2Fnew"),
        ] {
            assert_eq!(tove.get(path).await.location(), to, "{backend:?} {path}");
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
