//! People: a patient keeping their own contact details up to date ("Mina
//! uppgifter"), and an administrator creating staff and setting anyone's
//! status (Aktiv, Inaktiv, Borttagen). The administrator's tool and the
//! portal's "Användare" page call the same functions.

use tillit_domain::people::NewPerson;
use tillit_domain::{Person, PersonId, PersonStatus, Role};
use tillit_store::{Contact, StoreError};

use crate::{Actor, Env, Error, Problem, access};

impl Actor {
    /// The actor as an administrator, or [`Error::Forbidden`].
    pub(crate) fn administrator(&self) -> Result<&Person, Error> {
        self.as_role(Role::Administrator)
    }

    /// The actor as a patient, or [`Error::Forbidden`].
    pub(crate) fn patient(&self) -> Result<&Person, Error> {
        self.as_role(Role::Patient)
    }
}

/// What a person sees of themselves: their stored mobile number and
/// e-mail. A patient's read of their own data is logged like any other.
pub async fn own_contact(
    env: Env<'_>,
    actor: &Actor,
) -> Result<(Option<String>, Option<String>), Error> {
    let me = &actor.person;
    access::log_people_read(env, actor, [me], "profile").await?;
    Ok(env.store.contact_of(&me.id).await?)
}

/// A patient changes their own name, mobile number and e-mail (never the
/// personnummer).
pub async fn update_contact(env: Env<'_>, actor: &Actor, contact: &Contact) -> Result<(), Error> {
    let me = actor.patient()?;
    let by = actor.changed_by("contact");
    env.store
        .update_contact(&me.id, contact, &by, env.now)
        .await?;
    Ok(())
}

/// The tenant's people, for an administrator: staff sorted by name, and
/// patients (whose listing is logged as a read of each).
pub async fn everyone(env: Env<'_>, actor: &Actor) -> Result<(Vec<Person>, Vec<Person>), Error> {
    actor.administrator()?;
    let mut staff = env.store.people(Role::Administrator).await?;
    staff.extend(env.store.people(Role::Clinician).await?);
    staff.sort_by(|a, b| {
        (a.family_name.as_str(), a.given_name.as_str())
            .cmp(&(b.family_name.as_str(), b.given_name.as_str()))
    });
    let patients = env.store.people(Role::Patient).await?;
    access::log_people_read(env, actor, &patients, "people.list").await?;
    Ok((staff, patients))
}

/// An administrator creates a clinician or an administrator.
pub async fn create_staff(env: Env<'_>, actor: &Actor, new: &NewPerson) -> Result<Person, Error> {
    let admin = actor.administrator()?;
    if !new.role.is_staff() {
        return Err(Error::invalid(Problem::NotStaff));
    }
    let id = PersonId::new(env.ids.new_id());
    match env.store.create_person(&id, new, env.now).await {
        Ok(p) => {
            tracing::info!(tenant = %env.store.tenant(), by = %admin.id, person = %p.id, role = p.role.as_str(), "person created");
            Ok(p)
        }
        Err(StoreError::Conflict { .. }) => {
            // Which of the two unique fields was taken (SQLite does not
            // name the constraint).
            let hsa_taken = match &new.hsa_id {
                Some(h) => env.store.person_by_hsa_id(h).await?.is_some(),
                None => false,
            };
            Err(Error::invalid(if hsa_taken {
                Problem::HsaIdTaken
            } else {
                Problem::PersonnummerTaken
            }))
        }
        Err(e) => Err(e.into()),
    }
}

/// An administrator sets a person's status. Nobody changes their own: an
/// administrator locking themselves out helps nobody.
pub async fn set_status(
    env: Env<'_>,
    actor: &Actor,
    id: &PersonId,
    status: PersonStatus,
) -> Result<(), Error> {
    let admin = actor.administrator()?;
    if *id == admin.id {
        return Err(Error::invalid(Problem::OwnStatus));
    }
    let by = actor.changed_by("status");
    if !env
        .store
        .set_person_status(id, status, &by, env.now)
        .await?
    {
        return Err(Error::NotFound);
    }
    if !status.can_log_in() {
        // The store ended their sessions with the change; their open rooms
        // end now too.
        env.live.person_shut_out(env.store.tenant(), id);
    }
    tracing::info!(tenant = %env.store.tenant(), by = %admin.id, person = %id, status = status.as_str(), "status changed");
    Ok(())
}
