//! Sessions: who is logged in, keyed by the hash of their token.

use sqlx::Executor;
use tillit_domain::session::{ProviderLogin, SessionRecord};
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

/// A session from an e-ID login, with the provider's subject and session
/// by which the provider may end it.
pub async fn insert_provider_session<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    token_hash: &str,
    person: &PersonId,
    now: Timestamp,
    expires_at: Timestamp,
    login: &ProviderLogin,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO sessions (tenant_id, token_hash, person_id, created_at, last_seen_at, expires_at,
                                 login_method, login_subject, login_sid)
           VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)"#,
        tenant.as_str(),
        token_hash,
        person.as_str(),
        now.0,
        expires_at.0,
        login.method,
        login.subject,
        login.session,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Ends the sessions that logged in with `method` in the provider's
/// session `sid`; returns their token hashes.
pub async fn delete_sessions_of_provider_session<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    method: &str,
    sid: &str,
) -> Result<Vec<String>> {
    let rows = sqlx::query!(
        r#"DELETE FROM sessions WHERE tenant_id = $1 AND login_method = $2 AND login_sid = $3
           RETURNING token_hash AS "token_hash!""#,
        tenant.as_str(),
        method,
        sid,
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|r| r.token_hash).collect())
}

/// Ends every session that logged in with `method` as the provider's
/// `subject`; returns their token hashes.
pub async fn delete_sessions_of_provider_subject<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    method: &str,
    subject: &str,
) -> Result<Vec<String>> {
    let rows = sqlx::query!(
        r#"DELETE FROM sessions WHERE tenant_id = $1 AND login_method = $2 AND login_subject = $3
           RETURNING token_hash AS "token_hash!""#,
        tenant.as_str(),
        method,
        subject,
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|r| r.token_hash).collect())
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
                  s.created_at AS "created_at!", s.last_seen_at AS "last_seen_at!",
                  s.login_method
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
        login_method: r.login_method,
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
