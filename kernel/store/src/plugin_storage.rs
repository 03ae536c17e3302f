//! Plugins' storage: documents by key and blobs, per (tenant, plugin,
//! owner), with quotas per (tenant, plugin). The plugin host
//! (`tillit-plugins`) is the only caller: it checks keys, derives the
//! owner from the authenticated caller, and picks the quotas; this module
//! keeps the spaces apart and makes each write atomic. The words
//! (spaces, conditions, what a write came to) are the domain's,
//! [`tillit_domain::plugin_data`], which the host uses too.
//!
//! Tenant-scoped like the rest of the store: reached through
//! [`TenantStore`], every statement binds the tenant as `$1`.
//!
//! Every write takes the next revision of its (tenant, plugin) from the
//! `plugin_usage` row, in the write's transaction, so revisions never
//! repeat (a key deleted and created again gets a new one, and a stale
//! client's `IfRevision` fails) and writes of one plugin in one tenant are
//! serialised with their quota check.

use crate::{Pool, Result, StoreError, TenantStore};
use tillit_domain::Timestamp;
use tillit_domain::plugin_data::{
    BlobInfo, BlobPut, Condition, Deleted, Document, Owner, Space, Usage, Written,
};

/// The `owner` column: `""` for the plugin's tenant-wide space, else the
/// person reference (never empty) the host derived from the caller.
fn owner(space: &Space) -> &str {
    match &space.owner {
        Owner::Tenant => "",
        Owner::Person(reference) => reference,
    }
}

/// Keys are ASCII below DEL ([`tillit_domain::plugin_data::is_valid_key`]),
/// so every key starting with `prefix` sorts in `[prefix, prefix + DEL)`
/// and nothing else does.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{7f}")
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Takes the next revision of the (tenant, plugin), creating its usage row
/// on its first write.
macro_rules! next_revision {
    ($q:ident, $tx:ident, $t:expr, $plugin:expr) => {
        match $q::next_plugin_revision(&mut *$tx, $t, $plugin).await {
            Err(sqlx::Error::RowNotFound) => {
                $q::ensure_plugin_usage(&mut *$tx, $t, $plugin).await?;
                $q::next_plugin_revision(&mut *$tx, $t, $plugin).await?
            }
            other => other?,
        }
    };
}

