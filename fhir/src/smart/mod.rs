//! SMART Backend Services: how a journal system's backend (an EHR) gets an
//! access token for Tillit's FHIR API, and how the API checks it.
//!
//! The flow (SMART App Launch 2.x, "Backend Services"; RFC 7523):
//!
//! 1. The EHR reads [`smart_configuration`] at
//!    `<FHIR base>/.well-known/smart-configuration`.
//! 2. It posts to the token endpoint a form with `grant_type`
//!    `client_credentials`, a `scope`, and a `client_assertion`: a JWT it
//!    signed (RS384 or ES384) with a key whose public half it registered
//!    ([`Client::new`]). The kernel reads the form with
//!    [`parse_token_request`], authenticates the client with
//!    [`verify_assertion`], refuses a `jti` it has stored before, grants
//!    the client's allowance intersected with the request
//!    ([`Scopes::grant`]), and answers with [`issue_access_token`] and
//!    [`token_response`], or with [`SmartError::oauth_error`].
//! 3. Each FHIR request carries the token; the kernel checks it with
//!    [`verify_access_token`] and each interaction with
//!    [`Scopes::permits`].
//!
//! Everything here is pure: no IO, no clock (the kernel passes `now`), no
//! database (the kernel stores clients and seen `jti`s).

mod assertion;
mod clients;
mod discovery;
mod error;
mod scopes;
mod token;

pub use assertion::{Verified, verify_assertion};
pub use clients::Client;
pub use discovery::smart_configuration;
pub use error::{AccessTokenProblem, AssertionProblem, SmartError};
pub use scopes::{Interaction, Scopes};
pub use token::{
    AccessClaims, MIN_SECRET_BYTES, TokenRequest, issue_access_token, parse_token_request,
    token_response, verify_access_token,
};
