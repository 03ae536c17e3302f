//! Capability `blobs`: larger binary objects (attachments, pictures) with
//! ids the host assigns, so no name a plugin makes up can reach outside its
//! space. Keep the id in a [`crate::storage`] document. Manifest name:
//! `blobs`.
//!
//! A blob is read and written whole; [`max_size`] says how large it may be.

pub use crate::bindings::tillit::plugin::blobs::{Blob, BlobId, BlobInfo};
use crate::{Result, Scope};

#[cfg(target_arch = "wasm32")]
use crate::bindings::tillit::plugin::blobs as host;
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::imports::blobs as host;

/// The largest blob the host accepts from this plugin, in bytes.
pub fn max_size() -> u64 {
    host::max_size()
}

/// Stores a new blob of `content_type` (`type/subtype`, such as
/// `application/pdf`).
pub fn put(scope: Scope, content_type: &str, data: &[u8]) -> Result<BlobInfo> {
    host::put(scope, content_type, data)
}

/// Reads a blob with its bytes.
pub fn get(scope: Scope, id: &str) -> Result<Blob> {
    host::get(scope, id)
}

/// What is known about a blob, without its bytes.
pub fn info(scope: Scope, id: &str) -> Result<BlobInfo> {
    host::info(scope, id)
}

/// Deletes a blob.
pub fn delete(scope: Scope, id: &str) -> Result<()> {
    host::delete(scope, id)
}
