//! A visit: who takes part in it, what each participant sees of it outside
//! the room, and starting and ending it, by the rules in
//! `tillit_domain::visit`.

use tillit_domain::booking::{
    Actor as BookingActor, Booking, BookingAction, BookingStatus, VisitKind, transition,
};
use tillit_domain::group::{self, Attendance};
use tillit_domain::visit::{self, RoomState};
use tillit_domain::{Person, PersonStatus, Role};
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
    let mut booking = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    // A group visit's patient takes part in the visit as they see it
    // (`group::seen_by`): not confirmed until they confirm, cancelled for
    // them once they declined.
    if booking.kind == VisitKind::GroupVideo
        && let Some((_, answer)) = env
            .store
            .group_patients(id)
            .await?
            .into_iter()
            .find(|(p, _)| *p == person.id)
    {
        booking.status = group::seen_by(booking.status, answer);
        booking.patient = person.id.clone();
        return Ok((booking, visit::Role::Patient));
    }
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
    if !matches!(
        visit::room_state(&booking, role, env.now),
        RoomState::Waiting {
            can_start: true,
            ..
        }
    ) {
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
        via: actor.via.as_deref(),
        at_version: None,
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

/// The visit's patient as one participant may see them outside the room.
#[derive(Debug, Clone)]
pub enum PatientShown {
    /// Not shown: the viewer is the patient, or a colleague invited to the
    /// visit, who is promised nothing but its title and time.
    Hidden,
    /// Shown to the responsible clinician (who logs the read).
    Named(Person),
    /// The patient was removed: named nowhere ("Borttagen patient").
    Removed,
}

/// What one participant may do with a visit from its page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowed {
    /// The patient confirms it ("Bekräfta besöket").
    pub confirm: bool,
    /// The patient or the responsible clinician cancels it ("Avboka").
    pub cancel: bool,
    /// The responsible clinician moves it ("Ändra tid").
    pub move_time: bool,
    /// A clinician taking part ends it for everyone.
    pub end: bool,
}

/// A visit as one of its participants sees it on its page.
#[derive(Debug, Clone)]
pub struct VisitView {
    pub booking: Booking,
    pub role: visit::Role,
    /// Whether the viewer is the responsible clinician.
    pub responsible: bool,
    pub room: RoomState,
    pub patient: PatientShown,
    /// The responsible clinician, with their job title.
    pub clinician: Option<Person>,
    pub clinician_title: String,
    /// The clinician's message to the patient: for the patient and the
    /// responsible clinician, never an invited colleague.
    pub message: Option<String>,
    pub allowed: Allowed,
    /// A group visit's further patients with their answers, for the
    /// responsible clinician only (a removed patient is not named).
    pub more_patients: Vec<(Person, Attendance)>,
}

/// The visit page's facts for `person`, who takes part in it (anyone else
/// gets [`Error::NotFound`]). Who sees the patient is decided here, once:
/// the responsible clinician; an invited colleague sees the visit's title,
/// time and responsible clinician only (the group wizard's promise), and
/// meets the patient in the room.
pub async fn view(env: Env<'_>, person: &Person, id: &str) -> Result<VisitView, Error> {
    let (booking, role) = participation(env, person, id).await?;
    let responsible = role == visit::Role::Clinician && booking.clinician == person.id;
    let patient = if responsible {
        match env.store.person(&booking.patient).await? {
            Some(p) if p.status == PersonStatus::Removed => PatientShown::Removed,
            Some(p) => PatientShown::Named(p),
            None => PatientShown::Removed,
        }
    } else {
        PatientShown::Hidden
    };
    let mut more_patients = Vec::new();
    if responsible && booking.kind == VisitKind::GroupVideo {
        for (id, answer) in env.store.group_patients(id).await? {
            if id == booking.patient {
                continue;
            }
            if let Some(p) = env.store.person(&id).await?
                && p.status != PersonStatus::Removed
            {
                more_patients.push((p, answer));
            }
        }
    }
    let clinician = env.store.person(&booking.clinician).await?;
    let clinician_title = env
        .store
        .profile(&booking.clinician)
        .await?
        .map(|p| p.text.title)
        .unwrap_or_default();
    let as_actor = match role {
        visit::Role::Patient => BookingActor::Patient,
        visit::Role::Clinician => BookingActor::Clinician,
    };
    let may = |action| transition(booking.status, action, as_actor).is_ok();
    // Cancelling and moving are the patient's and the responsible
    // clinician's (as `bookings::change_status` and `movable` say).
    let owner = responsible || role == visit::Role::Patient;
    let allowed = Allowed {
        confirm: may(BookingAction::Confirm),
        cancel: owner && may(BookingAction::Cancel),
        move_time: responsible
            && matches!(
                booking.status,
                BookingStatus::Unconfirmed | BookingStatus::Confirmed
            ),
        end: may(BookingAction::End),
    };
    let message = (owner && !booking.message.is_empty()).then(|| booking.message.clone());
    let room = visit::room_state(&booking, role, env.now);
    note_waiting(env, &booking, role, room);
    Ok(VisitView {
        room,
        booking,
        role,
        responsible,
        patient,
        clinician,
        clinician_title,
        message,
        allowed,
        more_patients,
    })
}

/// The room's state for `person`, who takes part in the visit: what the
/// visit page asks for every few seconds while someone waits, so it costs
/// one read by key for the patient and the responsible clinician (an
/// invited colleague's participation is one more).
pub async fn room_state(env: Env<'_>, person: &Person, id: &str) -> Result<RoomState, Error> {
    let (booking, role) = participation(env, person, id).await?;
    let room = visit::room_state(&booking, role, env.now);
    note_waiting(env, &booking, role, room);
    Ok(room)
}

/// A patient looking at their visit's page before it starts is waiting
/// for it.
fn note_waiting(env: Env<'_>, booking: &Booking, role: visit::Role, room: RoomState) {
    if role == visit::Role::Patient && matches!(room, RoomState::Waiting { .. }) {
        env.live
            .patient_waiting(env.store.tenant(), &booking.id, env.now);
    }
}
