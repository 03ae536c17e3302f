//! A visit: who takes part in it, and starting and ending it, by the rules
//! in `tillit_domain::visit`.

use tillit_domain::booking::{Booking, BookingStatus};
use tillit_domain::visit::{self, RoomState};
use tillit_domain::{Person, Role};
use tillit_store::ChangedBy;

use crate::{Actor, Conflict, Env, Error};

/// The booking, and how `person` takes part in it: its patient, or its
/// responsible clinician or an invited colleague. Anyone else gets
/// [`Error::NotFound`], as if there were no such visit.
pub async fn participation(
    env: Env<'_>,
    person: &Person,
    id: &str,
) -> Result<(Booking, visit::Role), Error> {
    let booking = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    if booking.patient == person.id {
        return Ok((booking, visit::Role::Patient));
    }
    if person.role == Role::Clinician
        && (booking.clinician == person.id
            || env
                .store
                .participants_of(id)
                .await?
                .iter()
                .any(|c| c.id == person.id))
    {
        return Ok((booking, visit::Role::Clinician));
    }
    Err(Error::NotFound)
}

/// "Starta videomöte": a clinician who takes part, inside the window, on a
/// confirmed visit. Whoever starts it becomes its responsible clinician.
pub async fn start(env: Env<'_>, actor: &Actor, id: &str) -> Result<Booking, Error> {
    let me = actor.clinician()?;
    let (booking, role) = participation(env, me, id).await?;
    if visit::room_state(&booking, role, env.now) != (RoomState::Waiting { can_start: true }) {
        return Err(Error::Conflict(Conflict::CannotStartNow));
    }
    let started = env
        .store
        .start_visit(
            id,
            &me.id,
            &env.ids.new_id(),
            env.rules.reminder_lead,
            env.now,
        )
        .await?;
    if !started {
        return Err(Error::Conflict(Conflict::ChangedMeanwhile));
    }
    tracing::info!(tenant = %env.store.tenant(), by = %me.id, door = ?actor.door, booking = %id, "visit started");
    Ok(booking)
}

/// Ends a visit in progress for everyone; nobody can enter it again, and
/// its room's live connections close.
pub async fn end(env: Env<'_>, actor: &Actor, id: &str) -> Result<Booking, Error> {
    let me = actor.clinician()?;
    let (booking, _) = participation(env, me, id).await?;
    if booking.status != BookingStatus::InProgress {
        return Err(Error::Conflict(Conflict::NotInProgress));
    }
    let by = ChangedBy {
        person: &me.id,
        role: me.role,
        logged_as: None,
    };
    let ended = env
        .store
        .change_booking_status(
            id,
            BookingStatus::InProgress,
            BookingStatus::Finished,
            &by,
            &env.ids.new_id(),
            env.rules.reminder_lead,
            env.now,
        )
        .await?;
    if !ended {
        return Err(Error::Conflict(Conflict::ChangedMeanwhile));
    }
    env.live.visit_ended(env.store.tenant(), id);
    tracing::info!(tenant = %env.store.tenant(), by = %me.id, door = ?actor.door, booking = %id, "visit ended");
    Ok(booking)
}
