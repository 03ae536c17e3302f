//! The data layer on both backends: every test runs on SQLite and on the
//! PostgreSQL server of the machine.

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use tillit_domain::access::{AccessAction, AccessEvent};
use tillit_domain::people::NewPerson;
use tillit_domain::{PersonId, PersonName, PersonStatus, Personnummer, Role, TenantId, Timestamp};
use tillit_store::testing::TestDb;
use tillit_store::{Backend, Store, StoreError};

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
const T0: Timestamp = Timestamp(1_800_000_000_000);
/// The reminder lead used in tests.
const LEAD: Duration = Duration::from_secs(30 * 60);

/// An administrator's change, not itself logged: what a test sets up.
fn by_admin(admin: &PersonId) -> tillit_store::ChangedBy<'_> {
    tillit_store::ChangedBy {
        person: admin,
        role: Role::Administrator,
        logged_as: None,
        via: None,
        at_version: None,
    }
}

fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

fn new_person(role: Role, pnr: &str, given: &str, family: &str) -> NewPerson {
    NewPerson {
        role,
        personnummer: Personnummer::parse(pnr).unwrap(),
        given_name: PersonName::parse(given).unwrap(),
        family_name: PersonName::parse(family).unwrap(),
        hsa_id: None,
    }
}

async fn store_with_tenants(db: &TestDb) -> Store {
    let store = db.store().await;
    for t in ["alfa", "beta"] {
        store.register_tenant(&tenant(t), T0).await.unwrap();
    }
    store
}

#[tokio::test]
async fn people_are_created_found_and_unique_per_tenant() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let anna = new_person(Role::Patient, "191212121212", "Anna", "Andersson");
        let created = alfa
            .create_person(&PersonId::new("p1"), &anna, T0)
            .await
            .unwrap();
        assert_eq!(created.status, PersonStatus::Active);
        assert_eq!(created.full_name(), "Anna Andersson");

        let found = alfa
            .person_by_personnummer(&anna.personnummer)
            .await
            .unwrap();
        assert_eq!(
            found.as_ref().map(|p| &p.id),
            Some(&PersonId::new("p1")),
            "{backend:?}"
        );

        let dup = alfa.create_person(&PersonId::new("p2"), &anna, T0).await;
        assert!(
            matches!(dup, Err(StoreError::Conflict { .. })),
            "{backend:?}: {dup:?}"
        );

        // The same personnummer is a different person in another tenant.
        let beta = store.tenant(tenant("beta"));
        assert!(
            beta.person_by_personnummer(&anna.personnummer)
                .await
                .unwrap()
                .is_none()
        );
        assert!(beta.person(&PersonId::new("p1")).await.unwrap().is_none());
        beta.create_person(&PersonId::new("p1"), &anna, T0)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn ensure_person_never_overrides_what_an_administrator_changed() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let doc = new_person(Role::Clinician, "198112189876", "Doris", "Doktor");
        assert!(
            alfa.ensure_person(&PersonId::new("c1"), &doc, T0)
                .await
                .unwrap()
        );
        assert!(
            alfa.set_person_status(
                &PersonId::new("c1"),
                PersonStatus::Inactive,
                &by_admin(&PersonId::new("admin")),
                T0
            )
            .await
            .unwrap()
        );
        assert!(
            !alfa
                .ensure_person(&PersonId::new("c2"), &doc, T0)
                .await
                .unwrap()
        );
        let p = alfa
            .person_by_personnummer(&doc.personnummer)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.id.as_str(), p.status),
            ("c1", PersonStatus::Inactive),
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn lists_leave_out_removed_people_and_other_roles() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        alfa.create_person(
            &PersonId::new("a"),
            &new_person(Role::Clinician, "191212121212", "Ö", "Östen"),
            T0,
        )
        .await
        .unwrap();
        alfa.create_person(
            &PersonId::new("b"),
            &new_person(Role::Clinician, "198112189876", "B", "Berg"),
            T0,
        )
        .await
        .unwrap();
        alfa.create_person(
            &PersonId::new("c"),
            &new_person(Role::Patient, "200002292381", "C", "Carl"),
            T0,
        )
        .await
        .unwrap();
        alfa.create_person(
            &PersonId::new("d"),
            &new_person(Role::Clinician, "198112789873", "D", "Dahl"),
            T0,
        )
        .await
        .unwrap();
        alfa.set_person_status(
            &PersonId::new("d"),
            PersonStatus::Removed,
            &by_admin(&PersonId::new("admin")),
            T0,
        )
        .await
        .unwrap();
        let names: Vec<String> = alfa
            .people(Role::Clinician)
            .await
            .unwrap()
            .iter()
            .map(|p| p.family_name.as_str().to_owned())
            .collect();
        assert_eq!(names, ["Berg", "Östen"], "{backend:?}");
    }
}

