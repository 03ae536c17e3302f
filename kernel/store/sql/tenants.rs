//! Tenants: the row that every tenant-owned row references.

use sqlx::Executor;
use tillit_domain::{TenantId, Timestamp};

use super::Result;
use crate::Db;

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
