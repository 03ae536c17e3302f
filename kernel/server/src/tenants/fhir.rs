//! `[[fhir.clients]]`: the journal systems (EHRs) that may use the
//! tenant's FHIR API, each with its public keys and the most it may be
//! granted.
//!
//! ```toml
//! [[fhir.clients]]
//! id = "cosmic-region"
//! jwks_file = "assets/cosmic.jwks.json"   # or: jwks = '{"keys": [...]}'
//! scopes = ["system/Patient.cruds", "system/Appointment.cruds"]
//! ```

use std::path::Path;

use tillit_fhir::smart::{Client, Scopes};

const CLIENT_KEYS: [&str; 4] = ["id", "jwks", "jwks_file", "scopes"];

/// Reads `[[fhir.clients]]`, reporting each problem with its key; `dir`
/// is the tenants directory, which `jwks_file` is relative to.
pub(super) fn fhir_clients(
    table: &toml::Table,
    dir: &Path,
    issues: &mut Vec<String>,
) -> Vec<Client> {
    let Some(fhir) = table.get("fhir") else {
        return Vec::new();
    };
    let Some(fhir) = fhir.as_table() else {
        issues.push("fhir: expected a table with [[fhir.clients]]".into());
        return Vec::new();
    };
    for k in fhir.keys().filter(|k| *k != "clients") {
        issues.push(format!("fhir.{k}: unknown key; expected one of: clients"));
    }
    let Some(list) = fhir.get("clients").and_then(toml::Value::as_array) else {
        if fhir.contains_key("clients") {
            issues.push("fhir.clients: expected a list of [[fhir.clients]]".into());
        }
        return Vec::new();
    };
    let mut out: Vec<Client> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let key = format!("fhir.clients[{i}]");
        let Some(entry) = entry.as_table() else {
            issues.push(format!(
                "{key}: expected a table with {}",
                CLIENT_KEYS.join(", ")
            ));
            continue;
        };
        for k in entry.keys().filter(|k| !CLIENT_KEYS.contains(&k.as_str())) {
            issues.push(format!(
                "{key}.{k}: unknown key; expected one of: {}",
                CLIENT_KEYS.join(", ")
            ));
        }
        let Some(id) = entry.get("id").and_then(toml::Value::as_str) else {
            issues.push(format!("{key}.id: expected the client id (a string)"));
            continue;
        };
        if id.is_empty() || id.len() > 128 || out.iter().any(|c| c.id == id) {
            issues.push(format!(
                "{key}.id: expected a unique client id of 1–128 characters, found \"{id}\""
            ));
            continue;
        }
        let jwks = match (
            entry.get("jwks").and_then(toml::Value::as_str),
            entry.get("jwks_file").and_then(toml::Value::as_str),
        ) {
            (Some(inline), None) => inline.to_owned(),
            (None, Some(file)) => match std::fs::read_to_string(dir.join(file)) {
                Ok(text) => text,
                Err(e) => {
                    issues.push(format!(
                        "{key}.jwks_file: cannot read {}: {e}",
                        dir.join(file).display()
                    ));
                    continue;
                }
            },
            _ => {
                issues.push(format!(
                    "{key}: expected exactly one of `jwks` (the JWK Set as a string) or `jwks_file`"
                ));
                continue;
            }
        };
        let scopes = match entry.get("scopes") {
            Some(toml::Value::Array(list)) => {
                let words: Vec<&str> = list.iter().filter_map(toml::Value::as_str).collect();
                if words.len() != list.len() {
                    issues.push(format!("{key}.scopes: expected a list of strings"));
                    continue;
                }
                words.join(" ")
            }
            _ => {
                issues.push(format!(
                    "{key}.scopes: expected a list of SMART system scopes, e.g. [\"system/Appointment.cruds\"]"
                ));
                continue;
            }
        };
        let allowed = match Scopes::parse_strict(&scopes) {
            Ok(s) => s,
            Err(e) => {
                issues.push(format!("{key}.scopes: {e}"));
                continue;
            }
        };
        match Client::new(id.to_owned(), &jwks, allowed) {
            Ok(c) => out.push(c),
            Err(e) => issues.push(format!("{key}.jwks: {e}")),
        }
    }
    out
}
