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

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(ConfigDuration).map_err(|_| {
            de::Error::invalid_value(
                Unexpected::Str(&s),
                &"a duration such as \"30m\", \"2h\" or \"90d\"",
            )
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
        let s = String::deserialize(d)?;
        let ok =
            s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit());
        if ok {
            Ok(Color(s.to_ascii_lowercase()))
        } else {
            Err(de::Error::invalid_value(
                Unexpected::Str(&s),
                &"a colour as #rrggbb",
            ))
        }
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
    let source = e
        .metadata
        .as_ref()
        .and_then(|m| {
            m.source.as_ref().map(|s| match s {
                figment::Source::File(p) => p.display().to_string(),
                other => other.to_string(),
            })
        })
        .map(|s| {
            if let Some(m) = &e.metadata {
                if m.name.contains("environment") {
                    let var = format!("TILLIT_{}", e.path.join("__").to_uppercase());
                    return format!("environment variable {var}");
                }
            }
            s
        })
        .or_else(|| {
            e.metadata
                .as_ref()
                .filter(|m| m.name.contains("environment"))
                .map(|_| {
                    format!(
                        "environment variable TILLIT_{}",
                        e.path.join("__").to_uppercase()
                    )
                })
        })
        .unwrap_or_else(|| default_source.to_owned());
    let key = e.path.join(".");
    let what = match &e.kind {
        Kind::UnknownField(field, expected) => {
            let key = if key.is_empty() {
                field.clone()
            } else {
                format!("{key}.{field}")
            };
            return format!(
                "{source}: {key}: unknown key; expected one of: {}",
                expected.join(", ")
            );
        }
        Kind::MissingField(field) => {
            let key = if key.is_empty() {
                field.to_string()
            } else {
                format!("{key}.{field}")
            };
            return format!("{source}: {key}: missing; this key is required");
        }
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
