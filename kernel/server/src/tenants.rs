//! Tenants: one file per care provider in `tenants/`.
//!
//! A tenant file names the tenant, its host names, its theme and brand, the
//! features it has enabled, its booking and session rules, how long its data
//! is kept, its default language, and the staff to create at start-up.
//! Loading collects every problem in every file (unknown keys, bad values,
//! hosts claimed twice, a theme or logo that does not exist) so that
//! `tillit tenants check` can report them all at once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tillit_domain::people::NewPerson;
use tillit_domain::session::SessionPolicy;
use tillit_domain::{PersonName, Personnummer, Role, TenantId};

use crate::values::{Color, ConfigDuration, Language, describe_figment_error};

/// Optional features that vendors enable per tenant (built as plugins).
pub const FEATURES: [&str; 6] = [
    "chat",
    "todo",
    "notes",
    "documents",
    "evaluations",
    "listing",
];

/// A tenant as the kernel uses it, validated.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    pub hosts: Vec<String>,
    pub theme: String,
    pub brand: Brand,
    pub features: Vec<String>,
    pub booking: Booking,
    pub session: SessionPolicy,
    pub data_retention: Duration,
    pub default_language: Language,
    pub bootstrap: Vec<NewPerson>,
    /// Where the file came from, for messages.
    pub file: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Brand {
    /// The product name people see, e.g. "Vårdmöte Norr".
    pub product_name: Option<String>,
    pub primary_color: Option<Color>,
    pub accent_color: Option<Color>,
    /// A logo file, relative to the tenants directory.
    pub logo: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Booking {
    /// Whether a patient must confirm a booking before it can be held.
    #[serde(default = "yes")]
    pub require_confirmation: bool,
    /// The SMS sender name: 3–11 letters or digits, starting with a letter.
    pub sms_sender: String,
    /// How long before a confirmed visit the reminder SMS goes out.
    #[serde(default = "thirty_minutes")]
    pub reminder_lead: ConfigDuration,
}

fn yes() -> bool {
    true
}

fn thirty_minutes() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(30 * 60))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionSection {
    idle_timeout: Option<ConfigDuration>,
    absolute_lifetime: Option<ConfigDuration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapSection {
    #[serde(default)]
    people: Vec<BootstrapPerson>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapPerson {
    role: BootstrapRole,
    personnummer: String,
    given_name: String,
    family_name: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BootstrapRole {
    Clinician,
    Administrator,
    Patient,
}

/// One problem in one tenant file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub file: String,
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

const TOP_LEVEL_KEYS: [&str; 11] = [
    "id",
    "display_name",
    "hosts",
    "theme",
    "brand",
    "features",
    "booking",
    "session",
    "data_retention",
    "default_language",
    "bootstrap",
];

/// Reads every tenant file in `dir`. `themes` lists the installed themes.
/// Returns the tenants, or every issue found in any file.
pub fn load_dir(dir: &Path, themes: &[String]) -> Result<Vec<Tenant>, Vec<Issue>> {
    let mut issues = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            return Err(vec![Issue {
                file: dir.display().to_string(),
                message: format!("cannot read directory: {e}"),
            }]);
        }
    };
    files.sort();
    if files.is_empty() {
        issues.push(Issue {
            file: dir.display().to_string(),
            message: "no tenant files (*.toml) found".into(),
        });
    }
    let mut tenants = Vec::new();
    for file in &files {
        match load_file(file, dir, themes) {
            Ok(t) => tenants.push(t),
            Err(mut e) => issues.append(&mut e),
        }
    }
    // Across files: ids and host names must be unique.
    let mut ids: HashMap<&TenantId, &Path> = HashMap::new();
    let mut hosts: HashMap<&str, &Path> = HashMap::new();
    for t in &tenants {
        if let Some(other) = ids.insert(&t.id, &t.file) {
            issues.push(Issue {
                file: t.file.display().to_string(),
                message: format!("id: \"{}\" is already the id of {}", t.id, other.display()),
            });
        }
        for h in &t.hosts {
            if let Some(other) = hosts.insert(h, &t.file) {
                issues.push(Issue {
                    file: t.file.display().to_string(),
                    message: format!("hosts: \"{h}\" is already a host of {}", other.display()),
                });
            }
        }
    }
    if issues.is_empty() {
        Ok(tenants)
    } else {
        Err(issues)
    }
}

fn load_file(file: &Path, dir: &Path, themes: &[String]) -> Result<Tenant, Vec<Issue>> {
    let name = file.display().to_string();
    let mut issues: Vec<String> = Vec::new();
    let text = std::fs::read_to_string(file).map_err(|e| {
        vec![Issue {
            file: name.clone(),
            message: format!("cannot read: {e}"),
        }]
    })?;
    // Syntax first: nothing else can be checked in a file that does not parse.
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let at = e
            .span()
            .map(|s| line_col(&text, s.start))
            .map(|(l, c)| format!("line {l}, column {c}: "))
            .unwrap_or_default();
        vec![Issue {
            file: name.clone(),
            message: format!("{at}not valid TOML: {}", e.message()),
        }]
    })?;
    for key in table.keys() {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
            issues.push(format!(
                "{key}: unknown key; expected one of: {}",
                TOP_LEVEL_KEYS.join(", ")
            ));
        }
    }
    let figment = Figment::from(Toml::file_exact(file));
    let mut get = |key: &str, required: bool| -> Option<Figment> {
        if table.contains_key(key) {
            Some(figment.clone())
        } else {
            if required {
                issues.push(format!("{key}: missing; this key is required"));
            }
            None
        }
    };
    let want_id = get("id", true);
    let want_display = get("display_name", true);
    let want_hosts = get("hosts", true);
    let want_theme = get("theme", false);
    let want_brand = get("brand", false);
    let want_features = get("features", false);
    let want_booking = get("booking", true);
    let want_session = get("session", false);
    let want_retention = get("data_retention", true);
    let want_lang = get("default_language", false);
    let want_bootstrap = get("bootstrap", false);

    let id: Option<String> = extract(want_id, "id", &name, &mut issues);
    let display_name: Option<String> = extract(want_display, "display_name", &name, &mut issues);
    let hosts: Option<Vec<String>> = extract(want_hosts, "hosts", &name, &mut issues);
    let theme: Option<String> = extract(want_theme, "theme", &name, &mut issues);
    let brand: Option<Brand> = extract(want_brand, "brand", &name, &mut issues);
    let features: Option<Vec<String>> = extract(want_features, "features", &name, &mut issues);
    let booking: Option<Booking> = extract(want_booking, "booking", &name, &mut issues);
    let session: Option<SessionSection> = extract(want_session, "session", &name, &mut issues);
    let retention: Option<ConfigDuration> =
        extract(want_retention, "data_retention", &name, &mut issues);
    let lang: Option<Language> = extract(want_lang, "default_language", &name, &mut issues);
    let bootstrap: Option<BootstrapSection> =
        extract(want_bootstrap, "bootstrap", &name, &mut issues);

    // Values that parsed, checked for meaning.
    let id = id.and_then(|s| match TenantId::parse(&s) {
        Ok(id) => Some(id),
        Err(e) => {
            issues.push(format!("id: expected {e}, found \"{s}\""));
            None
        }
    });
    if let Some(id) = &id {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem != id.as_str() {
            issues.push(format!(
                "id: expected the file name ({stem}), found \"{id}\"; name the file {id}.toml"
            ));
        }
    }
    if let Some(d) = &display_name {
        if d.trim().is_empty() || d.chars().count() > 80 {
            issues.push("display_name: expected 1–80 characters".into());
        }
    }
    let hosts = hosts.map(|hs| {
        if hs.is_empty() {
            issues.push("hosts: expected at least one host name".into());
        }
        hs.into_iter()
            .filter_map(|h| {
                let lower = h.to_ascii_lowercase();
                if is_host_name(&lower) {
                    Some(lower)
                } else {
                    issues.push(format!(
                        "hosts: expected a host name such as \"ertnamn.example.se\", found \"{h}\""
                    ));
                    None
                }
            })
            .collect::<Vec<_>>()
    });
    let theme = theme.unwrap_or_else(|| "default".to_owned());
    if !themes.contains(&theme) {
        issues.push(format!(
            "theme: expected one of the installed themes ({}), found \"{theme}\"",
            themes.join(", ")
        ));
    }
    let brand = brand.unwrap_or_default();
    if let Some(logo) = &brand.logo {
        let path = dir.join(logo);
        let ext = logo
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if logo.is_absolute()
            || logo
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            issues.push("brand.logo: expected a path inside the tenants directory".into());
        } else if !["svg", "png", "jpg", "jpeg", "webp"].contains(&ext) {
            issues.push(format!(
                "brand.logo: expected an .svg, .png, .jpg or .webp file, found \"{}\"",
                logo.display()
            ));
        } else if !path.is_file() {
            issues.push(format!(
                "brand.logo: expected an existing file, found no file at {}",
                path.display()
            ));
        }
    }
    if let Some(p) = &brand.product_name {
        if p.trim().is_empty() || p.chars().count() > 40 {
            issues.push("brand.product_name: expected 1–40 characters".into());
        }
    }
    let features = features.unwrap_or_default();
    for f in &features {
        if !FEATURES.contains(&f.as_str()) {
            issues.push(format!(
                "features: expected one of: {}, found \"{f}\"",
                FEATURES.join(", ")
            ));
        }
    }
    if let Some(b) = &booking {
        let s = &b.sms_sender;
        let ok = (3..=11).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok {
            issues.push(format!(
                "booking.sms_sender: expected 3–11 letters (a–z) or digits, starting with a letter, found \"{s}\""
            ));
        }
        if b.reminder_lead.0 > Duration::from_secs(7 * 86_400) {
            issues.push("booking.reminder_lead: expected at most 7d".into());
        }
    }
    let mut policy = SessionPolicy::default();
    if let Some(s) = session {
        if let Some(d) = s.idle_timeout {
            policy.idle_timeout = d.0;
        }
        if let Some(d) = s.absolute_lifetime {
            policy.absolute_lifetime = d.0;
        }
        if policy.idle_timeout < Duration::from_secs(60) {
            issues.push("session.idle_timeout: expected at least 1m".into());
        }
        if policy.absolute_lifetime < policy.idle_timeout {
            issues.push(format!(
                "session.absolute_lifetime: expected at least the idle timeout ({})",
                tillit_domain::time::format_duration(policy.idle_timeout)
            ));
        }
    }
    if let Some(r) = &retention {
        if r.0 < Duration::from_secs(86_400) {
            issues.push("data_retention: expected at least 1d".into());
        }
    }
    let mut people = Vec::new();
    let mut seen = HashMap::new();
    for (i, p) in bootstrap
        .map(|b| b.people)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
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
        if let (Some(pnr), Some(given_name), Some(family_name)) = (pnr, given, family) {
            if let Some(j) = seen.insert(pnr.clone(), i) {
                issues.push(format!(
                    "{key}.personnummer: the same person as bootstrap.people[{j}]"
                ));
            }
            let role = match p.role {
                BootstrapRole::Clinician => Role::Clinician,
                BootstrapRole::Administrator => Role::Administrator,
                BootstrapRole::Patient => Role::Patient,
            };
            people.push(NewPerson {
                role,
                personnummer: pnr,
                given_name,
                family_name,
            });
        }
    }

    match (id, display_name, hosts, booking, retention) {
        (Some(id), Some(display_name), Some(hosts), Some(booking), Some(retention))
            if issues.is_empty() =>
        {
            Ok(Tenant {
                id,
                display_name,
                hosts,
                theme,
                brand,
                features,
                booking,
                session: policy,
                data_retention: retention.0,
                default_language: lang.unwrap_or(Language::Sv),
                bootstrap: people,
                file: file.to_owned(),
            })
        }
        _ => Err(issues
            .into_iter()
            .map(|message| Issue {
                file: name.clone(),
                message,
            })
            .collect()),
    }
}

