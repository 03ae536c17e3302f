//! Group visits with several patients: the wizard invites each of the
//! clinician's patients, each gets their own invitation, confirms or
//! cancels their own place, and the clinician sees who is coming.

use crate::support::*;
use tillit_domain::Clock;
use tillit_domain::booking::BookingStatus;
use tillit_domain::group::Attendance;
use tillit_domain::notify::NoticeKind;

/// Karin with a published profile and a group visit type; Tove and Sami
/// her patients (each booked once before). The group visit type's id.
async fn karin_with_group_type(app: &TestApp) -> (Browser<'_>, String) {
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let group = add_group_visit_type(app, &mut karin).await;
    patient_gives_phone(app, TOVE, ("Tove", "Toll"), "070-111 22 33").await;
    patient_gives_phone(app, SAMI, ("Sami", "Samordnad"), "070-444 55 66").await;
    let in_two_days = app.clock.now().plus(48 * HOUR);
    book_visit(app, "tove-earlier", in_two_days, vec![]).await;
    book_visit_in(
        app,
        ("demo", KARIN, SAMI),
        "sami-earlier",
        in_two_days.plus(HOUR),
        vec![],
    )
    .await;
    (karin, group)
}

#[tokio::test]
async fn each_patient_of_a_group_visit_is_invited_and_answers_for_themself() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let (mut karin, group_type) = karin_with_group_type(&app).await;
        let (tove, sami) = (person_id(&app, TOVE).await, person_id(&app, SAMI).await);
        let day = tomorrow(&app);
        let details = |step: &str, action: &str, more: &str| -> Vec<(&'static str, String)> {
            vec![
                ("step", step.to_owned()),
                ("action", action.to_owned()),
                ("visit_type_id", group_type.clone()),
                ("reason", "Aknebesvär".to_owned()),
                ("date", day.clone()),
                ("time", "15:00".to_owned()),
                ("who", "existing".to_owned()),
                ("patient_id", tove.to_string()),
                ("patients", more.to_owned()),
            ]
        };

        // Step 2 offers Karin's other patients; Sami is added.
        let page = karin
            .post("/bookings/group", &as_refs(&details("1", "next", "")))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Fler patienter i gruppbesöket"));
        assert!(
            page.body.contains(&format!("value=\"addpatient:{sami}\"")),
            "{backend:?}: {}",
            page.body
        );
        let page = karin
            .post(
                "/bookings/group",
                &as_refs(&details("2", &format!("addpatient:{sami}"), "")),
            )
            .await;
        assert!(
            page.body
                .contains(&format!("name=\"patients\" value=\"{sami}\""))
        );
        assert!(
            page.body
                .contains(&format!("value=\"removepatient:{sami}\""))
        );

        // Step 3 names both; nothing is sent before "Skapa och skicka".
        let page = karin
            .post(
                "/bookings/group",
                &as_refs(&details("2", "next", sami.as_str())),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Tove Toll") && page.body.contains("Sami"));
        let demo = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let page = karin
            .post(
                "/bookings/group",
                &as_refs(&details("3", "send", sami.as_str())),
            )
            .await;
        assert_eq!(page.location(), "/bookings?done=created", "{}", page.body);
        let karin_id = person_id(&app, KARIN).await;
        let booking = demo
            .bookings_of(&karin_id, tillit_domain::Timestamp(0))
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.booking.title == "Aknebesvär")
            .unwrap()
            .booking;
        assert_eq!(booking.status, BookingStatus::Unconfirmed);
        // "Mina kontakter": the visit is under each of its patients.
        let contacts = karin.get("/contacts").await;
        assert_eq!(
            contacts.body.matches("Aknebesvär").count(),
            2,
            "{backend:?}: {}",
            contacts.body
        );
        // Karin's lists name the first patient and count the rest.
        for page in ["/bookings", "/"] {
            let list = karin.get(page).await;
            assert!(
                list.body.contains("Tove Toll och 1 till"),
                "{backend:?} {page}: {}",
                list.body
            );
        }
        assert_eq!(
            demo.group_patients(&booking.id).await.unwrap(),
            vec![
                (tove.clone(), Attendance::Invited),
                (sami.clone(), Attendance::Invited)
            ]
        );
        // One invitation each, to each one's own number.
        let invited = |sent: &[tillit_domain::notify::Notification], who| {
            sent.iter()
                .filter(|n| n.person == who && n.kind == NoticeKind::Invited)
                .count()
        };
        let sent = demo.notifications_of_booking(&booking.id).await.unwrap();
        assert_eq!(invited(&sent, tove.clone()), 1, "{backend:?}");
        assert_eq!(invited(&sent, sami.clone()), 1, "{backend:?}");
        // Both patients' data was written: each is in the access log.
        for pnr in [TOVE, SAMI] {
            let log = demo
                .access_log_for(&Personnummer::parse(pnr).unwrap())
                .await
                .unwrap();
            assert!(
                log.iter()
                    .any(|e| e.what == "booking" && e.actor_id == karin_id.as_str()),
                "{backend:?}: {pnr} not logged"
            );
        }

        // Sami sees it on his start page, unconfirmed, and confirms his
        // place: the visit is confirmed (someone is coming).
        let mut sami_b = app.browser("demo.localhost");
        sami_b.login(SAMI).await;
        let home = sami_b.get("/").await;
        assert!(
            home.body.contains("Aknebesvär") && home.body.contains("Obekräftad"),
            "{backend:?}: {}",
            home.body
        );
        let page = sami_b
            .post(&format!("/bookings/{}/confirm", booking.id), &[])
            .await;
        assert_eq!(page.location(), "/?done=confirmed", "{}", page.body);
        assert_eq!(
            demo.booking(&booking.id).await.unwrap().unwrap().status,
            BookingStatus::Confirmed
        );
        // Tove has not answered: for her it is still unconfirmed, and she
        // cannot enter the room before she confirms.
        let mut tove_b = app.browser("demo.localhost");
        tove_b.login(TOVE).await;
        let home = tove_b.get("/").await;
        let row = &home.body[home.body.find("Aknebesvär").unwrap()..];
        assert!(
            row[..row.find("</li>").unwrap_or(row.len())].contains("Obekräftad"),
            "{backend:?}: {row:.600}"
        );

        // Tove cancels her own place: Sami's stays, and only Tove is told.
        tove_b
            .get(&format!("/bookings/{}/cancel", booking.id))
            .await;
        let page = tove_b
            .post(
                &format!("/bookings/{}/cancel", booking.id),
                &[("confirmed", "1")],
            )
            .await;
        assert!(page.status.is_redirection(), "{backend:?}: {}", page.body);
        assert_eq!(
            demo.booking(&booking.id).await.unwrap().unwrap().status,
            BookingStatus::Confirmed,
            "one patient's cancellation does not cancel the group visit"
        );
        assert_eq!(
            demo.group_patients(&booking.id).await.unwrap(),
            vec![
                (tove.clone(), Attendance::Declined),
                (sami.clone(), Attendance::Confirmed)
            ]
        );
        let sent = demo.notifications_of_booking(&booking.id).await.unwrap();
        let cancelled = |who: &tillit_domain::PersonId| {
            sent.iter()
                .filter(|n| n.person == *who && n.kind == NoticeKind::Cancelled)
                .count()
        };
        assert_eq!((cancelled(&tove), cancelled(&sami)), (1, 0), "{backend:?}");
        assert!(!tove_b.get("/").await.body.contains("Aknebesvär"));
        assert!(sami_b.get("/").await.body.contains("Aknebesvär"));

        // Karin's visit page names Sami and his answer beside Tove.
        let page = karin.get(&format!("/visits/{}", booking.id)).await;
        assert!(
            page.body.contains("Tove Toll") && page.body.contains("(Bekräftad)"),
            "{backend:?}: {}",
            page.body
        );

        // Karin cancels the visit: Sami is told, Tove (who left) is not
        // told again.
        karin.get(&format!("/bookings/{}/cancel", booking.id)).await;
        let page = karin
            .post(
                &format!("/bookings/{}/cancel", booking.id),
                &[("confirmed", "1")],
            )
            .await;
        assert_eq!(page.location(), "/bookings?done=cancelled", "{}", page.body);
        let sent = demo.notifications_of_booking(&booking.id).await.unwrap();
        let cancelled = |who: &tillit_domain::PersonId| {
            sent.iter()
                .filter(|n| n.person == *who && n.kind == NoticeKind::Cancelled)
                .count()
        };
        assert_eq!((cancelled(&tove), cancelled(&sami)), (1, 1), "{backend:?}");
    }
}

