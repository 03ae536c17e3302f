// The SQL of Tillit, written once and compiled twice.
//
// This file is `include!`d by `tillit-store-sqlite` and `tillit-store-postgres`,
// each of which defines `type Db` first. Every `query!` here is therefore
// checked against both databases, each with its own offline data in its own
// `.sqlx/`. The SQL must be valid in both dialects: `$N` placeholders (SQLite
// binds them by number too), `ON CONFLICT`, `RETURNING`, BIGINT times in UTC
// milliseconds, TEXT ids.
//
// Tenant scoping rule, enforced by a test over the offline data: a statement
// on a tenant-owned table binds the tenant as `$1` (`tenant_id = $1`, or
// `tenant_id` as the first inserted column).

use sqlx::Executor;
use tillit_domain::access::AccessLogEntry;
use tillit_domain::booking::{
    Booking, BookingListItem, BookingStatus, Colleague, MobileNumber, Profile, ProfileText,
    VisitKind, VisitType, VisitTypeSpec,
};
use tillit_domain::events::{BookingEvent, PendingPluginEvent};
use tillit_domain::notify::{Channel, NoticeKind, NoticeStatus, Notification};
use tillit_domain::people::{NewPerson, PersonName, PersonStatus, Role};
use tillit_domain::session::SessionRecord;
use tillit_domain::{Person, PersonId, Personnummer, TenantId, Timestamp};

type Result<T> = std::result::Result<T, sqlx::Error>;

fn corrupt(what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what} is not valid").into())
}

/// `SELECT <every column of a person> FROM people ` followed by `$rest`, as a
/// checked query returning `PersonRow`s. The column list is written once.
macro_rules! select_people {
    ($rest:literal, $($args:tt)*) => {
        sqlx::query_as!(
            PersonRow,
            r#"SELECT id AS "id!", role AS "role!", status AS "status!", personnummer AS "personnummer!",
                      given_name AS "given_name!", family_name AS "family_name!"
               FROM people "# + $rest,
            $($args)*
        )
    };
}

struct PersonRow {
    id: String,
    role: String,
    status: String,
    personnummer: String,
    given_name: String,
    family_name: String,
}

impl PersonRow {
    fn into_person(self, tenant: &TenantId) -> Result<Person> {
        Ok(Person {
            id: PersonId::new(self.id),
            tenant: tenant.clone(),
            role: Role::parse(&self.role).ok_or_else(|| corrupt("role"))?,
            status: PersonStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            personnummer: Personnummer::parse(&self.personnummer)
                .map_err(|_| corrupt("personnummer"))?,
            given_name: PersonName::parse(&self.given_name).map_err(|_| corrupt("name"))?,
            family_name: PersonName::parse(&self.family_name).map_err(|_| corrupt("name"))?,
        })
    }
}

/// Registers a tenant id so tenant-owned rows can reference it. Idempotent.
pub async fn register_tenant<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        tenant.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn insert_person<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &PersonId,
    p: &NewPerson,
    now: Timestamp,
) -> Result<Person> {
    let row = sqlx::query_as!(
        PersonRow,
        r#"INSERT INTO people (tenant_id, id, role, status, personnummer, given_name, family_name, created_at, updated_at)
           VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $7)
           RETURNING id AS "id!", role AS "role!", status AS "status!", personnummer AS "personnummer!",
                     given_name AS "given_name!", family_name AS "family_name!""#,
        tenant.as_str(),
        id.as_str(),
        p.role.as_str(),
        p.personnummer.as_str(),
        p.given_name.as_str(),
        p.family_name.as_str(),
        now.0,
    )
    .fetch_one(ex)
    .await?;
    row.into_person(tenant)
}

/// Inserts the person unless someone with that personnummer already exists in
/// the tenant; the existing row (and any status an administrator gave it) wins.
/// Returns whether a row was inserted.
pub async fn insert_person_if_absent<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &PersonId,
    p: &NewPerson,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"INSERT INTO people (tenant_id, id, role, status, personnummer, given_name, family_name, created_at, updated_at)
           VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $7)
           ON CONFLICT (tenant_id, personnummer) DO NOTHING"#,
        tenant.as_str(),
        id.as_str(),
        p.role.as_str(),
        p.personnummer.as_str(),
        p.given_name.as_str(),
        p.family_name.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn person_by_personnummer<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    pnr: &Personnummer,
) -> Result<Option<Person>> {
    let row = select_people!(
        "WHERE tenant_id = $1 AND personnummer = $2",
        tenant.as_str(),
        pnr.as_str(),
    )
    .fetch_optional(ex)
    .await?;
    row.map(|r| r.into_person(tenant)).transpose()
}

pub async fn person_by_id<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &PersonId,
) -> Result<Option<Person>> {
    let row = select_people!(
        "WHERE tenant_id = $1 AND id = $2",
        tenant.as_str(),
        id.as_str(),
    )
    .fetch_optional(ex)
    .await?;
    row.map(|r| r.into_person(tenant)).transpose()
}