/// Extracts one top-level key, recording (not returning) any error.
fn extract<T: DeserializeOwned>(
    f: Option<Figment>,
    key: &str,
    file: &str,
    issues: &mut Vec<String>,
) -> Option<T> {
    let f = f?;
    match f.extract_inner::<T>(key) {
        Ok(v) => Some(v),
        Err(e) => {
            for err in e {
                let line = describe_figment_error(&err, file);
                // The file name is added by the caller, once per issue.
                let line = line
                    .strip_prefix(&format!("{file}: "))
                    .map(str::to_owned)
                    .unwrap_or(line);
                issues.push(line);
            }
            None
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

/// Finds the tenant for a request's `Host` header.
#[derive(Debug, Clone)]
pub struct Registry {
    by_host: HashMap<String, Arc<Tenant>>,
    all: Vec<Arc<Tenant>>,
}

impl Registry {
    pub fn new(tenants: Vec<Tenant>) -> Self {
        let all: Vec<Arc<Tenant>> = tenants.into_iter().map(Arc::new).collect();
        let by_host = all
            .iter()
            .flat_map(|t| t.hosts.iter().map(move |h| (h.clone(), Arc::clone(t))))
            .collect();
        Self { by_host, all }
    }

    /// The tenant serving `host` (a `Host` header value, port and case ignored).
    pub fn by_host(&self, host: &str) -> Option<&Arc<Tenant>> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => host,
        };
        self.by_host
            .get(&name.trim_end_matches('.').to_ascii_lowercase())
    }

    pub fn all(&self) -> &[Arc<Tenant>] {
        &self.all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert!(is_host_name("demo.localhost"));
        assert!(is_host_name("ertnamn.example.se"));
        for bad in ["", "a..b", "-a.se", "a_b.se", "a b", "http://x"] {
            assert!(!is_host_name(bad), "{bad}");
        }
    }
}
