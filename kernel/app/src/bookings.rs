//! Booking visits and changing bookings: "Bjud in till besök" (a new
//! patient, one of the clinician's patients, a colleague's test visit,
//! "Boka nu"), the group visit of the wizard, confirming, cancelling and
//! moving. Every door that books (the portal's forms, an EHR over FHIR, an
//! administrator on a clinician's behalf) calls these.

use std::collections::HashSet;

use tillit_domain::booking::{
    Actor as BookingActor, Booking, BookingAction, BookingFor, BookingStatus, Colleague,
    MobileNumber, VisitType, transition,
};
use tillit_domain::invitee::OnFileChoices;
use tillit_domain::people::NewPerson;
use tillit_domain::{Person, PersonId, Role, Timestamp};
use tillit_store::{BookOutcome, NewBooking, RescheduleOutcome};

use crate::{Actor, Conflict, Env, Error, Problem};

/// The longest message to the patient, in characters.
pub const MESSAGE_MAX: usize = 500;
/// The most colleagues a group visit invites besides the clinician.
pub const MAX_COLLEAGUES: usize = 49;

/// Who a booking is for.
#[derive(Debug, Clone)]
pub enum Invitee {
    /// A patient given by personnummer, name and mobile number: created if
    /// new, else matched by the rule of `tillit_domain::invitee` (the
    /// record on file wins; changing it is an explicit choice).
    New {
        person: NewPerson,
        phone: MobileNumber,
    },
    /// One of the clinician's own patients (someone they have booked).
    MyPatient(PersonId),
    /// A colleague, for a test visit.
    Colleague(PersonId),
}

/// When the visit starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// "Boka nu": at once, confirmed.
    Now,
    At(Timestamp),
}

/// What the booking is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Title {
    /// The visit type's title (a 1:1 invitation).
    VisitType,
    /// A sökorsak of the tenant's (a group visit), as typed or chosen.
    Reason(String),
}

/// A booking to make. A `None` is a part the door could not read and has
/// already told the person about: the rest is still checked, so every
/// problem is reported at once, and nothing is booked.
#[derive(Debug, Clone)]
pub struct Book {
    pub visit_type_id: String,
    pub title: Title,
    pub start: Option<Start>,
    pub invitee: Option<Invitee>,
    /// The clinician's message to the patient (trimmed here).
    pub message: String,
    /// Colleagues invited besides the clinician.
    pub colleagues: Vec<PersonId>,
    /// The clinician has seen that the time overlaps another booking of
    /// theirs and books anyway.
    pub accept_overlap: bool,
    /// What the clinician chose to do to a patient on file when asked
    /// ([`Conflict::PatientOnFile`]).
    pub on_file: OnFileChoices,
}

/// Whether the clinician's profile is published (nobody can be booked
/// with them before).
pub async fn is_published(env: Env<'_>, actor: &Actor) -> Result<bool, Error> {
    let profile = env.store.profile(&actor.person.id).await?;
    Ok(profile.is_some_and(|p| p.published_at.is_some()))
}

/// The patients the clinician has booked before, whom they may invite
/// again by choosing them.
pub async fn my_patients(env: Env<'_>, actor: &Actor) -> Result<Vec<Person>, Error> {
    let me = actor.clinician()?;
    let mine: HashSet<PersonId> = env
        .store
        .bookings_of(&me.id, Timestamp(0))
        .await?
        .into_iter()
        .map(|i| i.booking.patient)
        .collect();
    Ok(env
        .store
        .people(Role::Patient)
        .await?
        .into_iter()
        .filter(|p| mine.contains(&p.id))
        .collect())
}

/// The tenant's other clinicians, whom the clinician may invite to a test
/// visit.
pub async fn other_clinicians(env: Env<'_>, actor: &Actor) -> Result<Vec<Person>, Error> {
    let me = actor.clinician()?;
    Ok(env
        .store
        .people(Role::Clinician)
        .await?
        .into_iter()
        .filter(|p| p.id != me.id)
        .collect())
}

/// The colleagues chosen for a group visit, each an active clinician of
/// the tenant other than the one booking, in the order chosen, without
/// repeats; or the problems with the choice.
pub async fn choose_colleagues(
    env: Env<'_>,
    actor: &Actor,
    chosen: &[PersonId],
) -> Result<(Vec<Colleague>, Vec<Problem>), Error> {
    let me = actor.clinician()?;
    let all = env.store.colleagues().await?;
    let mut problems = Vec::new();
    let mut out: Vec<Colleague> = Vec::new();
    for id in chosen {
        match all.iter().find(|c| c.id == *id && c.id != me.id) {
            Some(c) if !out.iter().any(|o| o.id == c.id) => out.push(c.clone()),
            Some(_) => {}
            None => problems.push(Problem::ColleagueUnknown),
        }
    }
    if out.len() > MAX_COLLEAGUES {
        problems.push(Problem::TooManyColleagues {
            max: MAX_COLLEAGUES,
        });
    }
    Ok((out, problems))
}

