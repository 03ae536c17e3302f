//! [`PluginStorage`] over the kernel's database (SQLite or PostgreSQL),
//! through `tillit-store`'s tenant-scoped plugin tables.
//!
//! The SQL lives in `tillit-store` with the rest of the kernel's SQL (one
//! file, checked against both databases, tenant-scoped like everything
//! there); this is only the adapter, kept here so that the store does not
//! depend on the plugin host and its WebAssembly runtime.

use tillit_domain::{TenantId, Timestamp};
use tillit_store::{
    PluginBlobInfo, PluginBlobPut, PluginCondition, PluginDelete, PluginSpace, PluginWrite, Store,
    StoreError,
};

use crate::storage::{
    BlobInfo, BlobPut, Condition, Deleted, Document, Owner, Pending, PluginStorage, Space,
    StorageError, Usage, Written,
};

/// Plugins' documents and blobs in the kernel's database.
#[derive(Debug, Clone)]
pub struct SqlStorage {
    store: Store,
}

impl SqlStorage {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn space(s: &Space) -> PluginSpace<'_> {
    PluginSpace {
        plugin: &s.plugin,
        owner: match &s.owner {
            Owner::Tenant => "",
            Owner::Person(reference) => reference,
        },
    }
}

fn condition(c: Condition) -> PluginCondition {
    match c {
        Condition::Always => PluginCondition::Always,
        Condition::IfAbsent => PluginCondition::IfAbsent,
        Condition::IfRevision(r) => PluginCondition::IfRevision(r),
    }
}

fn failed(e: StoreError) -> StorageError {
    StorageError(e.to_string())
}

fn blob_info(i: PluginBlobInfo) -> BlobInfo {
    BlobInfo {
        id: i.id,
        content_type: i.content_type,
        size: i.size,
        created_at: i.created_at,
    }
}

impl PluginStorage for SqlStorage {
    fn get<'a>(&'a self, s: &'a Space, key: &'a str) -> Pending<'a, Option<Document>> {
        Box::pin(async move {
            let found = self
                .store
                .tenant(s.tenant.clone())
                .plugin_document(space(s), key)
                .await
                .map_err(failed)?;
            Ok(found.map(|d| Document {
                value: d.value,
                revision: d.revision,
                updated_at: d.updated_at,
            }))
        })
    }

    fn set<'a>(
        &'a self,
        s: &'a Space,
        key: &'a str,
        value: &'a [u8],
        c: Condition,
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, Written> {
        Box::pin(async move {
            let written = self
                .store
                .tenant(s.tenant.clone())
                .set_plugin_document(space(s), key, value, condition(c), quota, now)
                .await
                .map_err(failed)?;
            Ok(match written {
                PluginWrite::Written(r) => Written::Revision(r),
                PluginWrite::Conflict => Written::Conflict,
                PluginWrite::QuotaExceeded => Written::QuotaExceeded,
            })
        })
    }

    fn delete<'a>(&'a self, s: &'a Space, key: &'a str, c: Condition) -> Pending<'a, Deleted> {
        Box::pin(async move {
            let deleted = self
                .store
                .tenant(s.tenant.clone())
                .delete_plugin_document(space(s), key, condition(c))
                .await
                .map_err(failed)?;
            Ok(match deleted {
                PluginDelete::Deleted(existed) => Deleted::Done(existed),
                PluginDelete::Conflict => Deleted::Conflict,
            })
        })
    }

    fn list<'a>(
        &'a self,
        s: &'a Space,
        prefix: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> Pending<'a, Vec<String>> {
        Box::pin(async move {
            self.store
                .tenant(s.tenant.clone())
                .plugin_keys(space(s), prefix, after, limit)
                .await
                .map_err(failed)
        })
    }

    fn put_blob<'a>(
        &'a self,
        s: &'a Space,
        id: &'a str,
        content_type: &'a str,
        data: &'a [u8],
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, BlobPut> {
        Box::pin(async move {
            let put = self
                .store
                .tenant(s.tenant.clone())
                .put_plugin_blob(space(s), id, content_type, data, quota, now)
                .await
                .map_err(failed)?;
            Ok(match put {
                PluginBlobPut::Stored(info) => BlobPut::Stored(blob_info(info)),
                PluginBlobPut::QuotaExceeded => BlobPut::QuotaExceeded,
            })
        })
    }

    fn get_blob<'a>(
        &'a self,
        s: &'a Space,
        id: &'a str,
    ) -> Pending<'a, Option<(BlobInfo, Vec<u8>)>> {
        Box::pin(async move {
            let found = self
                .store
                .tenant(s.tenant.clone())
                .plugin_blob(space(s), id)
                .await
                .map_err(failed)?;
            Ok(found.map(|(info, data)| (blob_info(info), data)))
        })
    }

    fn blob_info<'a>(&'a self, s: &'a Space, id: &'a str) -> Pending<'a, Option<BlobInfo>> {
        Box::pin(async move {
            let found = self
                .store
                .tenant(s.tenant.clone())
                .plugin_blob_info(space(s), id)
                .await
                .map_err(failed)?;
            Ok(found.map(blob_info))
        })
    }

    fn delete_blob<'a>(&'a self, s: &'a Space, id: &'a str) -> Pending<'a, bool> {
        Box::pin(async move {
            self.store
                .tenant(s.tenant.clone())
                .delete_plugin_blob(space(s), id)
                .await
                .map_err(failed)
        })
    }

    fn usage<'a>(&'a self, tenant: &'a TenantId, plugin: &'a str) -> Pending<'a, Usage> {
        Box::pin(async move {
            let usage = self
                .store
                .tenant(tenant.clone())
                .plugin_usage(plugin)
                .await
                .map_err(failed)?;
            Ok(Usage {
                document_bytes: usage.document_bytes,
                blob_bytes: usage.blob_bytes,
            })
        })
    }
}
