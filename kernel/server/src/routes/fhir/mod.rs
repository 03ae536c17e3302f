//! The FHIR R4 API for journal systems, at `/fhir/R4` on each tenant's
//! host: a thin adapter. A handler checks the token ([`auth::Ehr`]),
//! parses with `tillit_fhir`, calls the use case every door calls
//! (`tillit_app`), and answers with what `tillit_fhir` writes. Outside the
//! portal's sessions and CSRF: a journal system authenticates with SMART
//! Backend Services tokens instead.
//!
//! - [`auth`]: SMART discovery, the token endpoint, and the bearer check.
//! - [`error`]: use-case errors as FHIR errors, in one place.
//! - [`capability`]: what the server does, and the CapabilityStatement.
//! - [`patient`], [`practitioner`], [`appointment`], [`encounter`],
//!   [`schedule`] (with Slot): one resource each.
//! - [`transaction`]: a Bundle of creates, all or nothing.
//! - [`search`]: the search parameters the resources share; [`history`]:
//!   `vread` and `_history` of the versioned ones.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tillit_fhir::FhirError;
use tillit_fhir::map::Version;
use tillit_fhir::media::FHIR_JSON;

pub mod appointment;
pub mod auth;
pub mod capability;
pub mod encounter;
pub mod error;
pub mod history;
pub mod patient;
pub mod practitioner;
pub mod schedule;
pub mod search;
pub mod transaction;

/// The path of the FHIR API on a tenant's host.
pub const BASE_PATH: &str = "/fhir/R4";

/// A FHIR answer: a status and a resource (or an OperationOutcome), with
/// the version of the resource when it is one.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
    pub version: Option<Version>,
}

impl Answer {
    pub fn ok(body: String) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            location: None,
            version: None,
        }
    }

    /// A new resource at `location` (its `Location` names the version).
    pub fn created(body: String, location: String, version: Version) -> Self {
        Self {
            status: StatusCode::CREATED,
            body,
            location: Some(format!("{location}/_history/{}", version.number)),
            version: Some(version),
        }
    }

    /// The answer is `version` of a resource: `ETag` and `Last-Modified`
    /// say which.
    pub fn of_version(mut self, version: Version) -> Self {
        self.version = Some(version);
        self
    }
}

/// An HTTP date (RFC 9110), as `Last-Modified` has it.
fn http_date(t: tillit_domain::Timestamp) -> Option<String> {
    let t = jiff::Timestamp::from_millisecond(t.0).ok()?;
    Some(t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

/// What a FHIR handler returns.
pub type FhirResult = Result<Answer, FhirError>;

fn with_type(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    res
}

/// The response for a FHIR handler's result: the resource, or the error's
/// OperationOutcome with its status (401s say how to authenticate).
pub fn respond(result: FhirResult) -> Response {
    match result {
        Ok(a) => {
            let mut res = with_type(a.status, a.body);
            if let Some(loc) = a.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                res.headers_mut().insert(header::LOCATION, loc);
            }
            if let Some(v) = a.version {
                let h = res.headers_mut();
                if let Ok(etag) = HeaderValue::from_str(&tillit_fhir::map::etag(v)) {
                    h.insert(header::ETAG, etag);
                }
                if let Some(date) =
                    http_date(v.last_updated).and_then(|d| HeaderValue::from_str(&d).ok())
                {
                    h.insert(header::LAST_MODIFIED, date);
                }
            }
            res
        }
        Err(e) => error_response(&e),
    }
}

pub fn error_response(e: &FhirError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = with_type(status, e.outcome_json());
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    res
}

/// The body's `Content-Type`, checked for FHIR JSON.
pub fn json_body(headers: &HeaderMap) -> Result<(), FhirError> {
    tillit_fhir::media::check_content_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// A method a FHIR path does not have: the router's bare 405, answered
/// as an OperationOutcome.
pub async fn method_not_allowed(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = req.method().clone();
    let res = next.run(req).await;
    if res.status() != StatusCode::METHOD_NOT_ALLOWED {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let mut out = error_response(&FhirError::MethodNotAllowed(format!(
        "{method} is not supported here; see /fhir/R4/metadata for the interactions this server has."
    )));
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

/// Any other path under `/fhir/R4`: a FHIR 404, not a portal page.
pub async fn unknown() -> Response {
    error_response(&FhirError::NotFound(
        "This server has no such endpoint; see /fhir/R4/metadata for what it supports.".into(),
    ))
}
