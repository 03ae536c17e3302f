//! Where plugins' documents and blobs live: the [`PluginStorage`] trait the
//! host calls, and [`MemoryStorage`], an implementation for tests and
//! benchmarks. The words (spaces, keys and their rules, conditions, what a
//! write came to) are the domain's, [`tillit_domain::plugin_data`], shared
//! with the store.
//!
//! The production implementation is [`crate::SqlStorage`], over the
//! kernel's database (`tillit-store`, both SQLite and PostgreSQL).
//!
//! The host has already decided everything about *whose* data an operation
//! touches before it calls the storage: the tenant, and the [`Space`] with
//! the plugin and the owner (the tenant's shared space, or one person's
//! private space by their reference); keys have passed
//! [`tillit_domain::plugin_data::is_valid_key`]. An implementation only has to keep spaces
//! apart, apply write conditions atomically and account sizes against the
//! quota it is given.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use tillit_domain::plugin_data::{
    BlobInfo, BlobPut, Condition, Deleted, Document, Space, Usage, Written,
};
use tillit_domain::{TenantId, Timestamp};

/// A boxed future, so the trait can be used as `Arc<dyn PluginStorage>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What every [`PluginStorage`] method returns.
pub type Pending<'a, T> = BoxFuture<'a, Result<T, StorageError>>;

/// The storage failed (the database is unreachable, say). The plugin sees
/// `error::internal` and the reason goes to the log, never to the plugin.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin storage: {0}")]
pub struct StorageError(pub String);

/// Documents and blobs of plugins, per tenant and [`Space`].
///
/// Revisions increase with every write in a (tenant, plugin), so a key that
/// was deleted and created again never gets back a revision a stale client
/// still holds. `quota` is the most bytes the (tenant, plugin) may use for
/// documents (or blobs) after the write; a write that does not grow the
/// usage is always allowed.
pub trait PluginStorage: Send + Sync + fmt::Debug + 'static {
    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        key: &'a str,
    ) -> Pending<'a, Option<Document>>;

    #[allow(clippy::too_many_arguments)]
    fn set<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        key: &'a str,
        value: &'a [u8],
        condition: Condition,
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, Written>;

    fn delete<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        key: &'a str,
        condition: Condition,
    ) -> Pending<'a, Deleted>;

    /// Keys starting with `prefix` and after `after`, in byte order, at
    /// most `limit`.
    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        prefix: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> Pending<'a, Vec<String>>;

    #[allow(clippy::too_many_arguments)]
    fn put_blob<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
        content_type: &'a str,
        data: &'a [u8],
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, BlobPut>;

    fn get_blob<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, Option<(BlobInfo, Vec<u8>)>>;

    fn blob_info<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, Option<BlobInfo>>;

    /// Whether there was such a blob.
    fn delete_blob<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, bool>;

    /// What one (tenant, plugin) uses.
    fn usage<'a>(&'a self, tenant: &'a TenantId, plugin: &'a str) -> Pending<'a, Usage>;
}

/// Everything in memory, for tests and benchmarks. Same rules as the SQL
/// storage (revisions per (tenant, plugin), quotas, conditions).
#[derive(Debug, Default)]
pub struct MemoryStorage {
    state: Mutex<MemoryState>,
}

/// A document or blob's place: tenant, space, and key or id.
type Place = (TenantId, Space, String);

#[derive(Debug, Default)]
struct MemoryState {
    documents: BTreeMap<Place, Document>,
    blobs: BTreeMap<Place, (BlobInfo, Vec<u8>)>,
    /// Per (tenant, plugin): last revision and usage.
    counters: BTreeMap<(TenantId, String), (u64, Usage)>,
}

impl MemoryState {
    fn counter(&mut self, tenant: &TenantId, space: &Space) -> &mut (u64, Usage) {
        self.counters
            .entry((tenant.clone(), space.plugin.clone()))
            .or_default()
    }
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut MemoryState) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }

    /// Every document's (tenant, space, key), for tests that check where
    /// writes went.
    pub fn all_keys(&self) -> Vec<(TenantId, Space, String)> {
        self.with(|s| s.documents.keys().cloned().collect())
    }
}

