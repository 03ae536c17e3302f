//! Tillit's data layer: one API over SQLite (the embedded default) and
//! PostgreSQL (production).
//!
//! # Layout
//! - `sql/queries.rs`: every SQL statement, written once. Each backend crate
//!   (`sqlite/`, `postgres/`) `include!`s it, so every query is compiled and
//!   checked against both databases, each with its own offline data (`.sqlx/`).
//! - `migrations/{sqlite,postgres}/`: one set per dialect, kept in step
//!   (same file names; a test compares the resulting schemas).
//! - this crate: [`Store`], which connects and migrates, and [`TenantStore`],
//!   the only way to reach tenant-owned data.
//! - `plugin_storage`: plugins' documents and blobs with their quotas, for
//!   the plugin host (the `plugin_*` methods of [`TenantStore`], in the
//!   words of [`tillit_domain::plugin_data`]).
//! - `testing` (feature `test-support`): fresh SQLite and PostgreSQL
//!   databases for tests.
//!
//! # Tenant scoping
//! Tenant-owned data is reachable only through [`Store::tenant`], which binds
//! the tenant once; no method takes a tenant id after that. Below it, every
//! statement binds the tenant as `$1` (a test checks the SQL of every query),
//! and composite foreign keys keep rows from pointing into another tenant.
//!
//! # Errors
//! [`StoreError`] is the boundary type; `sqlx::Error` never leaves this crate.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tillit_domain::access::AccessEvent;
use tillit_domain::booking::{
    Booking, BookingFor, BookingListItem, BookingStatus, Colleague, Profile, ProfileText,
    VisitType, VisitTypeSpec,
};
use tillit_domain::notify::BookingChange;
use tillit_domain::people::NewPerson;
use tillit_domain::{Person, PersonId, PersonStatus, Personnummer, Role, TenantId, Timestamp};

pub use tillit_domain::access::AccessLogEntry;
pub use tillit_domain::session::SessionRecord;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one Tillit can use.
    #[error("database URL {url:?} is not supported: {reason}")]
    BadUrl { url: String, reason: String },
    /// The database could not be reached or did not answer in time.
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken, e.g. a personnummer already in the tenant.
    #[error("already exists ({constraint})")]
    Conflict { constraint: String },
    /// Applying migrations failed.
    #[error("migrating the database failed: {0}")]
    Migration(String),
    /// Stored data did not decode into the domain's types.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Anything else the database refused.
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                constraint: db.constraint().unwrap_or("unique").to_owned(),
            },
            sqlx::Error::Database(db) => StoreError::Database(db.message().to_owned()),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => {
                StoreError::Corrupt(e.to_string())
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

#[cfg(feature = "test-support")]
pub mod testing;

#[derive(Debug, Clone)]
enum Pool {
    /// Readers share a read-only pool. Every write goes through one
    /// connection, so writers wait their turn in order instead of sleeping
    /// in SQLite's busy handler (which made write latency spike under load).
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs the same expression against whichever backend the store holds, with
/// `q` naming that backend's copy of the shared queries and `$ex` its pool
/// for `read` or `write` access.
macro_rules! dispatch {
    ($pool:expr, $access:ident, |$ex:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite { $access: $ex, .. } => {
                #[allow(unused_imports)]
                use tillit_store_sqlite::queries as q;
                Ok::<_, StoreError>($body.await?)
            }
            Pool::Postgres($ex) => {
                #[allow(unused_imports)]
                use tillit_store_postgres::queries as q;
                Ok::<_, StoreError>($body.await?)
            }
        }
    };
}

/// Runs `$body` in one transaction on the write side of whichever backend
/// the store holds, with `q` naming that backend's queries and `$tx` the
/// transaction. `$body` evaluates to `Ok(Some(v))` to commit and return `v`,
/// or `Ok(None)` to roll back; errors roll back too.
macro_rules! in_transaction {
    ($pool:expr, |$tx:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite { write, .. } => {
                #[allow(unused_imports)]
                use tillit_store_sqlite::queries as q;
                let mut $tx = write.begin().await?;
                let out = $body;
                if out.is_some() {
                    $tx.commit().await?;
                }
                Ok::<_, StoreError>(out)
            }
            Pool::Postgres(pool) => {
                #[allow(unused_imports)]
                use tillit_store_postgres::queries as q;
                let mut $tx = pool.begin().await?;
                let out = $body;
                if out.is_some() {
                    $tx.commit().await?;
                }
                Ok::<_, StoreError>(out)
            }
        }
    };
}

