//! A clinician's "Min profil": the text patients see, the picture, the
//! bookable visit types, and publishing ("Aktivera bokningsfunktion"),
//! without which nobody can be booked with them.

use tillit_domain::PersonId;
use tillit_domain::booking::Profile;
use tillit_domain::booking::{
    ProfileFacts, ProfileText, PublishBlocker, Visibility, VisitType, VisitTypeSpec,
};

use crate::{Actor, Env, Error};

/// What the profile page shows its clinician.
#[derive(Debug, Clone)]
pub struct Own {
    pub profile: Profile,
    pub visit_types: Vec<VisitType>,
    /// The content hash of the picture, if there is one.
    pub picture: Option<String>,
}

impl Own {
    /// What the profile has, for its completion and whether it is visible.
    pub fn facts(&self) -> ProfileFacts {
        let t = &self.profile.text;
        ProfileFacts {
            has_title: !t.title.is_empty(),
            has_introduction: !t.introduction.is_empty(),
            has_way_of_working: !t.way_of_working.is_empty(),
            has_first_visit: !t.first_visit.is_empty(),
            has_picture: self.picture.is_some(),
            has_visiting_address: !t.visiting_address.is_empty(),
            visit_types: self.visit_types.len(),
            published: self.profile.published_at.is_some(),
        }
    }
}

/// The actor's own profile, visit types and picture.
pub async fn own(env: Env<'_>, actor: &Actor) -> Result<Own, Error> {
    let me = actor.clinician()?;
    of(env, &me.id).await
}

async fn of(env: Env<'_>, person: &PersonId) -> Result<Own, Error> {
    Ok(Own {
        profile: env.store.profile(person).await?.unwrap_or_default(),
        visit_types: env.store.visit_types_of(person).await?,
        picture: env.store.picture_hash(person).await?,
    })
}

/// Whether patients see the actor's profile and can be booked with them
/// ([`ProfileFacts::visibility`]).
pub async fn visibility(env: Env<'_>, actor: &Actor) -> Result<Visibility, Error> {
    let me = actor.clinician()?;
    Ok(of(env, &me.id).await?.facts().visibility())
}

pub async fn save_text(env: Env<'_>, actor: &Actor, text: &ProfileText) -> Result<(), Error> {
    let me = actor.clinician()?;
    env.store.save_profile_text(&me.id, text, env.now).await?;
    Ok(())
}

/// Saves a picture, already checked and re-encoded by the door (decoding
/// is CPU work that belongs on a blocking thread, not here).
pub async fn save_picture(
    env: Env<'_>,
    actor: &Actor,
    content_type: &str,
    hash: &str,
    bytes: &[u8],
) -> Result<(), Error> {
    let me = actor.clinician()?;
    env.store
        .save_picture(&me.id, content_type, hash, bytes, env.now)
        .await?;
    Ok(())
}

/// A clinician's picture, for anyone of the tenant: content type, hash and
/// bytes.
pub async fn picture(env: Env<'_>, person: &PersonId) -> Result<(String, String, Vec<u8>), Error> {
    env.store.picture(person).await?.ok_or(Error::NotFound)
}

/// What became of "Aktivera bokningsfunktion".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publish {
    Published,
    /// What the clinician must do first; nothing was changed.
    Blocked(Vec<PublishBlocker>),
}

/// Publishes the actor's profile if nothing blocks it.
pub async fn publish(env: Env<'_>, actor: &Actor) -> Result<Publish, Error> {
    let me = actor.clinician()?;
    let profile = env.store.profile(&me.id).await?.unwrap_or_default();
    let facts = ProfileFacts {
        has_title: !profile.text.title.is_empty(),
        visit_types: env.store.visit_types_of(&me.id).await?.len(),
        ..ProfileFacts::default()
    };
    let blockers = facts.publish_blockers();
    if !blockers.is_empty() {
        return Ok(Publish::Blocked(blockers));
    }
    env.store
        .set_profile_published(&me.id, Some(env.now), env.now)
        .await?;
    tracing::info!(tenant = %env.store.tenant(), person = %me.id, "profile published");
    Ok(Publish::Published)
}

/// Takes the profile down: no new bookings until it is published again.
pub async fn unpublish(env: Env<'_>, actor: &Actor) -> Result<(), Error> {
    let me = actor.clinician()?;
    env.store
        .set_profile_published(&me.id, None, env.now)
        .await?;
    Ok(())
}

/// Adds a bookable visit type; returns its id.
pub async fn create_visit_type(
    env: Env<'_>,
    actor: &Actor,
    spec: &VisitTypeSpec,
) -> Result<String, Error> {
    let me = actor.clinician()?;
    let id = env.ids.new_id();
    env.store
        .create_visit_type(&id, &me.id, spec, env.now)
        .await?;
    Ok(id)
}

/// Changes one of the actor's visit types ([`Error::NotFound`] if it is
/// not theirs).
pub async fn update_visit_type(
    env: Env<'_>,
    actor: &Actor,
    id: &str,
    spec: &VisitTypeSpec,
) -> Result<(), Error> {
    let me = actor.clinician()?;
    if env
        .store
        .update_visit_type(id, &me.id, spec, env.now)
        .await?
    {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// Removes one of the actor's visit types from what can be booked; booked
/// visits keep it.
pub async fn archive_visit_type(env: Env<'_>, actor: &Actor, id: &str) -> Result<(), Error> {
    let me = actor.clinician()?;
    if env.store.archive_visit_type(id, &me.id, env.now).await? {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}
