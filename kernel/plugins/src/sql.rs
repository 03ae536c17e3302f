//! [`PluginStorage`] over the kernel's database (SQLite or PostgreSQL),
//! through `tillit-store`'s tenant-scoped plugin tables.
//!
//! The SQL lives in `tillit-store` with the rest of the kernel's SQL (one
//! file, checked against both databases, tenant-scoped like everything
//! there), in the same words as the host ([`tillit_domain::plugin_data`]);
//! this is only the adapter from the trait to the store, kept here so that
//! the store does not depend on the plugin host and its WebAssembly runtime.

use tillit_domain::plugin_data::{
    BlobInfo, BlobPut, Condition, Deleted, Document, Space, Usage, Written,
};
use tillit_domain::{TenantId, Timestamp};
use tillit_store::{Store, StoreError};

use crate::storage::{Pending, PluginStorage, StorageError};

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

fn failed(e: StoreError) -> StorageError {
    StorageError(e.to_string())
}

impl PluginStorage for SqlStorage {
    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        key: &'a str,
    ) -> Pending<'a, Option<Document>> {
        Box::pin(async move {
            self.store
                .tenant(tenant.clone())
                .plugin_document(space, key)
                .await
                .map_err(failed)
        })
    }

    fn set<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        key: &'a str,
        value: &'a [u8],
        condition: Condition,
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, Written> {
        Box::pin(async move {
            self.store
                .tenant(tenant.clone())
                .set_plugin_document(space, key, value, condition, quota, now)
                .await
                .map_err(failed)
        })
    }

    fn delete<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        key: &'a str,
        condition: Condition,
    ) -> Pending<'a, Deleted> {
        Box::pin(async move {
            self.store
                .tenant(tenant.clone())
                .delete_plugin_document(space, key, condition)
                .await
                .map_err(failed)
        })
    }

    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        prefix: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> Pending<'a, Vec<String>> {
        Box::pin(async move {
            self.store
                .tenant(tenant.clone())
                .plugin_keys(space, prefix, after, limit)
                .await
                .map_err(failed)
        })
    }

    fn put_blob<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
        content_type: &'a str,
        data: &'a [u8],
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, BlobPut> {
        Box::pin(async move {
            self.store
                .tenant(tenant.clone())
                .put_plugin_blob(space, id, content_type, data, quota, now)
                .await
                .map_err(failed)
        })
    }

    fn get_blob<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, Option<(BlobInfo, Vec<u8>)>> {
        Box::pin(async move {
            self.store
                .tenant(tenant.clone())
                .plugin_blob(space, id)
                .await
                .map_err(failed)
        })
    }

    fn blob_info<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, Option<BlobInfo>> {
        Box::pin(async move {
            self.store
                .tenant(tenant.clone())
                .plugin_blob_info(space, id)
                .await
                .map_err(failed)
        })
    }

    fn delete_blob<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, bool> {
        Box::pin(async move {
            self.store
                .tenant(tenant.clone())
                .delete_plugin_blob(space, id)
                .await
                .map_err(failed)
        })
    }

    fn usage<'a>(&'a self, tenant: &'a TenantId, plugin: &'a str) -> Pending<'a, Usage> {
        Box::pin(async move {
            self.store
                .tenant(tenant.clone())
                .plugin_usage(plugin)
                .await
                .map_err(failed)
        })
    }
}
