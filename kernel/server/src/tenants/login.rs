//! `[[login.methods]]`: how people log in to the tenant with e-ID, each
//! method an OpenID Connect provider (a broker for BankID and Freja eID,
//! such as Idura or Signicat, or Inera's IdP for SITHS).
//!
//! ```toml
//! [[login.methods]]
//! id = "bankid"                        # its address: /login/oidc/bankid
//! label = "Mobilt BankID"              # the login page's button
//! for = "patients"                     # patients, staff or everyone
//! issuer = "https://tillit.idura.broker"
//! client_id = "urn:tillit:demo"
//! client_secret_file = "secrets/idura.txt"   # client_secret_basic, or:
//! # private_key_file = "secrets/idura.pem"   # private_key_jwt (RSA or EC P-256 PEM)
//! # key_id = "2026-12"                       # the key's `kid` at the provider
//! scopes = ["openid", "ssn"]
//! acr_values = ["urn:grn:authn:se:bankid:same-device"]
//! accepted_acr = ["urn:grn:authn:se:bankid:same-device", "urn:grn:authn:se:bankid:another-device"]
//! identity = "personnummer"            # or "hsa_id"
//! claim = "ssn"                        # where the provider puts it
//! ```
//!
//! The claim is read from the ID token, or from UserInfo when the ID token
//! does not carry it (Signicat's `nin`). Secret and key files are relative
//! to the tenants directory.

use std::path::Path;

use tillit_app::sessions::Serves;

const KEYS: [&str; 14] = [
    "id",
    "label",
    "for",
    "issuer",
    "client_id",
    "client_secret_file",
    "private_key_file",
    "key_id",
    "scopes",
    "acr_values",
    "accepted_acr",
    "identity",
    "claim",
    "end_session",
];

/// One way to log in, as the tenant file gives it.
#[derive(Clone)]
pub struct LoginMethod {
    /// A short name for the method's address (`/login/oidc/<id>`).
    pub id: String,
    /// The button's text on the login page, e.g. "Mobilt BankID".
    pub label: String,
    pub serves: Serves,
    /// The provider's issuer, exactly as its discovery document and ID
    /// tokens give it.
    pub issuer: String,
    pub client_id: String,
    pub auth: ClientAuth,
    /// Asked for at the provider; always includes `openid`.
    pub scopes: Vec<String>,
    /// The `acr_values` asked for (empty: none asked).
    pub acr_values: Vec<String>,
    /// The `acr` an ID token must have (empty: any, or none).
    pub accepted_acr: Vec<String>,
    pub identity: IdentityKind,
    /// The claim (in the ID token or UserInfo) that holds the identity.
    pub claim: String,
    /// Whether logging out also ends the session at the provider (where it
    /// has an end-session endpoint). On by default.
    pub end_session: bool,
}

impl std::fmt::Debug for LoginMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginMethod")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// How Tillit proves itself to the provider's token endpoint.
#[derive(Clone)]
pub enum ClientAuth {
    /// `client_secret_basic`.
    Secret(String),
    /// `private_key_jwt`: a signed assertion per token request.
    PrivateKey {
        pem: Vec<u8>,
        algorithm: jsonwebtoken::Algorithm,
        key_id: Option<String>,
    },
}

impl std::fmt::Debug for ClientAuth {
    /// Names the kind only: the secret and the key stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Secret(_) => f.write_str("client_secret_basic"),
            ClientAuth::PrivateKey { algorithm, .. } => {
                write!(f, "private_key_jwt ({algorithm:?})")
            }
        }
    }
}

/// What kind of identity a method's claim holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    Personnummer,
    HsaId,
}

/// Reads `[[login.methods]]`, reporting each problem with its key; `dir`
/// is the tenants directory, which the secret and key files are relative
/// to.
pub(super) fn login_methods(
    table: &toml::Table,
    dir: &Path,
    issues: &mut Vec<String>,
) -> Vec<LoginMethod> {
    let Some(login) = table.get("login") else {
        return Vec::new();
    };
    let Some(login) = login.as_table() else {
        issues.push("login: expected a table with [[login.methods]]".into());
        return Vec::new();
    };
    for k in login.keys().filter(|k| *k != "methods") {
        issues.push(format!("login.{k}: unknown key; expected one of: methods"));
    }
    let Some(list) = login.get("methods").and_then(toml::Value::as_array) else {
        if login.contains_key("methods") {
            issues.push("login.methods: expected a list of [[login.methods]]".into());
        }
        return Vec::new();
    };
    let mut out: Vec<LoginMethod> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let key = format!("login.methods[{i}]");
        let Some(entry) = entry.as_table() else {
            issues.push(format!("{key}: expected a table with {}", KEYS.join(", ")));
            continue;
        };
        let before = issues.len();
        for k in entry.keys().filter(|k| !KEYS.contains(&k.as_str())) {
            issues.push(format!(
                "{key}.{k}: unknown key; expected one of: {}",
                KEYS.join(", ")
            ));
        }
        if let Some(m) = method(entry, &key, dir, &out, issues)
            && issues.len() == before
        {
            out.push(m);
        }
    }
    out
}

