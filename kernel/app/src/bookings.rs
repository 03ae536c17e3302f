//! Booking visits and changing bookings: "Bjud in till besök" (a new
//! patient, one of the clinician's patients, a colleague's test visit,
//! "Boka nu"), the group visit of the wizard, confirming, cancelling and
//! moving. Every door that books (the portal's forms, an EHR over FHIR, an
//! administrator on a clinician's behalf) calls these.

use std::collections::HashSet;

use tillit_domain::booking::{
    Actor as BookingActor, Booking, BookingAction, BookingFor, BookingStatus, Colleague,
    MobileNumber, Visibility, VisitKind, VisitType, transition,
};
use tillit_domain::group::{self, Attendance, MAX_PATIENTS};
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
    /// A patient of the tenant named by a journal system, which holds the
    /// care relation itself: only through a journal system (`Actor::via`).
    OnRecord(PersonId),
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
    /// Further patients of a group visit besides `invitee`, each on file:
    /// one of the clinician's patients, or (through a journal system) any
    /// patient of the tenant.
    pub more_patients: Vec<PersonId>,
    /// The clinician has seen that the time overlaps another booking of
    /// theirs and books anyway.
    pub accept_overlap: bool,
    /// What the clinician chose to do to a patient on file when asked
    /// ([`Conflict::PatientOnFile`]).
    pub on_file: OnFileChoices,
    /// Another system's ids of the booking, as (system, value): a journal
    /// system's own booking id, which then names this booking only.
    pub external_ids: Vec<(String, String)>,
}

/// Whether the clinician's profile is published and still has what
/// publishing requires (nobody can be booked with them otherwise): the
/// rule of `ProfileFacts::visibility`, as the profile page shows it.
pub async fn is_published(env: Env<'_>, actor: &Actor) -> Result<bool, Error> {
    Ok(crate::profiles::visibility(env, actor).await? == Visibility::Published)
}

/// The patients the clinician has booked before, whom they may invite
/// again by choosing them.
pub async fn my_patients(env: Env<'_>, actor: &Actor) -> Result<Vec<Person>, Error> {
    let me = actor.clinician()?;
    let mut mine: HashSet<PersonId> = env
        .store
        .bookings_of(&me.id, Timestamp(0))
        .await?
        .into_iter()
        .map(|i| i.booking.patient)
        .collect();
    mine.extend(env.store.group_patients_of_clinician(&me.id).await?);
    Ok(env
        .store
        .people(Role::Patient)
        .await?
        .into_iter()
        .filter(|p| mine.contains(&p.id))
        .collect())
}

/// The clinician's patients whom a booking form offers ("Välj en av dina
/// patienter"): those of [`my_patients`] who can be booked as they are
/// (`PersonStatus::can_be_booked`), so nobody is offered only to be
/// refused. `my_patients` itself stays everyone the clinician has booked,
/// which is what `access::reachable_patients` decides access by.
pub async fn bookable_patients(env: Env<'_>, actor: &Actor) -> Result<Vec<Person>, Error> {
    Ok(my_patients(env, actor)
        .await?
        .into_iter()
        .filter(|p| p.status.can_be_booked())
        .collect())
}

