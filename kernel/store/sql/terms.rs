//! Terms: which version of the tenant's terms a person has accepted.

use sqlx::Executor;
use tillit_domain::{PersonId, TenantId, Timestamp};

use super::Result;
use crate::Db;

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
