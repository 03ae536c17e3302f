//! What goes wrong, as a FHIR client is told: every error of the FHIR API
//! is a [`FhirError`], and [`FhirError::status`] and
//! [`FhirError::outcome_json`] are the one place it becomes an HTTP status
//! and an `OperationOutcome`. The kernel maps its use cases' errors to a
//! `FhirError` in one place too (`routes/fhir/error.rs`).

use serde_json::json;

/// Why a FHIR request did nothing. The message is precise and never holds
/// personal data: it is shown to the integrator and may be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    /// The body is not valid JSON or not a valid resource of the type.
    /// `path` is where, as a FHIRPath-like expression (`Appointment.start`).
    #[error("invalid resource at {path:?}: {message}")]
    Structure {
        path: Option<String>,
        message: String,
    },
    /// A parameter or header the request has is not understood or has a
    /// bad value.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No access token, or a bad one.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The token does not grant this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    /// The client accepts no format Tillit writes (JSON only).
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    /// The body is not in a format Tillit reads.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The state of things does not allow it (a duplicate, say).
    #[error("conflict: {0}")]
    Conflict(String),
    /// `If-Match` or a conditional create's criteria did not hold.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// A business rule refuses it; `path` names the element concerned.
    #[error("business rule at {path:?}: {message}")]
    BusinessRule {
        path: Option<String>,
        message: String,
    },
    /// Something failed on Tillit's side; the details are in the log.
    #[error("internal error")]
    Internal,
}

impl FhirError {
    pub fn structure(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Structure {
            path: Some(path.into()),
            message: message.into(),
        }
    }

    pub fn rule(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BusinessRule {
            path: Some(path.into()),
            message: message.into(),
        }
    }

    /// The same error for an entry of a transaction: its element paths
    /// are under `prefix` (`Bundle.entry[1].resource`), and the other
    /// messages name the entry.
    pub fn within(self, entry: usize) -> Self {
        let prefix = format!("Bundle.entry[{entry}].resource");
        let under = |path: Option<String>| {
            Some(match path {
                Some(p) => format!(
                    "{prefix}.{}",
                    p.split_once('.').map_or("", |(_, rest)| rest)
                )
                .trim_end_matches('.')
                .to_owned(),
                None => prefix.clone(),
            })
        };
        let named = |m: String| format!("Bundle.entry[{entry}]: {m}");
        match self {
            Self::Structure { path, message } => Self::Structure {
                path: under(path),
                message,
            },
            Self::BusinessRule { path, message } => Self::BusinessRule {
                path: under(path),
                message,
            },
            Self::BadRequest(m) => Self::BadRequest(named(m)),
            Self::Unauthorized(m) => Self::Unauthorized(m),
            Self::Forbidden(m) => Self::Forbidden(named(m)),
            Self::NotFound(m) => Self::NotFound(named(m)),
            Self::MethodNotAllowed(m) => Self::MethodNotAllowed(named(m)),
            Self::NotAcceptable(m) => Self::NotAcceptable(m),
            Self::UnsupportedMediaType(m) => Self::UnsupportedMediaType(m),
            Self::Conflict(m) => Self::Conflict(named(m)),
            Self::PreconditionFailed(m) => Self::PreconditionFailed(named(m)),
            Self::Internal => Self::Internal,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Structure { .. } | Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::NotAcceptable(_) => 406,
            Self::Conflict(_) => 409,
            Self::PreconditionFailed(_) => 412,
            Self::UnsupportedMediaType(_) => 415,
            Self::BusinessRule { .. } => 422,
            Self::Internal => 500,
        }
    }

    /// The issue type (`IssueType` value set) of the outcome.
    fn issue_code(&self) -> &'static str {
        match self {
            Self::Structure { .. } => "structure",
            Self::BadRequest(_) => "invalid",
            Self::Unauthorized(_) => "login",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed(_) | Self::NotAcceptable(_) | Self::UnsupportedMediaType(_) => {
                "not-supported"
            }
            Self::Conflict(_) => "conflict",
            Self::PreconditionFailed(_) => "conflict",
            Self::BusinessRule { .. } => "business-rule",
            Self::Internal => "exception",
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Structure { message, .. } | Self::BusinessRule { message, .. } => message.clone(),
            Self::BadRequest(m)
            | Self::Unauthorized(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::MethodNotAllowed(m)
            | Self::NotAcceptable(m)
            | Self::UnsupportedMediaType(m)
            | Self::Conflict(m)
            | Self::PreconditionFailed(m) => m.clone(),
            Self::Internal => "An internal error occurred; it has been logged.".to_owned(),
        }
    }

    /// The `OperationOutcome` the client gets, as JSON.
    pub fn outcome_json(&self) -> String {
        let mut issue = json!({
            "severity": if matches!(self, Self::Internal) { "fatal" } else { "error" },
            "code": self.issue_code(),
            "diagnostics": self.message(),
        });
        if let Self::Structure { path: Some(p), .. } | Self::BusinessRule { path: Some(p), .. } =
            self
        {
            issue["expression"] = json!([p]);
        }
        json!({
            "resourceType": "OperationOutcome",
            "issue": [issue],
        })
        .to_string()
    }
}

/// An `OperationOutcome` saying all went well, with `message` (the answer
/// to a delete, say).
pub fn information_json(message: &str) -> String {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": message}],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_an_outcome_naming_the_element() {
        let e = FhirError::rule("Appointment.start", "The start is in the past.");
        assert_eq!(e.status(), 422);
        let v: serde_json::Value = serde_json::from_str(&e.outcome_json()).unwrap();
        assert_eq!(v["resourceType"], "OperationOutcome");
        assert_eq!(v["issue"][0]["code"], "business-rule");
        assert_eq!(v["issue"][0]["expression"][0], "Appointment.start");
        assert_eq!(v["issue"][0]["diagnostics"], "The start is in the past.");
        assert_eq!(FhirError::Unauthorized("x".into()).status(), 401);
        assert_eq!(FhirError::PreconditionFailed("x".into()).status(), 412);
        assert_eq!(FhirError::UnsupportedMediaType("x".into()).status(), 415);
        let in_entry = e.within(1);
        let v: serde_json::Value = serde_json::from_str(&in_entry.outcome_json()).unwrap();
        assert_eq!(
            v["issue"][0]["expression"][0],
            "Bundle.entry[1].resource.start"
        );
        assert_eq!(
            FhirError::Conflict("taken".into()).within(0),
            FhirError::Conflict("Bundle.entry[0]: taken".into())
        );
    }
}
