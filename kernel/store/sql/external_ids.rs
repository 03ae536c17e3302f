//! Identifiers other systems gave Tillit's resources (an EHR's booking id).

use sqlx::Executor;
use tillit_domain::{TenantId, Timestamp};

use super::Result;
use crate::Db;

pub async fn insert_external_id<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    (resource_type, resource_id): (&str, &str),
    (system, value): (&str, &str),
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO external_ids (tenant_id, resource_type, resource_id, system, value, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
        tenant.as_str(),
        resource_type,
        resource_id,
        system,
        value,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// The identifiers of a resource, as (system, value), in the order given.
pub async fn external_ids_of<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    resource_type: &str,
    resource_id: &str,
) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query!(
        r#"SELECT system AS "system!", value AS "value!" FROM external_ids
           WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = $3
           ORDER BY created_at, system, value"#,
        tenant.as_str(),
        resource_type,
        resource_id,
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|r| (r.system, r.value)).collect())
}

/// The resource an identifier names, if any.
pub async fn resource_by_external_id<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    resource_type: &str,
    (system, value): (&str, &str),
) -> Result<Option<String>> {
    let row = sqlx::query!(
        r#"SELECT resource_id AS "resource_id!" FROM external_ids
           WHERE tenant_id = $1 AND resource_type = $2 AND system = $3 AND value = $4"#,
        tenant.as_str(),
        resource_type,
        system,
        value,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| r.resource_id))
}
