//! Inviting to visits, confirming and cancelling them, the overview, and
//! changing a visit's time.

use crate::support::*;
use tillit_domain::Clock;

/// "Bjud in till besök" end to end at the HTTP level: the clinician invites a
/// new patient (after every kind of mistake), the patient sees the visit with
/// the message and confirms it, the clinician cancels another; double
/// bookings, "Boka nu", self-invites and other clinicians' bookings.
#[tokio::test]
async fn a_clinician_invites_a_patient_who_confirms() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;

        // Not published yet: told why, and nothing can be sent.
        let page = karin.get("/bookings/new").await;
        assert!(
            page.body.contains("när din profil är publicerad"),
            "{backend:?}"
        );
        assert_eq!(
            karin.post("/bookings", &[("who", "new")]).await.status,
            StatusCode::CONFLICT
        );

        publish_profile(&mut karin).await;
        let page = karin.get("/bookings/new").await;
        let vt = visit_type_id(&page);
        let tomorrow = tomorrow(&app);
        let yesterday = app
            .clock
            .now()
            .minus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();
        let invite = |phone: &'static str, pnr: &'static str, date: String, time: &'static str| {
            vec![
                ("who", "new".to_owned()),
                ("phone", phone.to_owned()),
                ("personnummer", pnr.to_owned()),
                ("given_name", "Sara".to_owned()),
                ("family_name", "Svensson".to_owned()),
                ("visit_type_id", vt.clone()),
                ("date", date),
                ("time", time.to_owned()),
                ("message", "Ta med din medicinlista.".to_owned()),
            ]
        };
        let post = |f: &Vec<(&'static str, String)>| {
            f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
        };

        // Mistakes: each is named on its field, and nothing is booked.
        let page = karin
            .post(
                "/bookings",
                &as_refs(&post(&invite(
                    "12345",
                    "19850707-1118",
                    yesterday.clone(),
                    "10:00",
                ))),
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        for msg in [
            "svenskt mobilnummer",
            "Kontrollsiffran",
            "Tiden har redan passerat",
        ] {
            assert!(page.body.contains(msg), "{backend:?}: missing {msg:?}");
        }
        assert!(page.body.contains("value=\"Sara\""), "what was typed stays");
        let page = karin
            .post(
                "/bookings",
                &as_refs(&post(&invite(
                    "070-123 45 67",
                    KARIN,
                    tomorrow.clone(),
                    "10:00",
                ))),
            )
            .await;
        assert!(page.body.contains("Du kan inte bjuda in dig själv"));
        assert!(
            karin
                .get("/bookings")
                .await
                .body
                .contains("Du har inga kommande bokningar")
        );

        let page = karin
            .post(
                "/bookings",
                &as_refs(&post(&invite(
                    "070-123 45 67",
                    "19850707-1119",
                    tomorrow.clone(),
                    "10:00",
                ))),
            )
            .await;
        assert_eq!(
            (page.status, page.location()),
            (StatusCode::SEE_OTHER, "/bookings?done=created"),
            "{}",
            page.body
        );
        let list = karin.get("/bookings?done=created").await;
        assert!(
            list.body.contains("Inbjudan är skapad")
                && list.body.contains("Sara Svensson")
                && list.body.contains("Obekräftad")
        );
        assert!(
            list.body.contains(", 10:00–10:15"),
            "Stockholm time: {}",
            list.body
        );

        // The same time again: first a warning about the double booking, then
        // (when the clinician insists) a clear refusal for the taken slot.
        let mut again = invite("0701234568", "20000229-2381", tomorrow.clone(), "10:00");
        again[3] = ("given_name", "Tove".to_owned());
        again[4] = ("family_name", "Toll".to_owned());
        let page = karin.post("/bookings", &as_refs(&post(&again))).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("överlappar"));
        again.push(("confirm_overlap", "1".to_owned()));
        let page = karin.post("/bookings", &as_refs(&post(&again))).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("börjar den tiden"), "{}", page.body);
        // A member of staff's personnummer is not a patient's.
        let staff = invite("0701234568", "19121212-1212", tomorrow.clone(), "11:00");
        let page = karin.post("/bookings", &as_refs(&post(&staff))).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("tillhör en medarbetare"));

        // The patient logs in, sees the visit, the message and who, and confirms.
        let mut sara = app.browser("demo.localhost");
        sara.login("19850707-1119").await;
        let home = sara.get("/").await;
        assert!(
            home.body
                .contains("Karin Lindblad, <span class=\"job-title\">Leg. psykolog</span>"),
            "{}",
            home.body
        );
        assert!(home.body.contains("Ta med din medicinlista.") && home.body.contains("Obekräftad"));
        let i = home.body.find("/bookings/").unwrap() + "/bookings/".len();
        let booking_id = home.body[i..i + home.body[i..].find('/').unwrap()].to_owned();
        let page = sara
            .post(&format!("/bookings/{booking_id}/confirm"), &[])
            .await;
        assert_eq!(page.location(), "/?done=confirmed");
        assert!(
            sara.get("/?done=confirmed")
                .await
                .body
                .contains("Bekräftad")
        );
        let page = sara
            .post(&format!("/bookings/{booking_id}/confirm"), &[])
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT, "confirming twice");
        assert!(page.body.contains("Besöket har redan ändrats"));
        assert!(karin.get("/bookings").await.body.contains("Bekräftad"));

        // Another clinician cannot touch it; Karin can cancel it.
        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;
        olof.get("/").await;
        assert_eq!(
            olof.post(&format!("/bookings/{booking_id}/cancel"), &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        karin.get("/bookings").await;
        let page = karin
            .post(&format!("/bookings/{booking_id}/cancel"), &[])
            .await;
        assert_eq!(page.location(), "/bookings?done=cancelled");
        assert!(!karin.get("/bookings").await.body.contains("Sara Svensson"));
        assert!(
            sara.get("/")
                .await
                .body
                .contains("Du har inga kommande besök")
        );

        // "Boka nu" needs no confirmation; a colleague can be invited for a test visit.
        karin.get("/bookings/new").await;
        let mut now = invite("070-123 45 67", "19850707-1119", String::new(), "");
        now.push(("book_now", "1".to_owned()));
        let page = karin.post("/bookings", &as_refs(&post(&now))).await;
        assert_eq!(page.location(), "/bookings?done=created", "{}", page.body);
        assert!(karin.get("/bookings").await.body.contains("Bekräftad"));
        let olof_id = person_id(&app, "19700101-0003").await;
        let test_visit = [
            ("who", "colleague"),
            ("colleague_id", olof_id.as_str()),
            ("visit_type_id", vt.as_str()),
            ("date", tomorrow.as_str()),
            ("time", "15:00"),
        ];
        let page = karin.post("/bookings", &test_visit).await;
        assert_eq!(page.location(), "/bookings?done=created", "{}", page.body);

        // Every booking of the patient is in the access log, with who did what.
        let log = app
            .state
            .store
            .tenant(TenantId::parse("demo").unwrap())
            .access_log_for(&Personnummer::parse("19850707-1119").unwrap())
            .await
            .unwrap();
        let whats: Vec<&str> = log.iter().map(|e| e.what.as_str()).collect();
        for what in ["booking", "bookings.list", "bookings", "booking.status"] {
            assert!(whats.contains(&what), "{backend:?}: no {what} in {whats:?}");
        }
    }
}
fn booking_ids(page: &Page, marker: &str) -> Vec<String> {
    page.body
        .match_indices(marker)
        .map(|(i, _)| {
            let rest = &page.body[i + marker.len()..];
            rest[..rest.find(['"', '/']).unwrap()].to_owned()
        })
        .collect()
}
/// The clinician's "Översikt" shows confirmed visits; "Ändra tid" moves a
/// visit, refusing the past, warning about overlaps and refusing a taken
/// start; only the booking's clinician may move it.
#[tokio::test]
async fn the_overview_and_changing_the_time_of_a_visit() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let vt = visit_type_id(&karin.get("/bookings/new").await);
        let tomorrow = tomorrow(&app);
        for (pnr, given, family, time) in [
            ("19850707-1119", "Sara", "Test", "10:00"),
            (TOVE, "Tove", "Toll", "11:00"),
        ] {
            let f = [
                ("who", "new"),
                ("phone", "0701234567"),
                ("personnummer", pnr),
                ("given_name", given),
                ("family_name", family),
                ("visit_type_id", vt.as_str()),
                ("date", tomorrow.as_str()),
                ("time", time),
            ];
            assert_eq!(
                karin.post("/bookings", &f).await.location(),
                "/bookings?done=created",
                "{backend:?}"
            );
        }
        assert!(
            karin.get("/").await.body.contains("inga bekräftade besök"),
            "nothing confirmed yet"
        );

        let mut sara = app.browser("demo.localhost");
        sara.login("19850707-1119").await;
        let home = sara.get("/").await;
        let sara_booking = booking_ids(&home, "/bookings/")[0].clone();
        let confirmed = sara
            .post(&format!("/bookings/{sara_booking}/confirm"), &[])
            .await;
        assert_eq!(
            confirmed.location(),
            "/?done=confirmed",
            "{sara_booking}: {}",
            confirmed.body
        );
        let overview = karin.get("/").await;
        assert!(
            overview.body.contains("Sara Test") && overview.body.contains(", 10:00–10:15"),
            "{backend:?}: {}",
            overview.body
        );
        assert!(
            !overview.body.contains("Tove Test"),
            "unconfirmed visits are in Mina bokningar, not the overview"
        );

        let form = karin.get(&format!("/bookings/{sara_booking}/time")).await;
        assert!(
            form.body.contains("value=\"10:00\"")
                && form.body.contains(&format!("value=\"{tomorrow}\""))
        );
        let yesterday = app
            .clock
            .now()
            .minus(24 * HOUR)
            .to_stockholm()
            .date()
            .to_string();
        let page = karin
            .post(
                &format!("/bookings/{sara_booking}/time"),
                &[("date", &yesterday), ("time", "10:00")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("Tiden har redan passerat"));
        let page = karin
            .post(
                &format!("/bookings/{sara_booking}/time"),
                &[("date", &tomorrow), ("time", "11:00")],
            )
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("överlappar"));
        let page = karin
            .post(
                &format!("/bookings/{sara_booking}/time"),
                &[
                    ("date", &tomorrow),
                    ("time", "11:00"),
                    ("confirm_overlap", "1"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert!(page.body.contains("börjar den tiden"));

        let mut olof = app.browser("demo.localhost");
        olof.login("19700101-0003").await;
        assert_eq!(
            olof.get(&format!("/bookings/{sara_booking}/time"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        let page = karin
            .post(
                &format!("/bookings/{sara_booking}/time"),
                &[("date", &tomorrow), ("time", "12:00")],
            )
            .await;
        assert_eq!(page.location(), "/bookings?done=moved");
        let list = karin.get("/bookings?done=moved").await;
        assert!(
            list.body.contains("Besöket har fått en ny tid") && list.body.contains(", 12:00–12:15")
        );
        assert!(
            sara.get("/").await.body.contains(", 12:00–12:15"),
            "the patient sees the new time"
        );
        let log = app
            .state
            .store
            .tenant(TenantId::parse("demo").unwrap())
            .access_log_for(&Personnummer::parse("19850707-1119").unwrap())
            .await
            .unwrap();
        assert!(
            log.iter().any(|e| e.what == "booking.time")
                && log.iter().any(|e| e.what == "overview")
        );
    }
}

/// [2.2] finding 1: the invite form's "new patient" with the personnummer
/// of a patient on file never silently changes their record. Tove has set
/// her own number; Karin invites her personnummer with another name (refused,
/// without learning the name on file), then with another number (asked,
/// nothing changed until she chooses, then changed and logged). A removed
/// patient comes back only when chosen, and that is logged too.
#[tokio::test]
async fn inviting_a_patient_on_file_changes_their_record_only_when_chosen() {
    use tillit_domain::PersonStatus;
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let tove_pnr = Personnummer::parse(TOVE).unwrap();
        let tove = person_id(&app, TOVE).await;
        let mut patient = app.browser("demo.localhost");
        patient.login(TOVE).await;
        let page = patient
            .post(
                "/me",
                &[
                    ("given_name", "Tove"),
                    ("family_name", "Toll"),
                    ("phone", "070-111 22 33"),
                    ("email", ""),
                ],
            )
            .await;
        assert!(page.status.is_redirection() || page.status == StatusCode::OK);
        let phone = || async { demo.contact_of(&tove).await.unwrap().0 };
        assert_eq!(phone().await.as_deref(), Some("+46701112233"));

        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let vt = visit_type_id(&karin.get("/bookings/new").await);
        let date = tomorrow(&app);
        let form =
            |given: &'static str, phone: &'static str, extra: &[(&'static str, &'static str)]| {
                let mut f = vec![
                    ("who", "new".to_owned()),
                    ("phone", phone.to_owned()),
                    ("personnummer", TOVE.to_owned()),
                    ("given_name", given.to_owned()),
                    ("family_name", "Toll".to_owned()),
                    ("visit_type_id", vt.clone()),
                    ("date", date.clone()),
                    ("time", "10:00".to_owned()),
                ];
                for (k, v) in extra {
                    f.retain(|(key, _)| key != k);
                    f.push((*k, (*v).to_owned()));
                }
                f
            };
        let bookings = || async {
            demo.bookings_of(&tove, app.clock.now())
                .await
                .unwrap()
                .len()
        };

        // Another name: refused on the name field, and the name on file is
        // nowhere on the page.
        let page = karin
            .post("/bookings", &as_refs(&form("Mallory", "0739999999", &[])))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}");
        assert!(
            page.body
                .contains("stämmer inte med det som finns registrerat")
        );
        assert!(
            !page.body.contains("Tove"),
            "{backend:?}: the name on file leaked"
        );
        assert_eq!(bookings().await, 0);

        // The right name but another number: asked, nothing changed.
        let page = karin
            .post("/bookings", &as_refs(&form("tove", "0739999999", &[])))
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{backend:?}");
        assert!(page.body.contains("id=\"replace-phone\""));
        assert!(!page.body.contains("070-111") && !page.body.contains("+46701112233"));
        assert_eq!(phone().await.as_deref(), Some("+46701112233"));
        assert_eq!(bookings().await, 0);

        // The number on file: booked, nothing asked.
        let page = karin
            .post(
                "/bookings",
                &as_refs(&form("Tove", "+46 70 111 22 33", &[])),
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{backend:?}");
        assert_eq!(bookings().await, 1);
        // Another number, chosen: replaced, and logged.
        let page = karin
            .post(
                "/bookings",
                &as_refs(&form(
                    "Tove",
                    "0739999999",
                    &[("time", "11:00"), ("replace_phone", "1")],
                )),
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{backend:?}");
        assert_eq!(phone().await.as_deref(), Some("+46739999999"));

        // Removed: asked, then brought back when chosen.
        let mut ada = app.browser("demo.localhost");
        ada.login(ADA).await;
        ada.post(
            &format!("/admin/people/{tove}/status"),
            &[("status", "removed")],
        )
        .await;
        let page = karin
            .post(
                "/bookings",
                &as_refs(&form("Tove", "0739999999", &[("time", "12:00")])),
            )
            .await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{backend:?}");
        assert!(
            page.body.contains("id=\"reactivate\"") && !page.body.contains("id=\"replace-phone\"")
        );
        let status = || async { demo.person(&tove).await.unwrap().unwrap().status };
        assert_eq!(status().await, PersonStatus::Removed);
        let page = karin
            .post(
                "/bookings",
                &as_refs(&form(
                    "Tove",
                    "0739999999",
                    &[("time", "12:00"), ("reactivate", "1")],
                )),
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{backend:?}");
        assert_eq!(status().await, PersonStatus::Active);

        let karin_id = person_id(&app, KARIN).await;
        let mut by_karin: Vec<(String, String)> = demo
            .access_log_for(&tove_pnr)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.actor_id == karin_id.as_str() && e.action.as_str() == "update")
            .map(|e| (e.action.as_str().to_owned(), e.what.clone()))
            .collect();
        by_karin.sort();
        assert_eq!(
            by_karin,
            [
                ("update".to_owned(), "contact".to_owned()),
                ("update".to_owned(), "status".to_owned())
            ],
            "{backend:?}"
        );
    }
}

/// A clinician cannot invite a new patient born in the future.
#[tokio::test]
async fn an_invitation_for_someone_born_after_today_is_a_field_error() {
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let page = karin.get("/bookings/new").await;
    let vt = visit_type_id(&page);
    let tomorrow = tomorrow(&app);
    let page = karin
        .post(
            "/bookings",
            &[
                ("who", "new"),
                ("phone", "070-123 45 67"),
                ("personnummer", "29991231-1231"),
                ("given_name", "Sara"),
                ("family_name", "Svensson"),
                ("visit_type_id", &vt),
                ("date", &tomorrow),
                ("time", "10:00"),
                ("message", ""),
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
