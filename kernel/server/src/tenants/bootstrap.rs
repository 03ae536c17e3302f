//! `[[bootstrap.people]]`: the staff (and test patients) created at start-up.

use std::collections::HashMap;

use tillit_domain::people::NewPerson;
use tillit_domain::{PersonName, Personnummer, Role};

/// One `[[bootstrap.people]]` entry, read field by field.
#[derive(Debug, Clone)]
pub(super) struct BootstrapPerson {
    role: String,
    personnummer: String,
    given_name: String,
    family_name: String,
}

const BOOTSTRAP_KEYS: [&str; 4] = ["role", "personnummer", "given_name", "family_name"];

/// Reads `[[bootstrap.people]]` by hand, so that each entry's every problem
/// is reported with its index.
pub(super) fn read_bootstrap(
    table: &toml::Table,
    issues: &mut Vec<String>,
) -> Vec<BootstrapPerson> {
    let Some(bootstrap) = table.get("bootstrap") else {
        return Vec::new();
    };
    let Some(people) = bootstrap.as_table().and_then(|t| {
        for k in t.keys().filter(|k| *k != "people") {
            issues.push(format!(
                "bootstrap.{k}: unknown key; expected one of: people"
            ));
        }
        t.get("people")
    }) else {
        issues.push("bootstrap: expected a list of [[bootstrap.people]]".into());
        return Vec::new();
    };
    let Some(list) = people.as_array() else {
        issues.push("bootstrap.people: expected a list of [[bootstrap.people]]".into());
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let key = format!("bootstrap.people[{i}]");
        let Some(entry) = entry.as_table() else {
            issues.push(format!(
                "{key}: expected a table with {}",
                BOOTSTRAP_KEYS.join(", ")
            ));
            continue;
        };
        for k in entry
            .keys()
            .filter(|k| !BOOTSTRAP_KEYS.contains(&k.as_str()))
        {
            issues.push(format!(
                "{key}.{k}: unknown key; expected one of: {}",
                BOOTSTRAP_KEYS.join(", ")
            ));
        }
        let mut field = |name: &str| match entry.get(name) {
            Some(toml::Value::String(s)) => Some(s.clone()),
            Some(other) => {
                issues.push(format!(
                    "{key}.{name}: expected a string, found {}",
                    other.type_str()
                ));
                None
            }
            None => {
                issues.push(format!("{key}.{name}: missing; this key is required"));
                None
            }
        };
        let (role, pnr, given, family) = (
            field("role"),
            field("personnummer"),
            field("given_name"),
            field("family_name"),
        );
        if let (Some(role), Some(personnummer), Some(given_name), Some(family_name)) =
            (role, pnr, given, family)
        {
            out.push(BootstrapPerson {
                role,
                personnummer,
                given_name,
                family_name,
            });
        }
    }
    out
}

/// The entries as people to create: each field checked for meaning, and
/// no person listed twice.
pub(super) fn bootstrap_people(
    bootstrap: Vec<BootstrapPerson>,
    issues: &mut Vec<String>,
) -> Vec<NewPerson> {
    let mut people = Vec::new();
    let mut seen = HashMap::new();
    for (i, p) in bootstrap.into_iter().enumerate() {
        let key = format!("bootstrap.people[{i}]");
        let pnr = Personnummer::parse(&p.personnummer)
            .map_err(|e| {
                issues.push(format!(
                    "{key}.personnummer: expected a valid personnummer: {e}"
                ))
            })
            .ok();
        let given = PersonName::parse(&p.given_name)
            .map_err(|e| issues.push(format!("{key}.given_name: {e}")))
            .ok();
        let family = PersonName::parse(&p.family_name)
            .map_err(|e| issues.push(format!("{key}.family_name: {e}")))
            .ok();
        let role = Role::parse(&p.role);
        if role.is_none() {
            issues.push(format!(
                "{key}.role: expected one of: clinician, administrator, patient, found \"{}\"",
                p.role
            ));
        }
        if let (Some(role), Some(pnr), Some(given_name), Some(family_name)) =
            (role, pnr, given, family)
        {
            if let Some(j) = seen.insert(pnr.clone(), i) {
                issues.push(format!(
                    "{key}.personnummer: the same person as bootstrap.people[{j}]"
                ));
            }
            people.push(NewPerson {
                role,
                personnummer: pnr,
                given_name,
                family_name,
            });
        }
    }
    people
}
