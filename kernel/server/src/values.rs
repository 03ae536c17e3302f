//! Value types that config files are written in, with the errors a person
//! editing the file can act on: which file, which key, what was expected.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Unexpected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tillit_domain::time::{format_duration, parse_duration};

/// A duration written as `"30m"`, `"2h"` or `"90d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigDuration(pub Duration);

/// Deserialises a string through `parse`, so that a value of the wrong type
/// gets the same "expected …" as a malformed string.
struct StrVisitor<T> {
    expecting: &'static str,
    parse: fn(&str) -> Option<T>,
}

impl<T> de::Visitor<'_> for StrVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        (self.parse)(s).ok_or_else(|| E::invalid_value(Unexpected::Str(s), &self.expecting))
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor {
            expecting: "a duration such as \"30m\", \"2h\" or \"90d\"",
            parse: |s| parse_duration(s).ok().map(ConfigDuration),
        })
    }
}

impl Serialize for ConfigDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

/// A colour written as `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Color(String);

impl Color {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Color {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor {
            expecting: "a colour as #rrggbb",
            parse: |s| {
                let hex = s.len() == 7
                    && s.starts_with('#')
                    && s[1..].chars().all(|c| c.is_ascii_hexdigit());
                hex.then(|| Color(s.to_ascii_lowercase()))
            },
        })
    }
}

/// The languages the portal is translated into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Sv,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Sv, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Language::Sv => "sv",
            Language::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == s)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Turns a figment error into one line: `<file>: <key>: <what was wrong>`.
/// `default_source` names the origin when figment has none to give.
pub fn describe_figment_error(e: &figment::Error, default_source: &str) -> String {
    use figment::error::Kind;
    let path = e.path.join(".");
    // The full key, with the field that an unknown- or missing-key error names.
    let key = match &e.kind {
        Kind::UnknownField(field, _) => join_key(&path, field),
        Kind::MissingField(field) => join_key(&path, field),
        _ => path,
    };
    let from_env = e
        .metadata
        .as_ref()
        .is_some_and(|m| m.name.to_lowercase().contains("environment"));
    let source = if from_env {
        format!(
            "environment variable TILLIT_{}",
            key.replace('.', "__").to_uppercase()
        )
    } else {
        match e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
            Some(figment::Source::File(p)) => relative_to_cwd(p),
            Some(other) => other.to_string(),
            None => default_source.to_owned(),
        }
    };
    let what = match &e.kind {
        Kind::UnknownField(_, expected) => {
            format!("unknown key; expected one of: {}", expected.join(", "))
        }
        Kind::MissingField(_) => "missing; this key is required".to_owned(),
        Kind::InvalidType(actual, expected) => format!("expected {expected}, found {actual}"),
        Kind::InvalidValue(actual, expected) => format!("expected {expected}, found {actual}"),
        Kind::UnknownVariant(v, expected) => {
            format!("expected one of: {}, found \"{v}\"", expected.join(", "))
        }
        Kind::InvalidLength(n, expected) => format!("expected {expected}, found {n} elements"),
        Kind::DuplicateField(f) => format!("the key {f} is given twice"),
        Kind::Message(m) => m.clone(),
        other => other.to_string(),
    };
    if key.is_empty() {
        format!("{source}: {what}")
    } else {
        format!("{source}: {key}: {what}")
    }
}

/// A path as the person running the command would type it: relative to the
/// working directory when it is inside it.
pub fn relative_to_cwd(p: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(cwd).ok().map(|r| r.display().to_string()))
        .unwrap_or_else(|| p.display().to_string())
}

/// `key.field`, unless figment already ended the path with the field.
fn join_key(key: &str, field: &str) -> String {
    if key.is_empty() || key == field || key.ends_with(&format!(".{field}")) {
        if key.is_empty() {
            field.to_owned()
        } else {
            key.to_owned()
        }
    } else {
        format!("{key}.{field}")
    }
}
