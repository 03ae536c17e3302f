//! What every form handler shares: field errors as the templates read them,
//! and the access-log entry for reading or changing a patient's data.

use std::collections::HashSet;

use serde_json::{Map, Value, json};
use tillit_domain::Role;
use tillit_domain::access::{AccessAction, AccessEvent};
use tillit_domain::booking::FieldError;
use tillit_domain::{Person, PersonId, Personnummer};

use crate::app::AppState;
use crate::error::AppError;
use crate::session::Ctx;

/// Each field's first error, as `{field: {key, max?, min?}}`; templates show
/// it with the `field_error` partial in the visitor's language.
#[derive(Debug, Default)]
pub struct FieldErrors(Map<String, Value>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, key: &str) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| json!({"key": key}));
    }

    pub fn add_max(&mut self, field: &str, key: &str, max: usize) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| json!({"key": key, "max": max}));
    }

    /// The domain's validation errors, as messages.
    pub fn from_domain(errors: &[(&'static str, FieldError)]) -> Self {
        let mut map = Map::new();
        for (field, e) in errors {
            let v = match e {
                FieldError::Required => json!({"key": "field.required"}),
                FieldError::TooLong { max } => json!({"key": "field.too_long", "max": max}),
                FieldError::TooShort { min } => {
                    json!({"key": "field.minutes_too_short", "min": min})
                }
                FieldError::TooLarge { max } => {
                    json!({"key": "field.minutes_too_long", "max": max})
                }
                FieldError::NotANumber => json!({"key": "field.not_a_number"}),
                FieldError::Invalid => json!({"key": "field.invalid"}),
            };
            map.entry((*field).to_owned()).or_insert(v);
        }
        Self(map)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

/// Records that `actor` read or changed the data of each subject, given as
/// (id, personnummer, role), in one statement. Subjects who are not
/// patients (a colleague in a test visit) are skipped, and each patient is
/// logged once. Fails closed: if the entries cannot be written, the
/// caller's request fails too.
pub async fn log_subjects<'s>(
    state: &AppState,
    ctx: &Ctx,
    actor: &Person,
    subjects: impl IntoIterator<Item = (&'s PersonId, &'s Personnummer, Role)>,
    action: AccessAction,
    what: &'static str,
) -> Result<(), AppError> {
    let mut seen = HashSet::new();
    let events: Vec<AccessEvent> = subjects
        .into_iter()
        .filter(|(id, _, role)| *role == Role::Patient && seen.insert(*id))
        .map(|(id, pnr, _)| AccessEvent {
            actor: actor.id.clone(),
            actor_role: actor.role,
            patient: id.clone(),
            patient_personnummer: pnr.clone(),
            action,
            what,
        })
        .collect();
    state
        .store
        .tenant(ctx.tenant.id.clone())
        .log_access_many(&events, state.clock.now())
        .await?;
    Ok(())
}

/// [`log_subjects`] for one person.
pub async fn log_access(
    state: &AppState,
    ctx: &Ctx,
    actor: &Person,
    subject: &Person,
    action: AccessAction,
    what: &'static str,
) -> Result<(), AppError> {
    log_access_all(state, ctx, actor, [subject], action, what).await
}

/// [`log_subjects`] for a list of people: a list of a hundred patients
/// costs one statement.
pub async fn log_access_all<'p>(
    state: &AppState,
    ctx: &Ctx,
    actor: &Person,
    subjects: impl IntoIterator<Item = &'p Person>,
    action: AccessAction,
    what: &'static str,
) -> Result<(), AppError> {
    let subjects = subjects
        .into_iter()
        .map(|s| (&s.id, &s.personnummer, s.role));
    log_subjects(state, ctx, actor, subjects, action, what).await
}
