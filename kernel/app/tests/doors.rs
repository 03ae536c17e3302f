//! The use cases as any door calls them: the same rules for the portal and
//! for a door that has no pages (here a journal system over FHIR), on both
//! databases, and everything a booking causes written with it.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tillit_app::bookings::{self, Book, Invitee, Start, Title};
use tillit_app::{Actor, BookingRules, Conflict, Door, Env, Error, Ids, Problem, visits};
use tillit_domain::booking::{
    BookingAction, BookingStatus, MobileNumber, ProfileText, VisitTypeSpec,
};
use tillit_domain::events::BookingEvent;
use tillit_domain::people::NewPerson;
use tillit_domain::{Person, PersonId, PersonName, Personnummer, Role, TenantId, Timestamp};
use tillit_store::testing::TestDb;
use tillit_store::{Backend, TenantStore};

const T0: Timestamp = Timestamp(1_768_467_600_000);
const DAY: Duration = Duration::from_secs(86_400);

/// Ids in order, so a test can name what it made.
struct Counting(std::sync::atomic::AtomicU32);

impl Ids for Counting {
    fn new_id(&self) -> String {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("id-{n}")
    }
}

fn person(role: Role, pnr: &str, given: &str) -> NewPerson {
    NewPerson {
        role,
        personnummer: Personnummer::parse(pnr).unwrap(),
        given_name: PersonName::parse(given).unwrap(),
        family_name: PersonName::parse("Test").unwrap(),
        hsa_id: None,
    }
}

fn env<'a>(store: &'a TenantStore<'a>, ids: &'a Counting, now: Timestamp) -> Env<'a> {
    Env {
        store,
        rules: BookingRules {
            require_confirmation: true,
            reminder_lead: Duration::from_secs(1800),
            reasons: &[],
        },
        now,
        ids,
        live: &tillit_app::NoLive,
    }
}

async fn clinician(t: &TenantStore<'_>, published: bool) -> Person {
    let karin = t
        .create_person(
            &PersonId::new("karin"),
            &person(Role::Clinician, "198112189876", "Karin"),
            T0,
        )
        .await
        .unwrap();
    t.create_visit_type(
        "vt",
        &karin.id,
        &VisitTypeSpec::parse("Återbesök", "", "15", "video").unwrap(),
        T0,
    )
    .await
    .unwrap();
    if published {
        let text = ProfileText {
            title: "Leg. psykolog".into(),
            ..ProfileText::default()
        };
        t.save_profile_text(&karin.id, &text, T0).await.unwrap();
        t.set_profile_published(&karin.id, Some(T0), T0)
            .await
            .unwrap();
    }
    karin
}

fn invite(start: Timestamp) -> Book {
    Book {
        visit_type_id: "vt".into(),
        title: Title::VisitType,
        start: Some(Start::At(start)),
        invitee: Some(Invitee::New {
            person: person(Role::Patient, "200002292381", "Tove"),
            phone: MobileNumber::parse("0701234567").unwrap(),
        }),
        message: String::new(),
        colleagues: Vec::new(),
        more_patients: Vec::new(),
        accept_overlap: false,
        on_file: Default::default(),
        external_ids: Vec::new(),
    }
}

