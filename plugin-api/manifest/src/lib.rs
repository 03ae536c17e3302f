//! The plugin manifest, `plugin.toml`: what a plugin is, which capabilities
//! it asks for, where it shows up, which routes and events it handles, how a
//! tenant configures it, and its templates.
//!
//! Used by the build (`cargo xtask plugins`, through `plugins/pack`) to
//! refuse a bad plugin before it ships, and meant for the host to check the
//! same rules at load. The format is documented in `plugin-api/README.md`.
//!
//! # Layout
//!
//! - [`Manifest::parse`]: TOML to a checked [`Manifest`], or a
//!   [`ManifestError`] naming the field.
//! - [`Manifest::check_imports`]: a component's imports against the
//!   capabilities; the host's load-time check and the build's.
//! - [`check_template`]: what a template may be, judged by parsing it
//!   (`template.rs`).
//!
//! *Architecture invariant*: no IO here. Callers read files and decode
//! components; this crate judges strings.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

mod template;
pub use template::{HELPERS, TAGS, check_template};

/// The WIT package every plugin interface belongs to.
pub const WIT_PACKAGE: &str = "tillit:plugin";

/// The versions of the plugin API, oldest first: one frozen WIT directory
/// each (`plugin-api/wit/v<version>/`). The one list of them: the build
/// packs plugins for these, and the host (`tillit-plugins`) runs exactly
/// these, with one module per version (it does not compile otherwise).
pub const SUPPORTED_APIS: &[&str] = &["0.1.0"];

/// A manifest that failed to parse or broke a rule.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not TOML, a missing or unknown field, a value of the wrong type, or an
    /// unknown capability, slot, event or method (toml names line and
    /// column).
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    /// A field with a value the format does not allow.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A host capability: one WIT interface a plugin may import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// The caller, the current visit, the tenant's configuration.
    Context,
    /// Key-value documents, tenant-shared or private to the caller.
    Storage,
    /// Larger binary objects.
    Blobs,
    /// Messages to the people in the current visit's room.
    Live,
    /// Lines in the kernel's log; always granted.
    Log,
    /// The time.
    Clock,
}

impl Capability {
    /// Every capability, in the order of the WIT world.
    pub const ALL: [Capability; 6] = [
        Capability::Context,
        Capability::Storage,
        Capability::Blobs,
        Capability::Live,
        Capability::Log,
        Capability::Clock,
    ];

    /// Granted whether listed or not: the SDK's panic hook logs.
    pub const ALWAYS_GRANTED: [Capability; 1] = [Capability::Log];

    /// The WIT interface name, which is also the manifest name.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Context => "context",
            Capability::Storage => "storage",
            Capability::Blobs => "blobs",
            Capability::Live => "live",
            Capability::Log => "log",
            Capability::Clock => "clock",
        }
    }

    /// The capability of a WIT interface name.
    pub fn from_interface(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in the kernel's pages a plugin can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Slot {
    /// A tab in the side panel of a visit's room.
    VisitPanel,
    /// A section on a person's profile page.
    ProfileSection,
    /// A page of its own in the portal.
    BetweenVisitsPage,
}

/// An event kind a plugin can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    BookingCreated,
    BookingCancelled,
    VisitStarted,
    VisitEnded,
    ParticipantJoined,
    ParticipantLeft,
}

/// An HTTP method a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// A route below the plugin's mount (`/plugins/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The methods it accepts; the kernel answers 405 to others.
    pub methods: Vec<Method>,
    /// `/`-separated segments of `A-Z a-z 0-9 . _ ~ -`, or `{name}` for any
    /// one segment: `/note`, `/documents/{id}`.
    pub path: String,
}

impl Route {
    /// Whether `path` (below the mount) matches this route.
    pub fn matches(&self, path: &str) -> bool {
        let want: Vec<&str> = self.path.split('/').collect();
        let have: Vec<&str> = path.split('/').collect();
        want.len() == have.len()
            && want
                .iter()
                .zip(&have)
                .all(|(w, h)| (w.starts_with('{') && is_plain_segment(h)) || w == h)
    }
}

/// The type of a configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigType {
    String,
    Integer,
    Boolean,
}

/// A key of the tenant's configuration for the plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigKey {
    #[serde(rename = "type")]
    pub kind: ConfigType,
    /// Used when the tenant does not set the key; of type `kind`.
    pub default: toml::Value,
    /// For whoever configures the tenant.
    pub description: String,
}