/// People with one of the given roles, removed people left out, sorted by name.
pub async fn list_people<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    role: Role,
) -> Result<Vec<Person>> {
    let rows = select_people!(
        "WHERE tenant_id = $1 AND role = $2 AND status <> 'removed' ORDER BY family_name, given_name, id",
        tenant.as_str(),
        role.as_str(),
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(|r| r.into_person(tenant)).collect()
}

/// Returns whether the person existed.
pub async fn set_person_status<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &PersonId,
    status: PersonStatus,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE people SET status = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        tenant.as_str(),
        id.as_str(),
        status.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the person row (and, by cascade, their sessions). Access-log
/// entries that name them stay.
pub async fn delete_person<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &PersonId,
) -> Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM people WHERE tenant_id = $1 AND id = $2",
        tenant.as_str(),
        id.as_str(),
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_session<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    token_hash: &str,
    person: &PersonId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO sessions (tenant_id, token_hash, person_id, created_at, last_seen_at, expires_at)
           VALUES ($1, $2, $3, $4, $4, $5)"#,
        tenant.as_str(),
        token_hash,
        person.as_str(),
        now.0,
        expires_at.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn session_by_token_hash<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    token_hash: &str,
) -> Result<Option<SessionRecord>> {
    let row = sqlx::query!(
        r#"SELECT p.id AS "id!", p.role AS "role!", p.status AS "status!",
                  p.personnummer AS "personnummer!", p.given_name AS "given_name!",
                  p.family_name AS "family_name!",
                  s.created_at AS "created_at!", s.last_seen_at AS "last_seen_at!"
           FROM sessions s
           JOIN people p ON p.tenant_id = s.tenant_id AND p.id = s.person_id
           WHERE s.tenant_id = $1 AND s.token_hash = $2"#,
        tenant.as_str(),
        token_hash,
    )
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let person = PersonRow {
        id: r.id,
        role: r.role,
        status: r.status,
        personnummer: r.personnummer,
        given_name: r.given_name,
        family_name: r.family_name,
    }
    .into_person(tenant)?;
    Ok(Some(SessionRecord {
        person,
        created_at: Timestamp(r.created_at),
        last_seen_at: Timestamp(r.last_seen_at),
    }))
}

pub async fn touch_session<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    token_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query!(
        "UPDATE sessions SET last_seen_at = $3, expires_at = $4 WHERE tenant_id = $1 AND token_hash = $2",
        tenant.as_str(),
        token_hash,
        now.0,
        expires_at.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn delete_session<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    token_hash: &str,
) -> Result<()> {
    sqlx::query!(
        "DELETE FROM sessions WHERE tenant_id = $1 AND token_hash = $2",
        tenant.as_str(),
        token_hash,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Ends every session of one person, e.g. when they are made inactive.
pub async fn delete_sessions_of<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM sessions WHERE tenant_id = $1 AND person_id = $2",
        tenant.as_str(),
        person.as_str(),
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

pub async fn delete_expired_sessions<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    now: Timestamp,
) -> Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM sessions WHERE tenant_id = $1 AND expires_at <= $2",
        tenant.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

pub async fn insert_access_event<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    e: &tillit_domain::access::AccessEvent,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO access_log (tenant_id, at, actor_id, actor_role, patient_id, patient_personnummer, action, what)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        tenant.as_str(),
        now.0,
        e.actor.as_str(),
        e.actor_role.as_str(),
        e.patient.as_str(),
        e.patient_personnummer.as_str(),
        e.action.as_str(),
        e.what,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// The log entries naming a patient, identified by personnummer so the
/// follow-up works after the patient row is gone. Oldest first.
pub async fn access_log_for_patient<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    pnr: &Personnummer,
) -> Result<Vec<AccessLogEntry>> {
    let rows = sqlx::query!(
        r#"SELECT at AS "at!", actor_id AS "actor_id!", actor_role AS "actor_role!",
                  patient_id AS "patient_id!", action AS "action!", what AS "what!"
           FROM access_log WHERE tenant_id = $1 AND patient_personnummer = $2
           ORDER BY seq"#,
        tenant.as_str(),
        pnr.as_str(),
    )
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AccessLogEntry {
            at: Timestamp(r.at),
            actor_id: r.actor_id,
            actor_role: r.actor_role,
            patient_id: r.patient_id,
            action: r.action,
            what: r.what,
        })
        .collect())
}

pub async fn profile<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Option<Profile>> {
    let row = sqlx::query!(
        r#"SELECT title AS "title!", introduction AS "introduction!", way_of_working AS "way_of_working!",
                  first_visit AS "first_visit!", visiting_address AS "visiting_address!", unit AS "unit!",
                  published_at AS "published_at?"
           FROM clinician_profiles WHERE tenant_id = $1 AND person_id = $2"#,
        tenant.as_str(),
        person.as_str(),
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| Profile {
        text: ProfileText {
            title: r.title,
            introduction: r.introduction,
            way_of_working: r.way_of_working,
            first_visit: r.first_visit,
            visiting_address: r.visiting_address,
            unit: r.unit,
        },
        published_at: r.published_at.map(Timestamp),
    }))
}

/// Saves the profile's text; publishing is left as it was.
pub async fn save_profile_text<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    p: &ProfileText,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO clinician_profiles (tenant_id, person_id, title, introduction, way_of_working, first_visit,
                                          visiting_address, unit, published_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $9, NULL, $8)
           ON CONFLICT (tenant_id, person_id) DO UPDATE SET
               title = excluded.title, introduction = excluded.introduction,
               way_of_working = excluded.way_of_working, first_visit = excluded.first_visit,
               visiting_address = excluded.visiting_address, unit = excluded.unit,
               updated_at = excluded.updated_at"#,
        tenant.as_str(),
        person.as_str(),
        p.title,
        p.introduction,
        p.way_of_working,
        p.first_visit,
        p.visiting_address,
        now.0,
        p.unit,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Publishes (`Some(time)`) or unpublishes (`None`) a profile that exists.