#[tokio::test]
async fn sessions_belong_to_one_tenant_and_end_with_the_persons_access() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let p = alfa
            .create_person(
                &PersonId::new("p1"),
                &new_person(Role::Patient, "191212121212", "A", "A"),
                T0,
            )
            .await
            .unwrap();
        alfa.create_session("hash1", &p.id, T0, T0.plus(Duration::from_secs(60)))
            .await
            .unwrap();
        let s = alfa.session("hash1").await.unwrap().expect("session");
        assert_eq!((s.person.id.as_str(), s.created_at), ("p1", T0));

        // The same token hash means nothing on another tenant.
        assert!(
            store
                .tenant(tenant("beta"))
                .session("hash1")
                .await
                .unwrap()
                .is_none(),
            "{backend:?}"
        );

        alfa.touch_session(
            "hash1",
            T0.plus(Duration::from_secs(30)),
            T0.plus(Duration::from_secs(90)),
        )
        .await
        .unwrap();
        assert_eq!(
            alfa.session("hash1").await.unwrap().unwrap().last_seen_at,
            T0.plus(Duration::from_secs(30))
        );

        assert_eq!(
            alfa.delete_expired_sessions(T0.plus(Duration::from_secs(89)))
                .await
                .unwrap(),
            0
        );
        alfa.set_person_status(
            &p.id,
            PersonStatus::Inactive,
            &by_admin(&PersonId::new("admin")),
            T0,
        )
        .await
        .unwrap();
        assert!(
            alfa.session("hash1").await.unwrap().is_none(),
            "inactive person keeps a session ({backend:?})"
        );
    }
}

#[tokio::test]
async fn access_log_is_append_only_and_outlives_the_patient() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let patient = alfa
            .create_person(
                &PersonId::new("p1"),
                &new_person(Role::Patient, "191212121212", "A", "A"),
                T0,
            )
            .await
            .unwrap();
        let event = AccessEvent {
            actor: tillit_domain::access::Accessor::Person {
                id: PersonId::new("c1"),
                role: Role::Clinician,
            },
            patient: patient.id.clone(),
            patient_personnummer: patient.personnummer.clone(),
            action: AccessAction::Read,
            what: "profile",
        };
        alfa.log_access(&event, T0).await.unwrap();
        assert!(alfa.delete_person(&patient.id).await.unwrap());

        let log = alfa.access_log_for(&patient.personnummer).await.unwrap();
        assert_eq!(log.len(), 1, "{backend:?}");
        assert_eq!(
            (
                log[0].actor_id.as_str(),
                log[0].action.as_str(),
                log[0].what.as_str()
            ),
            ("c1", "read", "profile")
        );
        assert_eq!(log[0].at, T0);
        assert!(
            store
                .tenant(tenant("beta"))
                .access_log_for(&patient.personnummer)
                .await
                .unwrap()
                .is_empty()
        );

        // Even with raw SQL, the database refuses to change or drop entries.
        for sql in ["UPDATE access_log SET what = 'x'", "DELETE FROM access_log"] {
            let err = raw_execute(&db, sql).await.expect_err(sql);
            assert!(err.contains("append-only"), "{backend:?} {sql}: {err}");
        }
        assert_eq!(
            alfa.access_log_for(&patient.personnummer)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

async fn raw_execute(db: &TestDb, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    }
}

#[tokio::test]
async fn both_backends_migrate_to_the_same_tables_and_columns() {
    use sqlx::{Connection, Row};
    let sqlite = TestDb::new(Backend::Sqlite);
    let pg = TestDb::new(Backend::Postgres);
    sqlite.store().await;
    pg.store().await;

    let mut lite_schema: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut c = sqlx::SqliteConnection::connect(&sqlite.url).await.unwrap();
    let rows = sqlx::query(
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' ORDER BY t, p.cid",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for r in rows {
        lite_schema.entry(r.get("t")).or_default().push(r.get("c"));
    }

    let mut pg_schema: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut c = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' ORDER BY t, ordinal_position",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for r in rows {
        pg_schema.entry(r.get("t")).or_default().push(r.get("c"));
    }
    assert!(lite_schema.contains_key("people"));
    // The job queue's tables are apalis' own (in PostgreSQL, in its own
    // schema), migrated by apalis; only ours must match.
    for t in ["Jobs", "Workers"] {
        assert!(
            lite_schema.remove(t).is_some(),
            "the queue's table {t} exists"
        );
    }
    assert_eq!(lite_schema, pg_schema);
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |dir: &str| {
        let mut v: Vec<String> =
            std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
        v.sort();
        v
    };
    assert!(!names("sqlite").is_empty());
    assert_eq!(names("sqlite"), names("postgres"));
}

