//! Search parameters the FHIR resources share: reading the query string,
//! dates with prefixes, references, paging, and what to do with a
//! parameter this server does not know (ignored, unless the client asks
//! for `Prefer: handling=strict`).

use axum::http::HeaderMap;
use tillit_domain::Timestamp;
use tillit_fhir::FhirError;
use tillit_fhir::bundle::{Entry, Mode, SearchSet};

/// The most entries one page has, and how many unless `_count` says.
pub const MAX_COUNT: usize = 200;
pub const DEFAULT_COUNT: usize = 50;

/// The identifier an `If-None-Exist` header names, if the request has one:
/// `identifier=<system>|<value>` is the one criterion supported.
pub fn if_none_exist(headers: &HeaderMap) -> Result<Option<String>, FhirError> {
    headers
        .get("if-none-exist")
        .map(|cond| none_exist_identifier(cond.to_str().unwrap_or("")))
        .transpose()
}

/// The identifier conditional-create criteria name (an `If-None-Exist`
/// header, or a transaction entry's `ifNoneExist`).
pub fn none_exist_identifier(criteria: &str) -> Result<String, FhirError> {
    match pairs(criteria).as_slice() {
        [(name, value)] if name == "identifier" => Ok(value.clone()),
        _ => Err(FhirError::BadRequest(
            "If-None-Exist: only identifier=<system>|<value> is supported.".into(),
        )),
    }
}

/// A query string's pairs, decoded, in order.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// A search's parameters, taken one by one by the handler; what is left at
/// [`Params::finish`] was not understood.
#[derive(Debug)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// The pairs taken so far: the search the answer's `self` link names.
    used: Vec<(String, String)>,
    strict: bool,
}

impl Params {
    pub fn new(query: Option<&str>, headers: &HeaderMap) -> Self {
        let strict = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim().eq_ignore_ascii_case("handling=strict"));
        Self {
            pairs: pairs(query.unwrap_or("")),
            used: Vec::new(),
            strict,
        }
    }

    /// Every value of `name` (each may hold a comma-separated list).
    pub fn take(&mut self, name: &str) -> Vec<String> {
        let (taken, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pairs)
            .into_iter()
            .partition(|(k, _)| k == name);
        self.pairs = rest;
        self.used.extend(taken.iter().cloned());
        taken.into_iter().map(|(_, v)| v).collect()
    }

    /// The one value of `name`, or a 400 if it is given twice.
    pub fn one(&mut self, name: &str) -> Result<Option<String>, FhirError> {
        let mut values = self.take(name);
        match values.len() {
            0 => Ok(None),
            1 => Ok(values.pop()),
            _ => Err(FhirError::BadRequest(format!("{name} may be given once."))),
        }
    }

    /// `_count` and `_offset`: the page asked for.
    pub fn page(&mut self) -> Result<(usize, usize), FhirError> {
        let number = |name: &str, v: Option<String>| -> Result<Option<usize>, FhirError> {
            v.map(|v| {
                v.parse::<usize>().map_err(|_| {
                    FhirError::BadRequest(format!("{name}={v}: expected a whole number."))
                })
            })
            .transpose()
        };
        let count = number("_count", self.one("_count")?)?
            .unwrap_or(DEFAULT_COUNT)
            .min(MAX_COUNT);
        let offset = number("_offset", self.one("_offset")?)?.unwrap_or(0);
        Ok((count, offset))
    }

    /// `_summary=count`: only the total.
    pub fn summary_count(&mut self) -> Result<bool, FhirError> {
        match self.one("_summary")?.as_deref() {
            None | Some("false") => Ok(false),
            Some("count") => Ok(true),
            Some(other) => Err(FhirError::BadRequest(format!(
                "_summary={other} is not supported; _summary=count is."
            ))),
        }
    }

    /// Fails if a parameter was not understood and the client asked for
    /// strict handling; else the rest is ignored, as the spec allows. The
    /// query of the parameters used, as the `self` link must name them.
    pub fn finish(mut self) -> Result<String, FhirError> {
        self.take("_format");
        if self.strict && !self.pairs.is_empty() {
            let names: Vec<&str> = self.pairs.iter().map(|(k, _)| k.as_str()).collect();
            return Err(FhirError::BadRequest(format!(
                "Unknown or unsupported search parameter(s): {} (Prefer: handling=strict).",
                names.join(", ")
            )));
        }
        let used: Vec<&(String, String)> =
            self.used.iter().filter(|(k, _)| k != "_format").collect();
        Ok(serde_urlencoded::to_string(used).unwrap_or_default())
    }
}

/// Reads a reference parameter (`Patient/1`, `1`, or a full URL) to
/// `resource_type` as an id.
pub fn reference_id(value: &str, resource_type: &str, param: &str) -> Result<String, FhirError> {
    let mut parts = value.rsplit('/');
    let id = parts.next().unwrap_or("");
    match parts.next() {
        Some(t) if t != resource_type => Err(FhirError::BadRequest(format!(
            "{param}={value}: expected a reference to a {resource_type}."
        ))),
        _ if id.is_empty() => Err(FhirError::BadRequest(format!(
            "{param}={value}: expected {resource_type}/[id]."
        ))),
        _ => Ok(id.to_owned()),
    }
}

/// A date search value as the range of instants it means: a day (in
/// Sweden's time) or an instant. Returns (start, end), end exclusive.
pub(super) fn date_value(v: &str) -> Option<(Timestamp, Timestamp)> {
    if let Ok(date) = v.parse::<jiff::civil::Date>() {
        let tz = tillit_domain::time::stockholm();
        let start = date.to_zoned(tz.clone()).ok()?.timestamp().as_millisecond();
        let end = date
            .tomorrow()
            .ok()?
            .to_zoned(tz)
            .ok()?
            .timestamp()
            .as_millisecond();
        return Some((Timestamp(start), Timestamp(end)));
    }
    let t = v.parse::<jiff::Timestamp>().ok()?.as_millisecond();
    Some((Timestamp(t), Timestamp(t + 1)))
}