/// The tenant's other clinicians whom the clinician may invite to a test
/// visit: the active ones.
pub async fn other_clinicians(env: Env<'_>, actor: &Actor) -> Result<Vec<Person>, Error> {
    let me = actor.clinician()?;
    Ok(env
        .store
        .people(Role::Clinician)
        .await?
        .into_iter()
        .filter(|p| p.id != me.id && p.status.can_be_booked())
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
        Some(Invitee::OnRecord(id)) => {
            let known = match &actor.via {
                Some(_) => env.store.person(id).await?,
                None => None,
            };
            match known {
                Some(p) if p.role == Role::Patient => {}
                Some(_) => problems.push(Problem::NotAPatient),
                None => problems.push(Problem::PatientUnknown),
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
    if !cmd.more_patients.is_empty() {
        problems.extend(check_more_patients(env, actor, cmd, visit_type.as_ref()).await?);
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

/// The problems with a group visit's further patients: only a group visit
/// has them, at most [`MAX_PATIENTS`] in all, each a patient the actor may
/// book (one of the clinician's own; through a journal system, any patient
/// of the tenant on file).
async fn check_more_patients(
    env: Env<'_>,
    actor: &Actor,
    cmd: &Book,
    visit_type: Option<&VisitType>,
) -> Result<Vec<Problem>, Error> {
    let mut problems = Vec::new();
    if visit_type.is_some_and(|v| v.spec.kind != VisitKind::GroupVideo) {
        problems.push(Problem::OnePatientOnly);
    }
    if cmd.more_patients.len() + 1 > MAX_PATIENTS {
        problems.push(Problem::TooManyPatients { max: MAX_PATIENTS });
    }
    let bookable: Vec<Person> = match actor.via {
        Some(_) => env.store.people(Role::Patient).await?,
        None => bookable_patients(env, actor).await?,
    };
    let all_known = cmd.more_patients.iter().all(|id| {
        bookable
            .iter()
            .any(|p| p.id == *id && p.status.can_be_booked())
    });
    if !all_known {
        problems.push(Problem::PatientUnknown);
    }
    Ok(problems)
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
        Invitee::MyPatient(id) | Invitee::OnRecord(id) | Invitee::Colleague(id) => {
            BookingFor::Existing(id)
        }
    };
    let outcome = env
        .store
        .create_booking(
            NewBooking {
                patient: &patient,
                booking,
                created_by: &me.id,
                logged_as: actor.accessor(),
                new_patient_id: PersonId::new(env.ids.new_id()),
                event_id: env.ids.new_id(),
                reminder_lead: env.rules.reminder_lead,
                participants: checked.colleagues.iter().map(|c| c.id.clone()).collect(),
                more_patients: cmd.more_patients,
                choices: cmd.on_file,
                external_ids: cmd.external_ids,
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
        BookOutcome::IdentifierTaken => Err(Error::Conflict(Conflict::IdentifierTaken)),
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
    change_status_at(env, actor, id, action, None).await
}

/// [`change_status`], only while the booking is still at version
/// `at_version` when given (a journal system's `If-Match`), checked in the
/// change's transaction: [`Conflict::ChangedMeanwhile`] otherwise.
pub async fn change_status_at(
    env: Env<'_>,
    actor: &Actor,
    id: &str,
    action: BookingAction,
    at_version: Option<u64>,
) -> Result<StatusChanged, Error> {
    let me = &actor.person;
    let booking = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    let patients = env.store.group_patients(id).await?;
    if let Some((_, mine)) = patients.iter().find(|(p, _)| *p == me.id) {
        return answer_group_visit(env, actor, &booking, &patients, *mine, action).await;
    }
    let as_actor = if booking.patient == me.id {
        BookingActor::Patient
    } else if booking.clinician == me.id {
        BookingActor::Clinician
    } else {
        return Err(Error::NotFound);
    };
    let to = transition(booking.status, action, as_actor)
        .map_err(|_| Error::Conflict(Conflict::NotChangeable))?;
    let mut by = actor.changed_by("booking.status");
    by.at_version = at_version;
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

/// A group visit's patient confirms or cancels their own place
/// (`group::answer`): the visit moves only when the rule says so.
async fn answer_group_visit(
    env: Env<'_>,
    actor: &Actor,
    booking: &Booking,
    patients: &[(PersonId, Attendance)],
    mine: Attendance,
    action: BookingAction,
) -> Result<StatusChanged, Error> {
    let me = &actor.person;
    let others_coming = patients
        .iter()
        .filter(|(p, a)| *p != me.id && *a != Attendance::Declined)
        .count();
    let answered = group::answer(booking.status, mine, action, others_coming)
        .map_err(|_| Error::Conflict(Conflict::NotChangeable))?;
    let visit_to = answered.visit.unwrap_or(booking.status);
    let by = actor.changed_by("booking.status");
    let answer = tillit_store::GroupAnswer {
        booking: &booking.id,
        patient: &me.id,
        from: mine,
        to: answered.attendance,
        visit_from: booking.status,
        visit_to,
    };
    if !env
        .store
        .answer_group_visit(
            answer,
            &by,
            &env.ids.new_id(),
            env.rules.reminder_lead,
            env.now,
        )
        .await?
    {
        return Err(Error::Conflict(Conflict::ChangedMeanwhile));
    }
    tracing::info!(tenant = %env.store.tenant(), by = %me.id, door = ?actor.door, booking = %booking.id, answer = answered.attendance.as_str(), "group visit answered");
    Ok(StatusChanged {
        to: group::seen_by(visit_to, answered.attendance),
        by_patient: true,
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
    move_booking_at(env, actor, id, start, accept_overlap, None).await
}

/// [`move_booking`], only while the booking is still at version
/// `at_version` when given (a journal system's `If-Match`), checked in the
/// move's transaction: [`Conflict::ChangedMeanwhile`] otherwise.
pub async fn move_booking_at(
    env: Env<'_>,
    actor: &Actor,
    id: &str,
    start: Option<Timestamp>,
    accept_overlap: bool,
    at_version: Option<u64>,
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
    let mut by = actor.changed_by("booking.time");
    by.at_version = at_version;
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
        RescheduleOutcome::ChangedMeanwhile => {
            return Err(Error::Conflict(Conflict::ChangedMeanwhile));
        }
    }
    tracing::info!(tenant = %env.store.tenant(), by = %me.id, door = ?actor.door, booking = %b.id, "booking moved");
    Ok(moved)
}

// The lists, and the confirmation before a cancellation.
use tillit_domain::PersonStatus;
use tillit_domain::booking::BookingListItem;
use tillit_domain::notify::{self, BookingChange};
use tillit_domain::visit;

/// The patient of a listed booking, as its viewer may see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedPatient {
    Name(String),
    /// Removed: named in nobody's list ("Borttagen patient").
    Removed,
}

/// A booking in the lists of its responsible clinician or its patient.
#[derive(Debug, Clone)]
pub struct Listed {
    pub booking: Booking,
    /// Whether the viewer is the booking's patient (the row then names the
    /// clinician).
    pub as_patient: bool,
    pub patient: ListedPatient,
    pub clinician_name: String,
    pub clinician_title: String,
    /// Whose data the row shows, for the door's access-log entry: (id,
    /// personnummer, role; a colleague in a test visit is no patient).
    pub subject: (PersonId, tillit_domain::Personnummer, Role),
    /// For the clinician: how many more patients a group visit has who
    /// have not declined, besides the one named.
    pub more_patients: usize,
}

impl Listed {
    fn of(item: BookingListItem, viewer: &PersonId) -> Self {
        let patient = match item.patient_shown() {
            Some(name) => ListedPatient::Name(name.to_owned()),
            None => ListedPatient::Removed,
        };
        let as_patient = item.patient_id == *viewer;
        let mut item = item;
        if as_patient && let Some(answer) = item.attendance {
            item.booking.status = group::seen_by(item.booking.status, answer);
        }
        Self {
            as_patient,
            patient,
            clinician_name: item.clinician_name,
            clinician_title: item.clinician_title,
            subject: (
                item.patient_id.clone(),
                item.patient_personnummer,
                item.patient_role,
            ),
            booking: item.booking,
            more_patients: 0,
        }
    }
}

/// `listed`, with each group visit's further patients counted for the
/// clinician's rows.
async fn with_more_patients(env: Env<'_>, mut listed: Vec<Listed>) -> Result<Vec<Listed>, Error> {
    for l in &mut listed {
        if !l.as_patient && l.booking.kind == VisitKind::GroupVideo {
            l.more_patients = env
                .store
                .group_patients(&l.booking.id)
                .await?
                .iter()
                .filter(|(p, a)| *p != l.subject.0 && *a != Attendance::Declined)
                .count();
        }
    }
    Ok(listed)
}

/// Where the lists divide coming bookings from history: a visit that was
/// never started stays on the coming list while it may still be started.
fn list_cutoff(env: Env<'_>) -> Timestamp {
    env.now.minus(visit::START_UNTIL_AFTER_END)
}

/// The actor's bookings still ahead, soonest first: as the responsible
/// clinician (unconfirmed, confirmed and in progress, also past its planned
/// end until a clinician ends it), and as the patient (a clinician can be
/// one in a colleague's test visit). "Mina bokningar", the clinician's
/// overview and the patient's start page show these.
pub async fn coming(env: Env<'_>, actor: &Actor) -> Result<Vec<Listed>, Error> {
    let me = &actor.person;
    let cutoff = list_cutoff(env);
    let mut items = if me.role == Role::Clinician {
        env.store.coming_as_clinician(&me.id, cutoff).await?
    } else {
        Vec::new()
    };
    items.extend(
        env.store
            .coming_as_patient(&me.id, cutoff)
            .await?
            .into_iter()
            .filter(|i| i.booking.clinician != me.id),
    );
    items.sort_by(|a, b| {
        (a.booking.starts_at, &a.booking.id).cmp(&(b.booking.starts_at, &b.booking.id))
    });
    with_more_patients(
        env,
        items.into_iter().map(|i| Listed::of(i, &me.id)).collect(),
    )
    .await
}

/// How many past bookings a page of the history shows.
pub const HISTORY_PAGE: usize = 25;

/// One page of a clinician's past bookings.
#[derive(Debug, Clone)]
pub struct History {
    pub items: Vec<Listed>,
    /// Whether there is an older page.
    pub more: bool,
}

/// "Tidigare besök": the clinician's bookings that ended, were cancelled or
/// were never held, newest first, [`HISTORY_PAGE`] at a time (`page` 0 is
/// the newest).
pub async fn history(env: Env<'_>, actor: &Actor, page: u32) -> Result<History, Error> {
    let me = actor.clinician()?;
    let size = HISTORY_PAGE as i64;
    let mut items = env
        .store
        .booking_history_as_clinician(&me.id, list_cutoff(env), size + 1, i64::from(page) * size)
        .await?;
    let more = items.len() > HISTORY_PAGE;
    items.truncate(HISTORY_PAGE);
    Ok(History {
        items: with_more_patients(
            env,
            items.into_iter().map(|i| Listed::of(i, &me.id)).collect(),
        )
        .await?,
        more,
    })
}

/// A patient the clinician has booked, with those bookings, each as the
/// patient sees it (a group visit's status by their own answer).
#[derive(Debug, Clone)]
pub struct Contact {
    pub patient: Person,
    pub bookings: Vec<Booking>,
}

/// "Mina kontakter": the patients the clinician has booked, a group
/// visit's every patient among them, each with their bookings, newest
/// first; by name. A removed patient is listed for nobody (their bookings
/// stay in "Tidigare besök", as "Borttagen patient"); a group visit's
/// patient who declined is still a contact, their booking shown cancelled.
pub async fn contacts(env: Env<'_>, actor: &Actor) -> Result<Vec<Contact>, Error> {
    let me = actor.clinician()?;
    let mut out: Vec<Contact> = Vec::new();
    let mut add = |patient: &Person, booking: Booking| match out
        .iter_mut()
        .find(|c| c.patient.id == patient.id)
    {
        Some(c) => c.bookings.push(booking),
        None => out.push(Contact {
            patient: patient.clone(),
            bookings: vec![booking],
        }),
    };
    let mut people: std::collections::HashMap<PersonId, Option<Person>> = Default::default();
    for item in env.store.bookings_of(&me.id, Timestamp(0)).await? {
        if item.booking.clinician != me.id {
            continue;
        }
        let group = if item.booking.kind == VisitKind::GroupVideo {
            env.store.group_patients(&item.booking.id).await?
        } else {
            vec![(item.booking.patient.clone(), Attendance::Confirmed)]
        };
        for (id, answer) in group {
            if !people.contains_key(&id) {
                let found = env.store.person(&id).await?;
                people.insert(id.clone(), found);
            }
            let Some(Some(patient)) = people.get(&id) else {
                continue;
            };
            if patient.role != Role::Patient || patient.status == PersonStatus::Removed {
                continue;
            }
            let mut seen = item.booking.clone();
            if item.booking.kind == VisitKind::GroupVideo {
                seen.status = group::seen_by(seen.status, answer);
            }
            add(patient, seen);
        }
    }
    out.sort_by_key(|c| c.patient.full_name());
    for c in &mut out {
        c.bookings
            .sort_by_key(|b| std::cmp::Reverse((b.starts_at, b.id.clone())));
    }
    Ok(out)
}

/// A visit a colleague invited the clinician to, as the invited see it:
/// its title, time, kind, status and responsible clinician. There is no
/// field for the patient or the message to them, so no door can show them
/// (the group wizard promises colleagues nothing but the title and time).
#[derive(Debug, Clone)]
pub struct GuestVisit {
    pub id: String,
    pub title: String,
    pub kind: tillit_domain::booking::VisitKind,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub status: BookingStatus,
    pub clinician_name: String,
    pub clinician_title: String,
}

/// "Besök som gäst": the coming visits colleagues invited the clinician to.
pub async fn as_guest(env: Env<'_>, actor: &Actor) -> Result<Vec<GuestVisit>, Error> {
    let me = actor.clinician()?;
    Ok(env
        .store
        .bookings_as_participant(&me.id, list_cutoff(env))
        .await?
        .into_iter()
        .filter(|i| !i.booking.status.is_terminal())
        .map(|i| GuestVisit {
            ends_at: i.booking.ends_at(),
            id: i.booking.id,
            title: i.booking.title,
            kind: i.booking.kind,
            starts_at: i.booking.starts_at,
            status: i.booking.status,
            clinician_name: i.clinician_name,
            clinician_title: i.clinician_title,
        })
        .collect())
}

/// What cancelling a booking would do, for the confirmation a person sees
/// before anything changes.
#[derive(Debug, Clone)]
pub struct Cancellation {
    pub booking: Booking,
    /// Whether the actor is the booking's patient (else its responsible
    /// clinician).
    pub by_patient: bool,
    /// The patient, for the clinician: named, or removed.
    pub patient: Option<ListedPatient>,
    /// For the access log when the patient is named.
    pub subject: Option<Person>,
    /// The responsible clinician, for the patient.
    pub clinician: Option<Person>,
    /// Whether the patient is sent an SMS about it (`notify::plan`, to the
    /// number on file), and an e-mail (to the address on file).
    pub patient_told_by_sms: bool,
    pub patient_told_by_email: bool,
}

/// The booking `actor` is about to cancel, if they may: its patient or its
/// responsible clinician, while the status machine allows it. Anyone else
/// gets [`Error::NotFound`]; a booking that can no longer be cancelled,
/// [`Conflict::NotChangeable`].
pub async fn cancellation(env: Env<'_>, actor: &Actor, id: &str) -> Result<Cancellation, Error> {
    let me = &actor.person;
    let mut booking = env.store.booking(id).await?.ok_or(Error::NotFound)?;
    // A group visit's patient cancels their own place, in the visit as
    // they see it.
    if let Some((_, mine)) = env
        .store
        .group_patients(id)
        .await?
        .into_iter()
        .find(|(p, _)| *p == me.id)
    {
        booking.status = group::seen_by(booking.status, mine);
        booking.patient = me.id.clone();
    }
    let as_actor = if booking.patient == me.id {
        BookingActor::Patient
    } else if booking.clinician == me.id {
        BookingActor::Clinician
    } else {
        return Err(Error::NotFound);
    };
    let to = transition(booking.status, BookingAction::Cancel, as_actor)
        .map_err(|_| Error::Conflict(Conflict::NotChangeable))?;
    let by_patient = as_actor == BookingActor::Patient;
    let (patient, subject, clinician) = if by_patient {
        (None, None, env.store.person(&booking.clinician).await?)
    } else {
        match env.store.person(&booking.patient).await? {
            Some(p) if p.status != PersonStatus::Removed => {
                (Some(ListedPatient::Name(p.full_name())), Some(p), None)
            }
            _ => (Some(ListedPatient::Removed), None, None),
        }
    };
    let cancelled = Booking {
        status: to,
        ..booking.clone()
    };
    let told = notify::plan(
        BookingChange::Status {
            from: booking.status,
            to,
        },
        &cancelled,
        env.rules.reminder_lead,
        env.now,
    )
    .now
    .is_some();
    let (phone, email) = env.store.contact_of(&booking.patient).await?;
    Ok(Cancellation {
        booking,
        by_patient,
        patient,
        subject,
        clinician,
        patient_told_by_sms: told && phone.is_some(),
        patient_told_by_email: told && email.is_some(),
    })
}
