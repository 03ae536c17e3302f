//! Where plugins' documents and blobs live: the [`PluginStorage`] trait the
//! host calls, the rules for keys that the host checks before it calls it,
//! and [`MemoryStorage`], an implementation for tests and benchmarks.
//!
//! The production implementation is [`crate::SqlStorage`], over the
//! kernel's database (`tillit-store`, both SQLite and PostgreSQL).
//!
//! The host has already decided everything about *whose* data an operation
//! touches before it calls the storage: the [`Space`] names the tenant, the
//! plugin and the owner (the tenant's shared space, or one person's private
//! space by their reference), and keys have passed [`is_valid_key`]. An
//! implementation only has to keep spaces apart, apply write conditions
//! atomically and account sizes against the quota it is given.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use tillit_domain::{TenantId, Timestamp};

/// A boxed future, so the trait can be used as `Arc<dyn PluginStorage>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What every [`PluginStorage`] method returns.
pub type Pending<'a, T> = BoxFuture<'a, Result<T, StorageError>>;

/// The longest key, in bytes (fixed by the API).
pub const MAX_KEY_LEN: usize = 256;

/// Whose data an operation works on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Space {
    pub tenant: TenantId,
    /// The plugin's manifest id.
    pub plugin: String,
    pub owner: Owner,
}

/// The owner of a document or blob within a (tenant, plugin).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// `scope::tenant`: shared in the tenant, for this plugin.
    Tenant,
    /// `scope::caller`: private to one person, by their reference for this
    /// plugin (derived by the host from the authenticated caller).
    Person(String),
}

/// When a write may happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// Only if the key does not exist.
    IfAbsent,
    /// Only if the key exists with this revision.
    IfRevision(u64),
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub value: Vec<u8>,
    pub revision: u64,
    pub updated_at: Timestamp,
}

/// What became of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Written with this new revision.
    Revision(u64),
    /// The condition did not hold; nothing changed.
    Conflict,
    /// The (tenant, plugin) would go over its quota; nothing changed.
    QuotaExceeded,
}

/// What became of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// Deleted; whether the key existed.
    Done(bool),
    /// The condition did not hold; nothing changed.
    Conflict,
}

/// What the host knows about a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub id: String,
    pub content_type: String,
    pub size: u64,
    pub created_at: Timestamp,
}

/// What became of storing a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobPut {
    Stored(BlobInfo),
    QuotaExceeded,
}

/// Bytes used by one (tenant, plugin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Keys and values of documents.
    pub document_bytes: u64,
    /// Blob contents.
    pub blob_bytes: u64,
}

/// The storage failed (the database is unreachable, say). The plugin sees
/// `error::internal` and the reason goes to the log, never to the plugin.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin storage: {0}")]
pub struct StorageError(pub String);

/// Documents and blobs of plugins, per [`Space`].
///
/// Revisions increase with every write in a (tenant, plugin), so a key that
/// was deleted and created again never gets back a revision a stale client
/// still holds. `quota` is the most bytes the (tenant, plugin) may use for
/// documents (or blobs) after the write; a write that does not grow the
/// usage is always allowed.
pub trait PluginStorage: Send + Sync + fmt::Debug + 'static {
    fn get<'a>(&'a self, space: &'a Space, key: &'a str) -> Pending<'a, Option<Document>>;

    #[allow(clippy::too_many_arguments)]
    fn set<'a>(
        &'a self,
        space: &'a Space,
        key: &'a str,
        value: &'a [u8],
        condition: Condition,
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, Written>;

    fn delete<'a>(
        &'a self,
        space: &'a Space,
        key: &'a str,
        condition: Condition,
    ) -> Pending<'a, Deleted>;

    /// Keys starting with `prefix` and after `after`, in byte order, at
    /// most `limit`.
    fn list<'a>(
        &'a self,
        space: &'a Space,
        prefix: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> Pending<'a, Vec<String>>;

    #[allow(clippy::too_many_arguments)]
    fn put_blob<'a>(
        &'a self,
        space: &'a Space,
        id: &'a str,
        content_type: &'a str,
        data: &'a [u8],
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, BlobPut>;

    fn get_blob<'a>(
        &'a self,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, Option<(BlobInfo, Vec<u8>)>>;

    fn blob_info<'a>(&'a self, space: &'a Space, id: &'a str) -> Pending<'a, Option<BlobInfo>>;

    /// Whether there was such a blob.
    fn delete_blob<'a>(&'a self, space: &'a Space, id: &'a str) -> Pending<'a, bool>;

    /// What one (tenant, plugin) uses.
    fn usage<'a>(&'a self, tenant: &'a TenantId, plugin: &'a str) -> Pending<'a, Usage>;
}

/// Whether `key` follows the API's rules: 1 to [`MAX_KEY_LEN`] bytes of
/// `A-Z a-z 0-9 - _ . : @ +`, with `/` between segments that are neither
/// empty nor `.` or `..`. A key is a name, never a path.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && s.bytes().all(is_key_byte))
}

/// Whether `prefix` can start a key: key bytes and `/`, at most
/// [`MAX_KEY_LEN`] bytes; it may be empty.
pub fn is_valid_prefix(prefix: &str) -> bool {
    prefix.len() <= MAX_KEY_LEN && prefix.bytes().all(|b| b == b'/' || is_key_byte(b))
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'@' | b'+')
}

/// Whether a write `condition` holds for a key at `current`.
pub fn condition_holds(condition: Condition, current: Option<u64>) -> bool {
    match (condition, current) {
        (Condition::Always, _) | (Condition::IfAbsent, None) => true,
        (Condition::IfRevision(want), Some(have)) => want == have,
        _ => false,
    }
}