impl TenantStore<'_> {
    /// Reads a document.
    pub async fn plugin_document(&self, space: &Space, key: &str) -> Result<Option<Document>> {
        let t = &self.tenant;
        let row = dispatch!(self.pool, read, |ex| q::plugin_document(
            ex,
            t,
            &space.plugin,
            owner(space),
            key
        ))?;
        Ok(row.map(|(value, revision, updated_at)| Document {
            value,
            revision: unsigned(revision),
            updated_at: Timestamp(updated_at),
        }))
    }

    /// Writes a document if `condition` holds and the (tenant, plugin)'s
    /// documents stay within `quota` bytes (keys and values); a write that
    /// does not grow the usage is always allowed.
    pub async fn set_plugin_document(
        &self,
        space: &Space,
        key: &str,
        value: &[u8],
        condition: Condition,
        quota: u64,
        now: Timestamp,
    ) -> Result<Written> {
        let t = &self.tenant;
        let size = signed((key.len() + value.len()) as u64);
        let quota = signed(quota);
        let mut refused = Written::Conflict;
        let written: Option<i64> = in_transaction!(self.pool, |tx| 'body: {
            let (revision, used) = next_revision!(q, tx, t, &space.plugin);
            let current =
                q::plugin_document_meta(&mut *tx, t, &space.plugin, owner(space), key).await?;
            if !condition.holds(current.map(|(r, _)| unsigned(r))) {
                break 'body None;
            }
            let old = current.map_or(0, |(_, s)| s);
            if size > old && used - old + size > quota {
                refused = Written::QuotaExceeded;
                break 'body None;
            }
            q::put_plugin_document(
                &mut *tx,
                t,
                &space.plugin,
                owner(space),
                key,
                value,
                size,
                revision,
                now,
            )
            .await?;
            q::add_plugin_document_bytes(&mut *tx, t, &space.plugin, size - old).await?;
            Some(revision)
        })?;
        Ok(written.map_or(refused, |r| Written::Revision(unsigned(r))))
    }

    /// Deletes a document if `condition` holds.
    pub async fn delete_plugin_document(
        &self,
        space: &Space,
        key: &str,
        condition: Condition,
    ) -> Result<Deleted> {
        let t = &self.tenant;
        let deleted: Option<bool> = in_transaction!(self.pool, |tx| 'body: {
            // Serialises with the plugin's writes, like a write.
            let _ = next_revision!(q, tx, t, &space.plugin);
            let current =
                q::plugin_document_meta(&mut *tx, t, &space.plugin, owner(space), key).await?;
            if !condition.holds(current.map(|(r, _)| unsigned(r))) {
                break 'body None;
            }
            match current {
                Some((_, size)) => {
                    q::delete_plugin_document(&mut *tx, t, &space.plugin, owner(space), key)
                        .await?;
                    q::add_plugin_document_bytes(&mut *tx, t, &space.plugin, -size).await?;
                    Some(true)
                }
                None => Some(false),
            }
        })?;
        Ok(deleted.map_or(Deleted::Conflict, Deleted::Done))
    }

    /// Keys starting with `prefix` and sorting after `after`, in byte
    /// order, at most `limit`. Keys and the prefix follow the host's rules
    /// (ASCII, no DEL).
    pub async fn plugin_keys(
        &self,
        space: &Space,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>> {
        let t = &self.tenant;
        let until = prefix_end(prefix);
        // Every key is longer than "", so "after nothing" is after "".
        let after = after.unwrap_or("");
        dispatch!(self.pool, read, |ex| q::plugin_keys(
            ex,
            t,
            &space.plugin,
            owner(space),
            prefix,
            &until,
            after,
            i64::from(limit)
        ))
    }

    /// Stores a new blob under a host-chosen `id`, if the (tenant,
    /// plugin)'s blobs stay within `quota` bytes.
    pub async fn put_plugin_blob(
        &self,
        space: &Space,
        id: &str,
        content_type: &str,
        data: &[u8],
        quota: u64,
        now: Timestamp,
    ) -> Result<BlobPut> {
        let t = &self.tenant;
        let size = signed(data.len() as u64);
        let quota = signed(quota);
        let stored: Option<()> = in_transaction!(self.pool, |tx| 'body: {
            let _ = next_revision!(q, tx, t, &space.plugin);
            let used = q::add_plugin_blob_bytes(&mut *tx, t, &space.plugin, size).await?;
            if used > quota {
                break 'body None;
            }
            q::insert_plugin_blob(
                &mut *tx,
                t,
                &space.plugin,
                owner(space),
                id,
                content_type,
                data,
                now,
            )
            .await?;
            Some(())
        })?;
        Ok(match stored {
            Some(()) => BlobPut::Stored(BlobInfo {
                id: id.to_owned(),
                content_type: content_type.to_owned(),
                size: data.len() as u64,
                created_at: now,
            }),
            None => BlobPut::QuotaExceeded,
        })
    }

    /// A blob with its bytes.
    pub async fn plugin_blob(
        &self,
        space: &Space,
        id: &str,
    ) -> Result<Option<(BlobInfo, Vec<u8>)>> {
        let t = &self.tenant;
        let row = dispatch!(self.pool, read, |ex| q::plugin_blob(
            ex,
            t,
            &space.plugin,
            owner(space),
            id
        ))?;
        Ok(row.map(|(content_type, size, created_at, data)| {
            (
                BlobInfo {
                    id: id.to_owned(),
                    content_type,
                    size: unsigned(size),
                    created_at: Timestamp(created_at),
                },
                data,
            )
        }))
    }

    /// A blob without its bytes.
    pub async fn plugin_blob_info(&self, space: &Space, id: &str) -> Result<Option<BlobInfo>> {
        let t = &self.tenant;
        let row = dispatch!(self.pool, read, |ex| q::plugin_blob_info(
            ex,
            t,
            &space.plugin,
            owner(space),
            id
        ))?;
        Ok(row.map(|(content_type, size, created_at)| BlobInfo {
            id: id.to_owned(),
            content_type,
            size: unsigned(size),
            created_at: Timestamp(created_at),
        }))
    }

    /// Deletes a blob; returns whether it existed.
    pub async fn delete_plugin_blob(&self, space: &Space, id: &str) -> Result<bool> {
        let t = &self.tenant;
        let deleted: Option<bool> = in_transaction!(self.pool, |tx| {
            match q::delete_plugin_blob(&mut *tx, t, &space.plugin, owner(space), id).await? {
                Some(size) => {
                    q::add_plugin_blob_bytes(&mut *tx, t, &space.plugin, -size).await?;
                    Some(true)
                }
                None => Some(false),
            }
        })?;
        Ok(deleted == Some(true))
    }

    /// The bytes the plugin uses in this tenant.
    pub async fn plugin_usage(&self, plugin: &str) -> Result<Usage> {
        let t = &self.tenant;
        let row = dispatch!(self.pool, read, |ex| q::plugin_usage(ex, t, plugin))?;
        Ok(row.map_or(Usage::default(), |(documents, blobs)| Usage {
            document_bytes: unsigned(documents),
            blob_bytes: unsigned(blobs),
        }))
    }
}