/// `date` values with prefixes (`ge2027-01-15`, `lt2027-02-01T00:00:00Z`,
/// `eq…`, none = `eq`): the range of starts they allow, end exclusive.
pub fn date_range(values: &[String]) -> Result<(Option<Timestamp>, Option<Timestamp>), FhirError> {
    let mut from: Option<Timestamp> = None;
    let mut to: Option<Timestamp> = None;
    let mut later = |t: Timestamp| from = Some(from.map_or(t, |f| f.max(t)));
    let mut earlier = |t: Timestamp| to = Some(to.map_or(t, |e| e.min(t)));
    for v in values {
        let (prefix, rest) = match v.get(..2) {
            Some(p @ ("eq" | "ge" | "gt" | "le" | "lt")) => (p, &v[2..]),
            _ => ("eq", v.as_str()),
        };
        let (start, end) = date_value(rest).ok_or_else(|| {
            FhirError::BadRequest(format!(
                "date={v}: expected a date (2027-01-15) or an instant (2027-01-15T09:00:00+01:00), with an optional prefix eq, ge, gt, le or lt."
            ))
        })?;
        match prefix {
            "ge" => later(start),
            "gt" => later(end),
            "le" => earlier(end),
            "lt" => earlier(start),
            _ => {
                later(start);
                earlier(end);
            }
        }
    }
    Ok((from, to))
}

/// How a search's results are paged (`_count`, `_offset`,
/// `_summary=count`), and the query its `self` link echoes.
#[derive(Debug)]
pub struct Paging {
    pub page: (usize, usize),
    pub only_count: bool,
    pub query: String,
}

impl Params {
    /// The paging parameters, and the end of the parameters
    /// ([`Params::finish`]).
    pub fn paging(mut self) -> Result<Paging, FhirError> {
        let page = self.page()?;
        let only_count = self.summary_count()?;
        let query = self.finish()?;
        Ok(Paging {
            page,
            only_count,
            query,
        })
    }
}

impl Paging {
    /// The searchset of this page of `found`, each entry as `entry` writes
    /// it, for the search at `search_url` (`<base>/<Type>`).
    pub fn bundle<T>(
        &self,
        search_url: &str,
        found: &[T],
        entry: impl Fn(&T) -> Result<(String, String), FhirError>,
    ) -> Result<String, FhirError> {
        let matches = page_of(found, self.page, self.only_count, entry)?;
        searchset(
            format!("{search_url}?{}", self.query),
            self.page,
            found.len(),
            matches,
            Vec::new(),
        )
    }
}

/// The page of `found` that `page` asks for (none for `_summary=count`),
/// each entry as its full URL and its resource written by `entry`.
pub fn page_of<T>(
    found: &[T],
    (count, offset): (usize, usize),
    only_count: bool,
    entry: impl Fn(&T) -> Result<(String, String), FhirError>,
) -> Result<Vec<(String, String)>, FhirError> {
    if only_count {
        return Ok(Vec::new());
    }
    found.iter().skip(offset).take(count).map(entry).collect()
}

/// One page of `matches` (each a full URL and its resource) with
/// `included` resources, as a searchset Bundle.
pub fn searchset(
    self_url: String,
    (count, offset): (usize, usize),
    total: usize,
    matches: Vec<(String, String)>,
    included: Vec<(String, String)>,
) -> Result<String, FhirError> {
    let next_url = (offset + count < total).then(|| next_link(&self_url, offset + count));
    let mut entries: Vec<Entry> = matches
        .into_iter()
        .map(|(full_url, resource)| Entry {
            full_url,
            resource,
            mode: Mode::Match,
        })
        .collect();
    entries.extend(included.into_iter().map(|(full_url, resource)| Entry {
        full_url,
        resource,
        mode: Mode::Include,
    }));
    tillit_fhir::bundle::searchset(&SearchSet {
        total,
        self_url,
        next_url,
        entries,
    })
}

pub(super) fn next_link(self_url: &str, offset: usize) -> String {
    let (path, query) = self_url.split_once('?').unwrap_or((self_url, ""));
    let mut kept: Vec<(String, String)> = pairs(query)
        .into_iter()
        .filter(|(k, _)| k != "_offset")
        .collect();
    kept.push(("_offset".into(), offset.to_string()));
    let q = serde_urlencoded::to_string(&kept).unwrap_or_default();
    format!("{path}?{q}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_prefixes_narrow_the_range() {
        let (from, to) = date_range(&["ge2027-01-15".into(), "lt2027-01-16".into()]).unwrap();
        // Midnight in Stockholm (CET) is 23:00 UTC the day before.
        assert_eq!(
            from,
            Some(Timestamp(
                "2027-01-14T23:00:00Z"
                    .parse::<jiff::Timestamp>()
                    .unwrap()
                    .as_millisecond()
            ))
        );
        assert_eq!(to.unwrap().0 - from.unwrap().0, 86_400_000);
        let (f2, t2) = date_range(&["2027-01-15".into()]).unwrap();
        assert_eq!((f2, t2), (from, to));
        assert!(date_range(&["ge15/01/2027".into()]).is_err());
        assert_eq!(
            next_link("https://h/fhir/R4/Appointment?patient=p&_offset=2", 4),
            "https://h/fhir/R4/Appointment?patient=p&_offset=4"
        );
    }
}