/// Everything in memory, for tests and benchmarks. Same rules as the SQL
/// storage (revisions per (tenant, plugin), quotas, conditions).
#[derive(Debug, Default)]
pub struct MemoryStorage {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    documents: BTreeMap<(Space, String), Document>,
    blobs: BTreeMap<(Space, String), (BlobInfo, Vec<u8>)>,
    /// Per (tenant, plugin): last revision and usage.
    counters: BTreeMap<(TenantId, String), (u64, Usage)>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut MemoryState) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }

    /// Every document's (space, key), for tests that check where writes went.
    pub fn all_keys(&self) -> Vec<(Space, String)> {
        self.with(|s| s.documents.keys().cloned().collect())
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

fn document_size(key: &str, value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64
}

impl PluginStorage for MemoryStorage {
    fn get<'a>(&'a self, space: &'a Space, key: &'a str) -> Pending<'a, Option<Document>> {
        let found = self.with(|s| s.documents.get(&(space.clone(), key.to_owned())).cloned());
        ready(Ok(found))
    }

    fn set<'a>(
        &'a self,
        space: &'a Space,
        key: &'a str,
        value: &'a [u8],
        condition: Condition,
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, Written> {
        let written = self.with(|s| {
            let id = (space.clone(), key.to_owned());
            let current = s.documents.get(&id);
            if !condition_holds(condition, current.map(|d| d.revision)) {
                return Written::Conflict;
            }
            let old = current.map_or(0, |d| document_size(key, &d.value));
            let new = document_size(key, value);
            let counter = s
                .counters
                .entry((space.tenant.clone(), space.plugin.clone()))
                .or_default();
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
        space: &'a Space,
        key: &'a str,
        condition: Condition,
    ) -> Pending<'a, Deleted> {
        let deleted = self.with(|s| {
            let id = (space.clone(), key.to_owned());
            let current = s.documents.get(&id);
            if !condition_holds(condition, current.map(|d| d.revision)) {
                return Deleted::Conflict;
            }
            match s.documents.remove(&id) {
                Some(d) => {
                    let counter = s
                        .counters
                        .entry((space.tenant.clone(), space.plugin.clone()))
                        .or_default();
                    counter.1.document_bytes -= document_size(key, &d.value);
                    Deleted::Done(true)
                }
                None => Deleted::Done(false),
            }
        });
        ready(Ok(deleted))
    }

    fn list<'a>(
        &'a self,
        space: &'a Space,
        prefix: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> Pending<'a, Vec<String>> {
        let keys = self.with(|s| {
            s.documents
                .keys()
                .filter(|(sp, k)| {
                    sp == space && k.starts_with(prefix) && after.is_none_or(|a| k.as_str() > a)
                })
                .map(|(_, k)| k.clone())
                .take(limit as usize)
                .collect()
        });
        ready(Ok(keys))
    }

    fn put_blob<'a>(
        &'a self,
        space: &'a Space,
        id: &'a str,
        content_type: &'a str,
        data: &'a [u8],
        quota: u64,
        now: Timestamp,
    ) -> Pending<'a, BlobPut> {
        let put = self.with(|s| {
            let counter = s
                .counters
                .entry((space.tenant.clone(), space.plugin.clone()))
                .or_default();
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
            s.blobs.insert(
                (space.clone(), id.to_owned()),
                (info.clone(), data.to_vec()),
            );
            BlobPut::Stored(info)
        });
        ready(Ok(put))
    }

    fn get_blob<'a>(
        &'a self,
        space: &'a Space,
        id: &'a str,
    ) -> Pending<'a, Option<(BlobInfo, Vec<u8>)>> {
        let found = self.with(|s| s.blobs.get(&(space.clone(), id.to_owned())).cloned());
        ready(Ok(found))
    }

    fn blob_info<'a>(&'a self, space: &'a Space, id: &'a str) -> Pending<'a, Option<BlobInfo>> {
        let found = self.with(|s| {
            s.blobs
                .get(&(space.clone(), id.to_owned()))
                .map(|(i, _)| i.clone())
        });
        ready(Ok(found))
    }

    fn delete_blob<'a>(&'a self, space: &'a Space, id: &'a str) -> Pending<'a, bool> {
        let existed = self.with(|s| match s.blobs.remove(&(space.clone(), id.to_owned())) {
            Some((info, _)) => {
                let counter = s
                    .counters
                    .entry((space.tenant.clone(), space.plugin.clone()))
                    .or_default();
                counter.1.blob_bytes -= info.size;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_names_never_paths() {
        for ok in [
            "a",
            "note/p_1",
            "a.b/c:d@e+f/G-H_1",
            "..a",
            &"x".repeat(256),
        ] {
            assert!(is_valid_key(ok), "{ok}");
        }
        for bad in [
            "",
            "/",
            "/a",
            "a/",
            "a//b",
            ".",
            "..",
            "../x",
            "x/../y",
            "a\0b",
            "a b",
            "ä",
            "a\\b",
            "%2e",
            &"x".repeat(257),
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
        assert!(is_valid_prefix(""));
        assert!(is_valid_prefix("note/"));
        assert!(!is_valid_prefix("\0"));
        assert!(!is_valid_prefix(&"x".repeat(257)));
    }

    #[test]
    fn conditions() {
        assert!(condition_holds(Condition::Always, None));
        assert!(condition_holds(Condition::IfAbsent, None));
        assert!(!condition_holds(Condition::IfAbsent, Some(1)));
        assert!(condition_holds(Condition::IfRevision(3), Some(3)));
        assert!(!condition_holds(Condition::IfRevision(3), Some(4)));
        assert!(!condition_holds(Condition::IfRevision(3), None));
    }
}
