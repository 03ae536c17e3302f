//! Pictures: people's profile pictures.

use sqlx::Executor;
use tillit_domain::{PersonId, TenantId, Timestamp};

use super::Result;
use crate::Db;

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
