//! "Mina kontakter": a clinician's patients with their history.

use crate::support::*;

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
        let tomorrow = tomorrow(&app);
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
