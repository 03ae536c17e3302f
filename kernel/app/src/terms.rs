//! The tenant's information notice and terms, which a patient accepts on
//! first login and again whenever the tenant's version changes.

use crate::{Actor, Env, Error};

/// Whether the actor still has to accept `version` before anything else.
/// Only patients accept terms.
pub async fn pending(env: Env<'_>, actor: &Actor, version: &str) -> Result<bool, Error> {
    if actor.patient().is_err() {
        return Ok(false);
    }
    Ok(!env
        .store
        .has_accepted_terms(&actor.person.id, version)
        .await?)
}

/// A patient accepts `version` of the terms; recorded with the time.
pub async fn accept(env: Env<'_>, actor: &Actor, version: &str) -> Result<(), Error> {
    let me = actor.patient()?;
    let by = actor.changed_by("terms");
    env.store
        .accept_terms(&me.id, version, &by, env.now)
        .await?;
    Ok(())
}