pub mod outbox;
mod plugin_storage;

/// A booking to make: who it is for, and the booking itself (whose
/// `patient` the store fills in).
#[derive(Debug, Clone)]
pub struct NewBooking<'a> {
    pub patient: &'a BookingFor,
    pub booking: Booking,
    pub created_by: &'a PersonId,
    /// The creator's role, for the access-log entry written with the booking.
    pub created_by_role: Role,
    /// The id to give the patient if they are new.
    pub new_patient_id: PersonId,
    pub event_id: String,
    /// How long before a confirmed visit its reminder goes out.
    pub reminder_lead: Duration,
    /// Colleagues invited besides the responsible clinician.
    pub participants: Vec<PersonId>,
}

/// Who changes a booking: recorded in its history, and in the access log
/// (as `logged_as`) in the change's own transaction when the change is one
/// of the patient's data.
#[derive(Debug, Clone, Copy)]
pub struct ChangedBy<'a> {
    pub person: &'a PersonId,
    pub role: Role,
    /// The access log's `what`; `None` for a change that is not logged.
    pub logged_as: Option<&'static str>,
}

/// The details a person may change about themselves.
#[derive(Debug, Clone)]
pub struct Contact {
    pub given_name: tillit_domain::PersonName,
    pub family_name: tillit_domain::PersonName,
    pub phone: Option<tillit_domain::booking::MobileNumber>,
    pub email: Option<String>,
}

/// What became of a change of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RescheduleOutcome {
    Moved,
    /// Not this clinician's, or already started, finished or cancelled.
    NotChangeable,
    /// Another active booking of the clinician starts then.
    SlotTaken,
}

/// What became of a booking request. Nothing is saved unless `Booked`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookOutcome {
    Booked(Booking),
    /// The patient exists here but is inactive: they cannot be invited.
    PatientInactive,
    /// The personnummer belongs to a member of staff, not a patient.
    NotAPatient,
    /// The chosen person is not in this tenant.
    NoSuchPerson,
    /// The clinician already has an active booking starting at that time.
    SlotTaken,
}

/// A connection pool to the configured database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    /// Wakes the outbox worker when a transaction has queued a message.
    wake: std::sync::Arc<tokio::sync::Notify>,
    /// Wakes the plugin-event worker when a transaction has recorded one.
    events: std::sync::Arc<tokio::sync::Notify>,
}

impl Store {
    /// Connects to `url`: `sqlite://path` (created if missing, WAL mode) or
    /// `postgres://…`. Fails within `timeout` if the database cannot be reached.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let bad = |reason: String| StoreError::BadUrl {
            url: redact_url(url),
            reason,
        };
        let pool = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| bad(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a commit survives power loss, not only a process crash.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            if let Some(dir) = opts.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            // The writer first: it creates the file and switches it to WAL.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(timeout)
                .connect_with(opts.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(timeout)
                .connect_with(opts.read_only(true))
                .await?;
            Pool::Sqlite { read, write }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(timeout)
                .connect_with(opts)
                .await?;
            Pool::Postgres(pool)
        } else {
            return Err(bad("expected sqlite://… or postgres://…".to_owned()));
        };
        Ok(Self {
            pool,
            wake: Default::default(),
            events: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        let r = match &self.pool {
            Pool::Sqlite { write, .. } => match tillit_store_sqlite::MIGRATOR.run(write).await {
                Ok(()) => tillit_store_sqlite::queue::migrator().run(write).await,
                e => e,
            },
            Pool::Postgres(p) => match tillit_store_postgres::MIGRATOR.run(p).await {
                Ok(()) => tillit_store_postgres::queue::migrator().run(p).await,
                e => e,
            },
        };
        r.map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Whether the database answers, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        let r = match &self.pool {
            Pool::Sqlite { read, .. } => sqlx::query("SELECT 1").execute(read).await.map(drop),
            Pool::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop),
        };
        r.map_err(StoreError::from)
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// Makes `tenant` known to the database. Idempotent.
    pub async fn register_tenant(&self, tenant: &TenantId, now: Timestamp) -> Result<()> {
        dispatch!(&self.pool, write, |ex| q::register_tenant(ex, tenant, now))
    }

    /// The data of one tenant. Every method on the result is scoped to it.
    pub fn tenant(&self, tenant: TenantId) -> TenantStore<'_> {
        TenantStore {
            pool: &self.pool,
            tenant,
            wake: &self.wake,
            events: &self.events,
        }
    }
}

