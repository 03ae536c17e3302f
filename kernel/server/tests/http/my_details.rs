//! "Mina uppgifter": patients change their own contact details.

use crate::support::*;

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
        // A right-to-left override would make the name read as another on
        // a clinician's screen: refused like any other bad character.
        let page = tove
            .post(
                "/me",
                &[
                    ("given_name", "Tove"),
                    ("family_name", "Toll\u{202e}nossrep"),
                    ("phone", ""),
                    ("email", ""),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}");
        assert!(!tove.get("/me").await.body.contains('\u{202e}'));

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
