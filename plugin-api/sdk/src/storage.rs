//! Capability `storage`: small documents by key, namespaced by the host per
//! (tenant, plugin), and per person for [`Scope::Caller`]. Manifest name:
//! `storage`.
//!
//! - [`Scope::Tenant`]: shared by everyone in the tenant (for this plugin);
//!   the plugin decides who may read what.
//! - [`Scope::Caller`]: private to the calling person. The host derives the
//!   owner from the authenticated caller, so no key a plugin builds can
//!   reach another person's private documents.
//!
//! Keys are names, not paths: 1 to [`MAX_KEY_LEN`] bytes of `A-Z a-z 0-9 -
//! _ . : @ +`, with `/` between non-empty segments that are not `.` or
//! `..`. Build them with [`key`], which checks each segment, so a person
//! reference or visit id from the host can go straight in.
//!
//! Every document has a [`Revision`] that the host increases on each write.
//! Pass [`Condition::IfRevision`] with the revision you read to update
//! without overwriting someone else's write (you get [`Error::Conflict`]),
//! or [`Condition::IfAbsent`] to create.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::bindings::tillit::plugin::storage::{Condition, Entry, Page, Revision};
use crate::{Error, Result, Scope, Timestamp};

#[cfg(target_arch = "wasm32")]
use crate::bindings::tillit::plugin::storage as host;
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::imports::storage as host;

/// The longest key the host accepts, in bytes.
pub const MAX_KEY_LEN: usize = 256;

/// How many keys [`keys`] asks for per call.
const PAGE: u32 = 100;

/// Reads a document; `None` if the key does not exist.
pub fn get(scope: Scope, key: &str) -> Result<Option<Entry>> {
    host::get(scope, key)
}

/// Writes a document if `condition` holds; returns its new revision.
pub fn set(scope: Scope, key: &str, value: &[u8], condition: Condition) -> Result<Revision> {
    host::set(scope, key, value, condition)
}

/// Deletes a document if `condition` holds; returns whether it existed.
pub fn delete(scope: Scope, key: &str, condition: Condition) -> Result<bool> {
    host::delete(scope, key, condition)
}

