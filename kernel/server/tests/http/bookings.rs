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
            .post(
                &format!("/bookings/{booking_id}/cancel"),
                &[("confirmed", "1")],
            )
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
        assert!(page.location().starts_with("/visits/"), "{}", page.body);
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
/// The clinician's "Översikt" shows every coming visit; "Ändra tid" moves a
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
        // [2.4] defect 14: unconfirmed visits are on the overview too, each
        // with a way into its visit page.
        let overview = karin.get("/").await;
        assert!(
            overview.body.matches("Obekräftad").count() == 2
                && overview.body.matches("href=\"/visits/").count() == 2,
            "{backend:?}: {}",
            overview.body
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
            overview.body.contains("Bekräftad") && overview.body.contains("Obekräftad"),
            "confirmed and unconfirmed visits side by side"
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

/// [2.4] defect 1: "Avboka" sends the patient an SMS, so it first shows a
/// confirmation naming the patient, the time and the SMS; nothing changes
/// until it is confirmed (no script needed). The patient's own "Avboka"
/// works the same way. Only the booking's patient and responsible
/// clinician get there.
#[tokio::test]
async fn cancelling_asks_first_naming_the_patient_the_time_and_the_sms() {
    use crate::visits::{book, status_of};
    use tillit_domain::booking::BookingStatus;
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let ten = Timestamp::from_stockholm(&tomorrow(&app), "10:00").unwrap();
    book(&app, "c1", ten, BookingStatus::Confirmed, Vec::new()).await;
    book(
        &app,
        "c2",
        ten.plus(HOUR),
        BookingStatus::Unconfirmed,
        Vec::new(),
    )
    .await;
    // Tove has a mobile number, so she is sent an SMS.
    let mut tove = app.browser("demo.localhost");
    tove.login(TOVE).await;
    tove.post(
        "/me",
        &[
            ("given_name", "Tove"),
            ("family_name", "Toll"),
            ("phone", "070-111 22 33"),
            ("email", ""),
        ],
    )
    .await;

    // "Avboka" in Mina bokningar is a way to the confirmation, not a form
    // that cancels.
    let list = karin.get("/bookings").await;
    assert!(list.body.contains("href=\"/bookings/c1/cancel\""));
    assert!(!list.body.contains("action=\"/bookings/c1/cancel\""));
    let page = karin.get("/bookings/c1/cancel").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "Avboka besöket?",
        "Tove Toll",
        ", 10:00–10:15",
        "Patienten får ett sms om att besöket är avbokat.",
        "name=\"confirmed\" value=\"1\"",
    ] {
        assert!(page.body.contains(text), "missing {text:?}: {}", page.body);
    }
    // Not confirmed: nothing changes, and the confirmation is shown.
    let page = karin.post("/bookings/c1/cancel", &[]).await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/bookings/c1/cancel")
    );
    assert_eq!(status_of(&app, "c1").await, BookingStatus::Confirmed);
    let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
    let told = |id: &'static str| {
        let demo = &demo;
        async move {
            demo.notifications_of_booking(id)
                .await
                .unwrap()
                .iter()
                .filter(|n| n.kind.as_str() == "cancelled")
                .count()
        }
    };
    assert_eq!(told("c1").await, 0, "no SMS before the confirmation");
    // Others get nothing, confirmed or not.
    let mut olof = app.browser("demo.localhost");
    olof.login("19700101-0003").await;
    assert_eq!(
        olof.get("/bookings/c1/cancel").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        olof.post("/bookings/c1/cancel", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    // Confirmed: cancelled, and the SMS goes out.
    karin.get("/bookings/c1/cancel").await;
    let page = karin
        .post("/bookings/c1/cancel", &[("confirmed", "1")])
        .await;
    assert_eq!(page.location(), "/bookings?done=cancelled");
    assert_eq!(status_of(&app, "c1").await, BookingStatus::Cancelled);
    assert_eq!(told("c1").await, 1);
    assert_eq!(
        karin.get("/bookings/c1/cancel").await.status,
        StatusCode::CONFLICT,
        "a cancelled visit cannot be cancelled again"
    );

    // The patient's "Avboka" asks too, naming the clinician.
    let home = tove.get("/").await;
    assert!(home.body.contains("href=\"/bookings/c2/cancel\""));
    let page = tove.get("/bookings/c2/cancel").await;
    assert!(
        page.body.contains("Karin Lindblad")
            && page
                .body
                .contains("Du får ett sms som bekräftar avbokningen."),
        "{}",
        page.body
    );
    tove.post("/bookings/c2/cancel", &[]).await;
    assert_eq!(status_of(&app, "c2").await, BookingStatus::Unconfirmed);
    tove.get("/bookings/c2/cancel").await;
    let page = tove
        .post("/bookings/c2/cancel", &[("confirmed", "1")])
        .await;
    assert_eq!(page.location(), "/?done=cancelled");
    assert_eq!(status_of(&app, "c2").await, BookingStatus::Cancelled);
}

/// [2.4] defect 7: a removed patient's name shows in no list, nor on the
/// pages a list leads to: "Borttagen patient" instead, everywhere.
#[tokio::test]
async fn a_removed_patient_is_named_nowhere() {
    use crate::visits::book;
    use tillit_domain::booking::BookingStatus;
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let ten = Timestamp::from_stockholm(&tomorrow(&app), "10:00").unwrap();
        book(&app, "r1", ten, BookingStatus::Confirmed, Vec::new()).await;
        assert!(karin.get("/bookings").await.body.contains("Tove Toll"));

        let tove = person_id(&app, TOVE).await;
        let mut ada = app.browser("demo.localhost");
        ada.login(ADA).await;
        ada.post(
            &format!("/admin/people/{tove}/status"),
            &[("status", "removed")],
        )
        .await;

        for path in ["/bookings", "/", "/visits/r1", "/bookings/r1/cancel"] {
            let page = karin.get(path).await;
            assert_eq!(page.status, StatusCode::OK, "{backend:?} {path}");
            assert!(
                page.body.contains("Borttagen patient") && !page.body.contains("Toll"),
                "{backend:?} {path}: {}",
                page.body
            );
        }
        assert!(!karin.get("/contacts").await.body.contains("Toll"));
        // In the history too, once it is cancelled.
        karin.get("/bookings/r1/cancel").await;
        karin
            .post("/bookings/r1/cancel", &[("confirmed", "1")])
            .await;
        let page = karin.get("/bookings?view=history").await;
        assert!(
            page.body.contains("Borttagen patient") && !page.body.contains("Toll"),
            "{backend:?}: {}",
            page.body
        );
    }
}

