//! Health, readiness and metrics endpoints.

use crate::support::*;

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
