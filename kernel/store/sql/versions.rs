//! Versions of bookings and people, written by the triggers of migrations
//! 0012 and 0014 on every change, and read here for FHIR's `vread` and `_history`.

use sqlx::Executor;
use tillit_domain::booking::BookingStatus;
use tillit_domain::group::Attendance;
use tillit_domain::people::{PersonName, PersonStatus, Role};
use tillit_domain::version::{BookingVersion, PersonVersion, Version};
use tillit_domain::{Person, PersonId, TenantId, Timestamp};

use super::people::PersonRow;
use super::{Result, corrupt};
use crate::Db;

struct BookingVersionRow {
    booking_id: String,
    version: i64,
    clinician_id: String,
    starts_at: i64,
    status: String,
    attendance: Option<String>,
    recorded_at: i64,
}

fn version(number: i64, at: i64) -> Result<Version> {
    Ok(Version {
        number: u64::try_from(number).map_err(|_| corrupt("version"))?,
        last_updated: Timestamp(at),
    })
}

impl BookingVersionRow {
    fn into_version(self) -> Result<(String, BookingVersion)> {
        Ok((
            self.booking_id,
            BookingVersion {
                version: version(self.version, self.recorded_at)?,
                clinician: PersonId::new(self.clinician_id),
                starts_at: Timestamp(self.starts_at),
                status: BookingStatus::parse(&self.status)
                    .ok_or_else(|| corrupt("booking status"))?,
                attendance: self
                    .attendance
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(|a| Attendance::parse(a).ok_or_else(|| corrupt("attendance")))
                    .collect::<Result<_>>()?,
            },
        ))
    }
}

/// Every version of a booking, oldest first.
pub async fn booking_versions<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
) -> Result<Vec<BookingVersion>> {
    let rows = sqlx::query_as!(
        BookingVersionRow,
        r#"SELECT booking_id AS "booking_id!", version AS "version!", clinician_id AS "clinician_id!",
                  starts_at AS "starts_at!", status AS "status!", attendance AS "attendance?", recorded_at AS "recorded_at!"
           FROM booking_versions WHERE tenant_id = $1 AND booking_id = $2 ORDER BY version"#,
        tenant.as_str(),
        booking,
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| r.into_version().map(|(_, v)| v))
        .collect()
}

/// The tenant's booking versions made at or after `since`, newest first:
/// `limit` of them from `offset`, and how many there are in all.
pub async fn booking_history<'e, E>(
    ex: E,
    tenant: &TenantId,
    since: Timestamp,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<(String, BookingVersion)>)>
where
    E: Executor<'e, Database = Db> + Copy,
{
    let total = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM booking_versions WHERE tenant_id = $1 AND recorded_at >= $2"#,
        tenant.as_str(),
        since.0,
    )
    .fetch_one(ex)
    .await?;
    let rows = sqlx::query_as!(
        BookingVersionRow,
        r#"SELECT booking_id AS "booking_id!", version AS "version!", clinician_id AS "clinician_id!",
                  starts_at AS "starts_at!", status AS "status!", attendance AS "attendance?", recorded_at AS "recorded_at!"
           FROM booking_versions WHERE tenant_id = $1 AND recorded_at >= $2
           ORDER BY recorded_at DESC, booking_id DESC, version DESC LIMIT $3 OFFSET $4"#,
        tenant.as_str(),
        since.0,
        limit,
        offset,
    )
    .fetch_all(ex)
    .await?;
    let page = rows
        .into_iter()
        .map(BookingVersionRow::into_version)
        .collect::<Result<_>>()?;
    Ok((total, page))
}

struct PersonVersionRow {
    person_id: String,
    version: i64,
    status: String,
    given_name: String,
    family_name: String,
    phone: Option<String>,
    email: Option<String>,
    recorded_at: i64,
}

impl PersonVersionRow {
    fn into_version(self) -> Result<(PersonId, PersonVersion)> {
        Ok((
            PersonId::new(self.person_id),
            PersonVersion {
                version: version(self.version, self.recorded_at)?,
                status: PersonStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
                given_name: PersonName::parse(&self.given_name).map_err(|_| corrupt("name"))?,
                family_name: PersonName::parse(&self.family_name).map_err(|_| corrupt("name"))?,
                phone: self.phone,
                email: self.email,
            },
        ))
    }
}

/// Every version of a person, oldest first.
pub async fn person_versions<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Vec<PersonVersion>> {
    let rows = sqlx::query_as!(
        PersonVersionRow,
        r#"SELECT person_id AS "person_id!", version AS "version!", status AS "status!",
                  given_name AS "given_name!", family_name AS "family_name!", phone, email,
                  recorded_at AS "recorded_at!"
           FROM person_versions WHERE tenant_id = $1 AND person_id = $2 ORDER BY version"#,
        tenant.as_str(),
        person.as_str(),
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter()
        .map(|r| r.into_version().map(|(_, v)| v))
        .collect()
}

/// The versions of the tenant's people in `role` made at or after `since`,
/// newest first: `limit` of them from `offset`, and how many in all.
pub async fn person_history<'e, E>(
    ex: E,
    tenant: &TenantId,
    role: Role,
    since: Timestamp,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<(PersonId, PersonVersion)>)>