fn place(tenant: &TenantId, space: &Space, key: &str) -> Place {
    (tenant.clone(), space.clone(), key.to_owned())
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

fn document_size(key: &str, value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64
}

impl PluginStorage for MemoryStorage {
    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        key: &'a str,
    ) -> Pending<'a, Option<Document>> {
        let found = self.with(|s| s.documents.get(&place(tenant, space, key)).cloned());
        ready(Ok(found))
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
        let written = self.with(|s| {
            let id = place(tenant, space, key);
            let current = s.documents.get(&id);
            if !condition.holds(current.map(|d| d.revision)) {
                return Written::Conflict;
            }
            let old = current.map_or(0, |d| document_size(key, &d.value));
            let new = document_size(key, value);
            let counter = s.counter(tenant, space);
            let used = counter.1.document_bytes - old + new;
            if new > old && used > quota {
                return Written::QuotaExceeded;
            }
            counter.0 += 1;
            counter.1.document_bytes = used;
            let revision = counter.0;
            s.documents.insert(
                id,
                Document {
                    value: value.to_vec(),
                    revision,
                    updated_at: now,
                },
            );
            Written::Revision(revision)
        });
        ready(Ok(written))
    }

    fn delete<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        key: &'a str,
        condition: Condition,
    ) -> Pending<'a, Deleted> {
        let deleted = self.with(|s| {
            let id = place(tenant, space, key);
            let current = s.documents.get(&id);
            if !condition.holds(current.map(|d| d.revision)) {
                return Deleted::Conflict;
            }
            match s.documents.remove(&id) {
                Some(d) => {
                    s.counter(tenant, space).1.document_bytes -= document_size(key, &d.value);
                    Deleted::Done(true)
                }
                None => Deleted::Done(false),
            }
        });
        ready(Ok(deleted))
    }

    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        prefix: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> Pending<'a, Vec<String>> {
        let keys = self.with(|s| {
            s.documents
                .keys()
                .filter(|(t, sp, k)| {
                    t == tenant
                        && sp == space
                        && k.starts_with(prefix)
                        && after.is_none_or(|a| k.as_str() > a)
                })
                .map(|(_, _, k)| k.clone())
                .take(limit as usize)
                .collect()
        });
        ready(Ok(keys))
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
        let put = self.with(|s| {
            let counter = s.counter(tenant, space);
            let used = counter.1.blob_bytes + data.len() as u64;
            if used > quota {
                return BlobPut::QuotaExceeded;
            }
            counter.1.blob_bytes = used;
            let info = BlobInfo {
                id: id.to_owned(),
                content_type: content_type.to_owned(),
                size: data.len() as u64,
                created_at: now,
            };
            s.blobs
                .insert(place(tenant, space, id), (info.clone(), data.to_vec()));
            BlobPut::Stored(info)
        });
        ready(Ok(put))
    }

    fn get_blob<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, Option<(BlobInfo, Vec<u8>)>> {
        let found = self.with(|s| s.blobs.get(&place(tenant, space, id)).cloned());
        ready(Ok(found))
    }

    fn blob_info<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, Option<BlobInfo>> {
        let found = self.with(|s| {
            s.blobs
                .get(&place(tenant, space, id))
                .map(|(i, _)| i.clone())
        });
        ready(Ok(found))
    }

    fn delete_blob<'a>(
        &'a self,
        tenant: &'a TenantId,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, bool> {
        let existed = self.with(|s| match s.blobs.remove(&place(tenant, space, id)) {
            Some((info, _)) => {
                s.counter(tenant, space).1.blob_bytes -= info.size;
                true
            }
            None => false,
        });
        ready(Ok(existed))
    }

    fn usage<'a>(&'a self, tenant: &'a TenantId, plugin: &'a str) -> Pending<'a, Usage> {
        let usage = self.with(|s| {
            s.counters
                .get(&(tenant.clone(), plugin.to_owned()))
                .map(|c| c.1)
                .unwrap_or_default()
        });
        ready(Ok(usage))
    }
}
