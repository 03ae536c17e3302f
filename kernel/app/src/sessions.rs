//! Logging in and out. Every identity provider (the development login
//! today; BankID and SITHS through OpenID Connect next) ends in [`log_in`]
//! with the personnummer it vouches for, so the rule of who may log in lives
//! here once.

use tillit_domain::{Person, Personnummer, Timestamp};

use crate::{Env, Error};

/// Why a login was refused. One answer for "unknown" and "not active" at
/// the door: a login form must not tell who is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Inactive,
}

impl Refused {
    /// For counting and logging (never shown).
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Unknown => "unknown",
            Refused::Inactive => "inactive",
        }
    }
}

/// Starts a session for the person with `pnr`, stored under the hash of its
/// token until `expires_at`. The door ends any earlier session of the
/// browser first (session fixation).
pub async fn log_in(
    env: Env<'_>,
    pnr: &Personnummer,
    token_hash: &str,
    expires_at: Timestamp,
) -> Result<Result<Person, Refused>, Error> {
    let person = match env.store.person_by_personnummer(pnr).await? {
        Some(p) if p.status.can_log_in() => p,
        Some(_) => return Ok(Err(Refused::Inactive)),
        None => return Ok(Err(Refused::Unknown)),
    };
    env.store
        .create_session(token_hash, &person.id, env.now, expires_at)
        .await?;
    tracing::info!(tenant = %env.store.tenant(), person = %person.id, role = person.role.as_str(), "logged in");
    Ok(Ok(person))
}

/// Ends the session stored under `token_hash`.
pub async fn log_out(env: Env<'_>, token_hash: &str) -> Result<(), Error> {
    env.store.delete_session(token_hash).await?;
    Ok(())
}