/// Every statement on a tenant-owned table binds the tenant as `$1`. Read
/// from the offline data of both backends, so a new query that forgets its
/// tenant fails here, not in production.
#[test]
fn every_query_on_tenant_owned_tables_is_scoped_to_its_tenant() {
    const TENANT_OWNED: [&str; 14] = [
        "people",
        "sessions",
        "access_log",
        "clinician_profiles",
        "visit_types",
        "bookings",
        "booking_events",
        "terms_acceptances",
        "profile_pictures",
        "notifications",
        "plugin_usage",
        "plugin_documents",
        "plugin_blobs",
        "plugin_events",
    ];
    let mut checked = 0;
    for backend in ["sqlite", "postgres"] {
        let dir = format!("{}/{backend}/.sqlx", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let sql = json["query"].as_str().unwrap();
            let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let touches = TENANT_OWNED.iter().any(|t| {
                flat.contains(&format!("FROM {t} "))
                    || flat.contains(&format!("INTO {t} "))
                    || flat.contains(&format!("UPDATE {t} "))
            });
            if !touches {
                continue;
            }
            let scoped = if flat.starts_with("INSERT") {
                flat.contains("(tenant_id,")
                    && (flat.contains("VALUES ($1,") || flat.contains("SELECT $1,"))
            } else {
                flat.contains("tenant_id = $1 ")
            };
            assert!(
                scoped,
                "{backend}: query does not bind its tenant as $1:\n{sql}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} queries checked: is the offline data there?"
    );
}

/// Many people at once: every write lands, none fails with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_all_land() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let patient = alfa
            .create_person(
                &PersonId::new("p1"),
                &new_person(Role::Patient, "191212121212", "A", "A"),
                T0,
            )
            .await
            .unwrap();
        let event = AccessEvent {
            actor: tillit_domain::access::Accessor::Person {
                id: PersonId::new("c1"),
                role: Role::Clinician,
            },
            patient: patient.id.clone(),
            patient_personnummer: patient.personnummer.clone(),
            action: AccessAction::Read,
            what: "profile",
        };
        let mut tasks = Vec::new();
        for i in 0..200i64 {
            let (store, event) = (store.clone(), event.clone());
            tasks.push(tokio::spawn(async move {
                let t = store.tenant(tenant("alfa"));
                t.log_access(&event, Timestamp(T0.0 + i)).await?;
                t.person_by_personnummer(&event.patient_personnummer)
                    .await
                    .map(drop)
            }));
        }
        for task in tasks {
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        }
        assert_eq!(
            alfa.access_log_for(&patient.personnummer)
                .await
                .unwrap()
                .len(),
            200,
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn profiles_and_visit_types_belong_to_their_clinician() {
    use tillit_domain::booking::{ProfileText, VisitTypeSpec};
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let karin = alfa
            .create_person(
                &PersonId::new("k"),
                &new_person(Role::Clinician, "198112189876", "Karin", "L"),
                T0,
            )
            .await
            .unwrap();
        let olof = alfa
            .create_person(
                &PersonId::new("o"),
                &new_person(Role::Clinician, "191212121212", "Olof", "B"),
                T0,
            )
            .await
            .unwrap();

        assert!(alfa.profile(&karin.id).await.unwrap().is_none());
        assert!(
            !alfa
                .set_profile_published(&karin.id, Some(T0), T0)
                .await
                .unwrap(),
            "nothing to publish yet"
        );
        let text = ProfileText::parse(
            "Leg. psykolog",
            "Hej!",
            "",
            "",
            "Storgatan 1",
            "Vårdcentralen Norr",
        )
        .unwrap();
        alfa.save_profile_text(&karin.id, &text, T0).await.unwrap();
        assert!(
            alfa.set_profile_published(&karin.id, Some(T0), T0)
                .await
                .unwrap()
        );
        // Saving the text again keeps it published.
        alfa.save_profile_text(
            &karin.id,
            &ProfileText {
                title: "Psykolog".into(),
                ..text.clone()
            },
            T0,
        )
        .await
        .unwrap();
        let p = alfa.profile(&karin.id).await.unwrap().unwrap();
        assert_eq!(
            (p.text.title.as_str(), p.published_at),
            ("Psykolog", Some(T0)),
            "{backend:?}"
        );
        assert!(
            alfa.set_profile_published(&karin.id, None, T0)
                .await
                .unwrap()
        );
        assert_eq!(
            alfa.profile(&karin.id).await.unwrap().unwrap().published_at,
            None
        );
        assert!(
            store
                .tenant(tenant("beta"))
                .profile(&karin.id)
                .await
                .unwrap()
                .is_none()
        );

        let spec = VisitTypeSpec::parse("Återbesök", "", "15", "video").unwrap();
        alfa.create_visit_type("v1", &karin.id, &spec, T0)
            .await
            .unwrap();
        alfa.create_visit_type(
            "v2",
            &karin.id,
            &VisitTypeSpec::parse("Grupp", "", "60", "group_video").unwrap(),
            T0.plus(Duration::from_secs(1)),
        )
        .await
        .unwrap();
        let longer = VisitTypeSpec::parse("Återbesök", "", "30", "video").unwrap();
        assert!(
            !alfa
                .update_visit_type("v1", &olof.id, &longer, T0)
                .await
                .unwrap(),
            "not Olof's to change"
        );
        assert!(
            !alfa.archive_visit_type("v1", &olof.id, T0).await.unwrap(),
            "not Olof's to remove"
        );
        assert!(
            alfa.update_visit_type("v1", &karin.id, &longer, T0)
                .await
                .unwrap()
        );
        assert!(alfa.archive_visit_type("v2", &karin.id, T0).await.unwrap());
        let types = alfa.visit_types_of(&karin.id).await.unwrap();
        assert_eq!(
            types
                .iter()
                .map(|v| (v.id.as_str(), v.spec.minutes))
                .collect::<Vec<_>>(),
            [("v1", 30)],
            "{backend:?}"
        );
        assert!(alfa.visit_types_of(&olof.id).await.unwrap().is_empty());
        assert!(
            store
                .tenant(tenant("beta"))
                .visit_types_of(&karin.id)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

mod bookings {
    use super::*;
    use tillit_domain::booking::{
        Booking, BookingFor, BookingStatus, MobileNumber, VisitKind, VisitTypeSpec,
    };
    use tillit_domain::invitee::OnFileChoices;
    use tillit_store::{BookOutcome, NewBooking, TenantStore};

    async fn setup(store: &Store) -> (TenantStore<'_>, PersonId, String) {
        let alfa = store.tenant(tenant("alfa"));
        let karin = alfa
            .create_person(
                &PersonId::new("karin"),
                &new_person(Role::Clinician, "198112189876", "Karin", "L"),
                T0,
            )
            .await
            .unwrap();
        alfa.create_visit_type(
            "vt",
            &karin.id,
            &VisitTypeSpec::parse("Återbesök", "", "15", "video").unwrap(),
            T0,
        )
        .await
        .unwrap();
        (alfa, karin.id, "vt".to_owned())
    }

    fn draft(id: &str, clinician: &PersonId, start: Timestamp) -> Booking {
        Booking {
            id: id.to_owned(),
            clinician: clinician.clone(),
            patient: PersonId::new(""),
            visit_type_id: "vt".into(),
            title: "Återbesök".into(),
            minutes: 15,
            kind: VisitKind::Video,
            starts_at: start,
            status: BookingStatus::Unconfirmed,
            message: "Ta med dina mediciner.".into(),
        }
    }

    fn new_patient(pnr: &str) -> BookingFor {
        BookingFor::Patient {
            person: new_person(Role::Patient, pnr, "Tove", "Toll"),
            phone: MobileNumber::parse("070-123 45 67").unwrap(),
        }
    }

    async fn book(t: &TenantStore<'_>, who: &BookingFor, b: Booking, by: &PersonId) -> BookOutcome {
        book_choosing(t, who, b, by, OnFileChoices::default()).await
    }

    async fn book_choosing(
        t: &TenantStore<'_>,
        who: &BookingFor,
        b: Booking,
        by: &PersonId,
        choices: OnFileChoices,
    ) -> BookOutcome {
        let id = b.id.clone();
        t.create_booking(
            NewBooking {
                patient: who,
                booking: b,
                created_by: by,
                logged_as: tillit_domain::access::Accessor::Person {
                    id: by.clone(),
                    role: Role::Clinician,
                },
                new_patient_id: PersonId::new(format!("p-{id}")),
                event_id: format!("e-{id}"),
                reminder_lead: LEAD,
                participants: Vec::new(),
                more_patients: Vec::new(),
                choices,
                external_ids: Vec::new(),
            },
            T0,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_new_patient_is_created_once_and_matched_after() {
        for backend in BACKENDS {
            let db = TestDb::new(backend);
            let store = store_with_tenants(&db).await;
            let (alfa, karin, _) = setup(&store).await;
            let at = T0.plus(Duration::from_secs(86_400));
            let BookOutcome::Booked(b1) = book(
                &alfa,
                &new_patient("200002292381"),
                draft("b1", &karin, at),
                &karin,
            )
            .await
            else {
                panic!()
            };
            let BookOutcome::Booked(b2) = book(
                &alfa,
                &new_patient("200002292381"),
                draft("b2", &karin, at.plus(Duration::from_secs(3600))),
                &karin,
            )
            .await
            else {
                panic!()
            };
            assert_eq!(
                b1.patient, b2.patient,
                "{backend:?}: matched, not duplicated"
            );
            assert_eq!(alfa.people(Role::Patient).await.unwrap().len(), 1);
            let log = alfa
                .access_log_for(&Personnummer::parse("200002292381").unwrap())
                .await
                .unwrap();
            assert_eq!(
                log.iter()
                    .map(|e| (e.action.as_str(), e.what.as_str()))
                    .collect::<Vec<_>>(),
                [("create", "booking"); 2]
            );

            let mine = alfa.bookings_of(&karin, T0).await.unwrap();
            assert_eq!(
                mine.iter()
                    .map(|i| i.booking.id.as_str())
                    .collect::<Vec<_>>(),
                ["b1", "b2"]
            );
            assert_eq!(mine[0].patient_name, "Tove Toll");
            let theirs = alfa.bookings_of(&b1.patient, T0).await.unwrap();
            assert_eq!(
                (theirs.len(), theirs[0].clinician_name.as_str()),
                (2, "Karin L")
            );
            assert!(
                store
                    .tenant(tenant("beta"))
                    .bookings_of(&karin, T0)
                    .await
                    .unwrap()
                    .is_empty()
            );

            // Past bookings drop out of the list once they have ended.
            assert_eq!(
                alfa.bookings_of(&karin, at.plus(Duration::from_secs(1000)))
                    .await
                    .unwrap()
                    .len(),
                1
            );
            // Editing the visit type later does not rewrite the booking.
            alfa.update_visit_type(
                "vt",
                &karin,
                &VisitTypeSpec::parse("Nybesök", "", "45", "video").unwrap(),
                T0,
            )
            .await
            .unwrap();
            let kept = alfa.booking("b1").await.unwrap().unwrap();
            assert_eq!((kept.title.as_str(), kept.minutes), ("Återbesök", 15));
        }
    }

    #[tokio::test]
    async fn inactive_patients_and_staff_cannot_be_booked_and_removed_ones_come_back_when_chosen() {
        for backend in BACKENDS {
            let db = TestDb::new(backend);
            let store = store_with_tenants(&db).await;
            let (alfa, karin, _) = setup(&store).await;
            let at = T0.plus(Duration::from_secs(86_400));
            let BookOutcome::Booked(b) = book(
                &alfa,
                &new_patient("200002292381"),
                draft("b1", &karin, at),
                &karin,
            )
            .await
            else {
                panic!()
            };

            alfa.set_person_status(
                &b.patient,
                PersonStatus::Inactive,
                &by_admin(&PersonId::new("admin")),
                T0,
            )
            .await
            .unwrap();
            assert_eq!(
                book(
                    &alfa,
                    &new_patient("200002292381"),
                    draft("b2", &karin, at.plus(Duration::from_secs(3600))),
                    &karin
                )
                .await,
                BookOutcome::PatientInactive
            );
            assert_eq!(
                book(
                    &alfa,
                    &BookingFor::Existing(b.patient.clone()),
                    draft("b3", &karin, at.plus(Duration::from_secs(7200))),
                    &karin
                )
                .await,
                BookOutcome::PatientInactive
            );
            assert!(
                alfa.booking("b2").await.unwrap().is_none(),
                "{backend:?}: nothing saved"
            );

            alfa.set_person_status(
                &b.patient,
                PersonStatus::Removed,
                &by_admin(&PersonId::new("admin")),
                T0,
            )
            .await
            .unwrap();
            let again = || draft("b4", &karin, at.plus(Duration::from_secs(3600)));
            for who in [
                new_patient("200002292381"),
                BookingFor::Existing(b.patient.clone()),
            ] {
                assert_eq!(
                    book(&alfa, &who, again(), &karin).await,
                    BookOutcome::NeedsChoice {
                        removed: true,
                        other_phone: false
                    },
                    "{backend:?}: not brought back unasked"
                );
            }
            assert_eq!(
                alfa.person(&b.patient).await.unwrap().unwrap().status,
                PersonStatus::Removed
            );
            let reactivate = OnFileChoices {
                reactivate: true,
                replace_phone: false,
            };
            assert!(matches!(
                book_choosing(
                    &alfa,
                    &new_patient("200002292381"),
                    again(),
                    &karin,
                    reactivate
                )
                .await,
                BookOutcome::Booked(_)
            ));
            assert_eq!(
                alfa.person(&b.patient).await.unwrap().unwrap().status,
                PersonStatus::Active,
                "invited again"
            );

            assert_eq!(
                book(
                    &alfa,
                    &new_patient("198112189876"),
                    draft("b5", &karin, at.plus(Duration::from_secs(9000))),
                    &karin
                )
                .await,
                BookOutcome::NotAPatient
            );
            assert_eq!(
                book(
                    &alfa,
                    &BookingFor::Existing(PersonId::new("nobody")),
                    draft("b6", &karin, at),
                    &karin
                )
                .await,
                BookOutcome::NoSuchPerson
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_same_slot_booked_twice_at_once_has_one_winner() {
        for backend in BACKENDS {
            let db = TestDb::new(backend);
            let store = store_with_tenants(&db).await;
            let (_, karin, _) = setup(&store).await;
            let at = T0.plus(Duration::from_secs(86_400));
            let mut tasks = Vec::new();
            for (i, pnr) in ["200002292381", "191212121212", "198112789873"]
                .into_iter()
                .enumerate()
            {
                let (store, karin) = (store.clone(), karin.clone());
                tasks.push(tokio::spawn(async move {
                    let alfa = store.tenant(tenant("alfa"));
                    book(
                        &alfa,
                        &new_patient(pnr),
                        draft(&format!("b{i}"), &karin, at),
                        &karin,
                    )
                    .await
                }));
            }
            let mut outcomes = Vec::new();
            for t in tasks {
                outcomes.push(t.await.unwrap());
            }
            let booked = outcomes
                .iter()
                .filter(|o| matches!(o, BookOutcome::Booked(_)))
                .count();
            let taken = outcomes
                .iter()
                .filter(|o| **o == BookOutcome::SlotTaken)
                .count();
            assert_eq!((booked, taken), (1, 2), "{backend:?}: {outcomes:?}");
            // The losers created no patients either.
            assert_eq!(
                store
                    .tenant(tenant("alfa"))
                    .people(Role::Patient)
                    .await
                    .unwrap()
                    .len(),
                1,
                "{backend:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_status_changes_leave_one_consistent_state() {
        for backend in BACKENDS {
            let db = TestDb::new(backend);
            let store = store_with_tenants(&db).await;
            let (alfa, karin, _) = setup(&store).await;
            let at = T0.plus(Duration::from_secs(86_400));
            let BookOutcome::Booked(b) = book(
                &alfa,
                &new_patient("200002292381"),
                draft("b1", &karin, at),
                &karin,
            )
            .await
            else {
                panic!()
            };
            // The patient confirms twice at once, while the clinician cancels.
            let changes = [
                (BookingStatus::Confirmed, b.patient.clone()),
                (BookingStatus::Confirmed, b.patient.clone()),
                (BookingStatus::Cancelled, karin.clone()),
            ];
            let mut tasks = Vec::new();
            for (i, (to, who)) in changes.into_iter().enumerate() {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    store
                        .tenant(tenant("alfa"))
                        .change_booking_status(
                            "b1",
                            BookingStatus::Unconfirmed,
                            to,
                            &by(&who),
                            &format!("c{i}"),
                            LEAD,
                            T0,
                        )
                        .await
                        .unwrap()
                }));
            }
            let mut won = 0;
            for t in tasks {
                won += usize::from(t.await.unwrap());
            }
            assert_eq!(won, 1, "{backend:?}: exactly one change wins");
            let status = alfa.booking("b1").await.unwrap().unwrap().status;
            assert!(matches!(
                status,
                BookingStatus::Confirmed | BookingStatus::Cancelled
            ));
        }
    }

    use tillit_domain::notify::{Channel, NoticeKind, NoticeStatus, Notification};

    /// A change recorded as made by `person`, not access-logged.
    fn by(person: &PersonId) -> tillit_store::ChangedBy<'_> {
        tillit_store::ChangedBy {
            person,
            role: Role::Clinician,
            logged_as: None,
            via: None,
            at_version: None,
        }
    }

    fn summary(ns: &[Notification]) -> Vec<(NoticeKind, Channel, NoticeStatus)> {
        ns.iter().map(|n| (n.kind, n.channel, n.status)).collect()
    }

    /// Every message a booking's life causes is written with the change:
    /// invitation at once, a reminder once confirmed, moved with the visit,
    /// withdrawn when it is cancelled.
    #[tokio::test]
    async fn changes_write_their_messages_in_the_same_transaction() {
        use NoticeKind::*;
        use NoticeStatus::*;
        for backend in BACKENDS {
            let db = TestDb::new(backend);
            let store = store_with_tenants(&db).await;
            let (alfa, karin, _) = setup(&store).await;
            let start = T0.plus(Duration::from_secs(86_400));
            let BookOutcome::Booked(b) = book(
                &alfa,
                &new_patient("200002292381"),
                draft("b1", &karin, start),
                &karin,
            )
            .await
            else {
                panic!("not booked")
            };
            let ns = alfa.notifications_of_booking("b1").await.unwrap();
            // Only a mobile number is known: one SMS, queued, no reminder yet.
            assert_eq!(
                summary(&ns),
                [(Invited, Channel::Sms, Queued)],
                "{backend:?}"
            );
            assert_eq!(ns[0].person, b.patient);

            // The patient confirms: a reminder LEAD before the start.
            assert!(
                alfa.change_booking_status(
                    "b1",
                    BookingStatus::Unconfirmed,
                    BookingStatus::Confirmed,
                    &by(&b.patient),
                    "e2",
                    LEAD,
                    T0
                )
                .await
                .unwrap()
            );
            let ns = alfa.notifications_of_booking("b1").await.unwrap();
            assert_eq!(ns[1].kind, Reminder);
            assert_eq!((ns[1].status, ns[1].due_at), (Scheduled, start.minus(LEAD)));

            // Moved a day later: the old reminder withdrawn, a new one due.
            let later = start.plus(Duration::from_secs(86_400));
            let moved = alfa
                .reschedule_booking(
                    "b1",
                    &karin,
                    &by(&karin),
                    later,
                    later.plus(Duration::from_secs(900)),
                    LEAD,
                    T0,
                )
                .await
                .unwrap();
            assert_eq!(moved, tillit_store::RescheduleOutcome::Moved);
            let ns = alfa.notifications_of_booking("b1").await.unwrap();
            let reminders: Vec<_> = ns.iter().filter(|n| n.kind == Reminder).collect();
            assert_eq!(reminders.len(), 2);
            assert_eq!(reminders[0].status, NoticeStatus::Cancelled);
            assert_eq!(
                (reminders[1].status, reminders[1].due_at),
                (Scheduled, later.minus(LEAD))
            );
            assert!(ns.iter().any(|n| n.kind == Moved && n.status == Queued));

            // Nothing is due yet; at the reminder's time it is queued once.
            assert_eq!(alfa.queue_due_reminders(T0, 100).await.unwrap(), 0);
            assert_eq!(
                alfa.queue_due_reminders(later.minus(LEAD), 100)
                    .await
                    .unwrap(),
                1
            );
            assert_eq!(alfa.queue_due_reminders(later, 100).await.unwrap(), 0);

            // Cancelled: the reminder (even if queued) is withdrawn and the
            // patient told.
            assert!(
                alfa.change_booking_status(
                    "b1",
                    BookingStatus::Confirmed,
                    BookingStatus::Cancelled,
                    &by(&karin),
                    "e3",
                    LEAD,
                    T0
                )
                .await
                .unwrap()
            );
            let ns = alfa.notifications_of_booking("b1").await.unwrap();
            assert!(
                ns.iter()
                    .filter(|n| n.kind == Reminder)
                    .all(|n| n.status == NoticeStatus::Cancelled)
            );
            assert!(
                ns.iter()
                    .any(|n| n.kind == NoticeKind::Cancelled && n.status == Queued)
            );

            // Plugins hear each change, in order, with the visit as it was.
            use tillit_domain::events::BookingEvent;
            let events = alfa.pending_plugin_events(100).await.unwrap();
            assert_eq!(
                events.iter().map(|e| e.kind).collect::<Vec<_>>(),
                [
                    BookingEvent::Created,
                    BookingEvent::Confirmed,
                    BookingEvent::Moved,
                    BookingEvent::Cancelled
                ],
                "{backend:?}"
            );
            assert_eq!(events[0].visit_status, BookingStatus::Unconfirmed);
            assert_eq!(events[0].starts_at, start);
            assert_eq!(events[2].starts_at, later);
            assert!(
                alfa.mark_plugin_event_delivered(&events[0].id, T0)
                    .await
                    .unwrap()
            );
            assert!(
                !alfa
                    .mark_plugin_event_delivered(&events[0].id, T0)
                    .await
                    .unwrap(),
                "delivered twice"
            );
            assert_eq!(alfa.pending_plugin_events(100).await.unwrap().len(), 3);

            // Another tenant sees none of it.
            let beta = store.tenant(tenant("beta"));
            assert!(
                beta.notifications_of_booking("b1")
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert!(beta.notification(&ns[0].id).await.unwrap().is_none());
            assert!(beta.pending_plugin_events(100).await.unwrap().is_empty());
            assert!(
                !beta
                    .mark_plugin_event_delivered(&events[1].id, T0)
                    .await
                    .unwrap()
            );
        }
    }

    /// A booking that is refused (slot taken) leaves no message or plugin
    /// event behind.
    #[tokio::test]
    async fn a_refused_booking_sends_nothing() {
        for backend in BACKENDS {
            let db = TestDb::new(backend);
            let store = store_with_tenants(&db).await;
            let (alfa, karin, _) = setup(&store).await;
            let start = T0.plus(Duration::from_secs(86_400));
            book(
                &alfa,
                &new_patient("200002292381"),
                draft("b1", &karin, start),
                &karin,
            )
            .await;
            let second = book(
                &alfa,
                &new_patient("191212121212"),
                draft("b2", &karin, start),
                &karin,
            )
            .await;
            assert_eq!(second, BookOutcome::SlotTaken);
            assert!(
                alfa.notifications_of_booking("b2")
                    .await
                    .unwrap()
                    .is_empty(),
                "{backend:?}"
            );
            assert_eq!(alfa.recent_notifications(10).await.unwrap().len(), 1);
            // Plugins hear of the first booking only.
            assert_eq!(alfa.pending_plugin_events(10).await.unwrap().len(), 1);
        }
    }

    /// The queue delivers each message to the handler; a worker that dies
    /// while holding a job (the process killed mid-send) gives it back when
    /// a worker of the same name starts again, and it is delivered once.
    #[tokio::test]
    async fn the_queue_survives_a_worker_that_dies_mid_send() {
        use std::sync::{Arc, Mutex};
        use tillit_store::outbox::{Delivery, DeliveryError, WorkerSettings};
        for backend in BACKENDS {
            let db = TestDb::new(backend);
            let store = store_with_tenants(&db).await;
            let (alfa, karin, _) = setup(&store).await;
            let start = T0.plus(Duration::from_secs(86_400));
            book(
                &alfa,
                &new_patient("200002292381"),
                draft("b1", &karin, start),
                &karin,
            )
            .await;
            let settings = WorkerSettings {
                heartbeat: Duration::from_secs(1),
                poll: Duration::from_millis(100),
                retries: 0,
                backoff_min: Duration::from_millis(10),
                backoff_max: Duration::from_millis(10),
            };

            // The first worker takes the job and hangs in the middle of it.
            let (taken_tx, taken_rx) = tokio::sync::oneshot::channel::<Delivery>();
            let taken_tx = Arc::new(Mutex::new(Some(taken_tx)));
            let first = {
                let store = store.clone();
                tokio::spawn(async move {
                    let handler = move |job: Delivery| {
                        let tx = taken_tx.lock().unwrap().take();
                        async move {
                            if let Some(tx) = tx {
                                let _ = tx.send(job);
                            }
                            std::future::pending::<()>().await;
                            Ok::<(), DeliveryError>(())
                        }
                    };
                    store
                        .run_outbox(settings, handler, std::future::pending())
                        .await
                })
            };
            let job = tokio::time::timeout(Duration::from_secs(20), taken_rx)
                .await
                .expect("the first worker took the job")
                .unwrap();
            assert_eq!(job.tenant, "alfa");
            // Killed: no graceful shutdown, the job stays held.
            first.abort();
            let _ = first.await;

            // A new worker (a restarted process) delivers it, once.
            let delivered: Arc<Mutex<Vec<Delivery>>> = Arc::default();
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let second = {
                let store = store.clone();
                let delivered = Arc::clone(&delivered);
                tokio::spawn(async move {
                    let handler = move |job: Delivery| {
                        let delivered = Arc::clone(&delivered);
                        async move {
                            delivered.lock().unwrap().push(job);
                            Ok::<(), DeliveryError>(())
                        }
                    };
                    store
                        .run_outbox(settings, handler, async move {
                            let _ = stop_rx.await;
                        })
                        .await
                })
            };
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while delivered.lock().unwrap().is_empty() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{backend:?}: never redelivered"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // Give a duplicate every chance to show up.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let _ = stop_tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(10), second).await;
            let delivered = delivered.lock().unwrap().clone();
            assert_eq!(delivered, vec![job], "{backend:?}");
        }
    }
}

/// A page that shows many patients logs them in one statement, on both
/// backends, with every field intact and in the right tenant.
#[tokio::test]
async fn many_access_log_entries_in_one_statement() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let pnrs = ["191212121212", "198112189876", "200002292381"];
        let mut events = Vec::new();
        for (i, pnr) in pnrs.iter().enumerate() {
            let p = alfa
                .create_person(
                    &PersonId::new(format!("p{i}")),
                    &new_person(Role::Patient, pnr, "A", "B"),
                    T0,
                )
                .await
                .unwrap();
            events.push(AccessEvent {
                actor: tillit_domain::access::Accessor::Person {
                    id: PersonId::new("c\"1"),
                    role: Role::Clinician,
                },
                patient: p.id.clone(),
                patient_personnummer: p.personnummer.clone(),
                action: AccessAction::Read,
                what: "bookings.list",
            });
        }
        alfa.log_access_many(&events, T0).await.unwrap();
        alfa.log_access_many(&[], T0).await.unwrap();
        for pnr in pnrs {
            let log = alfa
                .access_log_for(&Personnummer::parse(pnr).unwrap())
                .await
                .unwrap();
            assert_eq!(log.len(), 1, "{backend:?} {pnr}");
            assert_eq!(
                (
                    log[0].actor_id.as_str(),
                    log[0].actor_role.as_str(),
                    log[0].action.as_str(),
                    log[0].what.as_str(),
                    log[0].at
                ),
                ("c\"1", "clinician", "read", "bookings.list", T0)
            );
        }
        assert!(
            store
                .tenant(tenant("beta"))
                .access_log_for(&Personnummer::parse(pnrs[0]).unwrap())
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// Concurrent requests' access-log entries share commits (the group
/// commit) and none is lost, whichever tenant each is in; each call
/// returns only once its entries can be read back.
#[tokio::test]
async fn concurrent_access_log_writes_share_commits_and_lose_nothing() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let pnrs = ["191212121212", "198112189876"];
        for t in ["alfa", "beta"] {
            for (i, pnr) in pnrs.iter().enumerate() {
                store
                    .tenant(tenant(t))
                    .create_person(
                        &PersonId::new(format!("p{i}")),
                        &new_person(Role::Patient, pnr, "A", "B"),
                        T0,
                    )
                    .await
                    .unwrap();
            }
        }
        let mut tasks = Vec::new();
        for n in 0..400_i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let t = store.tenant(tenant(if n % 2 == 0 { "alfa" } else { "beta" }));
                let pnr = Personnummer::parse(pnrs[(n % 4 / 2) as usize]).unwrap();
                let event = AccessEvent {
                    actor: tillit_domain::access::Accessor::Person {
                        id: PersonId::new(format!("c{n}")),
                        role: Role::Clinician,
                    },
                    patient: PersonId::new(format!("p{}", n % 4 / 2)),
                    patient_personnummer: pnr.clone(),
                    action: AccessAction::Read,
                    what: "visit",
                };
                // Some requests log two subjects' reads at once.
                let events = if n % 5 == 0 {
                    vec![event.clone(), event]
                } else {
                    vec![event]
                };
                t.log_access_many(&events, Timestamp(T0.0 + n)).await?;
                // Durable before the call returns: this request's own
                // entries are there.
                let log = t.access_log_for(&pnr).await?;
                let mine = log.iter().filter(|e| e.actor_id == format!("c{n}")).count();
                assert_eq!(mine, events.len(), "request {n}");
                Ok::<_, tillit_store::StoreError>(())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        for t in ["alfa", "beta"] {
            let total: usize = logged_entries(&store, t, &pnrs).await;
            // 200 requests per tenant, 40 of which logged two entries.
            assert_eq!(total, 240, "{backend:?} {t}");
        }
    }
}

async fn logged_entries(store: &Store, t: &str, pnrs: &[&str]) -> usize {
    let mut total = 0;
    for pnr in pnrs {
        total += store
            .tenant(tenant(t))
            .access_log_for(&Personnummer::parse(pnr).unwrap())
            .await
            .unwrap()
            .len();
    }
    total
}

/// HSA-ids: unique in a tenant where given, found by, and filled in from
/// the tenant's file for a member of staff who had none, never replaced.
#[tokio::test]
async fn hsa_ids_are_unique_found_and_filled_in_once() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let store = store_with_tenants(&db).await;
        let alfa = store.tenant(tenant("alfa"));
        let hsa = |s: &str| tillit_domain::HsaId::parse(s).unwrap();
        let mut doc = new_person(Role::Clinician, "198112189876", "Doris", "Doktor");
        assert!(
            alfa.ensure_person(&PersonId::new("c1"), &doc, T0)
                .await
                .unwrap()
        );
        assert_eq!(
            alfa.person(&PersonId::new("c1"))
                .await
                .unwrap()
                .unwrap()
                .hsa_id,
            None
        );
        // The file gains her HSA-id: filled in, and it is not a new person.
        doc.hsa_id = Some(hsa("SE2321000016-D001"));
        assert!(
            !alfa
                .ensure_person(&PersonId::new("c2"), &doc, T0)
                .await
                .unwrap()
        );
        let found = alfa
            .person_by_hsa_id(&hsa("SE2321000016-D001"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id.as_str(), "c1", "{backend:?}");
        // Another one in the file later does not replace it.
        doc.hsa_id = Some(hsa("SE2321000016-D009"));
        assert!(
            !alfa
                .ensure_person(&PersonId::new("c3"), &doc, T0)
                .await
                .unwrap()
        );
        assert!(
            alfa.person_by_hsa_id(&hsa("SE2321000016-D009"))
                .await
                .unwrap()
                .is_none()
        );
        // Unique in the tenant; the same in another tenant is another person.
        let mut other = new_person(Role::Clinician, "197001010003", "Olof", "Berg");
        other.hsa_id = Some(hsa("SE2321000016-D001"));
        let taken = alfa.create_person(&PersonId::new("c4"), &other, T0).await;
        assert!(
            matches!(taken, Err(tillit_store::StoreError::Conflict { .. })),
            "{backend:?}: {taken:?}"
        );
        let beta = store.tenant(tenant("beta"));
        beta.create_person(&PersonId::new("c4"), &other, T0)
            .await
            .unwrap();
        assert_eq!(
            beta.person_by_hsa_id(&hsa("se2321000016-d001"))
                .await
                .unwrap()
                .unwrap()
                .id
                .as_str(),
            "c4"
        );
    }
}