/// Returns whether it existed.
pub async fn set_profile_published<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    published_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE clinician_profiles SET published_at = $3, updated_at = $4 WHERE tenant_id = $1 AND person_id = $2",
        tenant.as_str(),
        person.as_str(),
        published_at.map(|t| t.0),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_visit_type<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    clinician: &PersonId,
    spec: &VisitTypeSpec,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO visit_types (tenant_id, id, clinician_id, title, description, minutes, kind, archived, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8, $8)"#,
        tenant.as_str(),
        id,
        clinician.as_str(),
        spec.title,
        spec.description,
        i64::from(spec.minutes),
        spec.kind.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Changes one of `clinician`'s own visit types. Returns whether it was theirs.
pub async fn update_visit_type<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    clinician: &PersonId,
    spec: &VisitTypeSpec,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE visit_types SET title = $4, description = $5, minutes = $6, kind = $7, updated_at = $8
           WHERE tenant_id = $1 AND id = $2 AND clinician_id = $3 AND NOT archived"#,
        tenant.as_str(),
        id,
        clinician.as_str(),
        spec.title,
        spec.description,
        i64::from(spec.minutes),
        spec.kind.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Archives one of `clinician`'s own visit types. Returns whether it was theirs.
pub async fn archive_visit_type<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    clinician: &PersonId,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE visit_types SET archived = TRUE, updated_at = $4
           WHERE tenant_id = $1 AND id = $2 AND clinician_id = $3 AND NOT archived"#,
        tenant.as_str(),
        id,
        clinician.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A clinician's visit types that are not archived, oldest first.
pub async fn visit_types_of<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    clinician: &PersonId,
) -> Result<Vec<VisitType>> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", title AS "title!", description AS "description!", minutes AS "minutes!",
                  kind AS "kind!"
           FROM visit_types WHERE tenant_id = $1 AND clinician_id = $2 AND NOT archived
           ORDER BY created_at, id"#,
        tenant.as_str(),
        clinician.as_str(),
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(VisitType {
                id: r.id,
                clinician: clinician.clone(),
                spec: VisitTypeSpec {
                    title: r.title,
                    description: r.description,
                    minutes: u32::try_from(r.minutes).map_err(|_| corrupt("visit length"))?,
                    kind: VisitKind::parse(&r.kind).ok_or_else(|| corrupt("visit kind"))?,
                },
            })
        })
        .collect()
}

struct BookingRow {
    id: String,
    clinician_id: String,
    patient_id: String,
    visit_type_id: String,
    title: String,
    minutes: i64,
    kind: String,
    starts_at: i64,
    status: String,
    message: String,
}

impl BookingRow {
    fn into_booking(self) -> Result<Booking> {
        Ok(Booking {
            id: self.id,
            clinician: PersonId::new(self.clinician_id),
            patient: PersonId::new(self.patient_id),
            visit_type_id: self.visit_type_id,
            title: self.title,
            minutes: u32::try_from(self.minutes).map_err(|_| corrupt("visit length"))?,
            kind: VisitKind::parse(&self.kind).ok_or_else(|| corrupt("visit kind"))?,
            starts_at: Timestamp(self.starts_at),
            status: BookingStatus::parse(&self.status).ok_or_else(|| corrupt("booking status"))?,
            message: self.message,
        })
    }
}

pub async fn insert_booking<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    b: &Booking,
    created_by: &PersonId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO bookings (tenant_id, id, clinician_id, patient_id, visit_type_id, title, minutes, kind,
                                 starts_at, ends_at, status, message, created_by, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"#,
        tenant.as_str(),
        b.id,
        b.clinician.as_str(),
        b.patient.as_str(),
        b.visit_type_id,
        b.title,
        i64::from(b.minutes),
        b.kind.as_str(),
        b.starts_at.0,
        b.ends_at().0,
        b.status.as_str(),
        b.message,
        created_by.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Records a change of status (`from` is `None` for a new booking).
#[allow(clippy::too_many_arguments)]
pub async fn insert_booking_event<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    booking: &str,
    from: Option<BookingStatus>,
    to: BookingStatus,
    actor: &PersonId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO booking_events (tenant_id, id, booking_id, from_status, to_status, actor_id, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        tenant.as_str(),
        id,
        booking,
        from.map(BookingStatus::as_str),
        to.as_str(),
        actor.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn booking<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<Booking>> {
    let row = sqlx::query_as!(
        BookingRow,
        r#"SELECT id AS "id!", clinician_id AS "clinician_id!", patient_id AS "patient_id!",
                  visit_type_id AS "visit_type_id!", title AS "title!", minutes AS "minutes!", kind AS "kind!",
                  starts_at AS "starts_at!", status AS "status!", message AS "message!"
           FROM bookings WHERE tenant_id = $1 AND id = $2"#,
        tenant.as_str(),
        id,
    )
    .fetch_optional(ex)
    .await?;
    row.map(BookingRow::into_booking).transpose()
}

/// Moves a booking from `from` to `to`, only if it is still in `from`: of two
/// concurrent changes, exactly one wins. Returns whether this one did.
pub async fn set_booking_status<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    from: BookingStatus,
    to: BookingStatus,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE bookings SET status = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND status = $3",
        tenant.as_str(),
        id,
        from.as_str(),
        to.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many of the clinician's active bookings, other than `except`, overlap `[start, end)`.
pub async fn overlapping_bookings<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    clinician: &PersonId,
    start: Timestamp,
    end: Timestamp,
    except: &str,
) -> Result<i64> {
    let n = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM bookings
           WHERE tenant_id = $1 AND clinician_id = $2 AND starts_at < $4 AND ends_at > $3 AND id <> $5
             AND status IN ('unconfirmed', 'confirmed', 'in_progress')"#,
        tenant.as_str(),
        clinician.as_str(),
        start.0,
        end.0,
        except,
    )
    .fetch_one(ex)
    .await?;
    Ok(n)
}