impl ConfigKey {
    /// Whether `value` is of this key's type.
    pub fn accepts(&self, value: &toml::Value) -> bool {
        matches!(
            (self.kind, value),
            (ConfigType::String, toml::Value::String(_))
                | (ConfigType::Integer, toml::Value::Integer(_))
                | (ConfigType::Boolean, toml::Value::Boolean(_))
        )
    }
}

/// A checked `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `a-z`, `0-9` and `-`, starting with a letter, at most 32
    /// characters. First-party plugins use the tenant feature names
    /// (`notes`, `chat`, ...).
    pub id: String,
    /// The plugin's own version, `major.minor.patch`.
    pub version: String,
    /// The WIT API version it is built against, `major.minor.patch`.
    pub api: String,
    /// Display name per language tag (`sv`, `en`): tab labels, headings.
    pub name: BTreeMap<String, String>,
    /// What it does, per language tag, for whoever enables it.
    #[serde(default)]
    pub description: BTreeMap<String, String>,
    /// The capabilities (WIT interfaces) it imports. `log` is granted
    /// whether listed or not.
    pub capabilities: Vec<Capability>,
    /// The slots it fills.
    #[serde(default)]
    pub slots: Vec<Slot>,
    /// Its HTTP routes.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// The events it subscribes to.
    #[serde(default)]
    pub events: Vec<Event>,
    /// The tenant's configuration keys.
    #[serde(default)]
    pub config: BTreeMap<String, ConfigKey>,
    /// Its Handlebars templates, `templates/<name>.hbs`.
    #[serde(default)]
    pub templates: Vec<String>,
    /// The SHA-256 of `plugin.wasm`, lower-case hex. Written by the build
    /// into the packaged manifest; absent from the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl Manifest {
    /// Parses and checks a manifest.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml::from_str(text)?;
        manifest.check()?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), ManifestError> {
        let id_ok = self.id.len() <= 32
            && self.id.starts_with(|c: char| c.is_ascii_lowercase())
            && !self.id.ends_with('-')
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(invalid(
                "id",
                format!(
                    "{:?} is not 1 to 32 characters of a-z, 0-9 and -, starting with a letter",
                    self.id
                ),
            ));
        }
        for (field, value) in [("version", &self.version), ("api", &self.api)] {
            if !is_version(value) {
                return Err(invalid(
                    field,
                    format!("{value:?} is not a version like 1.2.3"),
                ));
            }
        }
        if self.name.is_empty() {
            return Err(invalid(
                "name",
                "give at least one language, e.g. sv = \"...\"",
            ));
        }
        for (field, texts) in [("name", &self.name), ("description", &self.description)] {
            for (lang, text) in texts {
                if !is_language_tag(lang) {
                    return Err(invalid(
                        format!("{field}.{lang}"),
                        "not a language tag like sv or en",
                    ));
                }
                if text.trim().is_empty() {
                    return Err(invalid(format!("{field}.{lang}"), "is empty"));
                }
            }
        }
        no_duplicates("capabilities", &self.capabilities)?;
        no_duplicates("slots", &self.slots)?;
        no_duplicates("events", &self.events)?;

        let mut seen = BTreeSet::new();
        for (i, route) in self.routes.iter().enumerate() {
            let field = format!("routes[{i}]");
            check_route_path(&route.path).map_err(|r| invalid(format!("{field}.path"), r))?;
            if route.methods.is_empty() {
                return Err(invalid(format!("{field}.methods"), "is empty"));
            }
            for m in &route.methods {
                if !seen.insert((*m, route.path.clone())) {
                    return Err(invalid(
                        field,
                        format!("{m:?} {} is declared twice", route.path),
                    ));
                }
            }
        }

        for (key, spec) in &self.config {
            let field = format!("config.{key}");
            let key_ok = key.starts_with(|c: char| c.is_ascii_lowercase())
                && key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok {
                return Err(invalid(
                    field,
                    "keys are a-z, 0-9 and _, starting with a letter",
                ));
            }
            if !spec.accepts(&spec.default) {
                return Err(invalid(
                    format!("{field}.default"),
                    format!("is not of type {:?}", spec.kind),
                ));
            }
            if spec.description.trim().is_empty() {
                return Err(invalid(format!("{field}.description"), "is empty"));
            }
        }

        let mut names = BTreeSet::new();
        for (i, path) in self.templates.iter().enumerate() {
            let field = format!("templates[{i}]");
            let name = template_name(path).ok_or_else(|| {
                invalid(
                    &field,
                    format!(
                        "{path:?} is not templates/<name>.hbs with a name of a-z, 0-9, _ and -"
                    ),
                )
            })?;
            if !names.insert(name) {
                return Err(invalid(field, format!("template {name:?} is listed twice")));
            }
        }
        if !self.slots.is_empty() && self.templates.is_empty() {
            return Err(invalid(
                "templates",
                "a plugin that fills slots needs at least one template",
            ));
        }
        if let Some(hash) = &self.sha256
            && !(hash.len() == 64
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            return Err(invalid("sha256", "is not 64 lower-case hex digits"));
        }
        Ok(())
    }

    /// The names views use for the templates: `panel` for
    /// `templates/panel.hbs`.
    pub fn template_names(&self) -> Vec<&str> {
        self.templates
            .iter()
            .filter_map(|t| template_name(t))
            .collect()
    }

    /// Whether the API version is one of [`SUPPORTED_APIS`].
    pub fn api_supported(&self) -> bool {
        SUPPORTED_APIS.contains(&self.api.as_str())
    }

    /// The capabilities granted to the component: those listed plus the
    /// ones always granted.
    pub fn granted(&self) -> BTreeSet<Capability> {
        self.capabilities
            .iter()
            .copied()
            .chain(Capability::ALWAYS_GRANTED)
            .collect()
    }

    /// Checks a component's imports (`tillit:plugin/storage@0.1.0`, ...)
    /// against the manifest: every import must be an interface of
    /// [`WIT_PACKAGE`] at the manifest's `api` version, and either `types`
    /// (no functions) or a granted capability. Returns every violation.
    pub fn check_imports<'a>(
        &self,
        imports: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Vec<ImportViolation>> {
        let granted = self.granted();
        let violations: Vec<ImportViolation> = imports
            .into_iter()
            .filter_map(|import| {
                let reason = match parse_import(import) {
                    None => Violation::Foreign,
                    Some((_, version)) if version != self.api => Violation::OtherVersion,
                    Some(("types", _)) => return None,
                    Some((interface, _)) => match Capability::from_interface(interface) {
                        None => Violation::Unknown,
                        Some(c) if granted.contains(&c) => return None,
                        Some(_) => Violation::NotDeclared,
                    },
                };
                Some(ImportViolation {
                    import: import.to_owned(),
                    reason,
                })
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

/// An import a manifest does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportViolation {
    pub import: String,
    pub reason: Violation,
}

/// Why an import is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Not an interface of `tillit:plugin` (WASI, say, or a bare function).
    Foreign,
    /// `tillit:plugin` at another version than the manifest's `api`.
    OtherVersion,
    /// An interface of `tillit:plugin` that is not a capability.
    Unknown,
    /// A capability the manifest does not list.
    NotDeclared,
}

impl fmt::Display for ImportViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let import = &self.import;
        match self.reason {
            Violation::Foreign => write!(f, "{import} is not part of {WIT_PACKAGE}"),
            Violation::OtherVersion => {
                write!(f, "{import} is not at the manifest's api version")
            }
            Violation::Unknown => write!(f, "{import} is not a capability"),
            Violation::NotDeclared => write!(
                f,
                "{import} is a capability the manifest does not list under `capabilities`"
            ),
        }
    }
}

