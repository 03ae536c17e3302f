//! Reading a tenant file key by key, so that one bad value does not hide
//! the next; the keys each section may have.

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::de::DeserializeOwned;

use crate::values::describe_figment_error;

/// The keys a tenant file may have, by section ("" is the top level).
const KEYS: [(&str, &[&str]); 5] = [
    (
        "",
        &[
            "id",
            "display_name",
            "hosts",
            "theme",
            "brand",
            "features",
            "plugins",
            "booking",
            "sms",
            "session",
            "data_retention",
            "default_language",
            "terms_version",
            "bootstrap",
            "fhir",
            "login",
        ],
    ),
    (
        "brand",
        &["product_name", "primary_color", "accent_color", "logo"],
    ),
    (
        "booking",
        &[
            "require_confirmation",
            "sms_sender",
            "reminder_lead",
            "reasons",
            "max_participants",
        ],
    ),
    ("sms", &["provider", "api_url", "username", "password_file"]),
    ("session", &["idle_timeout", "absolute_lifetime"]),
];

/// Reads one key at a time, so one bad value does not hide the next, and
/// records every problem.
///
/// The file's issues live here until [`Reader::finish`] consumes the
/// reader, so no key can be read (and its problem lost) after they are
/// collected.
pub(super) struct Reader<'a> {
    figment: Figment,
    table: &'a toml::Table,
    file: String,
    issues: Vec<String>,
}

impl<'a> Reader<'a> {
    /// A reader of the file named `file`, whose `text` parsed as `table`.
    pub(super) fn new(text: &str, table: &'a toml::Table, file: String) -> Self {
        Self {
            figment: Figment::from(Toml::string(text)),
            table,
            file,
            issues: Vec::new(),
        }
    }

    /// The whole file, for sections read by hand.
    pub(super) fn table(&self) -> &'a toml::Table {
        self.table
    }

    /// Records a problem found in a value that was read.
    pub(super) fn issue(&mut self, message: String) {
        self.issues.push(message);
    }

    /// The list of problems, for checks that record several.
    pub(super) fn issues(&mut self) -> &mut Vec<String> {
        &mut self.issues
    }

    /// Every problem recorded, in the order found.
    pub(super) fn finish(self) -> Vec<String> {
        self.issues
    }

    fn present(&self, key: &str) -> bool {
        let mut value: Option<&toml::Value> = None;
        let mut table = Some(self.table);
        for part in key.split('.') {
            value = table.and_then(|t| t.get(part));
            table = value.and_then(toml::Value::as_table);
        }
        value.is_some()
    }

    /// The value at `key`, or `None` (with an issue if it is there but invalid).
    pub(super) fn get<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        if !self.present(key) {
            return None;
        }
        match self.figment.extract_inner::<T>(key) {
            Ok(v) => Some(v),
            Err(e) => {
                for mut err in e {
                    key_first(&mut err.path, key);
                    let line = describe_figment_error(&err, &self.file);
                    // The file name is added once per issue, by the caller.
                    let prefix = format!("{}: ", self.file);
                    self.issues.push(
                        line.strip_prefix(&prefix)
                            .map(str::to_owned)
                            .unwrap_or(line),
                    );
                }
                None
            }
        }
    }

    pub(super) fn require<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        if !self.present(key) {
            self.issues
                .push(format!("{key}: missing; this key is required"));
            return None;
        }
        self.get(key)
    }

    pub(super) fn unknown_keys(&mut self) {
        for (section, known) in KEYS {
            let table = if section.is_empty() {
                Some(self.table)
            } else {
                self.table.get(section).and_then(toml::Value::as_table)
            };
            for key in table.into_iter().flat_map(|t| t.keys()) {
                if !known.contains(&key.as_str()) {
                    let full = if section.is_empty() {
                        key.clone()
                    } else {
                        format!("{section}.{key}")
                    };
                    self.issues.push(format!(
                        "{full}: unknown key; expected one of: {}",
                        known.join(", ")
                    ));
                }
            }
        }
    }
}

/// figment names an error inside a value before the key it was asked for
/// (`0.hosts`); a message names the key first and a list item by its
/// index (`hosts[0]`), as the bootstrap entries are named.
fn key_first(path: &mut Vec<String>, key: &str) {
    let parts = key.split('.').count();
    if path.len() > parts
        && path[path.len() - parts..]
            .iter()
            .map(String::as_str)
            .eq(key.split('.'))
    {
        path.rotate_right(parts);
    }
    let mut named: Vec<String> = Vec::with_capacity(path.len());
    for part in path.drain(..) {
        match named.last_mut() {
            Some(last) if part.chars().all(|c| c.is_ascii_digit()) => {
                last.push_str(&format!("[{part}]"));
            }
            _ => named.push(part),
        }
    }
    *path = named;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: DeserializeOwned>(text: &str, key: &str) -> Vec<String> {
        let table: toml::Table = text.parse().unwrap();
        let mut r = Reader::new(text, &table, "t.toml".to_owned());
        r.get::<T>(key);
        r.finish()
    }

    #[test]
    fn a_bad_list_item_is_named_by_its_key_and_index() {
        assert_eq!(
            read::<Vec<String>>("hosts = [\"a.se\", 1]", "hosts"),
            ["hosts[1]: expected a string, found signed int `1`"]
        );
        assert_eq!(
            read::<Vec<String>>(
                "[plugins.chat]\ngrant = [\"log\", true]",
                "plugins.chat.grant"
            ),
            ["plugins.chat.grant[1]: expected a string, found bool true"]
        );
    }

    #[test]
    fn a_bad_value_is_named_by_its_key() {
        assert_eq!(
            read::<bool>(
                "[booking]\nrequire_confirmation = \"yes\"",
                "booking.require_confirmation"
            ),
            ["booking.require_confirmation: expected a boolean, found string \"yes\""]
        );
    }
}
