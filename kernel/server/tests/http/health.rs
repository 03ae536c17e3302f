//! Health, readiness and metrics: on the operators' own router (which
//! `tillit serve` runs on `server.ops_listen`), never on a tenant's host,
//! with labels that tell no accounts apart.

use crate::support::*;
use tillit_domain::Clock;

/// A GET on the operators' router.
async fn ops_get(app: &TestApp, path: &str) -> (StatusCode, String) {
    let req = Request::builder().uri(path).body(Body::empty()).unwrap();
    let res = tillit_kernel::web::ops_router(app.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn health_readiness_and_metrics_on_the_operators_router() {
    let app = TestApp::new(Backend::Postgres).await;
    assert_eq!(ops_get(&app, "/healthz").await.0, StatusCode::OK);
    assert_eq!(ops_get(&app, "/readyz").await.0, StatusCode::OK);
    app.browser("demo.localhost").get("/").await;
    let (status, metrics) = ops_get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/\""));
    assert_eq!(ops_get(&app, "/").await.0, StatusCode::NOT_FOUND);

    // The database goes away: the process is still alive, but not ready.
    app.db.drop_database_now();
    assert_eq!(ops_get(&app, "/healthz").await.0, StatusCode::OK);
    let (status, body) = ops_get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("database"));
    // A page that needs the database says so rather than failing obscurely.
    let mut b = app.browser("demo.localhost");
    b.cookies.insert("tillit_session".into(), "x".repeat(43));
    let page = b.get("/").await;
    assert!(page.status.is_server_error(), "{}", page.status);
}

/// The portals' router answers no operations path, on a tenant's host or
/// an unknown one: they are for the operators' address only.
#[tokio::test]
async fn no_host_of_the_portals_serves_health_or_metrics() {
    let app = TestApp::new(Backend::Sqlite).await;
    app.browser("demo.localhost").get("/").await;
    for host in [
        "demo.localhost",
        "norrland.localhost:8080",
        "anything.example",
    ] {
        for path in ["/healthz", "/readyz", "/metrics"] {
            let page = app.browser(host).get(path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{host}{path}");
            assert!(
                !page.body.contains("http_requests_total") && !page.body.starts_with("ok"),
                "{host}{path}: {}",
                page.body
            );
        }
    }
}

/// The login page answers "unknown" and "inactive" alike; so does the
/// metric that counts logins.
#[tokio::test]
async fn the_login_counter_tells_no_accounts_apart() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    b.get("/login").await;
    // Nils is no one here (he belongs to the other tenant).
    let page = b.post("/login/test", &[("personnummer", NILS)]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    // Karin, made inactive, is someone here.
    let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
    let karin = person_id(&app, KARIN).await;
    demo.set_person_status(
        &karin,
        tillit_domain::PersonStatus::Inactive,
        &tillit_store::ChangedBy {
            person: &karin,
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
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);

    let (_, metrics) = ops_get(&app, "/metrics").await;
    let logins: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("tillit_logins_total"))
        .collect();
    assert!(
        logins.iter().any(|l| l.contains("result=\"refused\"")),
        "{logins:?}"
    );
    assert!(
        logins
            .iter()
            .all(|l| !l.contains("unknown") && !l.contains("inactive")),
        "{logins:?}"
    );
}
