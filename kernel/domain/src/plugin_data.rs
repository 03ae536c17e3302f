//! Plugins' stored data: the words the plugin host (`tillit-plugins`) and
//! the data layer (`tillit-store`) share for it, defined once.
//!
//! A plugin keeps documents by key and blobs by a host-chosen id, in a
//! [`Space`] of its own in each tenant: shared in the tenant
//! ([`Owner::Tenant`], the API's `scope::tenant`), or private to one person
//! ([`Owner::Person`], `scope::caller`, by the reference the host derived
//! from the authenticated caller). Writes carry a [`Condition`] on the
//! key's revision; revisions increase with every write in a (tenant,
//! plugin), so a key deleted and created again never gets back a revision a
//! stale client still holds. Quotas are per (tenant, plugin), in bytes
//! ([`Usage`]); a write that does not grow the usage is always allowed.
//!
//! What a write or a delete came to ([`Written`], [`Deleted`], [`BlobPut`])
//! is a value, not an error: a conflict or a full quota is an answer the
//! plugin hears about, and nothing changed.

use crate::Timestamp;

/// The longest key, in bytes (fixed by the API).
pub const MAX_KEY_LEN: usize = 256;

/// Whose data, within one tenant: one plugin's, and whose in it. The
/// tenant is not here: whoever holds a `Space` already knows it (the
/// host from the call, the store from `Store::tenant`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Space {
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

impl Condition {
    /// Whether the condition holds for a key whose current revision is
    /// `current` (None: the key does not exist).
    pub fn holds(self, current: Option<u64>) -> bool {
        match (self, current) {
            (Condition::Always, _) | (Condition::IfAbsent, None) => true,
            (Condition::IfRevision(want), Some(have)) => want == have,
            _ => false,
        }
    }
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub value: Vec<u8>,
    pub revision: u64,
    pub updated_at: Timestamp,
}

/// What became of a write. Nothing changed unless `Revision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Written with this new revision.
    Revision(u64),
    /// The condition did not hold.
    Conflict,
    /// The (tenant, plugin) would go over its quota.
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

/// A blob without its bytes.
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
    /// It would take the (tenant, plugin) over its blob quota; not stored.
    QuotaExceeded,
}

/// The bytes one (tenant, plugin) uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Keys and values of documents.
    pub document_bytes: u64,
    /// Blob contents.
    pub blob_bytes: u64,
}

/// Whether `key` follows the API's rules: 1 to [`MAX_KEY_LEN`] bytes of
/// `A-Z a-z 0-9 - _ . : @ +`, with `/` between segments that are neither
/// empty nor `.` or `..`. A key is a name, never a path; being ASCII below
/// DEL, keys sort in byte order the same in every database.
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
        assert!(Condition::Always.holds(None));
        assert!(Condition::IfAbsent.holds(None));
        assert!(!Condition::IfAbsent.holds(Some(1)));
        assert!(Condition::IfRevision(3).holds(Some(3)));
        assert!(!Condition::IfRevision(3).holds(Some(4)));
        assert!(!Condition::IfRevision(3).holds(None));
    }
}