/// [2.4] defect 14: every row of "Mina bokningar" and of the overview leads
/// to its visit ("Visa detaljer"), unconfirmed and group visits too; ended,
/// cancelled and never-held bookings are in "Tidigare besök", newest
/// first, a page at a time.
#[tokio::test]
async fn every_booking_has_a_way_in_and_past_ones_a_history() {
    use crate::visits::book;
    use tillit_domain::booking::BookingStatus;
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let day = tomorrow(&app);
    let at = |time: &str| Timestamp::from_stockholm(&day, time).unwrap();
    book(
        &app,
        "h-unconf",
        at("09:00"),
        BookingStatus::Unconfirmed,
        Vec::new(),
    )
    .await;
    book(
        &app,
        "h-cancel",
        at("10:00"),
        BookingStatus::Confirmed,
        Vec::new(),
    )
    .await;
    book(
        &app,
        "h-ended",
        at("11:00"),
        BookingStatus::Confirmed,
        Vec::new(),
    )
    .await;
    book(
        &app,
        "h-missed",
        at("12:00"),
        BookingStatus::Confirmed,
        Vec::new(),
    )
    .await;
    book(
        &app,
        "h-later",
        at("16:00"),
        BookingStatus::Confirmed,
        Vec::new(),
    )
    .await;

    // Coming: each row leads to its visit, unconfirmed ones on the overview too.
    let list = karin.get("/bookings").await;
    let overview = karin.get("/").await;
    for id in ["h-unconf", "h-cancel", "h-ended", "h-missed", "h-later"] {
        assert!(
            list.body.contains(&format!("href=\"/visits/{id}\"")),
            "{id} leads nowhere from Mina bokningar"
        );
        assert!(
            overview.body.contains(&format!("href=\"/visits/{id}\"")),
            "{id} is not on the overview"
        );
    }
    assert!(list.body.contains("Visa detaljer"));

    // The day goes by: one cancelled, one held and ended, one never started.
    karin.get("/bookings/h-cancel/cancel").await;
    karin
        .post("/bookings/h-cancel/cancel", &[("confirmed", "1")])
        .await;
    app.clock.set(at("11:00"));
    karin.login(KARIN).await;
    karin.get("/visits/h-ended").await;
    karin.post("/visits/h-ended/start", &[]).await;
    karin
        .post("/visits/h-ended/end", &[("confirmed", "1")])
        .await;
    app.clock.set(at("13:00"));
    karin.login(KARIN).await;

    let coming = karin.get("/bookings").await;
    assert!(coming.body.contains("h-later"));
    for id in ["h-unconf", "h-cancel", "h-ended", "h-missed"] {
        assert!(!coming.body.contains(id), "{id} is no longer coming");
    }
    let history = karin.get("/bookings?view=history").await;
    assert!(
        history
            .body
            .contains("aria-current=\"page\">Tidigare besök")
    );
    let order: Vec<usize> = ["h-missed", "h-ended", "h-cancel", "h-unconf"]
        .iter()
        .map(|id| {
            history
                .body
                .find(&format!("id=\"booking-{id}\""))
                .unwrap_or_else(|| panic!("{id} is not in the history: {}", history.body))
        })
        .collect();
    assert!(order.is_sorted(), "newest first: {order:?}");
    assert!(!history.body.contains("booking-h-later"));
    for status in ["Avslutad", "Avbokad", "Genomfördes inte"] {
        assert!(history.body.contains(status), "{status}");
    }
    assert!(history.body.contains("href=\"/visits/h-ended\""));
    assert!(
        !history.body.contains("/cancel\"") && !history.body.contains("/time\""),
        "nothing to change in the past"
    );

    // Bounded: a page at a time.
    for i in 0..30 {
        let start = Timestamp::from_stockholm("2026-01-05", "08:00")
            .unwrap()
            .plus(i * HOUR);
        book(
            &app,
            &format!("old-{i:02}"),
            start,
            BookingStatus::Confirmed,
            Vec::new(),
        )
        .await;
    }
    let first = karin.get("/bookings?view=history").await;
    assert_eq!(first.body.matches("<tr id=\"booking-").count(), 25);
    assert!(
        first.body.contains("id=\"history-older\"") && !first.body.contains("id=\"history-newer\"")
    );
    let second = karin.get("/bookings?view=history&page=1").await;
    assert_eq!(second.body.matches("<tr id=\"booking-").count(), 9);
    assert!(second.body.contains("booking-old-00") && !first.body.contains("booking-old-00"));
    assert!(
        second.body.contains("id=\"history-newer\"")
            && !second.body.contains("id=\"history-older\"")
    );
}

