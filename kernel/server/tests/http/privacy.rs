//! Personal data: every read of patient data in the access log, and no
//! personnummer in the logs.

use crate::support::*;
use tillit_domain::Clock;

#[tokio::test]
async fn every_read_of_patient_data_is_in_the_access_log() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let tove_pnr = Personnummer::parse(TOVE).unwrap();
        let tove = demo
            .person_by_personnummer(&tove_pnr)
            .await
            .unwrap()
            .unwrap();
        assert!(demo.access_log_for(&tove_pnr).await.unwrap().is_empty());

        let mut patient = app.browser("demo.localhost");
        patient.login(TOVE).await;
        let page = patient.get("/me").await;
        assert!(page.body.contains("Tove Toll") && page.body.contains("20000229-2381"));

        let mut admin = app.browser("demo.localhost");
        admin.login(ADA).await;
        admin.get("/admin/people").await;
        admin
            .post(
                &format!("/admin/people/{}/status", tove.id),
                &[("status", "inactive")],
            )
            .await;

        let ada = demo
            .person_by_personnummer(&Personnummer::parse(ADA).unwrap())
            .await
            .unwrap()
            .unwrap();
        let log = demo.access_log_for(&tove_pnr).await.unwrap();
        let got: Vec<(&str, &str, &str)> = log
            .iter()
            .map(|e| (e.actor_id.as_str(), e.action.as_str(), e.what.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (tove.id.as_str(), "update", "terms"),
                (tove.id.as_str(), "read", "profile"),
                (ada.id.as_str(), "read", "people.list"),
                (ada.id.as_str(), "update", "status"),
            ],
            "{backend:?}"
        );
        assert!(log.iter().all(|e| e.at == app.clock.now()));
    }
}
/// Runs a full round of logins, failures and admin work, then reads every
/// log line this test binary produced: no personnummer, in any format.
#[tokio::test]
async fn no_personnummer_ever_reaches_the_logs() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut b = app.browser("demo.localhost");
    b.get("/login").await;
    b.post("/login/test", &[("personnummer", "19121212-1213")])
        .await;
    b.post("/login/test", &[("personnummer", NILS)]).await;
    b.login(ADA).await;
    b.get("/admin/people").await;
    b.post(
        "/admin/people",
        &[
            ("role", "clinician"),
            ("personnummer", "19900315-4565"),
            ("given_name", "Ny"),
            ("family_name", "Person"),
        ],
    )
    .await;
    b.post(
        "/admin/people",
        &[
            ("role", "clinician"),
            ("personnummer", "19900315-4565"),
            ("given_name", "Ny"),
            ("family_name", "Person"),
        ],
    )
    .await;
    b.get("/me").await;
    b.post("/logout", &[]).await;

    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    assert!(logs.contains("logged in"), "logs were captured");
    for pnr in [ADA, NILS, "19121212-1213", "19900315-4565"] {
        let digits: String = pnr.chars().filter(char::is_ascii_digit).collect();
        for form in [
            pnr.to_owned(),
            digits.clone(),
            format!("{}-{}", &digits[..8], &digits[8..]),
            digits[2..].to_owned(),
        ] {
            if let Some(i) = logs.find(&form) {
                panic!(
                    "{form} appears in the logs: {}",
                    &logs[i.saturating_sub(300)..(i + 100).min(logs.len())]
                );
            }
        }
    }
}
