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
use serde::de::DeserializeOwned;
use tillit_domain::people::NewPerson;
use tillit_domain::session::SessionPolicy;
use tillit_domain::{PersonName, Personnummer, Role, TenantId};

use tillit_plugin_manifest::Capability;

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

/// What a tenant grants one of its enabled plugins: `[plugins.<id>]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginGrant {
    /// The capabilities the plugin may use here; a plugin that asks for
    /// more is refused for this tenant at load.
    pub capabilities: Vec<String>,
    /// Values for the plugin's configuration keys (its manifest's
    /// `[config]`), as JSON; checked against the manifest at load.
    pub config: serde_json::Map<String, serde_json::Value>,
}

/// A tenant as the kernel uses it, validated.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    pub hosts: Vec<String>,
    pub theme: String,
    pub brand: Brand,
    pub features: Vec<String>,
    /// Per enabled feature: what its plugin is granted.
    pub plugins: HashMap<String, PluginGrant>,
    pub booking: Booking,
    pub sms: SmsProvider,
    pub session: SessionPolicy,
    pub data_retention: Duration,
    pub default_language: Language,
    /// The version of the information notice and terms patients accept; a
    /// new version asks every patient again.
    pub terms_version: String,
    pub bootstrap: Vec<NewPerson>,
    /// Where the file came from, for messages.
    pub file: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct Brand {
    /// The product name people see, e.g. "Vårdmöte Norr".
    pub product_name: Option<String>,
    pub primary_color: Option<Color>,
    pub accent_color: Option<Color>,
    /// A logo file, relative to the tenants directory.
    pub logo: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Booking {
    /// Whether a patient must confirm a booking before it can be held.
    pub require_confirmation: bool,
    /// The SMS sender name: 3–11 letters or digits, starting with a letter.
    pub sms_sender: String,
    /// How long before a confirmed visit the reminder SMS goes out.
    pub reminder_lead: ConfigDuration,
    /// The tenant's predefined reasons for a visit (sökorsaker), offered in
    /// the booking wizard for visits with several participants.
    pub reasons: Vec<String>,
    /// The most participants a visit's room holds.
    pub max_participants: usize,
}

/// Where a tenant's SMS go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsProvider {
    /// Nowhere: recorded in the outbox only (development).
    Outbox,
    /// 46elks' HTTP API.
    Elks46 {
        /// e.g. `https://api.46elks.com/a1`
        api_url: String,
        username: String,
        password: String,
    },
}

fn thirty_minutes() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(30 * 60))
}

/// One `[[bootstrap.people]]` entry, read field by field.
#[derive(Debug, Clone)]
struct BootstrapPerson {
    role: String,
    personnummer: String,
    given_name: String,
    family_name: String,
}

const BOOTSTRAP_KEYS: [&str; 4] = ["role", "personnummer", "given_name", "family_name"];

/// Reads `[[bootstrap.people]]` by hand, so that each entry's every problem
/// is reported with its index.
fn read_bootstrap(table: &toml::Table, issues: &mut Vec<String>) -> Vec<BootstrapPerson> {
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

/// The keys a tenant file may have, by section ("" is the top level).
const KEYS: [(&str, &[&str]); 5] = [
    (
        "",
        &[
            "id",
            "display_name",
            "hosts",
            "theme",
            "brand",
            "features",
            "plugins",
            "booking",
            "sms",
            "session",
            "data_retention",
            "default_language",
            "terms_version",
            "bootstrap",
        ],
    ),
    (
        "brand",
        &["product_name", "primary_color", "accent_color", "logo"],
    ),
    (
        "booking",
        &[
            "require_confirmation",
            "sms_sender",
            "reminder_lead",
            "reasons",
            "max_participants",
        ],
    ),
    ("sms", &["provider", "api_url", "username", "password_file"]),
    ("session", &["idle_timeout", "absolute_lifetime"]),
];

/// Reads one key at a time, so one bad value does not hide the next, and
/// records every problem.
struct Reader<'a> {
    figment: Figment,
    table: &'a toml::Table,
    file: String,
    issues: Vec<String>,
}

