//! Logging in and out. Every identity provider (the development login,
//! and BankID, Freja eID and SITHS through OpenID Connect) ends in
//! [`log_in_as`] with the identity it vouches for and the kind of person
//! its method is for, so the rule of who may log in lives here once.

use tillit_domain::session::{ProviderLogin, SessionCheck, SessionExpired, SessionPolicy};
use tillit_domain::{HsaId, Person, Personnummer, Timestamp};

use crate::{Env, Error};

/// Why a login was refused. One answer for "unknown" and "not active" at
/// the door: a login form must not tell who is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Inactive,
    /// The person exists and may log in, but not with this method: a
    /// patient's e-ID method never gives a staff role, and a staff method
    /// is not for patients.
    NotForThisMethod,
}

impl Refused {
    /// For the log (never shown, and never a metric label: counted
    /// together, as the door answers them together).
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Unknown => "unknown",
            Refused::Inactive => "inactive",
            Refused::NotForThisMethod => "not_for_this_method",
        }
    }
}

/// Who an identity provider vouches for: a personnummer (BankID, Freja,
/// SITHS with one) or, for staff, an HSA-id (SITHS). Never the provider's
/// own subject id, which differs per provider and per client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Personnummer(Personnummer),
    HsaId(HsaId),
}

/// Which people a login method is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    Patients,
    Staff,
    Everyone,
}

impl Serves {
    pub fn admits(self, person: &Person) -> bool {
        match self {
            Serves::Patients => !person.role.is_staff(),
            Serves::Staff => person.role.is_staff(),
            Serves::Everyone => true,
        }
    }

    pub fn patients(self) -> bool {
        matches!(self, Serves::Patients | Serves::Everyone)
    }

    pub fn staff(self) -> bool {
        matches!(self, Serves::Staff | Serves::Everyone)
    }
}

/// Starts a session for the person with `pnr`, stored under the hash of its
/// token until `expires_at`: the development login, which serves everyone.
pub async fn log_in(
    env: Env<'_>,
    pnr: &Personnummer,
    token_hash: &str,
    expires_at: Timestamp,
) -> Result<Result<Person, Refused>, Error> {
    let who = Identity::Personnummer(pnr.clone());
    log_in_as(env, &who, Serves::Everyone, None, token_hash, expires_at).await
}

/// Starts a session for the person `who` is, if they exist in this tenant,
/// may log in, and are among the people the method `serves`; stored under
/// the hash of its token until `expires_at`, with the e-ID `login` it came
/// from (by which the provider may end it). The door ends any earlier
/// session of the browser first (session fixation).
pub async fn log_in_as(
    env: Env<'_>,
    who: &Identity,
    serves: Serves,
    login: Option<&ProviderLogin>,
    token_hash: &str,
    expires_at: Timestamp,
) -> Result<Result<Person, Refused>, Error> {
    let found = match who {
        Identity::Personnummer(pnr) => env.store.person_by_personnummer(pnr).await?,
        // An HSA-id names staff only.
        Identity::HsaId(hsa) => env
            .store
            .person_by_hsa_id(hsa)
            .await?
            .filter(|p| p.role.is_staff()),
    };
    let person = match found {
        Some(p) if !p.status.can_log_in() => return Ok(Err(Refused::Inactive)),
        Some(p) if !serves.admits(&p) => return Ok(Err(Refused::NotForThisMethod)),
        Some(p) => p,
        None => return Ok(Err(Refused::Unknown)),
    };
    match login {
        Some(login) => {
            env.store
                .create_provider_session(token_hash, &person.id, env.now, expires_at, login)
                .await?;
        }
        None => {
            env.store
                .create_session(token_hash, &person.id, env.now, expires_at)
                .await?;
        }
    }
    tracing::info!(tenant = %env.store.tenant(), person = %person.id, role = person.role.as_str(), "logged in");
    Ok(Ok(person))
}

/// Ends the session stored under `token_hash`, and the rooms it has open.
pub async fn log_out(env: Env<'_>, token_hash: &str) -> Result<(), Error> {
    env.store.delete_session(token_hash).await?;
    env.live.session_ended(env.store.tenant(), token_hash);
    Ok(())
}

/// Which of a provider's sessions it ended (OpenID Connect back-channel
/// logout names a session, a subject, or both).
#[derive(Debug, Clone, Copy)]
pub enum ProviderLogout<'a> {
    Session(&'a str),
    Subject(&'a str),
}

/// Ends the sessions that logged in with `method` in the provider's
/// session or as its subject, and the rooms they have open; returns how
/// many ended.
pub async fn provider_logged_out(
    env: Env<'_>,
    method: &str,
    which: ProviderLogout<'_>,
) -> Result<usize, Error> {
    let ended = match which {
        ProviderLogout::Session(sid) => env.store.end_provider_session(method, sid).await?,
        ProviderLogout::Subject(sub) => env.store.end_provider_subject(method, sub).await?,
    };
    for hash in &ended {
        env.live.session_ended(env.store.tenant(), hash);
    }
    tracing::info!(tenant = %env.store.tenant(), method, sessions = ended.len(), "provider logged out");
    Ok(ended.len())
}

/// What became of a request's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// Valid: the person it belongs to (its last-seen time moved on when
    /// the policy asks for it).
    Valid(Person),
    /// It ran out now, and is gone: tell the person why.
    Ended(SessionExpired),
    /// No such session here: logged out, another tenant's, or the person
    /// may no longer log in.
    Unknown,
}

/// The session stored under `token_hash`, checked against the tenant's
/// `policy` at `env.now`: an idle or too old session is deleted (and the
/// rooms it has open close), a valid one touched. The kernel also calls
/// this for every open room every few seconds, so a call in progress counts
/// as activity, like a page, until the absolute lifetime.
pub async fn resume(
    env: Env<'_>,
    token_hash: &str,
    policy: &SessionPolicy,
) -> Result<Resumed, Error> {
    let record = match env.store.session(token_hash).await? {
        Some(r) if r.person.status.can_log_in() => r,
        _ => return Ok(Resumed::Unknown),
    };
    match policy.check(record.times(), env.now) {
        Ok(check) => {
            if check == SessionCheck::ValidTouch {
                let mut times = record.times();
                times.last_seen_at = env.now;
                env.store
                    .touch_session(token_hash, env.now, policy.expires_at(times))
                    .await?;
            }
            Ok(Resumed::Valid(record.person))
        }
        Err(why) => {
            env.store.delete_session(token_hash).await?;
            env.live.session_ended(env.store.tenant(), token_hash);
            tracing::info!(reason = %why, "session ended");
            Ok(Resumed::Ended(why))
        }
    }
}
