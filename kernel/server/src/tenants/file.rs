//! One tenant file: parsed, read key by key, and checked for meaning.

use std::path::Path;
use std::time::Duration;

use tillit_domain::TenantId;
use tillit_domain::session::SessionPolicy;

use super::bootstrap::{bootstrap_people, read_bootstrap};
use super::fhir::fhir_clients;
use super::grants::plugin_grants;
use super::hosts::check_hosts;
use super::login::login_methods;
use super::reader::Reader;
use super::sms::SmsKeys;
use super::{Booking, Brand, FEATURES, Issue, Tenant};
use crate::values::{ConfigDuration, Language};

fn thirty_minutes() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(30 * 60))
}

/// Reads the tenant file `file` in the tenants directory `dir`; `themes`
/// lists the installed themes. Returns the tenant, or every issue in it.
pub(super) fn load_file(file: &Path, dir: &Path, themes: &[String]) -> Result<Tenant, Vec<Issue>> {
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
    let mut r = Reader::new(&text, &table, name.clone());
    r.unknown_keys();

    let id: Option<String> = r.require("id");
    let display_name: Option<String> = r.require("display_name");
    let hosts: Option<Vec<String>> = r.require("hosts");
    let theme: Option<String> = r.get("theme");
    let brand = Brand::read(&mut r);
    let features: Option<Vec<String>> = r.get("features");
    let sms_sender: Option<String> = r.require("booking.sms_sender");
    let require_confirmation: Option<bool> = r.get("booking.require_confirmation");
    let reminder_lead: Option<ConfigDuration> = r.get("booking.reminder_lead");
    let reasons: Option<Vec<String>> = r.get("booking.reasons");
    let max_participants: Option<usize> = r.get("booking.max_participants");
    let sms = SmsKeys::read(&mut r);
    let idle: Option<ConfigDuration> = r.get("session.idle_timeout");
    let absolute: Option<ConfigDuration> = r.get("session.absolute_lifetime");
    let retention: Option<ConfigDuration> = r.require("data_retention");
    let lang: Option<Language> = r.get("default_language");
    let terms_version: Option<String> = r.get("terms_version");
    let bootstrap = read_bootstrap(&table, r.issues());
    let fhir_clients = fhir_clients(&table, dir, r.issues());
    let login_methods = login_methods(&table, dir, r.issues());
    // Values that parsed, checked for meaning.
    let id = id.and_then(|s| match TenantId::parse(&s) {
        Ok(id) => Some(id),
        Err(e) => {
            let _ = e;
            r.issue(format!(
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
            r.issue(format!(
                "id: expected the file name ({stem}), found \"{id}\"; name the file {id}.toml"
            ));
        }
    }
    if let Some(d) = &display_name
        && (d.trim().is_empty() || d.chars().count() > 80)
    {
        r.issue("display_name: expected 1–80 characters".into());
    }
    let hosts = hosts.map(|hs| check_hosts(hs, r.issues()));
    let theme = theme.unwrap_or_else(|| "default".to_owned());
    if !themes.contains(&theme) {
        r.issue(format!(
            "theme: expected one of the installed themes ({}), found \"{theme}\"",
            themes.join(", ")
        ));
    }
    brand.check(dir, r.issues());
    let features = features.unwrap_or_default();
    for f in &features {
        if !FEATURES.contains(&f.as_str()) {
            r.issue(format!(
                "features: expected one of: {}, found \"{f}\"",
                FEATURES.join(", ")
            ));
        }
    }
    let plugins = plugin_grants(&mut r, &features);
    if let Some(s) = &sms_sender {
        let ok = (3..=11).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok {
            r.issue(format!(
                "booking.sms_sender: expected 3–11 letters (a–z) or digits, starting with a letter, found \"{s}\""
            ));
        }
    }
    let reminder_lead = reminder_lead.unwrap_or_else(thirty_minutes);
    if reminder_lead.0 > Duration::from_secs(7 * 86_400) {
        r.issue("booking.reminder_lead: expected at most 7d".into());
    }
    let max_participants = max_participants.unwrap_or(tillit_domain::visit::DEFAULT_GROUP_CAP);
    if !(2..=100).contains(&max_participants) {
        r.issue(format!(
            "booking.max_participants: expected 2–100, found {max_participants}"
        ));
    }
    let reasons = reasons.unwrap_or_default();
    for (i, reason) in reasons.iter().enumerate() {
        if reason.trim().is_empty() || reason.chars().count() > 80 {
            r.issue(format!(
                "booking.reasons[{i}]: expected 1–80 characters, found \"{reason}\""
            ));
        }
    }
    let sms = sms.provider(dir, r.issues());
    let mut policy = SessionPolicy::default();
    if let Some(d) = idle {
        policy.idle_timeout = d.0;
    }
    if let Some(d) = absolute {
        policy.absolute_lifetime = d.0;
    }
    if policy.idle_timeout < Duration::from_secs(60) {
        r.issue("session.idle_timeout: expected at least 1m".into());
    }
    if policy.absolute_lifetime < policy.idle_timeout {
        r.issue(format!(
            "session.absolute_lifetime: expected at least the idle timeout ({})",
            tillit_domain::time::format_duration(policy.idle_timeout)
        ));
    }
    if let Some(retention) = &retention
        && retention.0 < Duration::from_secs(86_400)
    {
        r.issue("data_retention: expected at least 1d".into());
    }
    if let Some(v) = &terms_version
        && (v.trim().is_empty() || v.chars().count() > 40)
    {
        r.issue(format!(
            "terms_version: expected 1–40 characters, found \"{v}\""
        ));
    }
    let people = bootstrap_people(bootstrap, r.issues());
    let issues = r.finish();

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
                fhir_clients,
                login_methods,
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

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