/// Makes `clinician` the booking's responsible clinician (who started it).
pub async fn set_responsible_clinician<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    clinician: &PersonId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        "UPDATE bookings SET clinician_id = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        tenant.as_str(),
        id,
        clinician.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Takes `person` off a booking's invited colleagues.
pub async fn delete_participant<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
    person: &PersonId,
) -> Result<()> {
    sqlx::query!(
        "DELETE FROM booking_participants WHERE tenant_id = $1 AND booking_id = $2 AND person_id = $3",
        tenant.as_str(),
        booking,
        person.as_str(),
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Moves one of `clinician`'s bookings that has not started to a new time.
/// Returns whether it did (the booking exists, is theirs, and can move).
pub async fn reschedule_booking<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    clinician: &PersonId,
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE bookings SET starts_at = $4, ends_at = $5, updated_at = $6
           WHERE tenant_id = $1 AND id = $2 AND clinician_id = $3 AND status IN ('unconfirmed', 'confirmed')"#,
        tenant.as_str(),
        id,
        clinician.as_str(),
        start.0,
        end.0,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

struct BookingListRow {
    id: String,
    clinician_id: String,
    patient_id: String,
    visit_type_id: String,
    title: String,
    minutes: i64,
    kind: String,
    starts_at: i64,
    status: String,
    message: String,
    patient_given: String,
    patient_family: String,
    patient_personnummer: String,
    patient_role: String,
    clinician_given: String,
    clinician_family: String,
    clinician_title: Option<String>,
}

impl BookingListRow {
    fn into_item(self) -> Result<BookingListItem> {
        Ok(BookingListItem {
            patient_name: format!("{} {}", self.patient_given, self.patient_family),
            patient_personnummer: Personnummer::parse(&self.patient_personnummer)
                .map_err(|_| corrupt("personnummer"))?,
            patient_role: Role::parse(&self.patient_role).ok_or_else(|| corrupt("role"))?,
            clinician_name: format!("{} {}", self.clinician_given, self.clinician_family),
            clinician_title: self.clinician_title.unwrap_or_default(),
            booking: BookingRow {
                id: self.id,
                clinician_id: self.clinician_id,
                patient_id: self.patient_id,
                visit_type_id: self.visit_type_id,
                title: self.title,
                minutes: self.minutes,
                kind: self.kind,
                starts_at: self.starts_at,
                status: self.status,
                message: self.message,
            }
            .into_booking()?,
        })
    }
}

/// `SELECT <a booking with both names and the clinician's job title> FROM
/// bookings b …` followed by `$rest`, returning `BookingListRow`s.
macro_rules! select_booking_list {
    ($rest:literal, $($args:tt)*) => {
        sqlx::query_as!(
            BookingListRow,
            r#"SELECT b.id AS "id!", b.clinician_id AS "clinician_id!", b.patient_id AS "patient_id!",
                      b.visit_type_id AS "visit_type_id!", b.title AS "title!", b.minutes AS "minutes!",
                      b.kind AS "kind!", b.starts_at AS "starts_at!", b.status AS "status!", b.message AS "message!",
                      p.given_name AS "patient_given!", p.family_name AS "patient_family!",
                      p.personnummer AS "patient_personnummer!", p.role AS "patient_role!",
                      c.given_name AS "clinician_given!", c.family_name AS "clinician_family!",
                      cp.title AS "clinician_title?"
               FROM bookings b
               JOIN people p ON p.tenant_id = b.tenant_id AND p.id = b.patient_id
               JOIN people c ON c.tenant_id = b.tenant_id AND c.id = b.clinician_id
               LEFT JOIN clinician_profiles cp ON cp.tenant_id = b.tenant_id AND cp.person_id = b.clinician_id "# + $rest,
            $($args)*
        )
    };
}

/// Bookings ending after `after` where `clinician` is the responsible
/// clinician, soonest first. (One column per query, so each uses its index.)
pub async fn bookings_as_clinician<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    clinician: &PersonId,
    after: Timestamp,
) -> Result<Vec<BookingListItem>> {
    let rows = select_booking_list!(
        "WHERE b.tenant_id = $1 AND b.clinician_id = $2 AND b.ends_at > $3 ORDER BY b.starts_at, b.id",
        tenant.as_str(),
        clinician.as_str(),
        after.0,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(BookingListRow::into_item).collect()
}

/// Bookings ending after `after` where `patient` is the one invited.
pub async fn bookings_as_patient<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    patient: &PersonId,
    after: Timestamp,
) -> Result<Vec<BookingListItem>> {
    let rows = select_booking_list!(
        "WHERE b.tenant_id = $1 AND b.patient_id = $2 AND b.ends_at > $3 ORDER BY b.starts_at, b.id",
        tenant.as_str(),
        patient.as_str(),
        after.0,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(BookingListRow::into_item).collect()
}

/// Bookings ending after `after` that `person` was invited to as a
/// colleague (not as the responsible clinician), soonest first.
pub async fn bookings_as_participant<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    after: Timestamp,
) -> Result<Vec<BookingListItem>> {
    let rows = select_booking_list!(
        "JOIN booking_participants bp ON bp.tenant_id = b.tenant_id AND bp.booking_id = b.id
         WHERE b.tenant_id = $1 AND bp.person_id = $2 AND b.ends_at > $3 ORDER BY b.starts_at, b.id",
        tenant.as_str(),
        person.as_str(),
        after.0,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(BookingListRow::into_item).collect()
}

/// Invites a colleague to a booking.
pub async fn insert_participant<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
    person: &PersonId,
    added_by: &PersonId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO booking_participants (tenant_id, booking_id, person_id, added_by, added_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"#,
        tenant.as_str(),
        booking,
        person.as_str(),
        added_by.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

struct ColleagueRow {
    id: String,
    given: String,
    family: String,
    title: Option<String>,
    unit: Option<String>,
}

impl ColleagueRow {
    fn into_colleague(self) -> Colleague {
        Colleague {
            id: PersonId::new(self.id),
            name: format!("{} {}", self.given, self.family),
            title: self.title.unwrap_or_default(),
            unit: self.unit.unwrap_or_default(),
        }
    }
}

/// The colleagues invited to a booking, with their job title, by name.
pub async fn participants_of<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
) -> Result<Vec<Colleague>> {
    let rows = sqlx::query_as!(
        ColleagueRow,
        r#"SELECT p.id AS "id!", p.given_name AS "given!", p.family_name AS "family!",
                  cp.title AS "title?", cp.unit AS "unit?"
           FROM booking_participants bp
           JOIN people p ON p.tenant_id = bp.tenant_id AND p.id = bp.person_id
           LEFT JOIN clinician_profiles cp ON cp.tenant_id = bp.tenant_id AND cp.person_id = bp.person_id
           WHERE bp.tenant_id = $1 AND bp.booking_id = $2
           ORDER BY p.given_name, p.family_name, p.id"#,
        tenant.as_str(),
        booking,
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(ColleagueRow::into_colleague).collect())
}

/// The tenant's active clinicians with their job title and unit, by unit,
/// title and name: the tree colleagues are picked from.
pub async fn colleagues<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
) -> Result<Vec<Colleague>> {
    let rows = sqlx::query_as!(
        ColleagueRow,
        r#"SELECT p.id AS "id!", p.given_name AS "given!", p.family_name AS "family!",
                  cp.title AS "title?", cp.unit AS "unit?"
           FROM people p
           LEFT JOIN clinician_profiles cp ON cp.tenant_id = p.tenant_id AND cp.person_id = p.id
           WHERE p.tenant_id = $1 AND p.role = 'clinician' AND p.status = 'active'
           ORDER BY cp.unit, cp.title, p.given_name, p.family_name, p.id"#,
        tenant.as_str(),
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(ColleagueRow::into_colleague).collect())
}

/// Sets a person's mobile number (patients are reached by SMS).
pub async fn set_person_phone<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    phone: &MobileNumber,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        "UPDATE people SET phone = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        tenant.as_str(),
        person.as_str(),
        phone.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Whether the person has accepted this version of the tenant's terms.
pub async fn has_accepted_terms<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    version: &str,
) -> Result<bool> {
    let n = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM terms_acceptances WHERE tenant_id = $1 AND person_id = $2 AND version = $3"#,
        tenant.as_str(),
        person.as_str(),
        version,
    )
    .fetch_one(ex)
    .await?;
    Ok(n > 0)
}

