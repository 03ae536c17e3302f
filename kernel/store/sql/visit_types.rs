//! Visit types: the kinds of visit a clinician offers.

use sqlx::Executor;
use tillit_domain::booking::{VisitKind, VisitType, VisitTypeSpec};
use tillit_domain::{PersonId, TenantId, Timestamp};

use super::{Result, corrupt};
use crate::Db;

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
