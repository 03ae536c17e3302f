//! `[[bootstrap.people]]`: the staff (and test patients) created at start-up.

use std::collections::HashMap;

use tillit_domain::people::NewPerson;
use tillit_domain::{HsaId, PersonName, Personnummer, Role};

/// One `[[bootstrap.people]]` entry, read field by field.
#[derive(Debug, Clone)]
pub(super) struct BootstrapPerson {
    role: String,
    personnummer: String,
    given_name: String,
    family_name: String,
    hsa_id: Option<String>,
}

const BOOTSTRAP_KEYS: [&str; 5] = [
    "role",
    "personnummer",
    "given_name",
    "family_name",
    "hsa_id",
];
/// The keys an entry must have (`hsa_id` is optional, for staff).
const REQUIRED_KEYS: [&str; 4] = ["role", "personnummer", "given_name", "family_name"];

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
                REQUIRED_KEYS.join(", ")
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
        // Ok(None): absent; Err(()): present but not a string.
        let mut optional = |name: &str| match entry.get(name) {
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => {
                issues.push(format!(
                    "{key}.{name}: expected a string, found {}",
                    other.type_str()
                ));
                Err(())
            }
            None => Ok(None),
        };
        let (role, pnr, given, family, hsa_id) = (
            optional("role"),
            optional("personnummer"),
            optional("given_name"),
            optional("family_name"),
            optional("hsa_id"),
        );
        let mut required = |name: &str, value: Result<Option<String>, ()>| match value {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                issues.push(format!("{key}.{name}: missing; this key is required"));
                None
            }
            Err(()) => None,
        };
        let (role, pnr, given, family) = (
            required("role", role),
            required("personnummer", pnr),
            required("given_name", given),
            required("family_name", family),
        );
        if let (Some(role), Some(personnummer), Some(given_name), Some(family_name), Ok(hsa_id)) =
            (role, pnr, given, family, hsa_id)
        {
            out.push(BootstrapPerson {
                role,
                personnummer,
                given_name,
                family_name,
                hsa_id,
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
    let mut seen_hsa = HashMap::new();
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
        let hsa_id = match &p.hsa_id {
            None => Ok(None),
            Some(_) if role.is_some_and(|r| !r.is_staff()) => {
                issues.push(format!(
                    "{key}.hsa_id: only staff (clinician, administrator) have an HSA-id"
                ));
                Err(())
            }
            Some(h) => HsaId::parse(h)
                .map(Some)
                .map_err(|e| issues.push(format!("{key}.hsa_id: {e}"))),
        };
        if let (Some(role), Some(pnr), Some(given_name), Some(family_name), Ok(hsa_id)) =
            (role, pnr, given, family, hsa_id)
        {
            if let Some(j) = seen.insert(pnr.clone(), i) {
                issues.push(format!(
                    "{key}.personnummer: the same person as bootstrap.people[{j}]"
                ));
            }
            if let Some(j) = hsa_id.as_ref().and_then(|h| seen_hsa.insert(h.clone(), i)) {
                issues.push(format!(
                    "{key}.hsa_id: the same HSA-id as bootstrap.people[{j}]"
                ));
            }
            people.push(NewPerson {
                role,
                personnummer: pnr,
                given_name,
                family_name,
                hsa_id,
            });
        }
    }
    people
}
