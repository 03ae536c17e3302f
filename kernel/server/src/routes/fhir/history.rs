//! `vread` and `_history`: what the versions the store keeps of bookings
//! and people look like over FHIR. The parameters (`_since`, `_count`,
//! `_offset`) and the `history` Bundle, shared by every versioned resource.

use axum::http::HeaderMap;
use tillit_domain::Timestamp;
use tillit_fhir::FhirError;
use tillit_fhir::bundle::{History, HistoryEntry};
use tillit_fhir::map::Version;

use super::auth::Ehr;
use super::search::{Params, date_value, next_link};
use super::{Answer, FhirResult};

/// A history request: versions made since when, and which page.
#[derive(Debug)]
pub struct HistoryQuery {
    pub since: Timestamp,
    pub page: (usize, usize),
    query: String,
}

impl HistoryQuery {
    pub fn new(query: Option<&str>, headers: &HeaderMap) -> Result<Self, FhirError> {
        let mut p = Params::new(query, headers);
        let since = match p.one("_since")? {
            None => Timestamp(i64::MIN),
            Some(v) => date_value(&v).map(|(start, _)| start).ok_or_else(|| {
                FhirError::BadRequest(format!(
                    "_since={v}: expected an instant (2027-01-15T09:00:00+01:00) or a date."
                ))
            })?,
        };
        let page = p.page()?;
        let query = p.finish()?;
        Ok(Self { since, page, query })
    }
}

/// One version as a history shows it: the resource's `Type/id`, its JSON,
/// and its version.
pub type Versioned = (String, String, Version);

/// The `history` Bundle of one page: `entries` (newest first) of `total`
/// versions, for the history at `history_url` (`<base>/<Type>[/<id>]/_history`).
pub fn bundle(
    base: &str,
    history_url: &str,
    q: &HistoryQuery,
    total: usize,
    entries: Vec<Versioned>,
) -> Result<String, FhirError> {
    let (count, offset) = q.page;
    let self_url = if q.query.is_empty() {
        history_url.to_owned()
    } else {
        format!("{history_url}?{}", q.query)
    };
    let next_url = (offset + count < total).then(|| next_link(&self_url, offset + count));
    tillit_fhir::bundle::history(&History {
        total,
        self_url,
        next_url,
        entries: entries
            .into_iter()
            .map(|(relative_url, resource, version)| HistoryEntry {
                full_url: format!("{base}/{relative_url}"),
                relative_url,
                resource,
                version,
            })
            .collect(),
    })
}

/// The answer to a history request at `path` (`Patient/1/_history`):
/// `shown`, this page of `total` versions, each as `versioned` writes it.
pub fn answer<T>(
    ehr: &Ehr,
    path: &str,
    q: &HistoryQuery,
    total: usize,
    shown: &[T],
    versioned: impl Fn(&T) -> Result<Versioned, FhirError>,
) -> FhirResult {
    let entries = shown.iter().map(versioned).collect::<Result<_, _>>()?;
    let url = format!("{}/{path}", ehr.base);
    Ok(Answer::ok(bundle(&ehr.base, &url, q, total, entries)?))
}

/// The page `q` asks for of one resource's versions (all in memory,
/// newest first), and how many there are since `_since`.
pub fn page<T>(q: &HistoryQuery, all: Vec<T>, version: impl Fn(&T) -> Version) -> (usize, Vec<T>) {
    let (count, offset) = q.page;
    let kept: Vec<T> = all
        .into_iter()
        .filter(|r| version(r).last_updated >= q.since)
        .collect();
    let total = kept.len();
    (total, kept.into_iter().skip(offset).take(count).collect())
}

/// The version number in a `vread` path.
pub fn version_id(vid: &str) -> Result<u64, FhirError> {
    vid.parse()
        .map_err(|_| FhirError::NotFound(format!("{vid} is not a version of this resource.")))
}