/// What a valid [`Book`] resolves to.
#[derive(Debug, Clone)]
pub struct Checked {
    pub visit_type: Option<VisitType>,
    pub title: Option<String>,
    pub starts_at: Option<Timestamp>,
    pub colleagues: Vec<Colleague>,
}

/// Checks `cmd` against the rules without booking: what the wizard's
/// earlier steps show, and the first half of [`book`].
pub async fn check(
    env: Env<'_>,
    actor: &Actor,
    cmd: &Book,
) -> Result<(Checked, Vec<Problem>), Error> {
    let me = actor.clinician()?;
    let mut problems = Vec::new();
    let visit_type = env
        .store
        .visit_types_of(&me.id)
        .await?
        .into_iter()
        .find(|v| v.id == cmd.visit_type_id);
    if visit_type.is_none() {
        problems.push(Problem::VisitTypeUnknown);
    }
    let title = match &cmd.title {
        Title::VisitType => visit_type.as_ref().map(|v| v.spec.title.clone()),
        Title::Reason(r) => {
            let r = r.trim();
            match env.rules.reasons.iter().find(|known| known.as_str() == r) {
                Some(known) => Some(known.clone()),
                None => {
                    problems.push(if r.is_empty() {
                        Problem::ReasonMissing
                    } else {
                        Problem::ReasonUnknown
                    });
                    None
                }
            }
        }
    };
    let starts_at = match cmd.start {
        Some(Start::Now) => Some(env.now),
        Some(Start::At(t)) if t < env.now => {
            problems.push(Problem::StartInPast);
            None
        }
        Some(Start::At(t)) => Some(t),
        None => None,
    };
    match &cmd.invitee {
        Some(Invitee::New { person, .. }) if person.personnummer == me.personnummer => {
            problems.push(Problem::PatientIsSelf);
        }
        Some(Invitee::MyPatient(id)) => {
            if !my_patients(env, actor).await?.iter().any(|p| p.id == *id) {
                problems.push(Problem::PatientUnknown);
            }
        }
        Some(Invitee::Colleague(id)) if *id == me.id => problems.push(Problem::ColleagueIsSelf),
        Some(Invitee::Colleague(id)) => {
            if !other_clinicians(env, actor)
                .await?
                .iter()
                .any(|p| p.id == *id)
            {
                problems.push(Problem::ColleagueUnknown);
            }
        }
        Some(Invitee::New { .. }) | None => {}
    }
    let (colleagues, colleague_problems) = if cmd.colleagues.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        choose_colleagues(env, actor, &cmd.colleagues).await?
    };
    problems.extend(colleague_problems);
    if cmd.message.trim().chars().count() > MESSAGE_MAX {
        problems.push(Problem::MessageTooLong { max: MESSAGE_MAX });
    }
    Ok((
        Checked {
            visit_type,
            title,
            starts_at,
            colleagues,
        },
        problems,
    ))
}

/// Books a visit: the clinician's own, with a patient (new or known) or a
/// colleague, and any colleagues invited. The booking, the patient (created
/// or matched), its history, the access-log entry, the messages and the
/// plugins' event are written in one transaction.
pub async fn book(env: Env<'_>, actor: &Actor, cmd: Book) -> Result<Booking, Error> {
    let me = actor.clinician()?;
    if !is_published(env, actor).await? {
        return Err(Error::Conflict(Conflict::NotPublished));
    }
    let (checked, problems) = check(env, actor, &cmd).await?;
    let (Some(visit_type), Some(title), Some(starts_at), Some(start), Some(invitee), true) = (
        checked.visit_type,
        checked.title,
        checked.starts_at,
        cmd.start,
        cmd.invitee,
        problems.is_empty(),
    ) else {
        return Err(Error::Invalid(problems));
    };
    let booking = Booking {
        id: env.ids.new_id(),
        clinician: me.id.clone(),
        patient: PersonId::new(""),
        visit_type_id: visit_type.id.clone(),
        title,
        minutes: visit_type.spec.minutes,
        kind: visit_type.spec.kind,
        starts_at,
        status: BookingStatus::initial(start == Start::Now, env.rules.require_confirmation),
        message: cmd.message.trim().to_owned(),
    };
    // Double-booking one's own time is allowed, but only when meant.
    if !cmd.accept_overlap
        && env
            .store
            .overlapping_bookings(&me.id, starts_at, booking.ends_at(), "")
            .await?
            > 0
    {
        return Err(Error::Conflict(Conflict::Overlap));
    }
    let patient = match invitee {
        Invitee::New { person, phone } => BookingFor::Patient { person, phone },
        Invitee::MyPatient(id) | Invitee::Colleague(id) => BookingFor::Existing(id),
    };
    let outcome = env
        .store
        .create_booking(
            NewBooking {
                patient: &patient,
                booking,
                created_by: &me.id,
                created_by_role: me.role,
                new_patient_id: PersonId::new(env.ids.new_id()),
                event_id: env.ids.new_id(),
                reminder_lead: env.rules.reminder_lead,
                participants: checked.colleagues.iter().map(|c| c.id.clone()).collect(),
                choices: cmd.on_file,
            },
            env.now,
        )
        .await?;
    match outcome {
        BookOutcome::Booked(b) => {
            tracing::info!(
                tenant = %env.store.tenant(),
                by = %me.id,
                door = ?actor.door,
                booking = %b.id,
                status = b.status.as_str(),
                colleagues = checked.colleagues.len(),
                "booked"
            );
            Ok(b)
        }
        BookOutcome::PatientInactive => Err(Error::invalid(Problem::PatientInactive)),
        BookOutcome::NameDiffers => Err(Error::invalid(Problem::NameDiffers)),
        BookOutcome::NeedsChoice {
            removed,
            other_phone,
        } => Err(Error::Conflict(Conflict::PatientOnFile {
            removed,
            other_phone,
        })),
        BookOutcome::NotAPatient => Err(Error::invalid(Problem::NotAPatient)),
        BookOutcome::NoSuchPerson => Err(Error::invalid(Problem::PatientUnknown)),
        BookOutcome::SlotTaken => Err(Error::invalid(Problem::SlotTaken)),
    }
}