/// Records acceptance of a version of the terms; accepting twice keeps the first time.
pub async fn accept_terms<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    version: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO terms_acceptances (tenant_id, person_id, version, accepted_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, person_id, version) DO NOTHING"#,
        tenant.as_str(),
        person.as_str(),
        version,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Sets the contact details a person may change themselves.
#[allow(clippy::too_many_arguments)]
pub async fn update_contact<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    given_name: &PersonName,
    family_name: &PersonName,
    phone: Option<&MobileNumber>,
    email: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"UPDATE people SET given_name = $3, family_name = $4, phone = $5, email = $6, updated_at = $7
           WHERE tenant_id = $1 AND id = $2"#,
        tenant.as_str(),
        person.as_str(),
        given_name.as_str(),
        family_name.as_str(),
        phone.map(MobileNumber::as_str),
        email,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// A person's phone and e-mail (kept out of `Person`, which every request loads).
pub async fn contact_of<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<(Option<String>, Option<String>)> {
    let row = sqlx::query!(
        r#"SELECT phone AS "phone?", email AS "email?" FROM people WHERE tenant_id = $1 AND id = $2"#,
        tenant.as_str(),
        person.as_str(),
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.phone, r.email)).unwrap_or_default())
}

/// Saves (or replaces) a person's profile picture.
#[allow(clippy::too_many_arguments)]
pub async fn save_picture<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
    content_type: &str,
    hash: &str,
    bytes: &[u8],
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO profile_pictures (tenant_id, person_id, content_type, hash, bytes, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id, person_id) DO UPDATE SET
               content_type = excluded.content_type, hash = excluded.hash, bytes = excluded.bytes,
               updated_at = excluded.updated_at"#,
        tenant.as_str(),
        person.as_str(),
        content_type,
        hash,
        bytes,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// A person's profile picture: content type, hash and bytes.
