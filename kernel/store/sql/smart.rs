//! SMART client assertions already used.

use sqlx::Executor;
use tillit_domain::{TenantId, Timestamp};

use super::Result;
use crate::Db;

/// Records that `client` used the assertion `jti`, valid until
/// `expires_at`; false if it was used before.
pub async fn insert_assertion<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    client: &str,
    jti: &str,
    expires_at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query!(
        r#"INSERT INTO smart_assertions (tenant_id, client_id, jti, expires_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"#,
        tenant.as_str(),
        client,
        jti,
        expires_at.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets assertions that expired by `now`: they can no longer be used.
pub async fn delete_expired_assertions<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    now: Timestamp,
) -> Result<u64> {
    let done = sqlx::query!(
        r#"DELETE FROM smart_assertions WHERE tenant_id = $1 AND expires_at <= $2"#,
        tenant.as_str(),
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}