/// [2.4] defect 7: "Välj en av dina patienter" offers only patients who
/// can be booked. An inactive patient was offered (and then refused on
/// sending); a removed one must not be either. In the invite form and in
/// the wizard alike; the colleague list likewise leaves out inactive staff.
#[tokio::test]
async fn only_patients_who_can_be_booked_are_offered() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let page = karin.get("/bookings/new").await;
        let vt = visit_type_id(&page);
        let tomorrow = tomorrow(&app);
        // Karin books Tove, Sami and Sara: all three are her patients.
        for (i, (pnr, given, family)) in [
            (TOVE, "Tove", "Toll"),
            ("19811278-9873", "Sami", "Samordnad"),
            ("19850707-1119", "Sara", "Svensson"),
        ]
        .into_iter()
        .enumerate()
        {
            let time = format!("1{i}:00");
            let page = karin
                .post(
                    "/bookings",
                    &[
                        ("who", "new"),
                        ("phone", "070-123 45 67"),
                        ("personnummer", pnr),
                        ("given_name", given),
                        ("family_name", family),
                        ("visit_type_id", &vt),
                        ("date", &tomorrow),
                        ("time", &time),
                    ],
                )
                .await;
            assert_eq!(page.location(), "/bookings?done=created", "{}", page.body);
        }
        let tove = person_id(&app, TOVE).await;
        let sami = person_id(&app, "19811278-9873").await;
        let sara = person_id(&app, "19850707-1119").await;
        let olof = person_id(&app, "19700101-0003").await;
        let option = |id: &tillit_domain::PersonId| format!("<option value=\"{id}\"");
        let page = karin.get("/bookings/new").await;
        for id in [&tove, &sami, &sara, &olof] {
            assert!(page.body.contains(&option(id)), "{backend:?}: all offered");
        }

        // The administrator makes Sami inactive, removes Sara, and makes
        // Olof inactive.
        let mut ada = app.browser("demo.localhost");
        ada.login(ADA).await;
        ada.get("/admin/people").await;
        for (id, status) in [(&sami, "inactive"), (&sara, "removed"), (&olof, "inactive")] {
            let page = ada
                .post(&format!("/admin/people/{id}/status"), &[("status", status)])
                .await;
            assert_eq!(page.location(), "/admin/people?done=status");
        }

        let page = karin.get("/bookings/new").await;
        assert!(page.body.contains(&option(&tove)), "{backend:?}");
        for (who, id) in [("Sami", &sami), ("Sara", &sara), ("Olof", &olof)] {
            assert!(
                !page.body.contains(&option(id)),
                "{backend:?}: {who} is offered in the invite form"
            );
        }
        // The wizard's step 2 offers the same.
        let page = karin
            .post(
                "/bookings/group",
                &[
                    ("step", "1"),
                    ("action", "next"),
                    ("visit_type_id", &vt),
                    ("reason", "Aknebesvär"),
                    ("date", &tomorrow),
                    ("time", "16:00"),
                ],
            )
            .await;
        assert!(
            page.body.contains("name=\"step\" value=\"2\""),
            "{}",
            page.body
        );
        assert!(page.body.contains(&option(&tove)), "{backend:?}");
        for (who, id) in [("Sami", &sami), ("Sara", &sara)] {
            assert!(
                !page.body.contains(&option(id)),
                "{backend:?}: {who} is offered in the wizard"
            );
        }
        // Sent anyway (a page left open): refused on the patient's field.
        let page = karin
            .post(
                "/bookings",
                &[
                    ("who", "existing"),
                    ("patient_id", sami.as_str()),
                    ("visit_type_id", &vt),
                    ("date", &tomorrow),
                    ("time", "17:00"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.body.contains("id=\"patient_id-error\""),
            "{}",
            page.body
        );
    }
}

