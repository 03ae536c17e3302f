//! What every form handler shares: field errors as the templates read them,
//! and the access-log entry for reading or changing a patient's data.

use serde_json::{Map, Value, json};
use tillit_app::Problem;
use tillit_domain::Role;
use tillit_domain::access::AccessAction;
use tillit_domain::booking::FieldError;
use tillit_domain::people::{HsaIdError, NameError};
use tillit_domain::personnummer::PersonnummerError;
use tillit_domain::{Person, PersonId, Personnummer};

use crate::http::error::AppError;
use crate::http::extract::Portal;

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

    /// The rules a booking broke (`tillit_app`), on the form's fields.
    pub fn add_problems(&mut self, problems: &[Problem], fields: ProblemFields) {
        for p in problems {
            match *p {
                Problem::VisitTypeUnknown => self.add("visit_type_id", "field.required"),
                Problem::ReasonMissing => self.add("reason", "field.required"),
                Problem::ReasonUnknown => self.add("reason", "wizard.reason_unknown"),
                Problem::StartInPast => self.add("date", "booking.past"),
                Problem::MessageTooLong { max } => self.add_max("message", "field.too_long", max),
                Problem::PatientIsSelf => self.add("personnummer", "booking.self"),
                Problem::PatientUnknown => self.add(fields.patient_unknown, "field.required"),
                Problem::PatientInactive => {
                    self.add(fields.patient_state, "booking.patient_inactive")
                }
                Problem::NotAPatient => self.add(fields.patient_state, "booking.not_a_patient"),
                Problem::NameDiffers => self.add("given_name", "booking.name_differs"),
                Problem::ColleagueIsSelf => self.add("colleague_id", "booking.self"),
                Problem::ColleagueUnknown => {
                    self.add(fields.colleague.0, fields.colleague.1);
                }
                Problem::TooManyColleagues { max } => {
                    self.add_max("colleagues", "wizard.too_many", max)
                }
                Problem::OnePatientOnly => self.add("patients", "wizard.one_patient_only"),
                Problem::TooManyPatients { max } => {
                    self.add_max("patients", "wizard.too_many_patients", max)
                }
                Problem::SlotTaken => self.add("time", "booking.slot_taken"),
                Problem::NotStaff => self.add("role", "field.role.staff"),
                Problem::PersonnummerTaken => self.add("personnummer", "field.personnummer.taken"),
                Problem::HsaIdTaken => self.add("hsa_id", "field.hsa_id.taken"),
                // No form has a field for it: refused as a bad request.
                Problem::OwnStatus => {}
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

/// Where a form shows the problems whose field depends on the form.
#[derive(Debug, Clone, Copy)]
pub struct ProblemFields {
    /// The field of a patient who is not one of the clinician's.
    pub patient_unknown: &'static str,
    /// The field of a patient who is inactive or not a patient.
    pub patient_state: &'static str,
    /// The field and message of an unknown colleague.
    pub colleague: (&'static str, &'static str),
}

impl ProblemFields {
    /// The group-visit wizard's fields (and those of forms with none of
    /// these fields).
    pub const WIZARD: ProblemFields = ProblemFields {
        patient_unknown: "patient_id",
        patient_state: "personnummer",
        colleague: ("colleagues", "wizard.colleague_unknown"),
    };
}

/// Records that `actor` read or changed the data of each subject, given as
/// (id, personnummer, role), in one statement. Subjects who are not
/// patients (a colleague in a test visit) are skipped, and each patient is
/// logged once. Fails closed: if the entries cannot be written, the
/// caller's request fails too.
pub async fn log_subjects<'s>(
    p: &Portal,
    actor: &Person,
    subjects: impl IntoIterator<Item = (&'s PersonId, &'s Personnummer, Role)>,
    action: AccessAction,
    what: &'static str,
) -> Result<(), AppError> {
    let store = p.store();
    let actor = tillit_app::Actor::portal(actor.clone());
    tillit_app::access::log(p.env(&store), &actor, subjects, action, what).await?;
    Ok(())
}

/// [`log_subjects`] for one person.
pub async fn log_access(
    p: &Portal,
    actor: &Person,
    subject: &Person,
    action: AccessAction,
    what: &'static str,
) -> Result<(), AppError> {
    log_access_all(p, actor, [subject], action, what).await
}

/// [`log_subjects`] for a list of people: a list of a hundred patients
/// costs one statement.
pub async fn log_access_all<'s>(
    p: &Portal,
    actor: &Person,
    subjects: impl IntoIterator<Item = &'s Person>,
    action: AccessAction,
    what: &'static str,
) -> Result<(), AppError> {
    let subjects = subjects
        .into_iter()
        .map(|s| (&s.id, &s.personnummer, s.role));
    log_subjects(p, actor, subjects, action, what).await
}

/// The message for an HSA-id that cannot be read.
pub fn hsa_id_error_key(e: HsaIdError) -> &'static str {
    match e {
        HsaIdError::Shape => "field.hsa_id.shape",
        HsaIdError::TooLong { .. } => "field.hsa_id.too_long",
    }
}

/// The message for a personnummer that cannot be read.
pub fn personnummer_error_key(e: PersonnummerError) -> &'static str {
    match e {
        PersonnummerError::WrongLength => "field.personnummer.length",
        PersonnummerError::NotDigits => "field.personnummer.digits",
        PersonnummerError::InvalidDate => "field.personnummer.date",
        PersonnummerError::BadCheckDigit => "field.personnummer.check_digit",
        PersonnummerError::BornInFuture => "field.personnummer.born.future",
    }
}

/// The message for a name that cannot be used.
pub fn name_error_key(e: NameError) -> &'static str {
    match e {
        NameError::Empty => "field.name.empty",
        NameError::TooLong { .. } => "field.name.too_long",
        NameError::BadCharacters => "field.name.characters",
    }
}
