//! Hostile: storage keys crafted to escape the plugin's namespace: path
//! traversal, absolute paths, NUL and other control bytes, very long keys,
//! percent- and backslash-encodings, and names that look like another
//! scope's or tenant's prefix.
//!
//! `POST /escape` writes a marker under every crafted key in both scopes,
//! reads it back, and lists with crafted prefixes; it answers with what
//! each attempt returned: `[{op, scope, key, outcome}]`, the key escaped
//! and cut to 80 characters. A host test asserts that every key breaking
//! the documented rules is `invalid`, and that the valid-looking ones
//! (`tenant/x`, `caller/p_victim/note`) landed inside this plugin's own
//! space and nowhere else. `key_index` lets a test find a key by position
//! in [`crafted_keys`].

use serde_json::{Value, json};
use tillit_plugin_sdk::storage::{self, Condition};
use tillit_plugin_sdk::{Error, Plugin, Request, Response, Result, Scope};

#[derive(Debug)]
pub struct Escape;

tillit_plugin_sdk::register!(Escape);

/// The keys tried, with whether the documented key rules allow them.
pub fn crafted_keys() -> Vec<(String, bool)> {
    let mut keys: Vec<(String, bool)> = [
        ("../x", false),
        ("../../other-tenant/notes/caller/p_victim/note", false),
        ("x/../../y", false),
        ("notes/../notes", false),
        ("/abs", false),
        ("/etc/passwd", false),
        ("a/", false),
        ("a//b", false),
        (".", false),
        ("..", false),
        ("", false),
        ("a\0b", false),
        ("\0", false),
        ("a\nb", false),
        ("x\u{202e}txt.exe", false),
        ("ä", false),
        ("..\\..\\x", false),
        ("C:\\x", false),
        ("%2e%2e/x", false),
        ("%00", false),
        ("a b", false),
        // Valid names that look like someone else's space: they must stay
        // plain names inside this plugin's own.
        ("tenant/x", true),
        ("caller/p_victim/note", true),
        ("demo:notes:caller:p_victim", true),
        ("notes/note/p_tove", true),
        ("ok/control", true),
    ]
    .iter()
    .map(|(k, ok)| ((*k).to_owned(), *ok))
    .collect();
    keys.push(("x".repeat(256), true));
    keys.push(("x".repeat(257), false));
    keys.push(("x".repeat(1 << 20), false));
    keys
}

fn shown(key: &str) -> String {
    let escaped: String = key
        .chars()
        .take(80)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if key.chars().count() > 80 {
        format!("{escaped}… ({} bytes)", key.len())
    } else {
        escaped
    }
}

fn outcome<T>(r: &Result<T>) -> Value {
    match r {
        Ok(_) => json!("ok"),
        Err(Error::NotFound) => json!("not-found"),
        Err(Error::Denied) => json!("denied"),
        Err(Error::Conflict) => json!("conflict"),
        Err(Error::QuotaExceeded) => json!("quota-exceeded"),
        Err(Error::TooLarge) => json!("too-large"),
        Err(Error::Invalid(_)) => json!("invalid"),
        Err(Error::Internal(_)) => json!("internal"),
    }
}

impl Plugin for Escape {
    fn on_request(request: Request) -> Result<Response> {
        if request.path != "/escape" {
            return Ok(Response::not_found());
        }
        let mut report = Vec::new();
        for (scope, scope_name) in [(Scope::Tenant, "tenant"), (Scope::Caller, "caller")] {
            for (index, (key, allowed)) in crafted_keys().into_iter().enumerate() {
                let marker = format!("written by hostile-escape under key #{index}");
                let set = storage::set(scope, &key, marker.as_bytes(), Condition::Always);
                let get = storage::get(scope, &key);
                let delete_other = storage::delete(scope, &key, Condition::IfRevision(u64::MAX));
                for (op, result) in [
                    ("set", outcome(&set)),
                    ("get", outcome(&get)),
                    ("delete", outcome(&delete_other)),
                ] {
                    report.push(json!({
                        "op": op, "scope": scope_name, "key_index": index,
                        "key": shown(&key), "allowed": allowed, "outcome": result,
                    }));
                }
            }
            for prefix in ["../", "/", "..", "\0", "caller/", "tenant/", ""] {
                let listed = storage::list(scope, prefix, None, 1000);
                report.push(json!({
                    "op": "list", "scope": scope_name, "key": shown(prefix),
                    "outcome": outcome(&listed),
                    "keys": listed.map(|p| p.keys.len()).unwrap_or(0),
                }));
            }
            // A cursor is a key too: one from "outside" must not move the
            // listing outside.
            let listed = storage::list(scope, "", Some("../../other-tenant"), 1000);
            report.push(json!({
                "op": "list-cursor", "scope": scope_name, "key": "../../other-tenant",
                "outcome": outcome(&listed),
            }));
        }
        Ok(Response::json(&report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_agrees_with_which_keys_are_allowed() {
        for (key, allowed) in crafted_keys() {
            assert_eq!(storage::is_valid_key(&key), allowed, "{}", shown(&key));
        }
    }
}