/// Access-log entries as the JSON array the batch insert reads.
fn access_events_json(events: &[AccessEvent]) -> String {
    let items: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "actor": e.actor.as_str(),
                "actor_role": e.actor_role.as_str(),
                "patient": e.patient.as_str(),
                "pnr": e.patient_personnummer.as_str(),
                "action": e.action.as_str(),
                "what": e.what,
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// One tenant's data. Obtained from [`Store::tenant`]; holds the tenant id so
/// no query can be asked without it.
#[derive(Debug, Clone)]
pub struct TenantStore<'s> {
    pool: &'s Pool,
    tenant: TenantId,
    wake: &'s tokio::sync::Notify,
    events: &'s tokio::sync::Notify,
}

impl TenantStore<'_> {
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// Creates a person; [`StoreError::Conflict`] if the personnummer is taken.
    pub async fn create_person(
        &self,
        id: &PersonId,
        p: &NewPerson,
        now: Timestamp,
    ) -> Result<Person> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::insert_person(ex, t, id, p, now))
    }

    /// Creates the person unless the personnummer is already in the tenant.
    pub async fn ensure_person(
        &self,
        id: &PersonId,
        p: &NewPerson,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::insert_person_if_absent(
            ex, t, id, p, now
        ))
    }

    pub async fn person_by_personnummer(&self, pnr: &Personnummer) -> Result<Option<Person>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::person_by_personnummer(ex, t, pnr))
    }

    pub async fn person(&self, id: &PersonId) -> Result<Option<Person>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::person_by_id(ex, t, id))
    }

    /// Everyone with `role` who is not removed, by family name.
    pub async fn people(&self, role: Role) -> Result<Vec<Person>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::list_people(ex, t, role))
    }

    /// Sets a person's status; ends their sessions unless they stay active.
    /// Returns whether the person exists.
    pub async fn set_person_status(
        &self,
        id: &PersonId,
        status: PersonStatus,
        now: Timestamp,
    ) -> Result<bool> {
        let found = self.set_status_only(id, status, now).await?;
        if found && !status.can_log_in() {
            self.end_sessions_of(id).await?;
        }
        Ok(found)
    }

    async fn set_status_only(
        &self,
        id: &PersonId,
        status: PersonStatus,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::set_person_status(
            ex, t, id, status, now
        ))
    }

    /// Ends every session of one person.
    pub async fn end_sessions_of(&self, id: &PersonId) -> Result<u64> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::delete_sessions_of(ex, t, id))
    }

    pub async fn delete_person(&self, id: &PersonId) -> Result<bool> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::delete_person(ex, t, id))
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        person: &PersonId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::insert_session(
            ex, t, token_hash, person, now, expires_at
        ))
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::session_by_token_hash(
            ex, t, token_hash
        ))
    }

    pub async fn touch_session(
        &self,
        token_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::touch_session(
            ex, t, token_hash, now, expires_at
        ))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::delete_session(ex, t, token_hash))
    }

    pub async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::delete_expired_sessions(
            ex, t, now
        ))
    }

    /// Appends to the patient-data access log.
    pub async fn log_access(&self, e: &AccessEvent, now: Timestamp) -> Result<()> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::insert_access_event(ex, t, e, now))
    }

    pub async fn access_log_for(&self, pnr: &Personnummer) -> Result<Vec<AccessLogEntry>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::access_log_for_patient(ex, t, pnr))
    }

    /// Saves a profile picture (already checked and re-encoded by the caller).
    pub async fn save_picture(
        &self,
        person: &PersonId,
        content_type: &str,
        hash: &str,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<()> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::save_picture(
            ex,
            t,
            person,
            content_type,
            hash,
            bytes,
            now
        ))
    }

    /// A person's profile picture: content type, hash and bytes.
    pub async fn picture(&self, person: &PersonId) -> Result<Option<(String, String, Vec<u8>)>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::picture(ex, t, person))
    }

    pub async fn picture_hash(&self, person: &PersonId) -> Result<Option<String>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::picture_hash(ex, t, person))
    }

    pub async fn has_accepted_terms(&self, person: &PersonId, version: &str) -> Result<bool> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::has_accepted_terms(
            ex, t, person, version
        ))
    }

    pub async fn accept_terms(
        &self,
        person: &PersonId,
        version: &str,
        now: Timestamp,
    ) -> Result<()> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::accept_terms(
            ex, t, person, version, now
        ))
    }

    /// Changes what a person may change about themselves: name, mobile
    /// number and e-mail, never the personnummer.
    pub async fn update_contact(
        &self,
        person: &PersonId,
        contact: &Contact,
        now: Timestamp,
    ) -> Result<()> {
        let t = &self.tenant;
        let c = contact;
        dispatch!(self.pool, write, |ex| q::update_contact(
            ex,
            t,
            person,
            &c.given_name,
            &c.family_name,
            c.phone.as_ref(),
            c.email.as_deref(),
            now
        ))
    }

    /// A person's mobile number and e-mail, if known.
    pub async fn contact_of(&self, person: &PersonId) -> Result<(Option<String>, Option<String>)> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::contact_of(ex, t, person))
    }

    /// Makes a booking in one transaction: finds or creates the patient
    /// (making a removed patient active again), saves their mobile number,
    /// inserts the booking, its first event and the access-log entry. Either
    /// all of it happens or none of it.
    pub async fn create_booking(&self, new: NewBooking<'_>, now: Timestamp) -> Result<BookOutcome> {
        let t = &self.tenant;
        let mut outcome = BookOutcome::NoSuchPerson;
        let booked: Option<(Booking, bool)> = in_transaction!(self.pool, |tx| 'body: {
            let patient = match new.patient {
                BookingFor::Existing(id) => q::person_by_id(&mut *tx, t, id).await?,
                BookingFor::Patient { person, .. } => {
                    q::insert_person_if_absent(&mut *tx, t, &new.new_patient_id, person, now)
                        .await?;
                    q::person_by_personnummer(&mut *tx, t, &person.personnummer).await?
                }
            };
            let Some(patient) = patient else {
                break 'body None;
            };
            if let BookingFor::Patient { .. } = new.patient
                && patient.role != Role::Patient
            {
                outcome = BookOutcome::NotAPatient;
                break 'body None;
            }
            match patient.status {
                PersonStatus::Inactive => {
                    outcome = BookOutcome::PatientInactive;
                    break 'body None;
                }
                PersonStatus::Removed => {
                    q::set_person_status(&mut *tx, t, &patient.id, PersonStatus::Active, now)
                        .await?;
                }
                PersonStatus::Active => {}
            }
            if let BookingFor::Patient { phone, .. } = new.patient {
                q::set_person_phone(&mut *tx, t, &patient.id, phone, now).await?;
            }
            let booking = Booking {
                patient: patient.id.clone(),
                ..new.booking.clone()
            };
            match q::insert_booking(&mut *tx, t, &booking, new.created_by, now).await {
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    outcome = BookOutcome::SlotTaken;
                    break 'body None;
                }
                other => other?,
            }
            q::insert_booking_event(
                &mut *tx,
                t,
                &new.event_id,
                &booking.id,
                None,
                booking.status,
                new.created_by,
                now,
            )
            .await?;
            // Booking a patient changes their data: logged in the same transaction.
            let access = AccessEvent {
                actor: new.created_by.clone(),
                actor_role: new.created_by_role,
                patient: patient.id.clone(),
                patient_personnummer: patient.personnummer.clone(),
                action: tillit_domain::access::AccessAction::Create,
                what: "booking",
            };
            q::insert_access_event(&mut *tx, t, &access, now).await?;
            for p in &new.participants {
                if *p != booking.clinician && *p != booking.patient {
                    q::insert_participant(&mut *tx, t, &booking.id, p, new.created_by, now).await?;
                }
            }
            let queued = outbox::booking_changed!(
                tx,
                t,
                &booking,
                BookingChange::Created,
                new.reminder_lead,
                now
            );
            Some((booking, queued))
        })?;
        Ok(match booked {
            Some((booking, queued)) => {
                self.events.notify_one();
                if queued {
                    self.wake.notify_one();
                }
                BookOutcome::Booked(booking)
            }
            None => outcome,
        })
    }

    pub async fn booking(&self, id: &str) -> Result<Option<Booking>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::booking(ex, t, id))
    }

    /// Bookings not yet over where `person` is the clinician or the patient,
    /// soonest first.
    pub async fn bookings_of(
        &self,
        person: &PersonId,
        after: Timestamp,
    ) -> Result<Vec<BookingListItem>> {
        let t = &self.tenant;
        let mut items: Vec<BookingListItem> =
            dispatch!(self.pool, read, |ex| q::bookings_as_clinician(
                ex, t, person, after
            ))?;
        let as_patient: Vec<BookingListItem> =
            dispatch!(self.pool, read, |ex| q::bookings_as_patient(
                ex, t, person, after
            ))?;
        items.extend(
            as_patient
                .into_iter()
                .filter(|i| i.booking.clinician != *person),
        );
        items.sort_by(|a, b| {
            (a.booking.starts_at, &a.booking.id).cmp(&(b.booking.starts_at, &b.booking.id))
        });
        Ok(items)
    }

    /// Bookings not yet over that `person` was invited to as a colleague.
    pub async fn bookings_as_participant(
        &self,
        person: &PersonId,
        after: Timestamp,
    ) -> Result<Vec<BookingListItem>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::bookings_as_participant(
            ex, t, person, after
        ))
    }

    /// The colleagues invited to a booking.
    pub async fn participants_of(&self, booking: &str) -> Result<Vec<Colleague>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::participants_of(ex, t, booking))
    }

    /// The tenant's active clinicians, with unit and job title.
    pub async fn colleagues(&self) -> Result<Vec<Colleague>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::colleagues(ex, t))
    }

    /// Appends several access-log entries in one statement: a page that
    /// shows many patients costs one insert, not one per patient.
    pub async fn log_access_many(&self, events: &[AccessEvent], now: Timestamp) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let json = access_events_json(events);
        let t = self.tenant.as_str();
        let inserted = match self.pool {
            Pool::Sqlite { write, .. } => {
                tillit_store_sqlite::insert_access_events_json(write, t, now.0, &json).await?
            }
            Pool::Postgres(pool) => {
                tillit_store_postgres::insert_access_events_json(pool, t, now.0, &json).await?
            }
        };
        if inserted != events.len() as u64 {
            return Err(StoreError::Database(format!(
                "access log: {inserted} of {} entries written",
                events.len()
            )));
        }
        Ok(())
    }

    /// How many of the clinician's active bookings, other than `except`,
    /// overlap the interval.
    pub async fn overlapping_bookings(
        &self,
        clinician: &PersonId,
        start: Timestamp,
        end: Timestamp,
        except: &str,
    ) -> Result<i64> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::overlapping_bookings(
            ex, t, clinician, start, end, except
        ))
    }

    /// Moves one of the clinician's bookings that has not started, and
    /// tells the patient (the message, the moved reminder, the plugin event
    /// and the access-log entry are part of the same transaction).
    #[allow(clippy::too_many_arguments)]
    pub async fn reschedule_booking(
        &self,
        id: &str,
        clinician: &PersonId,
        by: &ChangedBy<'_>,
        start: Timestamp,
        end: Timestamp,
        reminder_lead: Duration,
        now: Timestamp,
    ) -> Result<RescheduleOutcome> {
        let t = &self.tenant;
        let mut outcome = RescheduleOutcome::NotChangeable;
        let moved: Option<bool> = in_transaction!(self.pool, |tx| 'body: {
            match q::reschedule_booking(&mut *tx, t, id, clinician, start, end, now).await {
                Ok(true) => {}
                Ok(false) => break 'body None,
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    outcome = RescheduleOutcome::SlotTaken;
                    break 'body None;
                }
                Err(e) => return Err(e.into()),
            }
            let Some(booking) = q::booking(&mut *tx, t, id).await? else {
                break 'body None;
            };
            outbox::log_change!(tx, t, by, &booking.patient, now);
            Some(outbox::booking_changed!(
                tx,
                t,
                &booking,
                BookingChange::Moved,
                reminder_lead,
                now
            ))
        })?;
        match moved {
            Some(queued) => {
                self.events.notify_one();
                if queued {
                    self.wake.notify_one();
                }
                Ok(RescheduleOutcome::Moved)
            }
            None => Ok(outcome),
        }
    }

    /// Moves a booking `from` → `to` and records who did it, only if it is
    /// still in `from`, with what that causes (messages, the plugin event,
    /// the access-log entry), all in one transaction. Returns whether this
    /// change won.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_booking_status(
        &self,
        id: &str,
        from: BookingStatus,
        to: BookingStatus,
        by: &ChangedBy<'_>,
        event_id: &str,
        reminder_lead: Duration,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        let won: Option<bool> = in_transaction!(self.pool, |tx| 'body: {
            if !q::set_booking_status(&mut *tx, t, id, from, to, now).await? {
                break 'body None;
            }
            q::insert_booking_event(&mut *tx, t, event_id, id, Some(from), to, by.person, now)
                .await?;
            let Some(booking) = q::booking(&mut *tx, t, id).await? else {
                break 'body None;
            };
            outbox::log_change!(tx, t, by, &booking.patient, now);
            Some(outbox::booking_changed!(
                tx,
                t,
                &booking,
                BookingChange::Status { from, to },
                reminder_lead,
                now
            ))
        })?;
        if won.is_some() {
            self.events.notify_one();
        }
        if won == Some(true) {
            self.wake.notify_one();
        }
        Ok(won.is_some())
    }

    /// Starts a visit: confirmed → in progress, recorded with who and when,
    /// and the clinician who starts it becomes responsible (the one before
    /// stays on as an invited colleague). Returns whether this start won.
    pub async fn start_visit(
        &self,
        id: &str,
        starter: &PersonId,
        event_id: &str,
        reminder_lead: Duration,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        let (from, to) = (BookingStatus::Confirmed, BookingStatus::InProgress);
        let won: Option<()> = in_transaction!(self.pool, |tx| 'body: {
            let Some(before) = q::booking(&mut *tx, t, id).await? else {
                break 'body None;
            };
            if !q::set_booking_status(&mut *tx, t, id, from, to, now).await? {
                break 'body None;
            }
            q::insert_booking_event(&mut *tx, t, event_id, id, Some(from), to, starter, now)
                .await?;
            if before.clinician != *starter {
                q::delete_participant(&mut *tx, t, id, starter).await?;
                q::insert_participant(&mut *tx, t, id, &before.clinician, starter, now).await?;
                q::set_responsible_clinician(&mut *tx, t, id, starter, now).await?;
            }
            let booking = Booking {
                status: to,
                clinician: starter.clone(),
                ..before
            };
            // Starting sends nothing; it only withdraws the reminder.
            let _ = outbox::booking_changed!(
                tx,
                t,
                &booking,
                BookingChange::Status { from, to },
                reminder_lead,
                now
            );
            Some(())
        })?;
        if won.is_some() {
            self.events.notify_one();
        }
        Ok(won.is_some())
    }

    /// A clinician's profile, if they have saved one.
    pub async fn profile(&self, person: &PersonId) -> Result<Option<Profile>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::profile(ex, t, person))
    }

    pub async fn save_profile_text(
        &self,
        person: &PersonId,
        text: &ProfileText,
        now: Timestamp,
    ) -> Result<()> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::save_profile_text(
            ex, t, person, text, now
        ))
    }

    /// Publishes or unpublishes a saved profile; false if there is none.
    pub async fn set_profile_published(
        &self,
        person: &PersonId,
        at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::set_profile_published(
            ex, t, person, at, now
        ))
    }

    pub async fn create_visit_type(
        &self,
        id: &str,
        clinician: &PersonId,
        spec: &VisitTypeSpec,
        now: Timestamp,
    ) -> Result<()> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::insert_visit_type(
            ex, t, id, clinician, spec, now
        ))
    }

    /// Changes one of the clinician's own visit types; false if not theirs.
    pub async fn update_visit_type(
        &self,
        id: &str,
        clinician: &PersonId,
        spec: &VisitTypeSpec,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::update_visit_type(
            ex, t, id, clinician, spec, now
        ))
    }

    /// Archives one of the clinician's own visit types; false if not theirs.
    pub async fn archive_visit_type(
        &self,
        id: &str,
        clinician: &PersonId,
        now: Timestamp,
    ) -> Result<bool> {
        let t = &self.tenant;
        dispatch!(self.pool, write, |ex| q::archive_visit_type(
            ex, t, id, clinician, now
        ))
    }

    pub async fn visit_types_of(&self, clinician: &PersonId) -> Result<Vec<VisitType>> {
        let t = &self.tenant;
        dispatch!(self.pool, read, |ex| q::visit_types_of(ex, t, clinician))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://data/t.db"), "sqlite://data/t.db");
    }
}
