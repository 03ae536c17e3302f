//! Bundles Tillit writes: search results and histories. Entries are resources already
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

/// Resources already written, to be placed in a Bundle as they are.
fn raw_values<'a>(
    resources: impl Iterator<Item = &'a String>,
) -> Result<Vec<Box<RawValue>>, FhirError> {
    resources
        .map(|r| RawValue::from_string(r.clone()).map_err(|_| FhirError::Internal))
        .collect()
}

/// A Bundle's `self` link, and its `next` when there is a next page.
fn links<'a>(self_url: &'a str, next_url: Option<&'a str>) -> Vec<Link<'a>> {
    let mut link = vec![Link {
        relation: "self",
        url: self_url,
    }];
    if let Some(next) = next_url {
        link.push(Link {
            relation: "next",
            url: next,
        });
    }
    link
}

/// The `searchset` Bundle, as JSON.
pub fn searchset(s: &SearchSet) -> Result<String, FhirError> {
    let raws = raw_values(s.entries.iter().map(|e| &e.resource))?;
    let link = links(&s.self_url, s.next_url.as_deref());
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

/// One version in a history: the resource as it was, and the change
/// that made it (the first version was a create, each later one an update).
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub full_url: String,
    /// `Type/id`.
    pub relative_url: String,
    pub resource: String,
    pub version: tillit_domain::Version,
}

/// A history: `total` versions in all pages, this page's, newest first.
#[derive(Debug, Clone)]
pub struct History {
    pub total: usize,
    pub self_url: String,
    pub next_url: Option<String>,
    pub entries: Vec<HistoryEntry>,
}

#[derive(Serialize)]
struct Request<'a> {
    method: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    status: &'static str,
    etag: String,
    last_modified: serde_json::Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutHistoryEntry<'a> {
    full_url: &'a str,
    resource: &'a RawValue,
    request: Request<'a>,
    response: Response,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutHistory<'a> {
    resource_type: &'static str,
    r#type: &'static str,
    total: usize,
    link: Vec<Link<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<OutHistoryEntry<'a>>,
}

/// The `history` Bundle, as JSON.
pub fn history(h: &History) -> Result<String, FhirError> {
    let raws = raw_values(h.entries.iter().map(|e| &e.resource))?;
    let link = links(&h.self_url, h.next_url.as_deref());
    let mut entry = Vec::with_capacity(h.entries.len());
    for (e, raw) in h.entries.iter().zip(&raws) {
        let created = e.version.number == 1;
        let (kind, _) = e
            .relative_url
            .split_once('/')
            .unwrap_or((&e.relative_url, ""));
        entry.push(OutHistoryEntry {
            full_url: &e.full_url,
            resource: raw,
            request: Request {
                method: if created { "POST" } else { "PUT" },
                url: if created { kind } else { &e.relative_url },
            },
            response: Response {
                status: if created { "201 Created" } else { "200 OK" },
                etag: crate::map::etag(e.version),
                last_modified: serde_json::to_value(crate::map::instant(e.version.last_updated)?)
                    .map_err(|_| FhirError::Internal)?,
            },
        });
    }
    let out = OutHistory {
        resource_type: "Bundle",
        r#type: "history",
        total: h.total,
        link,
        entry,
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

    #[test]
    fn a_history_names_each_version_as_the_change_that_made_it() {
        let entry = |n: u64| HistoryEntry {
            full_url: "https://h/fhir/R4/Appointment/a".into(),
            relative_url: "Appointment/a".into(),
            resource: format!(
                r#"{{"resourceType":"Appointment","id":"a","meta":{{"versionId":"{n}"}}}}"#
            ),
            version: tillit_domain::Version {
                number: n,
                last_updated: tillit_domain::Timestamp(1_800_000_000_000 + n as i64),
            },
        };
        let b = history(&History {
            total: 2,
            self_url: "https://h/fhir/R4/Appointment/a/_history".into(),
            next_url: None,
            entries: vec![entry(2), entry(1)],
        })
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["type"], "history");
        assert_eq!(v["entry"][0]["request"]["method"], "PUT");
        assert_eq!(v["entry"][0]["request"]["url"], "Appointment/a");
        assert_eq!(v["entry"][0]["response"]["etag"], "W/\"2\"");
        assert_eq!(v["entry"][1]["request"]["method"], "POST");
        assert_eq!(v["entry"][1]["request"]["url"], "Appointment");
        assert_eq!(v["entry"][1]["response"]["status"], "201 Created");
        assert_eq!(
            v["entry"][1]["response"]["lastModified"],
            "2027-01-15T08:00:00.001Z"
        );
    }
}
