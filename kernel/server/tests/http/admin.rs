//! The administrators' staff pages, with field errors, and nobody else's way in.

use crate::support::*;

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

        // An HSA-id: checked for its shape, unique, shown in the list (in
        // capitals, however it was typed).
        let hsa_form = |pnr: &'static str, hsa: &'static str| {
            [
                ("role", "clinician"),
                ("personnummer", pnr),
                ("given_name", "Hanna"),
                ("family_name", "Hsa"),
                ("hsa_id", hsa),
            ]
        };
        let page = admin
            .post("/admin/people", &hsa_form("19850505-0008", "SE23210-0016"))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}");
        assert!(page.body.contains("Ett HSA-id skrivs SE"), "{}", page.body);
        assert!(
            page.body
                .contains(r#"id="hsa_id" name="hsa_id" value="SE23210-0016""#)
        );
        let page = admin
            .post(
                "/admin/people",
                &hsa_form("19850505-0008", "se2321000016-d001"),
            )
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT, "Karin's: {backend:?}");
        assert!(
            page.body
                .contains("finns redan en användare med det här HSA-id")
        );
        let page = admin
            .post(
                "/admin/people",
                &hsa_form("19850505-0008", " se2321000016-h7 "),
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{backend:?}: {}",
            page.body
        );
        let page = admin.get("/admin/people").await;
        assert!(
            page.body.contains("<td>SE2321000016-H7</td>"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("<td>SE2321000016-D001</td>"),
            "Karin's from the tenant file"
        );

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
        assert_eq!(karin_b.get("/me").await.location(), "/login?next=%2Fme");
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
/// An administrator cannot create staff born in the future.
#[tokio::test]
async fn staff_born_after_today_are_a_field_error() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut admin = app.browser("demo.localhost");
    admin.login(ADA).await;
    admin.get("/admin/people").await;
    let page = admin
        .post(
            "/admin/people",
            &[
                ("role", "clinician"),
                ("personnummer", "29991231-1231"),
                ("given_name", "Framtida"),
                ("family_name", "Läkare"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("Födelsedatumet ligger i framtiden"),
        "{}",
        page.body
    );
    let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
    let pnr = Personnummer::parse("29991231-1231").unwrap();
    assert!(demo.person_by_personnummer(&pnr).await.unwrap().is_none());
}
