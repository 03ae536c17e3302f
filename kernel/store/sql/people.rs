//! People: patients and staff of a tenant, their status and contact details.

use sqlx::Executor;
use tillit_domain::booking::MobileNumber;
use tillit_domain::people::{HsaId, NewPerson, PersonName, PersonStatus, Role};
use tillit_domain::{Person, PersonId, Personnummer, TenantId, Timestamp};

use super::{Result, corrupt};
use crate::Db;

/// `SELECT <every column of a person> FROM people ` followed by `$rest`, as a
/// checked query returning `PersonRow`s. The column list is written once.
macro_rules! select_people {
    ($rest:literal, $($args:tt)*) => {
        sqlx::query_as!(
            PersonRow,
            r#"SELECT id AS "id!", role AS "role!", status AS "status!", personnummer AS "personnummer!",
                      given_name AS "given_name!", family_name AS "family_name!", hsa_id
               FROM people "# + $rest,
            $($args)*
        )
    };
}

/// A row of `people`, also read by the session query that joins it.
pub(super) struct PersonRow {
    pub(super) id: String,
    pub(super) role: String,
    pub(super) status: String,
    pub(super) personnummer: String,
    pub(super) given_name: String,
    pub(super) family_name: String,
    pub(super) hsa_id: Option<String>,
}

impl PersonRow {
    pub(super) fn into_person(self, tenant: &TenantId) -> Result<Person> {
        Ok(Person {
            id: PersonId::new(self.id),
            tenant: tenant.clone(),
            role: Role::parse(&self.role).ok_or_else(|| corrupt("role"))?,
            status: PersonStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            personnummer: Personnummer::parse(&self.personnummer)
                .map_err(|_| corrupt("personnummer"))?,
            given_name: PersonName::parse(&self.given_name).map_err(|_| corrupt("name"))?,
            family_name: PersonName::parse(&self.family_name).map_err(|_| corrupt("name"))?,
            hsa_id: self
                .hsa_id
                .map(|h| HsaId::parse(&h).map_err(|_| corrupt("hsa_id")))
                .transpose()?,
        })
    }
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
        r#"INSERT INTO people (tenant_id, id, role, status, personnummer, given_name, family_name, hsa_id, created_at, updated_at)
           VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $8)
           RETURNING id AS "id!", role AS "role!", status AS "status!", personnummer AS "personnummer!",
                     given_name AS "given_name!", family_name AS "family_name!", hsa_id"#,
        tenant.as_str(),
        id.as_str(),
        p.role.as_str(),
        p.personnummer.as_str(),
        p.given_name.as_str(),
        p.family_name.as_str(),
        p.hsa_id.as_ref().map(HsaId::as_str),
        now.0,
    )
    .fetch_one(ex)
    .await?;
    row.into_person(tenant)
}

/// Inserts the person unless someone with that personnummer already exists in
/// the tenant; the existing row (and any status an administrator gave it) wins,
/// except that it takes the HSA-id given when it has none yet.
/// Returns whether a row was inserted.
pub async fn insert_person_if_absent<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    id: &PersonId,
    p: &NewPerson,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"INSERT INTO people (tenant_id, id, role, status, personnummer, given_name, family_name, hsa_id, created_at, updated_at)
           VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $8)
           ON CONFLICT (tenant_id, personnummer) DO UPDATE SET hsa_id = excluded.hsa_id
           WHERE people.hsa_id IS NULL AND excluded.hsa_id IS NOT NULL
           RETURNING id AS "id!""#,
        tenant.as_str(),
        id.as_str(),
        p.role.as_str(),
        p.personnummer.as_str(),
        p.given_name.as_str(),
        p.family_name.as_str(),
        p.hsa_id.as_ref().map(HsaId::as_str),
        now.0,
    )
    .fetch_optional(ex)
    .await?;
    Ok(done.is_some_and(|row| row.id == id.as_str()))
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

pub async fn person_by_hsa_id<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    hsa_id: &HsaId,
) -> Result<Option<Person>> {
    let row = select_people!(
        "WHERE tenant_id = $1 AND hsa_id = $2",
        tenant.as_str(),
        hsa_id.as_str(),
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

/// Two people by id at once (those of them on file), as a booking names
/// its patient and clinician.
pub async fn people_pair<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    a: &PersonId,
    b: &PersonId,
) -> Result<Vec<Person>> {
    let rows = select_people!(
        "WHERE tenant_id = $1 AND id IN ($2, $3)",
        tenant.as_str(),
        a.as_str(),
        b.as_str(),
    )
    .fetch_all(ex)
    .await?;
    rows.into_iter().map(|r| r.into_person(tenant)).collect()
}