#[tokio::test]
async fn a_journal_system_books_by_the_same_rules_as_the_portal() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend);
        let store = db.store().await;
        let tenant = TenantId::parse("alfa").unwrap();
        store.register_tenant(&tenant, T0).await.unwrap();
        let t = store.tenant(tenant);
        let ids = Counting(Default::default());
        let karin = clinician(&t, false).await;
        let ehr = Actor {
            person: karin.clone(),
            door: Door::Fhir,
            via: None,
        };

        // Not published yet: nobody can be booked, through any door.
        let refused = bookings::book(env(&t, &ids, T0), &ehr, invite(T0.plus(DAY))).await;
        assert!(
            matches!(refused, Err(Error::Conflict(Conflict::NotPublished))),
            "{backend:?}: {refused:?}"
        );
        let text = ProfileText {
            title: "Leg. psykolog".into(),
            ..ProfileText::default()
        };
        t.save_profile_text(&karin.id, &text, T0).await.unwrap();
        t.set_profile_published(&karin.id, Some(T0), T0)
            .await
            .unwrap();

        // A time in the past is refused, by name, and nothing is written.
        let past = bookings::book(env(&t, &ids, T0), &ehr, invite(T0.minus(DAY))).await;
        assert!(
            matches!(&past, Err(Error::Invalid(p)) if p == &[Problem::StartInPast]),
            "{past:?}"
        );
        assert!(t.pending_plugin_events(10).await.unwrap().is_empty());

        // Booked: the patient, the access-log entry, the message and the
        // plugins' event exist with it.
        let b = bookings::book(env(&t, &ids, T0), &ehr, invite(T0.plus(DAY)))
            .await
            .unwrap();
        assert_eq!(b.status, BookingStatus::Unconfirmed);
        let tove = t
            .person_by_personnummer(&Personnummer::parse("200002292381").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.patient, tove.id);
        assert_eq!(t.notifications_of_booking(&b.id).await.unwrap().len(), 1);
        let events = t.pending_plugin_events(10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, BookingEvent::Created);
        let log = t.access_log_for(&tove.personnummer).await.unwrap();
        assert_eq!(log.len(), 1, "{backend:?}");

        // The same slot again overlaps; accepted, it is still one per start.
        let again = bookings::book(env(&t, &ids, T0), &ehr, invite(T0.plus(DAY))).await;
        assert!(matches!(again, Err(Error::Conflict(Conflict::Overlap))));
        let mut meant = invite(T0.plus(DAY));
        meant.accept_overlap = true;
        let taken = bookings::book(env(&t, &ids, T0), &ehr, meant).await;
        assert!(
            matches!(&taken, Err(Error::Invalid(p)) if p == &[Problem::SlotTaken]),
            "{taken:?}"
        );

        // The patient confirms (through the portal); moving it is logged
        // in the same transaction as the move.
        let patient = Actor::portal(tove.clone());
        let changed =
            bookings::change_status(env(&t, &ids, T0), &patient, &b.id, BookingAction::Confirm)
                .await
                .unwrap();
        assert_eq!(changed.to, BookingStatus::Confirmed);
        assert!(changed.by_patient);
        bookings::move_booking(
            env(&t, &ids, T0),
            &ehr,
            &b.id,
            Some(T0.plus(2 * DAY)),
            false,
        )
        .await
        .unwrap();
        assert_eq!(t.access_log_for(&tove.personnummer).await.unwrap().len(), 3);
        let kinds: Vec<BookingEvent> = t
            .pending_plugin_events(10)
            .await
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                BookingEvent::Created,
                BookingEvent::Confirmed,
                BookingEvent::Moved
            ]
        );

        // A patient cannot book, and a stranger learns nothing of a visit.
        assert!(matches!(
            bookings::book(env(&t, &ids, T0), &patient, invite(T0.plus(3 * DAY))).await,
            Err(Error::Forbidden)
        ));
        let stranger = t
            .create_person(
                &PersonId::new("olof"),
                &person(Role::Clinician, "197001010003", "Olof"),
                T0,
            )
            .await
            .unwrap();
        assert!(matches!(
            visits::start(env(&t, &ids, T0), &Actor::portal(stranger), &b.id).await,
            Err(Error::NotFound)
        ));
    }
}