/// One page of the keys starting with `prefix`, in byte order.
pub fn list(scope: Scope, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page> {
    host::list(scope, prefix, cursor, limit)
}

/// All keys starting with `prefix`, fetched a page at a time.
pub fn keys(scope: Scope, prefix: &str) -> Keys {
    Keys {
        scope,
        prefix: prefix.to_owned(),
        cursor: None,
        buffered: Vec::new().into_iter(),
        done: false,
    }
}

/// The iterator of [`keys`].
#[derive(Debug)]
pub struct Keys {
    scope: Scope,
    prefix: String,
    cursor: Option<String>,
    buffered: std::vec::IntoIter<String>,
    done: bool,
}

impl Iterator for Keys {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(key) = self.buffered.next() {
                return Some(Ok(key));
            }
            if self.done {
                return None;
            }
            match list(self.scope, &self.prefix, self.cursor.as_deref(), PAGE) {
                Ok(page) => {
                    self.done = page.cursor.is_none();
                    self.cursor = page.cursor;
                    self.buffered = page.keys.into_iter();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// A stored JSON document, deserialised.
#[derive(Debug, Clone, PartialEq)]
pub struct Document<T> {
    pub value: T,
    pub revision: Revision,
    pub updated_at: Timestamp,
}

/// Reads a JSON document. A document that does not deserialise as `T` is
/// an [`Error::Internal`] (the plugin wrote something else there).
pub fn get_json<T: DeserializeOwned>(scope: Scope, key: &str) -> Result<Option<Document<T>>> {
    let Some(entry) = get(scope, key)? else {
        return Ok(None);
    };
    let value = serde_json::from_slice(&entry.value)
        .map_err(|e| Error::internal(format!("stored document {key:?}: {e}")))?;
    Ok(Some(Document {
        value,
        revision: entry.revision,
        updated_at: entry.updated_at,
    }))
}

/// Writes `value` as JSON if `condition` holds; returns the new revision.
pub fn set_json<T: Serialize + ?Sized>(
    scope: Scope,
    key: &str,
    value: &T,
    condition: Condition,
) -> Result<Revision> {
    let bytes =
        serde_json::to_vec(value).map_err(|e| Error::internal(format!("document {key:?}: {e}")))?;
    set(scope, key, &bytes, condition)
}

/// Joins `segments` with `/` into a key, or [`Error::Invalid`] naming the
/// first segment that is empty, `.` or `..`, contains `/` or a character
/// outside `A-Z a-z 0-9 - _ . : @ +`, or makes the key too long.
pub fn key(segments: &[&str]) -> Result<String> {
    if segments.is_empty() {
        return Err(Error::invalid("a key needs at least one segment"));
    }
    for segment in segments {
        if let Err(reason) = check_segment(segment) {
            return Err(Error::invalid(format!(
                "key segment {}: {reason}",
                shown(segment)
            )));
        }
    }
    let key = segments.join("/");
    if key.len() > MAX_KEY_LEN {
        return Err(Error::invalid(format!(
            "a key is at most {MAX_KEY_LEN} bytes, this one is {}",
            key.len()
        )));
    }
    Ok(key)
}

/// Whether the host accepts `key`: the rules of [`key`] for a whole key.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.split('/').all(|s| check_segment(s).is_ok())
}

fn check_segment(segment: &str) -> core::result::Result<(), &'static str> {
    if segment.is_empty() {
        return Err("is empty");
    }
    if segment == "." || segment == ".." {
        return Err("is a relative path");
    }
    if !segment.bytes().all(is_key_byte) {
        return Err("has a character outside A-Z a-z 0-9 - _ . : @ +");
    }
    Ok(())
}

pub(crate) fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'@' | b'+')
}

/// A segment as it may appear in an error message: printable and short.
fn shown(segment: &str) -> String {
    let mut s: String = segment
        .chars()
        .take(40)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if segment.chars().count() > 40 {
        s.push('…');
    }
    format!("\"{s}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_checked_segments() {
        assert_eq!(key(&["note", "p_3kf9"]).as_deref(), Ok("note/p_3kf9"));
        assert_eq!(
            key(&["a.b", "c:d@e+f", "G-H_1"]).as_deref(),
            Ok("a.b/c:d@e+f/G-H_1")
        );
    }

    #[test]
    fn keys_cannot_escape_their_namespace() {
        for bad in [
            &["..", "x"][..],
            &["."],
            &[""],
            &["a/b"],
            &["/etc"],
            &["a\0b"],
            &["ä"],
            &["a b"],
            &["a\\..\\b"],
            &["%2e%2e"],
        ] {
            assert!(
                matches!(key(bad), Err(Error::Invalid(_))),
                "{bad:?} was accepted"
            );
        }
        let long = "x".repeat(MAX_KEY_LEN + 1);
        assert!(matches!(key(&[&long]), Err(Error::Invalid(_))));
        assert!(key(&[&"x".repeat(MAX_KEY_LEN)]).is_ok());
    }

    #[test]
    fn whole_keys_follow_the_same_rules() {
        assert!(is_valid_key("note/p_1"));
        for bad in ["", "/a", "a/", "a//b", "a/../b", "../a", "a/.", "a\0"] {
            assert!(!is_valid_key(bad), "{bad:?} was accepted");
        }
    }

    #[test]
    fn error_messages_do_not_echo_long_or_binary_input() {
        let Err(Error::Invalid(message)) = key(&[&format!("{}\0", "y".repeat(1000))]) else {
            panic!("accepted");
        };
        assert!(message.len() < 120, "{message}");
        assert!(!message.contains('\0'));
    }
}