/// What became of a confirmation or cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChanged {
    pub to: BookingStatus,
    /// Whether the actor is the booking's patient (else its clinician).
    pub by_patient: bool,
}

/// Confirms or cancels a booking as its patient or its responsible
/// clinician, by the status machine (`booking::transition`). Anyone else
/// learns nothing about it.
pub async fn change_status(
    env: Env<'_>,
    actor: &Actor,
    id: &str,
    action: BookingAction,
) -> Result<StatusChanged, Error> {
    let me = &actor.person;
    let booking = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    let as_actor = if booking.patient == me.id {
        BookingActor::Patient
    } else if booking.clinician == me.id {
        BookingActor::Clinician
    } else {
        return Err(Error::NotFound);
    };
    let to = transition(booking.status, action, as_actor)
        .map_err(|_| Error::Conflict(Conflict::NotChangeable))?;
    let by = actor.changed_by("booking.status");
    if !env
        .store
        .change_booking_status(
            id,
            booking.status,
            to,
            &by,
            &env.ids.new_id(),
            env.rules.reminder_lead,
            env.now,
        )
        .await?
    {
        return Err(Error::Conflict(Conflict::ChangedMeanwhile));
    }
    tracing::info!(tenant = %env.store.tenant(), by = %me.id, door = ?actor.door, booking = %id, to = to.as_str(), "booking status changed");
    Ok(StatusChanged {
        to,
        by_patient: as_actor == BookingActor::Patient,
    })
}

/// The clinician's own booking that can still move, or why not.
pub async fn movable(env: Env<'_>, actor: &Actor, id: &str) -> Result<Booking, Error> {
    let me = actor.clinician()?;
    let b = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    if b.clinician != me.id {
        return Err(Error::NotFound);
    }
    if !matches!(
        b.status,
        BookingStatus::Unconfirmed | BookingStatus::Confirmed
    ) {
        return Err(Error::Conflict(Conflict::NotChangeable));
    }
    Ok(b)
}

/// "Ändra tid": moves the clinician's booking to `start` (`None`: the door
/// could not read it). The patient is told in the same transaction.
pub async fn move_booking(
    env: Env<'_>,
    actor: &Actor,
    id: &str,
    start: Option<Timestamp>,
    accept_overlap: bool,
) -> Result<Booking, Error> {
    let b = movable(env, actor, id).await?;
    let me = &actor.person;
    let start = match start {
        None => return Err(Error::Invalid(Vec::new())),
        Some(t) if t < env.now => return Err(Error::invalid(Problem::StartInPast)),
        Some(t) => t,
    };
    let moved = Booking {
        starts_at: start,
        ..b.clone()
    };
    if !accept_overlap
        && env
            .store
            .overlapping_bookings(&me.id, start, moved.ends_at(), &b.id)
            .await?
            > 0
    {
        return Err(Error::Conflict(Conflict::Overlap));
    }
    let by = actor.changed_by("booking.time");
    match env
        .store
        .reschedule_booking(
            &b.id,
            &me.id,
            &by,
            start,
            moved.ends_at(),
            env.rules.reminder_lead,
            env.now,
        )
        .await?
    {
        RescheduleOutcome::Moved => {}
        RescheduleOutcome::NotChangeable => return Err(Error::Conflict(Conflict::NotChangeable)),
        RescheduleOutcome::SlotTaken => return Err(Error::invalid(Problem::SlotTaken)),
    }
    tracing::info!(tenant = %env.store.tenant(), by = %me.id, door = ?actor.door, booking = %b.id, "booking moved");
    Ok(moved)
}