pub async fn picture<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Option<(String, String, Vec<u8>)>> {
    let row = sqlx::query!(
        r#"SELECT content_type AS "content_type!", hash AS "hash!", bytes AS "bytes!"
           FROM profile_pictures WHERE tenant_id = $1 AND person_id = $2"#,
        tenant.as_str(),
        person.as_str(),
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.content_type, r.hash, r.bytes)))
}

/// The hash of a person's picture, if they have one (for URLs and completion).
pub async fn picture_hash<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Option<String>> {
    let hash = sqlx::query_scalar!(
        r#"SELECT hash AS "hash!" FROM profile_pictures WHERE tenant_id = $1 AND person_id = $2"#,
        tenant.as_str(),
        person.as_str(),
    )
    .fetch_optional(ex)
    .await?;
    Ok(hash)
}

// --- The outbox -------------------------------------------------------------

/// Adds a message to the outbox. `status` is `queued` for a message to send
/// now (its delivery job is pushed in the same transaction) or `scheduled`
/// for a reminder.
#[allow(clippy::too_many_arguments)]
pub async fn insert_notification<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    booking: &str,
    person: &PersonId,
    kind: NoticeKind,
    channel: Channel,
    status: NoticeStatus,
    due_at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO notifications (tenant_id, id, booking_id, person_id, kind, channel, status, due_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"#,
        tenant.as_str(),
        id,
        booking,
        person.as_str(),
        kind.as_str(),
        channel.as_str(),
        status.as_str(),
        due_at.0,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Records that plugins are to hear `kind` about the booking, as it is now.
/// Written in the change's own transaction; delivered in `seq` order.
pub async fn insert_plugin_event<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    booking: &Booking,
    kind: BookingEvent,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO plugin_events (tenant_id, id, seq, booking_id, kind, visit_status, starts_at, ends_at, created_at)
           SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7, $8
           FROM plugin_events WHERE tenant_id = $1"#,
        tenant.as_str(),
        id,
        booking.id,
        kind.as_str(),
        booking.status.as_str(),
        booking.starts_at.0,
        booking.ends_at().0,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Plugin events not yet delivered, oldest first.
pub async fn pending_plugin_events<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    limit: i64,
) -> Result<Vec<PendingPluginEvent>> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", booking_id AS "booking_id!", kind AS "kind!", visit_status AS "visit_status!",
                  starts_at AS "starts_at!", ends_at AS "ends_at!"
           FROM plugin_events WHERE tenant_id = $1 AND delivered_at IS NULL
           ORDER BY seq LIMIT $2"#,
        tenant.as_str(),
        limit,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PendingPluginEvent {
                id: r.id,
                booking_id: r.booking_id,
                kind: BookingEvent::parse(&r.kind).ok_or_else(|| corrupt("plugin event kind"))?,
                visit_status: BookingStatus::parse(&r.visit_status)
                    .ok_or_else(|| corrupt("visit status"))?,
                starts_at: Timestamp(r.starts_at),
                ends_at: Timestamp(r.ends_at),
            })
        })
        .collect()
}

/// Marks a plugin event delivered; false if it already was.
pub async fn mark_plugin_event_delivered<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE plugin_events SET delivered_at = $3 WHERE tenant_id = $1 AND id = $2 AND delivered_at IS NULL",
        tenant.as_str(),
        id,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Withdraws a booking's reminders that have not left yet.
pub async fn withdraw_reminders<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
) -> Result<u64> {
    let done = sqlx::query!(
        r#"UPDATE notifications SET status = 'cancelled'
           WHERE tenant_id = $1 AND booking_id = $2 AND kind = 'reminder' AND status IN ('scheduled', 'queued')"#,
        tenant.as_str(),
        booking,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Reminders whose time has come, oldest first.
pub async fn due_reminders<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM notifications
           WHERE tenant_id = $1 AND status = 'scheduled' AND due_at <= $2
           ORDER BY due_at LIMIT $3"#,
        tenant.as_str(),
        now.0,
        limit,
    )
    .fetch_all(ex)
    .await
}

/// Moves a scheduled reminder to the delivery queue. Returns whether it was
/// still scheduled.
pub async fn queue_reminder<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE notifications SET status = 'queued' WHERE tenant_id = $1 AND id = $2 AND status = 'scheduled'",
        tenant.as_str(),
        id,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

struct NotificationRow {
    id: String,
    booking_id: String,
    person_id: String,
    kind: String,
    channel: String,
    status: String,
    due_at: i64,
    attempts: i64,
    recipient: Option<String>,
    body: Option<String>,
    provider: Option<String>,
    provider_id: Option<String>,
    delivery: Option<String>,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
}

