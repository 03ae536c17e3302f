//! The one place where failures become HTTP responses.
//!
//! Handlers return [`AppError`]. Its `IntoResponse` sets the status and tags
//! the response with the error's kind; the error-page layer in `web` then
//! renders the tenant's themed page in the visitor's language. Internal
//! causes are logged here and never shown to the visitor.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tillit_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("login required")]
    LoginRequired,
    #[error("forbidden")]
    Forbidden,
    /// A state-changing request without a valid CSRF token or from another origin.
    #[error("CSRF check failed: {0}")]
    Csrf(&'static str),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The thing changed (or is in a state) that does not allow this.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database did not answer.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Marks the redirect to the login page, for the session layer.
#[derive(Debug, Clone, Copy)]
pub struct LoginRedirect;

/// Which error page to show; read by the error-page layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorKind(pub &'static str);

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::LoginRequired => StatusCode::SEE_OTHER,
            AppError::Forbidden | AppError::Csrf(_) => StatusCode::FORBIDDEN,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The catalog key prefix of the page's title and text (`error.<kind>.*`).
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::LoginRequired => "login_required",
            AppError::Forbidden => "forbidden",
            AppError::Csrf(_) => "csrf",
            AppError::PayloadTooLarge => "too_large",
            AppError::BadRequest(_) => "bad_request",
            AppError::Conflict(_) => "conflict",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// What a use case refused, when the handler has nothing better to show
/// (forms render `Invalid` and some conflicts as field errors themselves).
impl From<tillit_app::Error> for AppError {
    fn from(e: tillit_app::Error) -> Self {
        use tillit_app::{Conflict, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::Forbidden => AppError::Forbidden,
            Error::Invalid(_) => AppError::BadRequest("invalid"),
            Error::Conflict(c) => AppError::Conflict(match c {
                Conflict::NotPublished => "profile not published",
                Conflict::Overlap => "overlaps another booking",
                Conflict::NotChangeable => "booking cannot change",
                Conflict::ChangedMeanwhile => "changed concurrently",
                Conflict::CannotStartNow => "the visit cannot be started now",
                Conflict::NotInProgress => "the visit is not in progress",
                Conflict::PatientOnFile { .. } => "the patient on file needs a choice",
                Conflict::IdentifierTaken => "the identifier names another booking",
            }),
            Error::Store(e) => e.into(),
        }
    }
}

impl From<handlebars::RenderError> for AppError {
    fn from(e: handlebars::RenderError) -> Self {
        AppError::Internal(format!("rendering failed: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(cause) => tracing::error!(%cause, "request failed"),
            AppError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            AppError::Csrf(why) => tracing::warn!(why, "CSRF check failed"),
            _ => {}
        }
        if let AppError::LoginRequired = self {
            // Not an error page: a redirect, tagged so the session layer can
            // add why the session ended.
            let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
            res.extensions_mut().insert(LoginRedirect);
            return res;
        }
        let mut res = (
            self.status(),
            self.status().canonical_reason().unwrap_or("error"),
        )
            .into_response();
        res.extensions_mut().insert(ErrorKind(self.kind()));
        res
    }
}

/// The portal's fallback: any path no route matched.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