where
    E: Executor<'e, Database = Db> + Copy,
{
    let total = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM person_versions v
           JOIN people p ON p.tenant_id = v.tenant_id AND p.id = v.person_id
           WHERE v.tenant_id = $1 AND p.role = $2 AND v.recorded_at >= $3"#,
        tenant.as_str(),
        role.as_str(),
        since.0,
    )
    .fetch_one(ex)
    .await?;
    let rows = sqlx::query_as!(
        PersonVersionRow,
        r#"SELECT v.person_id AS "person_id!", v.version AS "version!", v.status AS "status!",
                  v.given_name AS "given_name!", v.family_name AS "family_name!", v.phone, v.email,
                  v.recorded_at AS "recorded_at!"
           FROM person_versions v
           JOIN people p ON p.tenant_id = v.tenant_id AND p.id = v.person_id
           WHERE v.tenant_id = $1 AND p.role = $2 AND v.recorded_at >= $3
           ORDER BY v.recorded_at DESC, v.person_id DESC, v.version DESC LIMIT $4 OFFSET $5"#,
        tenant.as_str(),
        role.as_str(),
        since.0,
        limit,
        offset,
    )
    .fetch_all(ex)
    .await?;
    let page = rows
        .into_iter()
        .map(PersonVersionRow::into_version)
        .collect::<Result<_>>()?;
    Ok((total, page))
}

/// A person with their latest version, in one statement: what a journal
/// system's read of a Patient needs.
pub async fn person_at_latest<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Option<(Person, PersonVersion)>> {
    let row = sqlx::query!(
        r#"SELECT p.id AS "id!", p.role AS "role!", p.status AS "status!", p.personnummer AS "personnummer!",
                  p.given_name AS "given_name!", p.family_name AS "family_name!", p.hsa_id,
                  v.version AS "version!", v.status AS "v_status!", v.given_name AS "v_given_name!",
                  v.family_name AS "v_family_name!", v.phone AS "v_phone?", v.email AS "v_email?",
                  v.recorded_at AS "recorded_at!"
           FROM people p
           JOIN person_versions v ON v.tenant_id = p.tenant_id AND v.person_id = p.id
           WHERE p.tenant_id = $1 AND p.id = $2
           ORDER BY v.version DESC LIMIT 1"#,
        tenant.as_str(),
        person.as_str(),
    )
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let version = PersonVersionRow {
        person_id: r.id.clone(),
        version: r.version,
        status: r.v_status,
        given_name: r.v_given_name,
        family_name: r.v_family_name,
        phone: r.v_phone,
        email: r.v_email,
        recorded_at: r.recorded_at,
    }
    .into_version()?
    .1;
    let person = PersonRow {
        id: r.id,
        role: r.role,
        status: r.status,
        personnummer: r.personnummer,
        given_name: r.given_name,
        family_name: r.family_name,
        hsa_id: r.hsa_id,
    }
    .into_person(tenant)?;
    Ok(Some((person, version)))
}

/// A booking's latest version, or none if there is no such booking.
pub async fn latest_booking_version<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    booking: &str,
) -> Result<Option<BookingVersion>> {
    let row = sqlx::query_as!(
        BookingVersionRow,
        r#"SELECT booking_id AS "booking_id!", version AS "version!", clinician_id AS "clinician_id!",
                  starts_at AS "starts_at!", status AS "status!", attendance AS "attendance?", recorded_at AS "recorded_at!"
           FROM booking_versions WHERE tenant_id = $1 AND booking_id = $2
           ORDER BY version DESC LIMIT 1"#,
        tenant.as_str(),
        booking,
    )
    .fetch_optional(ex)
    .await?;
    row.map(|r| r.into_version().map(|(_, v)| v)).transpose()
}

/// Holds booking `id`'s row until the caller's transaction ends (on
/// PostgreSQL a row lock; SQLite has one writer), so that no other change
/// numbers a version of it meanwhile. Touches no column that versions
/// follow: no version is written.
pub async fn hold_booking<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
) -> Result<()> {
    sqlx::query!(
        "UPDATE bookings SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2",
        tenant.as_str(),
        id,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// The number of booking `id`'s latest version (0 if it has none).
pub async fn latest_booking_version_number<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &str,
) -> Result<u64> {
    let n = sqlx::query_scalar!(
        r#"SELECT COALESCE(MAX(version), 0) AS "n!: i64" FROM booking_versions
           WHERE tenant_id = $1 AND booking_id = $2"#,
        tenant.as_str(),
        id,
    )
    .fetch_one(ex)
    .await?;
    u64::try_from(n).map_err(|_| corrupt("version"))
}