#[tokio::test]
async fn people_terms_and_logins_follow_one_set_of_rules_through_any_door() {
    use tillit_app::{people, sessions, terms};
    use tillit_domain::PersonStatus;
    use tillit_store::Contact;

    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend);
        let store = db.store().await;
        let tenant = TenantId::parse("alfa").unwrap();
        store.register_tenant(&tenant, T0).await.unwrap();
        let t = store.tenant(tenant);
        let ids = Counting(Default::default());
        let e = env(&t, &ids, T0);
        let ada = t
            .create_person(
                &PersonId::new("ada"),
                &person(Role::Administrator, "191212121212", "Ada"),
                T0,
            )
            .await
            .unwrap();
        let admin = Actor {
            person: ada.clone(),
            door: Door::Admin,
            via: None,
        };

        // Staff only, and one person per personnummer.
        let patient_as_staff =
            people::create_staff(e, &admin, &person(Role::Patient, "200002292381", "Tove")).await;
        assert!(
            matches!(&patient_as_staff, Err(Error::Invalid(p)) if p == &[Problem::NotStaff]),
            "{backend:?}: {patient_as_staff:?}"
        );
        let karin =
            people::create_staff(e, &admin, &person(Role::Clinician, "198112189876", "Karin"))
                .await
                .unwrap();
        let twice = people::create_staff(
            e,
            &admin,
            &person(Role::Administrator, "198112189876", "Kim"),
        )
        .await;
        assert!(
            matches!(&twice, Err(Error::Invalid(p)) if p == &[Problem::PersonnummerTaken]),
            "{twice:?}"
        );
        // A clinician is not an administrator, whatever the door.
        let as_clinician = Actor {
            person: karin.clone(),
            door: Door::Admin,
            via: None,
        };
        let refused = people::set_status(e, &as_clinician, &ada.id, PersonStatus::Inactive).await;
        assert!(matches!(refused, Err(Error::Forbidden)), "{refused:?}");
        let own = people::set_status(e, &admin, &ada.id, PersonStatus::Inactive).await;
        assert!(matches!(&own, Err(Error::Invalid(p)) if p == &[Problem::OwnStatus]));

        // A patient logs in, must accept the terms, and keeps their contact
        // details; each change is in the access log.
        let tove = t
            .create_person(
                &PersonId::new("tove"),
                &person(Role::Patient, "200002292381", "Tove"),
                T0,
            )
            .await
            .unwrap();
        let pnr = tove.personnummer.clone();
        let logged_in = sessions::log_in(e, &pnr, "hash-1", T0.plus(DAY))
            .await
            .unwrap();
        assert_eq!(logged_in.map(|p| p.id), Ok(tove.id.clone()));
        let patient = Actor::portal(tove.clone());
        assert!(terms::pending(e, &patient, "v1").await.unwrap());
        assert!(
            !terms::pending(e, &admin, "v1").await.unwrap(),
            "staff accept no terms"
        );
        terms::accept(e, &patient, "v1").await.unwrap();
        assert!(!terms::pending(e, &patient, "v1").await.unwrap());
        assert!(
            terms::pending(e, &patient, "v2").await.unwrap(),
            "a new version asks again"
        );
        let contact = Contact {
            given_name: PersonName::parse("Tove").unwrap(),
            family_name: PersonName::parse("Lind").unwrap(),
            phone: MobileNumber::parse("0709876543"),
            email: None,
        };
        let for_someone = people::update_contact(e, &Actor::portal(karin.clone()), &contact).await;
        assert!(
            matches!(for_someone, Err(Error::Forbidden)),
            "only the patient changes their own"
        );
        people::update_contact(e, &patient, &contact).await.unwrap();
        let (phone, _) = people::own_contact(e, &patient).await.unwrap();
        assert_eq!(phone.as_deref(), Some("+46709876543"));

        // The administrator deactivates her: her session ends and she can
        // no longer log in; both the listing and the change are logged.
        let (staff, patients) = people::everyone(e, &admin).await.unwrap();
        assert_eq!((staff.len(), patients.len()), (2, 1));
        people::set_status(e, &admin, &tove.id, PersonStatus::Inactive)
            .await
            .unwrap();
        assert!(t.session("hash-1").await.unwrap().is_none());
        let again = sessions::log_in(e, &pnr, "hash-2", T0.plus(DAY))
            .await
            .unwrap();
        assert_eq!(again.map(|p| p.id), Err(sessions::Refused::Inactive));
        let unknown = Personnummer::parse("194001019803").unwrap();
        let nobody = sessions::log_in(e, &unknown, "hash-3", T0.plus(DAY))
            .await
            .unwrap();
        assert_eq!(nobody.map(|p| p.id), Err(sessions::Refused::Unknown));
        let whats: Vec<String> = t
            .access_log_for(&pnr)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.what)
            .collect();
        for what in ["terms", "contact", "profile", "people.list", "status"] {
            assert!(
                whats.iter().any(|w| w == what),
                "{backend:?}: {what} not in {whats:?}"
            );
        }
    }
}

/// What the use cases told the live connections, in order.
#[derive(Default)]
struct Heard(std::sync::Mutex<Vec<String>>);

impl tillit_app::Live for Heard {
    fn session_ended(&self, tenant: &TenantId, token_hash: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{tenant}: session {token_hash}"));
    }
    fn person_shut_out(&self, tenant: &TenantId, person: &PersonId) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{tenant}: person {person}"));
    }
    fn visit_ended(&self, tenant: &TenantId, booking: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{tenant}: visit {booking}"));
    }
}

impl Heard {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// The endings that close open rooms are told by the use cases themselves,
/// once stored, so a door without pages (FHIR, the administrator's tool)
/// closes rooms as the portal does; nothing else is told.
#[tokio::test]
async fn endings_reach_the_live_connections_through_any_door() {
    use tillit_app::{people, sessions};
    use tillit_domain::PersonStatus;
    use tillit_domain::session::SessionPolicy;

    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend);
        let store = db.store().await;
        let tenant = TenantId::parse("alfa").unwrap();
        store.register_tenant(&tenant, T0).await.unwrap();
        let t = store.tenant(tenant);
        let ids = Counting(Default::default());
        let heard = Heard::default();
        let at = |now| Env {
            live: &heard,
            ..env(&t, &ids, now)
        };
        let karin = clinician(&t, true).await;
        let ehr = Actor {
            person: karin.clone(),
            door: Door::Fhir,
            via: None,
        };
        let ada = t
            .create_person(
                &PersonId::new("ada"),
                &person(Role::Administrator, "191212121212", "Ada"),
                T0,
            )
            .await
            .unwrap();
        let admin = Actor {
            person: ada,
            door: Door::Admin,
            via: None,
        };

