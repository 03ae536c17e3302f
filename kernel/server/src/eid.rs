//! Logging in with e-ID (BankID, Freja eID, SITHS) through the OpenID
//! Connect providers a tenant's file names (`[[login.methods]]`): the
//! authorisation code flow with PKCE, `state` and `nonce`, and an ID token
//! checked in full. What the provider vouches for (a personnummer or an
//! HSA-id) goes to `tillit_app::sessions::log_in_as`, as every login does.
//!
//! # Layout
//! - `flow`: start (the redirect) and finish (code, tokens, identity).
//! - `provider`: discovery documents and keys, kept an hour; the types.
//! - `pending`: the login under way, sealed in a cookie until the callback.
//! - `logout`: back-channel logout tokens, and the provider's end-session
//!   address.
//! - `check`: `tillit tenants check --online`, the providers as the methods
//!   need them.
//! - `http`: the client for the providers (no redirects, capped answers).
//!
//! The routes are in `routes/login.rs`.

pub mod check;
pub mod flow;
#[cfg(test)]
mod forged;
pub mod http;
pub mod logout;
pub mod pending;
pub mod provider;

pub use provider::Providers;

/// Why an e-ID login failed. The person sees one page for all but a
/// cancelled login; the log says which (never with the identity).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The provider could not be reached, or refused the exchange (a code
    /// used twice, a PKCE verifier that does not match).
    #[error("provider: {0}")]
    Provider(String),
    /// The ID token failed a check.
    #[error("ID token refused: {0}")]
    Token(String),
    /// The token is good but does not say who the person is, as the method
    /// reads it.
    #[error("no identity: {0}")]
    NoIdentity(String),
    /// The callback does not belong to a login this browser started here
    /// (no, expired, or another `state`).
    #[error("callback without its login: {0}")]
    NotStartedHere(&'static str),
    /// The person cancelled, or the provider refused them (its `error`).
    #[error("the provider answered {0}")]
    Refused(String),
}

impl Failure {
    /// For the log and the metrics: which kind of failure.
    pub fn as_str(&self) -> &'static str {
        match self {
            Failure::Provider(_) => "provider",
            Failure::Token(_) => "token",
            Failure::NoIdentity(_) => "no_identity",
            Failure::NotStartedHere(_) => "not_started_here",
            Failure::Refused(_) => "refused",
        }
    }
}