fn method(
    entry: &toml::Table,
    key: &str,
    dir: &Path,
    earlier: &[LoginMethod],
    issues: &mut Vec<String>,
) -> Option<LoginMethod> {
    let text = |k: &str, issues: &mut Vec<String>, what: &str| -> Option<String> {
        match entry.get(k).map(toml::Value::as_str) {
            Some(Some(s)) if !s.trim().is_empty() => Some(s.to_owned()),
            _ => {
                issues.push(format!("{key}.{k}: expected {what}"));
                None
            }
        }
    };
    let list = |k: &str, issues: &mut Vec<String>| -> Vec<String> {
        match entry.get(k) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => {
                let words: Vec<String> = items
                    .iter()
                    .filter_map(toml::Value::as_str)
                    .filter(|s| !s.trim().is_empty() && !s.contains(char::is_whitespace))
                    .map(str::to_owned)
                    .collect();
                if words.len() != items.len() {
                    issues.push(format!(
                        "{key}.{k}: expected a list of words (no spaces, none empty)"
                    ));
                }
                words
            }
            Some(_) => {
                issues.push(format!("{key}.{k}: expected a list of strings"));
                Vec::new()
            }
        }
    };

    let id = text(
        "id",
        issues,
        "a short name of a-z, 0-9 and '-', e.g. \"bankid\"",
    )?;
    let id_ok = (1..=32).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && id != "callback";
    if !id_ok {
        issues.push(format!(
            "{key}.id: expected 1–32 characters of a-z, 0-9 and '-', starting with a letter (not \"callback\"), found \"{id}\""
        ));
    } else if earlier.iter().any(|m| m.id == id) {
        issues.push(format!("{key}.id: \"{id}\" is already another method's id"));
    }
    let label = text(
        "label",
        issues,
        "the login button's text, e.g. \"Mobilt BankID\"",
    );
    if let Some(l) = &label
        && l.chars().count() > 40
    {
        issues.push(format!("{key}.label: expected at most 40 characters"));
    }
    let serves = match entry.get("for").and_then(toml::Value::as_str) {
        Some("patients") => Some(Serves::Patients),
        Some("staff") => Some(Serves::Staff),
        Some("everyone") => Some(Serves::Everyone),
        other => {
            issues.push(format!(
                "{key}.for: expected \"patients\", \"staff\" or \"everyone\", found {}",
                other.map_or("nothing".to_owned(), |o| format!("\"{o}\""))
            ));
            None
        }
    };
    let issuer = text("issuer", issues, "the provider's issuer URL (https://…)");
    if let Some(iss) = &issuer {
        let ok = match openidconnect::url::Url::parse(iss) {
            Ok(u) => {
                (u.scheme() == "https" || is_loopback_http(&u))
                    && u.query().is_none()
                    && u.fragment().is_none()
            }
            Err(_) => false,
        };
        if !ok {
            issues.push(format!(
                "{key}.issuer: expected an https URL with no query or fragment, found \"{iss}\""
            ));
        }
    }
    let client_id = text(
        "client_id",
        issues,
        "the client id the provider gave Tillit",
    );
    let auth = client_auth(entry, key, dir, issues);
    let mut scopes = list("scopes", issues);
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".to_owned());
    }
    let acr_values = list("acr_values", issues);
    let mut accepted_acr = list("accepted_acr", issues);
    if accepted_acr.is_empty() {
        // Asking for a level means accepting only it.
        accepted_acr.clone_from(&acr_values);
    }
    let identity = match entry.get("identity").and_then(toml::Value::as_str) {
        Some("personnummer") => Some(IdentityKind::Personnummer),
        Some("hsa_id") => Some(IdentityKind::HsaId),
        _ => {
            issues.push(format!(
                "{key}.identity: expected \"personnummer\" or \"hsa_id\""
            ));
            None
        }
    };
    if identity == Some(IdentityKind::HsaId) && serves.is_some_and(Serves::patients) {
        issues.push(format!(
            "{key}.for: an HSA-id names staff only; expected \"staff\" with identity = \"hsa_id\""
        ));
    }
    let claim = text(
        "claim",
        issues,
        "the claim that holds the identity, e.g. \"ssn\" (Idura), \"nin\" (Signicat), \"https://id.oidc.se/claim/personalIdentityNumber\" or \"employeeHsaId\" (Inera)",
    );
    let end_session = match entry.get("end_session") {
        None => true,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => {
            issues.push(format!("{key}.end_session: expected true or false"));
            true
        }
    };
    Some(LoginMethod {
        id,
        label: label?,
        serves: serves?,
        issuer: issuer?.trim_end_matches('/').to_owned(),
        client_id: client_id?,
        auth: auth?,
        scopes,
        acr_values,
        accepted_acr,
        identity: identity?,
        claim: claim?,
        end_session,
    })
}