/// Splits `tillit:plugin/storage@0.1.0` into `("storage", "0.1.0")`.
pub fn parse_import(import: &str) -> Option<(&str, &str)> {
    let rest = import.strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?;
    rest.split_once('@')
}

fn template_name(path: &str) -> Option<&str> {
    let name = path.strip_prefix("templates/")?.strip_suffix(".hbs")?;
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    ok.then_some(name)
}

fn is_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 9
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

fn is_language_tag(tag: &str) -> bool {
    (2..=3).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_lowercase())
}

/// A path segment that is a name: not empty, not `.` or `..`.
fn is_plain_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
}

fn check_route_path(path: &str) -> Result<(), String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("{path:?} does not start with /"));
    };
    if rest.is_empty() {
        return Ok(());
    }
    for segment in rest.split('/') {
        let param = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        let ok = match param {
            Some(name) => {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            }
            None => is_plain_segment(segment),
        };
        if !ok {
            return Err(format!(
                "{path:?}: segment {segment:?} is not A-Z a-z 0-9 . _ ~ - or {{name}}"
            ));
        }
    }
    Ok(())
}

fn no_duplicates<T: Ord + fmt::Debug>(field: &str, items: &[T]) -> Result<(), ManifestError> {
    let mut seen = BTreeSet::new();
    for item in items {
        if !seen.insert(item) {
            return Err(invalid(field, format!("{item:?} is listed twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        id = "notes"
        version = "0.1.0"
        api = "0.1.0"
        name = { sv = "Anteckningar", en = "Notes" }
        capabilities = ["context", "storage", "clock"]
        slots = ["visit-panel"]
        events = []
        templates = ["templates/panel.hbs"]

        [[routes]]
        methods = ["GET", "PUT"]
        path = "/note"

        [[routes]]
        methods = ["GET"]
        path = "/notes/{patient}"

        [config.max_chars]
        type = "integer"
        default = 20000
        description = "Longest note"
    "#;

    fn error_of(text: &str) -> String {
        match Manifest::parse(text) {
            Ok(_) => "accepted".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    fn with(line: &str, replacement: &str) -> String {
        assert!(GOOD.contains(line), "{line}");
        GOOD.replace(line, replacement)
    }

    #[test]
    fn a_good_manifest_parses() {
        let m = Manifest::parse(GOOD).map_err(|e| e.to_string());
        let m = m.as_ref().map(|m| (m.template_names(), m.routes.len()));
        assert_eq!(m, Ok((vec!["panel"], 2)));
    }

    // Golden messages: what a vendor reads when the build refuses a plugin.
    #[test]
    fn unknown_capabilities_are_named_with_the_known_ones() {
        let e = error_of(&with(r#""clock"]"#, r#""clocks"]"#));
        assert!(e.contains("unknown variant `clocks`"), "{e}");
        assert!(e.contains("expected one of `context`, `storage`"), "{e}");
        assert!(e.contains("line 6"), "{e}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = error_of(&format!("{GOOD}\n[limits]\nmemory = 1\n"));
        assert!(e.contains("unknown field `limits`"), "{e}");
    }

    #[test]
    fn field_rules_name_the_field() {
        for (from, to, expected) in [
            (r#"id = "notes""#, r#"id = "Notes""#, "id: \"Notes\" is not"),
            (
                r#"api = "0.1.0""#,
                r#"api = "0.1""#,
                "api: \"0.1\" is not a version",
            ),
            (
                r#"path = "/note""#,
                r#"path = "/../note""#,
                "routes[0].path: \"/../note\": segment \"..\"",
            ),
            (
                r#"default = 20000"#,
                r#"default = "many""#,
                "config.max_chars.default: is not of type Integer",
            ),
            (
                r#"templates = ["templates/panel.hbs"]"#,
                r#"templates = ["../panel.hbs"]"#,
                "templates[0]: \"../panel.hbs\" is not templates/<name>.hbs",
            ),
            (
                r#"templates = ["templates/panel.hbs"]"#,
                r#"templates = []"#,
                "templates: a plugin that fills slots needs at least one template",
            ),
            (
                r#"["context", "storage", "clock"]"#,
                r#"["context", "storage", "context"]"#,
                "capabilities: Context is listed twice",
            ),
        ] {
            let e = error_of(&with(from, to));
            assert!(e.starts_with(expected), "{to}: {e}");
        }
    }

    #[test]
    fn imports_must_be_declared_capabilities_at_the_api_version() {
        let Ok(m) = Manifest::parse(GOOD) else {
            panic!("good manifest refused")
        };
        assert_eq!(
            m.check_imports([
                "tillit:plugin/types@0.1.0",
                "tillit:plugin/context@0.1.0",
                "tillit:plugin/storage@0.1.0",
                "tillit:plugin/log@0.1.0",
            ]),
            Ok(())
        );
        let Err(violations) = m.check_imports([
            "tillit:plugin/blobs@0.1.0",
            "tillit:plugin/storage@9.0.0",
            "tillit:plugin/admin@0.1.0",
            "wasi:filesystem/types@0.2.0",
        ]) else {
            panic!("accepted")
        };
        let reasons: Vec<Violation> = violations.iter().map(|v| v.reason).collect();
        assert_eq!(
            reasons,
            [
                Violation::NotDeclared,
                Violation::OtherVersion,
                Violation::Unknown,
                Violation::Foreign
            ]
        );
        assert!(violations[0].to_string().contains("does not list"));
    }

    #[test]
    fn routes_match_segments_and_parameters() {
        let route = Route {
            methods: vec![Method::Get],
            path: "/notes/{patient}".into(),
        };
        assert!(route.matches("/notes/p_1"));
        assert!(!route.matches("/notes/"));
        assert!(!route.matches("/notes/p_1/x"));
        assert!(!route.matches("/notes/.."));
        assert!(!route.matches("/note/p_1"));
    }
}
