//! Sessions: who is logged in, keyed by the hash of their token.

use sqlx::Executor;
use tillit_domain::session::SessionRecord;
use tillit_domain::{PersonId, TenantId, Timestamp};

use super::Result;
use crate::Db;

use super::people::PersonRow;

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
                  p.family_name AS "family_name!", p.hsa_id,
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
        hsa_id: r.hsa_id,
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
