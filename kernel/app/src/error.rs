//! What a use case refuses. Each door maps these once: the portal to field
//! errors and status codes (`kernel/server`'s `http/error.rs` and its
//! forms), FHIR to an `OperationOutcome`.

use tillit_store::StoreError;

/// Why a use case did nothing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not there, or not the actor's to know about: the same answer, so
    /// that nobody learns what exists elsewhere.
    #[error("not found")]
    NotFound,
    /// The actor is known to take part but may not do this.
    #[error("not allowed")]
    Forbidden,
    /// The command breaks rules; each problem names the part it is about.
    /// Empty when the door already told the person what it could not read.
    #[error("invalid: {0:?}")]
    Invalid(Vec<Problem>),
    /// The state of things does not allow it now.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A rule a command broke, by the part of the command it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not one of the clinician's visit types.
    VisitTypeUnknown,
    /// A group visit needs a sökorsak.
    ReasonMissing,
    /// Not one of the tenant's sökorsaker.
    ReasonUnknown,
    /// The start is in the past.
    StartInPast,
    MessageTooLong {
        max: usize,
    },
    /// The patient is the clinician themself.
    PatientIsSelf,
    /// Not one of the clinician's patients (or not in the tenant).
    PatientUnknown,
    /// The patient is inactive here and cannot be invited.
    PatientInactive,
    /// The personnummer belongs to a member of staff.
    NotAPatient,
    /// The name given is not the one on file for the personnummer (which
    /// one is on file is not said).
    NameDiffers,
    /// The colleague is the clinician themself.
    ColleagueIsSelf,
    /// Not an active clinician of the tenant.
    ColleagueUnknown,
    TooManyColleagues {
        max: usize,
    },
    /// Several patients, for a visit type that is not a group visit.
    OnePatientOnly,
    TooManyPatients {
        max: usize,
    },
    /// Another active booking of the clinician starts at that time.
    SlotTaken,
    /// Only clinicians and administrators are created as staff.
    NotStaff,
    /// Someone in the tenant already has this personnummer.
    PersonnummerTaken,
    /// Someone in the tenant already has this HSA-id.
    HsaIdTaken,
    /// Nobody changes their own status.
    OwnStatus,
}

/// Why the state of things refuses a change now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The clinician's profile is not published: nobody can be booked yet.
    NotPublished,
    /// The time overlaps another of the clinician's bookings; the command
    /// may be repeated with the overlap accepted.
    Overlap,
    /// The booking's status does not allow this (finished, cancelled, …).
    NotChangeable,
    /// Someone else changed it first; nothing was done.
    ChangedMeanwhile,
    /// The visit cannot be started now (not confirmed, outside the window).
    CannotStartNow,
    /// The visit is not in progress.
    NotInProgress,
    /// The patient on file is removed, or has another mobile number: the
    /// command may be repeated choosing to make them active again and/or
    /// to replace the number (`Book::on_file`), which is logged.
    PatientOnFile { removed: bool, other_phone: bool },
    /// Another system's id given for the booking already names another.
    IdentifierTaken,
}

impl Error {
    pub(crate) fn invalid(problem: Problem) -> Self {
        Error::Invalid(vec![problem])
    }
}
