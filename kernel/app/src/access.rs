//! Access-log entries for reads of patient data. Changes are logged by the
//! store in the change's own transaction (`tillit_store::ChangedBy`, from
//! `Actor::changed_by`); a read is logged here, before the data is shown:
//! if the entry cannot be written, the read fails.

use std::collections::HashSet;

use tillit_domain::access::{AccessAction, AccessEvent, Accessor};
use tillit_domain::{Person, PersonId, Personnummer, Role, Timestamp};

use crate::{Actor, Env, Error};

/// Records that `actor` read (or changed: `action`) the data of each
/// subject, given as (id, personnummer, role), in one statement. Subjects
/// who are not patients (a colleague in a test visit) are skipped; each
/// patient is logged once.
pub async fn log<'s>(
    env: Env<'_>,
    actor: &Actor,
    subjects: impl IntoIterator<Item = (&'s PersonId, &'s Personnummer, Role)>,
    action: AccessAction,
    what: &'static str,
) -> Result<(), Error> {
    log_as(env, &actor.accessor(), subjects, action, what).await
}

/// [`log`] for an accessor who is not a person of the tenant (a journal
/// system reading on its own account).
pub async fn log_as<'s>(
    env: Env<'_>,
    accessor: &Accessor,
    subjects: impl IntoIterator<Item = (&'s PersonId, &'s Personnummer, Role)>,
    action: AccessAction,
    what: &'static str,
) -> Result<(), Error> {
    let mut seen = HashSet::new();
    let events: Vec<AccessEvent> = subjects
        .into_iter()
        .filter(|(id, _, role)| *role == Role::Patient && seen.insert(*id))
        .map(|(id, pnr, _)| AccessEvent {
            actor: accessor.clone(),
            patient: id.clone(),
            patient_personnummer: pnr.clone(),
            action,
            what,
        })
        .collect();
    env.store.log_access_many(&events, env.now).await?;
    Ok(())
}

/// [`log`] for reads of these people's data.
pub async fn log_people_read<'p>(
    env: Env<'_>,
    actor: &Actor,
    people: impl IntoIterator<Item = &'p Person>,
    what: &'static str,
) -> Result<(), Error> {
    let subjects = people.into_iter().map(|p| (&p.id, &p.personnummer, p.role));
    log(env, actor, subjects, AccessAction::Read, what).await
}

/// The patients whose data a call by `actor` outside a visit could show
/// or change (a plugin's route or page, say): for a clinician, every
/// patient of a visit they hold or were invited to, past or coming; for an
/// administrator, every patient of the tenant; a patient's own data is
/// not logged. The door logs a read or change of each of them whom the
/// call names.
pub async fn reachable_patients(env: Env<'_>, actor: &Actor) -> Result<Vec<Person>, Error> {
    match actor.person.role {
        Role::Patient => Ok(Vec::new()),
        Role::Administrator => Ok(env.store.people(Role::Patient).await?),
        Role::Clinician => {
            // Their own patients, and those of visits they were invited to.
            let mut reachable = crate::bookings::my_patients(env, actor).await?;
            let mut invited: HashSet<PersonId> = HashSet::new();
            for item in env
                .store
                .bookings_as_participant(&actor.person.id, Timestamp(0))
                .await?
            {
                // A group visit's every patient.
                invited.extend(
                    env.store
                        .group_patients(&item.booking.id)
                        .await?
                        .into_iter()
                        .map(|(id, _)| id),
                );
                invited.insert(item.booking.patient);
            }
            invited.retain(|id| !reachable.iter().any(|p| p.id == *id));
            for id in &invited {
                if let Some(p) = env.store.person(id).await?
                    && p.role == Role::Patient
                {
                    reachable.push(p);
                }
            }
            Ok(reachable)
        }
    }
}
