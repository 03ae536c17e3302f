//! The visit page: what a visit is, and the waiting room before the video,
//! by the rules in `tillit_domain::visit`; starting a visit, and ending it
//! after a confirmation page.
//!
//! Only the visit's participants (its patient, its responsible clinician
//! and invited colleagues) see it; anyone else gets 404. What each of them
//! sees (the patient's name only for the responsible clinician) is
//! `tillit_app::visits::view`'s to decide. While the state can change by
//! someone else's hand (a clinician starts or ends the visit, the patient
//! confirms it), `visit.js` asks `/visits/{id}/status` every few seconds
//! and swaps the page's status region when it changed. The video itself
//! is the room's (`routes::room`).

use axum::Form;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use serde::{Deserialize, Serialize};
use tillit_app::visits::{Allowed, PatientShown, VisitView};
use tillit_domain::Person;
use tillit_domain::access::AccessAction;
use tillit_domain::booking::{Booking, BookingStatus};
use tillit_domain::visit::{self, Planned, RoomState};

use crate::http::error::AppError;
use crate::http::extract::{Portal, User};
use crate::http::forms::{log_access, log_access_all};
use crate::http::render::PageResult;

/// The booking, and how `me` takes part in it; 404 if they do not.
pub(crate) async fn participation(
    p: &Portal,
    me: &Person,
    id: &str,
) -> Result<(Booking, visit::Role), AppError> {
    let store = p.store();
    Ok(tillit_app::visits::participation(p.env(&store), me, id).await?)
}

/// The visit page's data.
/// A group visit's patient with their answer, as the responsible
/// clinician sees them.
#[derive(Debug, Serialize)]
struct GroupPatient {
    name: String,
    answer_key: String,
}

#[derive(Debug, Serialize)]
struct VisitPage<'a> {
    title: &'static str,
    id: &'a str,
    heading: &'a str,
    when: String,
    kind_key: String,
    status: BookingStatus,
    status_key: String,
    clinician: Option<String>,
    clinician_title: &'a str,
    /// The patient's name, for the responsible clinician only.
    patient: Option<String>,
    /// The patient was removed (shown as such, never by name).
    patient_removed: bool,
    /// A group visit's further patients, for the responsible clinician.
    more_patients: Vec<GroupPatient>,
    /// The clinician's message, for the patient and the responsible
    /// clinician.
    message: Option<&'a str>,
    is_clinician: bool,
    /// `not_open`, `waiting`, `in_progress`, `closed` or `missed`: which of
    /// `room`'s fields there are.
    state: &'static str,
    room: RoomView,
    /// What the status region shows, for `visit.js` to compare with
    /// `/visits/{id}/status`.
    key: &'static str,
    /// How often (seconds) `visit.js` asks; 0 once nothing can change.
    poll: u32,
    allowed: AllowedView,
    notice: Option<&'static str>,
}

/// What the visitor may do from the page (`tillit_app::visits::Allowed`).
#[derive(Debug, Serialize)]
struct AllowedView {
    confirm: bool,
    cancel: bool,
    move_time: bool,
    end: bool,
}

impl From<Allowed> for AllowedView {
    fn from(a: Allowed) -> Self {
        Self {
            confirm: a.confirm,
            cancel: a.cancel,
            move_time: a.move_time,
            end: a.end,
        }
    }
}

/// What the page says about the room in its state.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum RoomView {
    /// `not_open`: the local time (`HH:MM`) it opens.
    NotOpen { opens_at: String },
    Waiting {
        can_start: bool,
        needs_confirmation: bool,
    },
    /// `in_progress`: before the booked time, `early` and the minutes until
    /// it; from it, the minutes left of the planned length.
    InProgress { early: bool, minutes: u64 },
    /// `closed` and `missed`: nothing more to say.
    Shut {},
}

impl RoomView {
    /// The state's name, and what the page says about it.
    fn of(room: RoomState) -> (&'static str, Self) {
        match room {
            RoomState::NotOpen { opens_at } => (
                "not_open",
                Self::NotOpen {
                    opens_at: opens_at.to_stockholm().strftime("%H:%M").to_string(),
                },
            ),
            RoomState::Waiting {
                can_start,
                needs_confirmation,
            } => (
                "waiting",
                Self::Waiting {
                    can_start,
                    needs_confirmation,
                },
            ),
            RoomState::InProgress { planned } => {
                let (early, minutes) = match planned {
                    Planned::StartsIn { minutes } => (true, minutes),
                    Planned::Left { minutes } => (false, minutes),
                };
                ("in_progress", Self::InProgress { early, minutes })
            }
            RoomState::Closed => ("closed", Self::Shut {}),
            RoomState::Missed => ("missed", Self::Shut {}),
        }
    }
}