impl NotificationRow {
    fn into_notification(self) -> Result<Notification> {
        Ok(Notification {
            id: self.id,
            booking_id: self.booking_id,
            person: PersonId::new(self.person_id),
            kind: NoticeKind::parse(&self.kind).ok_or_else(|| corrupt("notification kind"))?,
            channel: Channel::parse(&self.channel)
                .ok_or_else(|| corrupt("notification channel"))?,
            status: NoticeStatus::parse(&self.status)
                .ok_or_else(|| corrupt("notification status"))?,
            due_at: Timestamp(self.due_at),
            attempts: self.attempts,
            recipient: self.recipient,
            body: self.body,
            provider: self.provider,
            provider_id: self.provider_id,
            delivery: self.delivery,
            last_error: self.last_error,
            created_at: Timestamp(self.created_at),
            sent_at: self.sent_at.map(Timestamp),
        })
    }
}

/// `SELECT <every column of a notification> FROM notifications ` followed by `$rest`.
macro_rules! select_notifications {
    ($rest:literal, $($args:tt)*) => {
        sqlx::query_as!(
            NotificationRow,
            r#"SELECT id AS "id!", booking_id AS "booking_id!", person_id AS "person_id!", kind AS "kind!",
                      channel AS "channel!", status AS "status!", due_at AS "due_at!", attempts AS "attempts!",
                      recipient AS "recipient?", body AS "body?", provider AS "provider?",
                      provider_id AS "provider_id?", delivery AS "delivery?", last_error AS "last_error?",
                      created_at AS "created_at!", sent_at AS "sent_at?"
               FROM notifications "# + $rest,
            $($args)*
        )
    };
}

pub async fn notification<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<Notification>> {
    let row = select_notifications!("WHERE tenant_id = $1 AND id = $2", tenant.as_str(), id)
        .fetch_optional(ex)
        .await?;
    row.map(NotificationRow::into_notification).transpose()
}

/// The newest messages of the tenant, for the development outbox page.
pub async fn recent_notifications<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    limit: i64,
) -> Result<Vec<Notification>> {
    let rows = select_notifications!(
        "WHERE tenant_id = $1 ORDER BY created_at DESC, due_at DESC LIMIT $2",
        tenant.as_str(),
        limit
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(NotificationRow::into_notification)
        .collect()
}

/// A booking's messages, in the order they were made.
pub async fn notifications_of_booking<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
) -> Result<Vec<Notification>> {
    let rows = select_notifications!(
        "WHERE tenant_id = $1 AND booking_id = $2 ORDER BY created_at, due_at, id",
        tenant.as_str(),
        booking
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(NotificationRow::into_notification)
        .collect()
}

/// Records what left: the rendered text, where it went, and the provider's
/// id, counting the attempt. Only a message still queued can be marked;
/// returns whether it was.
#[allow(clippy::too_many_arguments)]
pub async fn mark_sent<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    recipient: &str,
    body: &str,
    provider: &str,
    provider_id: Option<&str>,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE notifications SET status = 'sent', recipient = $3, body = $4, provider = $5, provider_id = $6,
                  sent_at = $7, last_error = NULL, attempts = attempts + 1
           WHERE tenant_id = $1 AND id = $2 AND status = 'queued'"#,
        tenant.as_str(),
        id,
        recipient,
        body,
        provider,
        provider_id,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt; `give_up` ends the message's life as `failed`.
pub async fn mark_attempt_failed<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    error: &str,
    give_up: bool,
) -> Result<()> {
    sqlx::query!(
        r#"UPDATE notifications SET last_error = $3, attempts = attempts + 1,
                  status = CASE WHEN $4 THEN 'failed' ELSE status END
           WHERE tenant_id = $1 AND id = $2 AND status = 'queued'"#,
        tenant.as_str(),
        id,
        error,
        give_up,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Records a provider's delivery report for the message it knows as
/// `provider_id`. Returns whether such a message exists in this tenant.
pub async fn record_delivery<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
    provider_id: &str,
    delivery: &str,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE notifications SET delivery = $4, delivered_at = $5 WHERE tenant_id = $1 AND id = $2 AND provider_id = $3",
        tenant.as_str(),
        id,
        provider_id,
        delivery,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

// --- Plugin storage -------------------------------------------------------------
//
// A plugin's documents and blobs, per (tenant, plugin, owner). The owner is
// '' for the plugin's tenant-wide space, else a person reference from the
// plugin host. Writes run in a transaction that first takes the next
// revision from the (tenant, plugin)'s `plugin_usage` row, which also holds
// the bytes counted against its quotas.

/// Creates the (tenant, plugin)'s usage row if it has none.
pub async fn ensure_plugin_usage<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO plugin_usage (tenant_id, plugin_id, revision, document_bytes, blob_bytes)
           VALUES ($1, $2, 0, 0, 0)
           ON CONFLICT (tenant_id, plugin_id) DO NOTHING"#,
        tenant.as_str(),
        plugin,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Takes the (tenant, plugin)'s next revision, locking its usage row until
/// the transaction ends. Returns the revision and the document bytes used.
pub async fn next_plugin_revision<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
) -> Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"UPDATE plugin_usage SET revision = revision + 1
           WHERE tenant_id = $1 AND plugin_id = $2
           RETURNING revision AS "revision!", document_bytes AS "document_bytes!""#,
        tenant.as_str(),
        plugin,
    )
    .fetch_one(ex)
    .await?;
    Ok((row.revision, row.document_bytes))
}

