//! The tenant as the kernel uses it once its file is validated.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tillit_domain::TenantId;
use tillit_domain::people::NewPerson;
use tillit_domain::session::SessionPolicy;

use super::{Brand, LoginMethod, SmsProvider};
use crate::values::{ConfigDuration, Language};

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
    /// The journal systems that may use the FHIR API (`[[fhir.clients]]`).
    pub fhir_clients: Vec<tillit_fhir::smart::Client>,
    /// The e-ID methods people log in with (`[[login.methods]]`).
    pub login_methods: Vec<LoginMethod>,
    /// Where the file came from, for messages.
    pub file: PathBuf,
}

impl Tenant {
    /// The e-ID method with this id in the tenant's file.
    pub fn login_method(&self, id: &str) -> Option<&LoginMethod> {
        self.login_methods.iter().find(|m| m.id == id)
    }
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
