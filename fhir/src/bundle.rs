//! Bundles Tillit writes: search results. Entries are resources already
//! written as JSON, placed as they are (`RawValue`), so a Bundle costs no
//! second (de)serialisation and no serde code for every resource type.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::outcome::FhirError;

/// Why an entry is in a search result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// It matched the search.
    Match,
    /// `_include` or `_revinclude` brought it.
    Include,
}

/// One entry: where the resource lives, and the resource as JSON.
#[derive(Debug, Clone)]
pub struct Entry {
    pub full_url: String,
    pub resource: String,
    pub mode: Mode,
}

/// A search result: `total` matches, this page's entries, and links.
#[derive(Debug, Clone)]
pub struct SearchSet {
    /// The number of matches in all pages (not counting included ones).
    pub total: usize,
    pub self_url: String,
    pub next_url: Option<String>,
    pub entries: Vec<Entry>,
}

#[derive(Serialize)]
struct Link<'a> {
    relation: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct Search {
    mode: Mode,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutEntry<'a> {
    full_url: &'a str,
    resource: &'a RawValue,
    search: Search,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutBundle<'a> {
    resource_type: &'static str,
    r#type: &'static str,
    total: usize,
    link: Vec<Link<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<OutEntry<'a>>,
}

/// The `searchset` Bundle, as JSON.
pub fn searchset(s: &SearchSet) -> Result<String, FhirError> {
    let raws = s
        .entries
        .iter()
        .map(|e| RawValue::from_string(e.resource.clone()).map_err(|_| FhirError::Internal))
        .collect::<Result<Vec<_>, _>>()?;
    let mut link = vec![Link {
        relation: "self",
        url: &s.self_url,
    }];
    if let Some(next) = &s.next_url {
        link.push(Link {
            relation: "next",
            url: next,
        });
    }
    let out = OutBundle {
        resource_type: "Bundle",
        r#type: "searchset",
        total: s.total,
        link,
        entry: s
            .entries
            .iter()
            .zip(&raws)
            .map(|(e, raw)| OutEntry {
                full_url: &e.full_url,
                resource: raw,
                search: Search { mode: e.mode },
            })
            .collect(),
    };
    serde_json::to_string(&out).map_err(|_| FhirError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_placed_as_written_with_their_mode() {
        let b = searchset(&SearchSet {
            total: 3,
            self_url: "https://h/fhir/R4/Patient?name=x".into(),
            next_url: Some("https://h/fhir/R4/Patient?name=x&_offset=1".into()),
            entries: vec![Entry {
                full_url: "https://h/fhir/R4/Patient/1".into(),
                resource: r#"{"resourceType":"Patient","id":"1"}"#.into(),
                mode: Mode::Match,
            }],
        })
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["type"], "searchset");
        assert_eq!(v["total"], 3);
        assert_eq!(v["link"][1]["relation"], "next");
        assert_eq!(v["entry"][0]["resource"]["id"], "1");
        assert_eq!(v["entry"][0]["search"]["mode"], "match");
    }
}
