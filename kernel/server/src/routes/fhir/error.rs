//! The one place where a use case's refusal becomes a FHIR error (and so an
//! `OperationOutcome`, by `tillit_fhir::outcome`). Internal causes are
//! logged here, never sent.

use tillit_app::{Conflict, Error, Problem};
use tillit_fhir::FhirError;

/// The element of a resource a problem is about, and what to say.
fn problem(p: Problem, resource: &str) -> (String, String) {
    let at = |e: &str| format!("{resource}.{e}");
    let (path, text) = match p {
        Problem::VisitTypeUnknown => (
            at("serviceType"),
            "Not one of the clinician's visit types.".to_owned(),
        ),
        Problem::ReasonMissing | Problem::ReasonUnknown => (
            at("reasonCode"),
            "Not one of the tenant's reasons for a group visit.".to_owned(),
        ),
        Problem::StartInPast => (at("start"), "The start is in the past.".to_owned()),
        Problem::MessageTooLong { max } => (
            at("patientInstruction"),
            format!("The message to the patient is longer than {max} characters."),
        ),
        Problem::PatientIsSelf => (
            at("participant"),
            "The patient is the clinician themself.".to_owned(),
        ),
        Problem::PatientUnknown => (
            at("participant"),
            "The patient is not a patient of this care provider.".to_owned(),
        ),
        Problem::PatientInactive => (
            at("participant"),
            "The patient is inactive or removed here and cannot be booked.".to_owned(),
        ),
        Problem::NotAPatient => (
            at("identifier"),
            "The personnummer belongs to a member of staff, not a patient.".to_owned(),
        ),
        Problem::NameDiffers => (
            at("name"),
            "The name differs from the one on file for this personnummer.".to_owned(),
        ),
        Problem::ColleagueIsSelf | Problem::ColleagueUnknown => (
            at("participant"),
            "A Practitioner is not an active clinician of this care provider.".to_owned(),
        ),
        Problem::TooManyColleagues { max } => (
            at("participant"),
            format!("At most {max} colleagues may take part besides the clinician."),
        ),
        Problem::OnePatientOnly => (
            at("participant"),
            "Only a group visit (a visit type of kind group_video) has several Patient participants."
                .to_owned(),
        ),
        Problem::TooManyPatients { max } => (
            at("participant"),
            format!("A group visit takes at most {max} patients."),
        ),
        Problem::SlotTaken => (
            at("start"),
            "The clinician already has a visit at that time.".to_owned(),
        ),
        Problem::NotStaff
        | Problem::PersonnummerTaken
        | Problem::HsaIdTaken
        | Problem::OwnStatus => (resource.to_owned(), "Not allowed by the rules.".to_owned()),
    };
    (path, text)
}

/// A use case's error as the FHIR error for a request on `resource` (the
/// resource type the request is about).
pub fn from_app(e: Error, resource: &str) -> FhirError {
    match e {
        Error::NotFound => FhirError::NotFound(format!("{resource}: no such resource here.")),
        Error::Forbidden => FhirError::BusinessRule {
            path: None,
            message: "The rules do not allow this change to this resource.".into(),
        },
        Error::Invalid(problems) => {
            let (path, message) = problems
                .first()
                .map(|p| problem(*p, resource))
                .unwrap_or_else(|| (resource.to_owned(), "The resource is not valid.".into()));
            let more: Vec<String> = problems
                .iter()
                .skip(1)
                .map(|p| problem(*p, resource).1)
                .collect();
            FhirError::BusinessRule {
                path: Some(path),
                message: if more.is_empty() {
                    message
                } else {
                    format!("{message} {}", more.join(" "))
                },
            }
        }
        Error::Conflict(c) => match c {
            Conflict::NotPublished => FhirError::rule(
                format!("{resource}.participant"),
                "The clinician's profile is not published: nobody can be booked with them yet.",
            ),
            Conflict::Overlap => FhirError::rule(
                format!("{resource}.start"),
                "The clinician already has a visit at that time (the slot is taken).",
            ),
            Conflict::NotChangeable => FhirError::rule(
                format!("{resource}.status"),
                "The booking's status does not allow this change.",
            ),
            Conflict::ChangedMeanwhile => FhirError::Conflict(
                "The booking was changed by someone else meanwhile; read it again.".into(),
            ),
            Conflict::CannotStartNow | Conflict::NotInProgress => FhirError::rule(
                format!("{resource}.status"),
                "The visit is not in a state that allows this now.",
            ),
            Conflict::IdentifierTaken => FhirError::Conflict(
                "An identifier of this Appointment already names another Appointment here.".into(),
            ),
            Conflict::PatientOnFile { .. } => FhirError::rule(
                format!("{resource}.participant"),
                "The patient on file is removed or has another mobile number; change that in Tillit first.",
            ),
        },
        Error::Store(e) => {
            tracing::error!(error = %e, "FHIR request failed in the store");
            FhirError::Internal
        }
    }
}