/// Several patients are for group visits only, and at most
/// `group::MAX_PATIENTS`; each must be one of the clinician's patients.
#[tokio::test]
async fn a_one_to_one_visit_or_a_stranger_is_refused_as_a_further_patient() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (mut karin, _) = karin_with_group_type(&app).await;
    let store = app.state.store.tenant(TenantId::parse("demo").unwrap());
    let karin_id = person_id(&app, KARIN).await;
    let one_to_one = store
        .visit_types_of(&karin_id)
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.spec.title == "Återbesök")
        .unwrap()
        .id;
    let (tove, sami) = (person_id(&app, TOVE).await, person_id(&app, SAMI).await);
    let ada = person_id(&app, ADA).await;
    let day = tomorrow(&app);
    let send = |vt: &str, more: &str| -> Vec<(&'static str, String)> {
        vec![
            ("step", "3".to_owned()),
            ("action", "send".to_owned()),
            ("visit_type_id", vt.to_owned()),
            ("reason", "Aknebesvär".to_owned()),
            ("date", day.clone()),
            ("time", "16:00".to_owned()),
            ("who", "existing".to_owned()),
            ("patient_id", tove.to_string()),
            ("patients", more.to_owned()),
        ]
    };
    let page = karin
        .post(
            "/bookings/group",
            &as_refs(&send(&one_to_one, sami.as_str())),
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Bara ett gruppbesök kan ha flera patienter"),
        "{}",
        page.body
    );
    // Ada (staff) and an id nobody has are not Karin's patients.
    let group_type = store
        .visit_types_of(&karin_id)
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.spec.title == "Gruppträff")
        .unwrap()
        .id;
    for stranger in [ada.as_str(), "nobody"] {
        let page = karin
            .post("/bookings/group", &as_refs(&send(&group_type, stranger)))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{stranger}");
    }
    assert!(
        store
            .bookings_of(&karin_id, tillit_domain::Timestamp(0))
            .await
            .unwrap()
            .iter()
            .all(|i| i.booking.title != "Aknebesvär"),
        "nothing was booked"
    );
}
