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