/// Plain HTTP is allowed for a provider on this machine only (a
/// development or test provider); production checks the whole setup.
fn is_loopback_http(u: &openidconnect::url::Url) -> bool {
    u.scheme() == "http"
        && matches!(
            u.host(),
            Some(openidconnect::url::Host::Ipv4(ip)) if ip.is_loopback()
        )
}

fn client_auth(
    entry: &toml::Table,
    key: &str,
    dir: &Path,
    issues: &mut Vec<String>,
) -> Option<ClientAuth> {
    let secret = entry
        .get("client_secret_file")
        .and_then(toml::Value::as_str);
    let private = entry.get("private_key_file").and_then(toml::Value::as_str);
    let read = |k: &str, file: &str, issues: &mut Vec<String>| -> Option<Vec<u8>> {
        match std::fs::read(dir.join(file)) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                issues.push(format!(
                    "{key}.{k}: cannot read {}: {e}",
                    dir.join(file).display()
                ));
                None
            }
        }
    };
    match (secret, private) {
        (Some(file), None) => {
            let bytes = read("client_secret_file", file, issues)?;
            let secret = String::from_utf8(bytes).unwrap_or_default();
            let secret = secret.trim();
            if secret.is_empty() {
                issues.push(format!(
                    "{key}.client_secret_file: expected the client secret as text, found an empty or binary file"
                ));
                return None;
            }
            Some(ClientAuth::Secret(secret.to_owned()))
        }
        (None, Some(file)) => {
            let pem = read("private_key_file", file, issues)?;
            let algorithm = if jsonwebtoken::EncodingKey::from_rsa_pem(&pem).is_ok() {
                jsonwebtoken::Algorithm::RS256
            } else if jsonwebtoken::EncodingKey::from_ec_pem(&pem).is_ok() {
                jsonwebtoken::Algorithm::ES256
            } else {
                issues.push(format!(
                    "{key}.private_key_file: expected an RSA or EC P-256 private key in PEM (PKCS#8), in {}",
                    dir.join(file).display()
                ));
                return None;
            };
            let key_id = entry
                .get("key_id")
                .and_then(toml::Value::as_str)
                .map(str::to_owned);
            Some(ClientAuth::PrivateKey {
                pem,
                algorithm,
                key_id,
            })
        }
        _ => {
            issues.push(format!(
                "{key}: expected exactly one of `client_secret_file` (client_secret_basic) or `private_key_file` (private_key_jwt)"
            ));
            None
        }
    }
}

/// What keeps `tenant` from production: a kind of person (patients, staff)
/// with no e-ID method to log in with, or a provider reached over plain
/// HTTP.
pub fn production_issues(tenant: &super::Tenant) -> Vec<super::Issue> {
    let issue = |message: String| super::Issue {
        file: tenant.file.display().to_string(),
        message,
    };
    let methods = &tenant.login_methods;
    let mut issues = Vec::new();
    for (kind, served) in [
        ("patients", methods.iter().any(|m| m.serves.patients())),
        ("staff", methods.iter().any(|m| m.serves.staff())),
    ] {
        if !served {
            issues.push(issue(format!(
                "login.methods: production needs an e-ID method for {kind} (a [[login.methods]] with for = \"{kind}\" or \"everyone\"); the test login is off in production"
            )));
        }
    }
    for (i, m) in methods.iter().enumerate() {
        if !m.issuer.starts_with("https://") {
            issues.push(issue(format!(
                "login.methods[{i}].issuer: production needs an https issuer, found \"{}\"",
                m.issuer
            )));
        }
    }
    issues
}