/// The invite form, in a browser: choosing who to invite shows only what
/// that choice needs ("Bjud in ny patient": the new patient's fields; "Välj
/// en av dina patienter": the list of patients; a colleague: the list of
/// colleagues), and says which part each choice controls.
#[tokio::test(flavor = "multi_thread")]
async fn the_invite_form_shows_only_what_the_choice_needs() {
    use crate::headless::{Headless, login, screenshot, wait_for_text};
    use fantoccini::Locator::{Css, Id};

    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let port = serve(&app).await;
    let chrome = Headless::start().await;
    let c = &chrome.client;
    login(c, port, KARIN).await;
    c.goto(&format!("http://demo.localhost:{port}/bookings/new"))
        .await
        .unwrap();
    wait_for_text(c, "h1", "Bjud in").await;

    let parts = ["who-new", "who-existing", "who-colleague"];
    for (choice, shown) in [
        ("new", "who-new"),
        ("existing", "who-existing"),
        ("colleague", "who-colleague"),
        ("new", "who-new"),
    ] {
        let radio = c
            .find(Css(&format!("input[name=who][value={choice}]")))
            .await
            .unwrap();
        assert_eq!(
            radio.attr("aria-controls").await.unwrap().as_deref(),
            Some(shown)
        );
        radio.click().await.unwrap();
        for part in parts {
            let displayed = c
                .find(Id(part))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap();
            assert_eq!(
                displayed,
                part == shown,
                "{choice}: {part} displayed: {displayed}"
            );
        }
    }
    assert!(
        c.find(Id("phone"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "the new patient's fields, at the start"
    );
    screenshot(c, "invite-new-patient").await;
    let _ = c.clone().close().await;
}

/// [2.4] defect 13, with scripts off: the invite form, every part of it
/// showing, still books; "Boka nu" takes the clinician straight to the
/// visit, ready to start (not to "Inbjudan är skapad"), and the patient's
/// SMS says the visit is now, with its link, instead of asking them to log
/// in and confirm.
#[tokio::test(flavor = "multi_thread")]
async fn book_now_without_scripts_opens_the_visit_and_texts_that_it_is_now() {
    use crate::headless::{Headless, login, screenshot, wait_for_text};
    use fantoccini::Locator::Id;
    use tillit_domain::notify::{NoticeKind, NoticeStatus};

    let mut app = TestApp::new(Backend::Sqlite).await;
    app.start_worker();
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let port = serve(&app).await;
    let chrome = Headless::with_args(&["--blink-settings=scriptEnabled=false"]).await;
    let c = &chrome.client;
    login(c, port, KARIN).await;
    c.goto(&format!("http://demo.localhost:{port}/bookings/new"))
        .await
        .unwrap();
    wait_for_text(c, "h1", "Bjud in").await;
    // Without the script nothing is hidden: the server reads the choice.
    for part in ["who-new", "who-existing", "who-colleague"] {
        assert!(
            c.find(Id(part))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap(),
            "{part} hidden without scripts"
        );
    }
    for (field, value) in [
        ("phone", "070-123 45 67"),
        ("personnummer", "19850707-1119"),
        ("given_name", "Sara"),
        ("family_name", "Svensson"),
    ] {
        c.find(Id(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Id("book-now")).await.unwrap().click().await.unwrap();

    // Straight to the visit, ready to start.
    let start = wait_for_text(c, "#start-visit", "").await;
    screenshot(c, "book-now-visit").await;
    assert!(!start.is_empty());
    let url = c.current_url().await.unwrap();
    let id = url.path().strip_prefix("/visits/").unwrap().to_owned();
    assert!(!id.is_empty() && !id.contains('/'), "{url}");

    // The SMS says the visit is now and links to it.
    let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
    let mut sent = None;
    for _ in 0..200 {
        let ns = demo.notifications_of_booking(&id).await.unwrap();
        if let Some(n) = ns
            .iter()
            .find(|n| n.kind == NoticeKind::Invited && n.status == NoticeStatus::Sent)
        {
            sent = n.body.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sms = sent.expect("the invitation was sent");
    assert!(sms.contains("börjar nu"), "{sms}");
    assert!(sms.contains(&format!("/visits/{id}")), "{sms}");
    assert!(!sms.contains("bekräfta"), "nothing to confirm: {sms}");
    let _ = c.clone().close().await;
}
