//! The patient-data access log.
//!
//! Swedish patient-data law (patientdatalagen 4 kap. 3 §) requires that every
//! access to a patient's data can be followed up: who, which patient, what,
//! when, and under which care provider. The kernel writes one
//! [`AccessEvent`] per read or change; storage keeps them append-only and
//! independent of the patient row, so they outlive the patient's deletion.

use crate::{PersonId, Personnummer, Role};

/// What was done with the patient's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessAction {
    Read,
    Create,
    Update,
    Delete,
}

impl AccessAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// Who read or changed a patient's data: a person of the tenant, or a
/// journal system (an EHR client of the FHIR API), which the log names by
/// its client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accessor {
    Person { id: PersonId, role: Role },
    JournalSystem { client: String },
}

impl Accessor {
    /// The log's `actor_id`: a person's id, or `journal-system:<client>`.
    pub fn id(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Person { id, .. } => id.as_str().into(),
            Self::JournalSystem { client } => format!("journal-system:{client}").into(),
        }
    }

    /// The log's `actor_role`.
    pub fn role(&self) -> &'static str {
        match self {
            Self::Person { role, .. } => role.as_str(),
            Self::JournalSystem { .. } => "journal_system",
        }
    }
}

/// One entry of the access log. The tenant and time are added by the store
/// and the caller's clock.
#[derive(Debug, Clone)]
pub struct AccessEvent {
    pub actor: Accessor,
    pub patient: PersonId,
    /// Kept in the entry itself, so the entry still names the patient after
    /// the patient row is gone.
    pub patient_personnummer: Personnummer,
    pub action: AccessAction,
    /// Which data, in a stable machine-readable form, e.g. `"profile"` or
    /// `"people.list"`.
    pub what: &'static str,
}

/// One stored access-log entry, as shown to whoever follows up the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogEntry {
    pub at: crate::Timestamp,
    pub actor_id: String,
    pub actor_role: String,
    pub patient_id: String,
    pub action: String,
    pub what: String,
}