        // A visit booked, confirmed, started and ended through FHIR.
        let b = bookings::book(at(T0), &ehr, invite(T0.plus(DAY)))
            .await
            .unwrap();
        let pnr = Personnummer::parse("200002292381").unwrap();
        let tove = t.person_by_personnummer(&pnr).await.unwrap().unwrap();
        bookings::change_status(
            at(T0),
            &Actor::portal(tove.clone()),
            &b.id,
            BookingAction::Confirm,
        )
        .await
        .unwrap();
        let start = T0.plus(DAY).minus(Duration::from_secs(300));
        visits::start(at(start), &ehr, &b.id).await.unwrap();
        assert!(heard.take().is_empty(), "{backend:?}: nothing ended yet");
        visits::end(at(start), &ehr, &b.id).await.unwrap();
        assert_eq!(heard.take(), [format!("alfa: visit {}", b.id)]);

        // Logging out, and a session found idle.
        sessions::log_in(at(T0), &pnr, "hash-1", T0.plus(DAY))
            .await
            .unwrap()
            .unwrap();
        sessions::log_out(at(T0), "hash-1").await.unwrap();
        assert_eq!(heard.take(), ["alfa: session hash-1"]);
        sessions::log_in(at(T0), &pnr, "hash-2", T0.plus(DAY))
            .await
            .unwrap()
            .unwrap();
        let policy = SessionPolicy::default();
        let idle = T0.plus(policy.idle_timeout);
        assert!(matches!(
            sessions::resume(at(idle), "hash-2", &policy).await,
            Ok(sessions::Resumed::Ended(_))
        ));
        assert_eq!(heard.take(), ["alfa: session hash-2"]);

        // Made inactive by an administrator: all of Tove's rooms; made
        // active again: nothing to close.
        people::set_status(at(T0), &admin, &tove.id, PersonStatus::Inactive)
            .await
            .unwrap();
        assert_eq!(heard.take(), [format!("alfa: person {}", tove.id)]);
        people::set_status(at(T0), &admin, &tove.id, PersonStatus::Active)
            .await
            .unwrap();
        assert!(heard.take().is_empty(), "{backend:?}");
    }
}

/// A journal system's `If-Match`: a change guarded by a version applies
/// only while the booking is still at it, checked in the change's own
/// transaction, and a stale one changes nothing.
#[tokio::test]
async fn a_change_at_a_stale_version_changes_nothing() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend);
        let store = db.store().await;
        let tenant = TenantId::parse("alfa").unwrap();
        store.register_tenant(&tenant, T0).await.unwrap();
        let t = store.tenant(tenant);
        let ids = Counting(Default::default());
        let karin = clinician(&t, true).await;
        let ehr = Actor::journal_system(karin.clone(), "journal");
        let b = bookings::book(env(&t, &ids, T0), &ehr, invite(T0.plus(DAY)))
            .await
            .unwrap();
        let later = T0.plus(Duration::from_secs(60));
        // Moved meanwhile (version 2): a cancellation still at version 1
        // is stale, and so is a move.
        bookings::move_booking_at(
            env(&t, &ids, later),
            &ehr,
            &b.id,
            Some(T0.plus(2 * DAY)),
            false,
            Some(1),
        )
        .await
        .unwrap();
        let cancel = bookings::change_status_at(
            env(&t, &ids, later),
            &ehr,
            &b.id,
            BookingAction::Cancel,
            Some(1),
        )
        .await;
        assert!(
            matches!(cancel, Err(Error::Conflict(Conflict::ChangedMeanwhile))),
            "{backend:?}: {cancel:?}"
        );
        let again = bookings::move_booking_at(
            env(&t, &ids, later),
            &ehr,
            &b.id,
            Some(T0.plus(3 * DAY)),
            false,
            Some(1),
        )
        .await;
        assert!(
            matches!(again, Err(Error::Conflict(Conflict::ChangedMeanwhile))),
            "{backend:?}: {again:?}"
        );
        let now = t.booking(&b.id).await.unwrap().unwrap();
        assert_eq!(
            (now.status, now.starts_at),
            (BookingStatus::Unconfirmed, T0.plus(2 * DAY))
        );
        // At the current version, it applies.
        bookings::change_status_at(
            env(&t, &ids, later),
            &ehr,
            &b.id,
            BookingAction::Cancel,
            Some(2),
        )
        .await
        .unwrap();
        assert_eq!(
            t.booking(&b.id).await.unwrap().unwrap().status,
            BookingStatus::Cancelled
        );
    }
}