/// What the status region shows in `room`, as one word that changes
/// exactly when the region would (the minutes aside), and how often to ask
/// again: every 3 s while someone waits for a start or a confirmation,
/// every 15 s while it is not open yet or in progress (to see it end),
/// never once it is over.
fn status_key(room: RoomState) -> (&'static str, u32) {
    match room {
        RoomState::NotOpen { .. } => ("not_open", 15),
        RoomState::Waiting {
            needs_confirmation: true,
            ..
        } => ("waiting_confirmation", 3),
        RoomState::Waiting {
            can_start: true, ..
        } => ("startable", 3),
        RoomState::Waiting { .. } => ("waiting", 3),
        RoomState::InProgress {
            planned: Planned::StartsIn { .. },
        } => ("in_progress_early", 15),
        RoomState::InProgress { .. } => ("in_progress", 15),
        RoomState::Closed => ("closed", 0),
        RoomState::Missed => ("missed", 0),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct VisitQuery {
    done: Option<String>,
}

pub async fn show(
    p: Portal,
    User(me): User,
    Path(id): Path<String>,
    Query(q): Query<VisitQuery>,
) -> PageResult {
    let store = p.store();
    let view = tillit_app::visits::view(p.env(&store), &me.person, &id).await?;
    let VisitView {
        booking,
        role,
        room,
        patient,
        clinician,
        clinician_title,
        message,
        allowed,
        more_patients,
        ..
    } = &view;
    let others: Vec<&Person> = more_patients.iter().map(|(p, _)| p).collect();
    log_access_all(&p, &me.person, others, AccessAction::Read, "visit").await?;
    let (patient, patient_removed) = match patient {
        PatientShown::Named(patient) => {
            log_access(&p, &me.person, patient, AccessAction::Read, "visit").await?;
            (Some(patient.full_name()), false)
        }
        PatientShown::Removed => (None, true),
        PatientShown::Hidden => (None, false),
    };
    let (state, room_view) = RoomView::of(*room);
    let (key, poll) = status_key(*room);
    let page = VisitPage {
        title: "visit.title",
        id: &booking.id,
        heading: &booking.title,
        when: p
            .state
            .catalogs
            .format_span(p.ctx.lang, booking.starts_at, booking.ends_at()),
        kind_key: format!("visit_type.kind.{}", booking.kind.as_str()),
        status: booking.status,
        status_key: format!("booking.status.{}", booking.status.as_str()),
        clinician: clinician.as_ref().map(Person::full_name),
        clinician_title,
        patient,
        patient_removed,
        more_patients: more_patients
            .iter()
            .map(|(p, a)| GroupPatient {
                name: p.full_name(),
                answer_key: format!("group.attendance.{}", a.as_str()),
            })
            .collect(),
        message: message.as_deref(),
        is_clinician: *role == visit::Role::Clinician,
        state,
        room: room_view,
        key,
        poll,
        allowed: (*allowed).into(),
        notice: match q.done.as_deref() {
            Some("confirmed") => Some("booking.confirmed_notice"),
            _ => None,
        },
    };
    Ok(p.page("visit", page)?.into_response())
}

/// What `visit.js` asks while the page is open.
#[derive(Debug, Serialize)]
struct StatusAnswer {
    key: &'static str,
    poll: u32,
}

/// The visit's state for the page's script: the status region's key (see
/// [`status_key`]) and when to ask again. Participants only (404 for
/// anyone else), and cheap: the booking read by its key, no rendering.
pub async fn status(p: Portal, User(me): User, Path(id): Path<String>) -> PageResult {
    let store = p.store();
    let room = tillit_app::visits::room_state(p.env(&store), &me.person, &id).await?;
    let (key, poll) = status_key(room);
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(StatusAnswer { key, poll }),
    )
        .into_response())
}

/// "Starta videomöte": a clinician participant, inside the window, on a
/// confirmed visit. Whoever starts it becomes its responsible clinician.
pub async fn start(p: Portal, User(me): User, Path(id): Path<String>) -> PageResult {
    let store = p.store();
    tillit_app::visits::start(p.env(&store), &me, &id).await?;
    Ok(Redirect::to(&format!("/visits/{id}")).into_response())
}

/// The confirmation page's data.
#[derive(Debug, Serialize)]
struct EndPage<'a> {
    title: &'static str,
    id: &'a str,
    heading: &'a str,
    when: String,
}

/// "Avsluta besöket": what ending does (it closes the visit for everyone;
/// the patient and guests are disconnected), before it is done. For a
/// clinician taking part in a visit in progress; a visit no longer in
/// progress sends them back to its page, which says why.
pub async fn end_form(p: Portal, User(me): User, Path(id): Path<String>) -> PageResult {
    let store = p.store();
    let view = tillit_app::visits::view(p.env(&store), &me.person, &id).await?;
    if view.role != visit::Role::Clinician {
        return Err(AppError::Forbidden);
    }
    if !view.allowed.end {
        return Ok(Redirect::to(&format!("/visits/{id}")).into_response());
    }
    let b = &view.booking;
    let page = EndPage {
        title: "visit_end.title",
        id: &b.id,
        heading: &b.title,
        when: p
            .state
            .catalogs
            .format_span(p.ctx.lang, b.starts_at, b.ends_at()),
    };
    Ok(p.page("visit_end", page)?.into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct EndForm {
    /// `1` from the confirmation (the page's form or the room's dialog).
    #[serde(default)]
    confirmed: String,
}

/// Ends the visit for everyone, once confirmed; nobody can enter it again,
/// and the room's connections are closed (by the use case, through
/// `Env::live`). Without `confirmed=1` nothing changes: a participant is
/// sent to the confirmation page.
pub async fn end(
    p: Portal,
    User(me): User,
    Path(id): Path<String>,
    Form(form): Form<EndForm>,
) -> PageResult {
    if form.confirmed != "1" {
        // Only to a visit they take part in (and so an id of ours, safe in
        // a header).
        let (booking, _) = participation(&p, &me.person, &id).await?;
        return Ok(Redirect::to(&format!("/visits/{}/end", booking.id)).into_response());
    }
    let store = p.store();
    tillit_app::visits::end(p.env(&store), &me, &id).await?;
    Ok(Redirect::to(&format!("/visits/{id}")).into_response())
}