impl Reader<'_> {
    fn present(&self, key: &str) -> bool {
        let mut value: Option<&toml::Value> = None;
        let mut table = Some(self.table);
        for part in key.split('.') {
            value = table.and_then(|t| t.get(part));
            table = value.and_then(toml::Value::as_table);
        }
        value.is_some()
    }

    /// The value at `key`, or `None` (with an issue if it is there but invalid).
    fn get<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        if !self.present(key) {
            return None;
        }
        match self.figment.extract_inner::<T>(key) {
            Ok(v) => Some(v),
            Err(e) => {
                for err in e {
                    let line = describe_figment_error(&err, &self.file);
                    // The file name is added once per issue, by the caller.
                    let prefix = format!("{}: ", self.file);
                    self.issues.push(
                        line.strip_prefix(&prefix)
                            .map(str::to_owned)
                            .unwrap_or(line),
                    );
                }
                None
            }
        }
    }

    fn require<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        if !self.present(key) {
            self.issues
                .push(format!("{key}: missing; this key is required"));
            return None;
        }
        self.get(key)
    }

    fn unknown_keys(&mut self) {
        for (section, known) in KEYS {
            let table = if section.is_empty() {
                Some(self.table)
            } else {
                self.table.get(section).and_then(toml::Value::as_table)
            };
            for key in table.into_iter().flat_map(|t| t.keys()) {
                if !known.contains(&key.as_str()) {
                    let full = if section.is_empty() {
                        key.clone()
                    } else {
                        format!("{section}.{key}")
                    };
                    self.issues.push(format!(
                        "{full}: unknown key; expected one of: {}",
                        known.join(", ")
                    ));
                }
            }
        }
    }
}

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
            message: format!("{at}not valid TOML: {}", e.message().trim()),
        }]
    })?;
    let mut r = Reader {
        figment: Figment::from(Toml::string(&text)),
        table: &table,
        file: name.clone(),
        issues: Vec::new(),
    };
    r.unknown_keys();

    let id: Option<String> = r.require("id");
    let display_name: Option<String> = r.require("display_name");
    let hosts: Option<Vec<String>> = r.require("hosts");
    let theme: Option<String> = r.get("theme");
    let brand = Brand {
        product_name: r.get("brand.product_name"),
        primary_color: r.get("brand.primary_color"),
        accent_color: r.get("brand.accent_color"),
        logo: r.get("brand.logo"),
    };
    let features: Option<Vec<String>> = r.get("features");
    let sms_sender: Option<String> = r.require("booking.sms_sender");
    let require_confirmation: Option<bool> = r.get("booking.require_confirmation");
    let reminder_lead: Option<ConfigDuration> = r.get("booking.reminder_lead");
    let reasons: Option<Vec<String>> = r.get("booking.reasons");
    let max_participants: Option<usize> = r.get("booking.max_participants");
    let sms_provider: Option<String> = r.get("sms.provider");
    let sms_api_url: Option<String> = r.get("sms.api_url");
    let sms_username: Option<String> = r.get("sms.username");
    let sms_password_file: Option<PathBuf> = r.get("sms.password_file");
    let idle: Option<ConfigDuration> = r.get("session.idle_timeout");
    let absolute: Option<ConfigDuration> = r.get("session.absolute_lifetime");
    let retention: Option<ConfigDuration> = r.require("data_retention");
    let lang: Option<Language> = r.get("default_language");
    let terms_version: Option<String> = r.get("terms_version");
    let bootstrap = read_bootstrap(&table, &mut r.issues);
    let mut issues = std::mem::take(&mut r.issues);
    // Values that parsed, checked for meaning.
    let id = id.and_then(|s| match TenantId::parse(&s) {
        Ok(id) => Some(id),
        Err(e) => {
            let _ = e;
            issues.push(format!(
                "id: expected 1–32 characters of a-z, 0-9 and '-', starting with a letter, found \"{s}\""
            ));
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
    if let Some(d) = &display_name
        && (d.trim().is_empty() || d.chars().count() > 80)
    {
        issues.push("display_name: expected 1–80 characters".into());
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
    if let Some(p) = &brand.product_name
        && (p.trim().is_empty() || p.chars().count() > 40)
    {
        issues.push("brand.product_name: expected 1–40 characters".into());
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
    let plugins = plugin_grants(&mut r, &features, &mut issues);
    if let Some(s) = &sms_sender {
        let ok = (3..=11).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok {
            issues.push(format!(
                "booking.sms_sender: expected 3–11 letters (a–z) or digits, starting with a letter, found \"{s}\""
            ));
        }
    }
    let reminder_lead = reminder_lead.unwrap_or_else(thirty_minutes);
    if reminder_lead.0 > Duration::from_secs(7 * 86_400) {
        issues.push("booking.reminder_lead: expected at most 7d".into());
    }
    let max_participants = max_participants.unwrap_or(tillit_domain::visit::DEFAULT_GROUP_CAP);
    if !(2..=100).contains(&max_participants) {
        issues.push(format!(
            "booking.max_participants: expected 2–100, found {max_participants}"
        ));
    }
    let reasons = reasons.unwrap_or_default();
    for (i, reason) in reasons.iter().enumerate() {
        if reason.trim().is_empty() || reason.chars().count() > 80 {
            issues.push(format!(
                "booking.reasons[{i}]: expected 1–80 characters, found \"{reason}\""
            ));
        }
    }
    let sms = match sms_provider.as_deref().unwrap_or("outbox") {
        "outbox" => SmsProvider::Outbox,
        "46elks" => {
            let api_url = sms_api_url.unwrap_or_else(|| "https://api.46elks.com/a1".to_owned());
            if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
                issues.push(format!(
                    "sms.api_url: expected an http(s) URL, found \"{api_url}\""
                ));
            }
            let username = sms_username.unwrap_or_else(|| {
                issues
                    .push("sms.username: missing; required when sms.provider is \"46elks\"".into());
                String::new()
            });
            let password = match &sms_password_file {
                None => {
                    issues.push(
                        "sms.password_file: missing; name the file that holds the 46elks API password".into(),
                    );
                    String::new()
                }
                Some(rel) => {
                    let path = dir.join(rel);
                    match std::fs::read_to_string(&path) {
                        Ok(p) if !p.trim().is_empty() => p.trim().to_owned(),
                        Ok(_) => {
                            issues.push(format!("sms.password_file: {} is empty", path.display()));
                            String::new()
                        }
                        Err(e) => {
                            issues.push(format!(
                                "sms.password_file: cannot read {}: {e}",
                                path.display()
                            ));
                            String::new()
                        }
                    }
                }
            };
            SmsProvider::Elks46 {
                api_url: api_url.trim_end_matches('/').to_owned(),
                username,
                password,
            }
        }
        other => {
            issues.push(format!(
                "sms.provider: expected one of: outbox, 46elks, found \"{other}\""
            ));
            SmsProvider::Outbox
        }
    };
    let mut policy = SessionPolicy::default();
    if let Some(d) = idle {
        policy.idle_timeout = d.0;
    }
    if let Some(d) = absolute {
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
    if let Some(r) = &retention
        && r.0 < Duration::from_secs(86_400)
    {
        issues.push("data_retention: expected at least 1d".into());
    }
    if let Some(v) = &terms_version
        && (v.trim().is_empty() || v.chars().count() > 40)
    {
        issues.push(format!(
            "terms_version: expected 1–40 characters, found \"{v}\""
        ));
    }
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

    match (id, display_name, hosts, sms_sender, retention) {
        (Some(id), Some(display_name), Some(hosts), Some(sms_sender), Some(retention))
            if issues.is_empty() =>
        {
            Ok(Tenant {
                id,
                display_name,
                hosts,
                theme,
                brand,
                features,
                plugins,
                booking: Booking {
                    require_confirmation: require_confirmation.unwrap_or(true),
                    sms_sender,
                    reminder_lead,
                    reasons,
                    max_participants,
                },
                sms,
                session: policy,
                data_retention: retention.0,
                default_language: lang.unwrap_or(Language::Sv),
                terms_version: terms_version.unwrap_or_else(|| "1".to_owned()),
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

/// `[plugins.<id>]` sections: `grant` (capability names) and `config` (a
/// table), each only for a feature the tenant enables.
fn plugin_grants(
    r: &mut Reader<'_>,
    features: &[String],
    issues: &mut Vec<String>,
) -> HashMap<String, PluginGrant> {
    let mut grants = HashMap::new();
    let Some(section) = r.table.get("plugins") else {
        return grants;
    };
    let Some(section) = section.as_table() else {
        issues.push("plugins: expected a table of [plugins.<feature>] sections".into());
        return grants;
    };
    for (id, value) in section {
        let key = format!("plugins.{id}");
        if !features.contains(id) {
            issues.push(format!(
                "{key}: the tenant does not enable \"{id}\" (add it to `features`)"
            ));
            continue;
        }
        let Some(table) = value.as_table() else {
            issues.push(format!("{key}: expected a table with `grant` and `config`"));
            continue;
        };
        for k in table.keys() {
            if k != "grant" && k != "config" {
                issues.push(format!(
                    "{key}.{k}: unknown key; expected one of: grant, config"
                ));
            }
        }
        let capabilities: Vec<String> = r.get(&format!("{key}.grant")).unwrap_or_default();
        for c in &capabilities {
            if Capability::from_interface(c).is_none() {
                let known: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
                issues.push(format!(
                    "{key}.grant: expected capabilities among: {}, found \"{c}\"",
                    known.join(", ")
                ));
            }
        }
        let config = match table.get("config") {
            None => serde_json::Map::new(),
            Some(toml::Value::Table(t)) => match serde_json::to_value(t) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => {
                    issues.push(format!("{key}.config: expected a table of values"));
                    continue;
                }
            },
            Some(_) => {
                issues.push(format!("{key}.config: expected a table of values"));
                continue;
            }
        };
        grants.insert(
            id.clone(),
            PluginGrant {
                capabilities,
                config,
            },
        );
    }
    grants
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

    pub fn by_id(&self, id: &TenantId) -> Option<&Arc<Tenant>> {
        self.all.iter().find(|t| &t.id == id)
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
