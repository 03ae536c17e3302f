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
                for err in e {
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
