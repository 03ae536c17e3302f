//! Plugin storage: a plugin's documents and blobs, per (tenant, plugin,
//! owner). The owner is '' for the plugin's tenant-wide space, else a person
//! reference from the plugin host. Writes run in a transaction that first
//! takes the next revision from the (tenant, plugin)'s `plugin_usage` row,
//! which also holds the bytes counted against its quotas.

use sqlx::Executor;
use tillit_domain::{TenantId, Timestamp};

use super::Result;
use crate::Db;

/// Creates the (tenant, plugin)'s usage row if it has none.
pub async fn ensure_plugin_usage<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO plugin_usage (tenant_id, plugin_id, revision, document_bytes, blob_bytes)
           VALUES ($1, $2, 0, 0, 0)
           ON CONFLICT (tenant_id, plugin_id) DO NOTHING"#,
        tenant.as_str(),
        plugin,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Takes the (tenant, plugin)'s next revision, locking its usage row until
/// the transaction ends. Returns the revision and the document bytes used.
pub async fn next_plugin_revision<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
) -> Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"UPDATE plugin_usage SET revision = revision + 1
           WHERE tenant_id = $1 AND plugin_id = $2
           RETURNING revision AS "revision!", document_bytes AS "document_bytes!""#,
        tenant.as_str(),
        plugin,
    )
    .fetch_one(ex)
    .await?;
    Ok((row.revision, row.document_bytes))
}

/// Adds `delta` (possibly negative) to the document bytes used.
pub async fn add_plugin_document_bytes<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    delta: i64,
) -> Result<()> {
    sqlx::query!(
        "UPDATE plugin_usage SET document_bytes = document_bytes + $3 WHERE tenant_id = $1 AND plugin_id = $2",
        tenant.as_str(),
        plugin,
        delta,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Adds `delta` (possibly negative) to the blob bytes used; returns the new total.
pub async fn add_plugin_blob_bytes<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    delta: i64,
) -> Result<i64> {
    let total = sqlx::query_scalar!(
        r#"UPDATE plugin_usage SET blob_bytes = blob_bytes + $3 WHERE tenant_id = $1 AND plugin_id = $2
           RETURNING blob_bytes AS "blob_bytes!""#,
        tenant.as_str(),
        plugin,
        delta,
    )
    .fetch_one(ex)
    .await?;
    Ok(total)
}

/// The bytes a (tenant, plugin) uses: documents and blobs.
pub async fn plugin_usage<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query!(
        r#"SELECT document_bytes AS "document_bytes!", blob_bytes AS "blob_bytes!"
           FROM plugin_usage WHERE tenant_id = $1 AND plugin_id = $2"#,
        tenant.as_str(),
        plugin,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.document_bytes, r.blob_bytes)))
}

/// A document's value, revision and time of its last write.
pub async fn plugin_document<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, i64, i64)>> {
    let row = sqlx::query!(
        r#"SELECT value AS "value!", revision AS "revision!", updated_at AS "updated_at!"
           FROM plugin_documents WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND key = $4"#,
        tenant.as_str(),
        plugin,
        owner,
        key,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.value, r.revision, r.updated_at)))
}

/// A document's revision and counted size, without its value.
pub async fn plugin_document_meta<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    key: &str,
) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query!(
        r#"SELECT revision AS "revision!", size AS "size!"
           FROM plugin_documents WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND key = $4"#,
        tenant.as_str(),
        plugin,
        owner,
        key,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.revision, r.size)))
}

/// Creates or replaces a document.
#[allow(clippy::too_many_arguments)]
pub async fn put_plugin_document<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    key: &str,
    value: &[u8],
    size: i64,
    revision: i64,
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO plugin_documents (tenant_id, plugin_id, owner, key, value, size, revision, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id, plugin_id, owner, key) DO UPDATE SET
               value = excluded.value, size = excluded.size, revision = excluded.revision,
               updated_at = excluded.updated_at"#,
        tenant.as_str(),
        plugin,
        owner,
        key,
        value,
        size,
        revision,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Deletes a document; returns whether it existed.
pub async fn delete_plugin_document<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    key: &str,
) -> Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM plugin_documents WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND key = $4",
        tenant.as_str(),
        plugin,
        owner,
        key,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Keys in `[from, until)` and after `after`, in byte order, at most `limit`.
#[allow(clippy::too_many_arguments)]
pub async fn plugin_keys<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    from: &str,
    until: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let keys = sqlx::query_scalar!(
        r#"SELECT key AS "key!" FROM plugin_documents
           WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND key >= $4 AND key < $5 AND key > $6
           ORDER BY key LIMIT $7"#,
        tenant.as_str(),
        plugin,
        owner,
        from,
        until,
        after,
        limit,
    )
    .fetch_all(ex)
    .await?;
    Ok(keys)
}

/// Stores a new blob.
#[allow(clippy::too_many_arguments)]
pub async fn insert_plugin_blob<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    id: &str,
    content_type: &str,
    data: &[u8],
    now: Timestamp,
) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO plugin_blobs (tenant_id, plugin_id, owner, id, content_type, size, data, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        tenant.as_str(),
        plugin,
        owner,
        id,
        content_type,
        data.len() as i64,
        data,
        now.0,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// A blob's content type, size, creation time and, if asked, its bytes.
pub async fn plugin_blob<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    id: &str,
) -> Result<Option<(String, i64, i64, Vec<u8>)>> {
    let row = sqlx::query!(
        r#"SELECT content_type AS "content_type!", size AS "size!", created_at AS "created_at!", data AS "data!"
           FROM plugin_blobs WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND id = $4"#,
        tenant.as_str(),
        plugin,
        owner,
        id,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.content_type, r.size, r.created_at, r.data)))
}

/// A blob's content type, size and creation time, without its bytes.
pub async fn plugin_blob_info<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    id: &str,
) -> Result<Option<(String, i64, i64)>> {
    let row = sqlx::query!(
        r#"SELECT content_type AS "content_type!", size AS "size!", created_at AS "created_at!"
           FROM plugin_blobs WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND id = $4"#,
        tenant.as_str(),
        plugin,
        owner,
        id,
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.content_type, r.size, r.created_at)))
}

/// Deletes a blob; returns its size if it existed.
pub async fn delete_plugin_blob<'e>(
    ex: impl Executor<'e, Database = Db>,
    tenant: &TenantId,
    plugin: &str,
    owner: &str,
    id: &str,
) -> Result<Option<i64>> {
    let size = sqlx::query_scalar!(
        r#"DELETE FROM plugin_blobs WHERE tenant_id = $1 AND plugin_id = $2 AND owner = $3 AND id = $4
           RETURNING size AS "size!""#,
        tenant.as_str(),
        plugin,
        owner,
        id,
    )
    .fetch_optional(ex)
    .await?;
    Ok(size)
}