/// Adds `delta` (possibly negative) to the document bytes used.
pub async fn add_plugin_document_bytes<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    delta: i64,
) -> Result<()> {
    sqlx::query!(
        "UPDATE plugin_usage SET document_bytes = document_bytes + $3 WHERE tenant_id = $1 AND plugin_id = $2",
        tenant.as_str(),
        plugin,
        delta,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Adds `delta` (possibly negative) to the blob bytes used; returns the new total.
pub async fn add_plugin_blob_bytes<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    delta: i64,
) -> Result<i64> {
    let total = sqlx::query_scalar!(
        r#"UPDATE plugin_usage SET blob_bytes = blob_bytes + $3 WHERE tenant_id = $1 AND plugin_id = $2
           RETURNING blob_bytes AS "blob_bytes!""#,
        tenant.as_str(),
        plugin,
        delta,
    )
    .fetch_one(ex)
    .await?;
    Ok(total)
}

/// The bytes a (tenant, plugin) uses: documents and blobs.
pub async fn plugin_usage<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query!(
        r#"SELECT document_bytes AS "document_bytes!", blob_bytes AS "blob_bytes!"
           FROM plugin_usage WHERE tenant_id = $1 AND plugin_id = $2"#,
        tenant.as_str(),
        plugin,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.document_bytes, r.blob_bytes)))
}

/// A document's value, revision and time of its last write.
pub async fn plugin_document<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, i64, i64)>> {
    let row = sqlx::query!(
        r#"SELECT value AS "value!", revision AS "revision!", updated_at AS "updated_at!"
           FROM plugin_documents WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND key = $4"#,
        tenant.as_str(),
        plugin,
        owner,
        key,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.value, r.revision, r.updated_at)))
}

/// A document's revision and counted size, without its value.
pub async fn plugin_document_meta<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    key: &str,
) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query!(
        r#"SELECT revision AS "revision!", size AS "size!"
           FROM plugin_documents WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND key = $4"#,
        tenant.as_str(),
        plugin,
        owner,
        key,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.revision, r.size)))
}

/// Creates or replaces a document.
#[allow(clippy::too_many_arguments)]
pub async fn put_plugin_document<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    key: &str,
    value: &[u8],
    size: i64,
    revision: i64,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO plugin_documents (tenant_id, plugin_id, owner, key, value, size, revision, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id, plugin_id, owner, key) DO UPDATE SET
               value = excluded.value, size = excluded.size, revision = excluded.revision,
               updated_at = excluded.updated_at"#,
        tenant.as_str(),
        plugin,
        owner,
        key,
        value,
        size,
        revision,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Deletes a document; returns whether it existed.
pub async fn delete_plugin_document<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    key: &str,
) -> Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM plugin_documents WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND key = $4",
        tenant.as_str(),
        plugin,
        owner,
        key,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Keys in `[from, until)` and after `after`, in byte order, at most `limit`.
#[allow(clippy::too_many_arguments)]
pub async fn plugin_keys<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    from: &str,
    until: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let keys = sqlx::query_scalar!(
        r#"SELECT key AS "key!" FROM plugin_documents
           WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND key >= $4 AND key < $5 AND key > $6
           ORDER BY key LIMIT $7"#,
        tenant.as_str(),
        plugin,
        owner,
        from,
        until,
        after,
        limit,
    )
    .fetch_all(ex)
    .await?;
    Ok(keys)
}

/// Stores a new blob.
#[allow(clippy::too_many_arguments)]
pub async fn insert_plugin_blob<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    id: &str,
    content_type: &str,
    data: &[u8],
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO plugin_blobs (tenant_id, plugin_id, owner, id, content_type, size, data, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        tenant.as_str(),
        plugin,
        owner,
        id,
        content_type,
        data.len() as i64,
        data,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// A blob's content type, size, creation time and, if asked, its bytes.
pub async fn plugin_blob<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    id: &str,
) -> Result<Option<(String, i64, i64, Vec<u8>)>> {
    let row = sqlx::query!(
        r#"SELECT content_type AS "content_type!", size AS "size!", created_at AS "created_at!", data AS "data!"
           FROM plugin_blobs WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND id = $4"#,
        tenant.as_str(),
        plugin,
        owner,
        id,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.content_type, r.size, r.created_at, r.data)))
}

/// A blob's content type, size and creation time, without its bytes.
pub async fn plugin_blob_info<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    id: &str,
) -> Result<Option<(String, i64, i64)>> {
    let row = sqlx::query!(
        r#"SELECT content_type AS "content_type!", size AS "size!", created_at AS "created_at!"
           FROM plugin_blobs WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND id = $4"#,
        tenant.as_str(),
        plugin,
        owner,
        id,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.content_type, r.size, r.created_at)))
}

/// Deletes a blob; returns its size if it existed.
pub async fn delete_plugin_blob<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    id: &str,
) -> Result<Option<i64>> {
    let size = sqlx::query_scalar!(
        r#"DELETE FROM plugin_blobs WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND id = $4
           RETURNING size AS "size!""#,
        tenant.as_str(),
        plugin,
        owner,
        id,
    )
    .fetch_optional(ex)
    .await?;
    Ok(size)
}
