//! The visit page: the waiting room before the video, and the start and end
//! of a visit, by the rules in `tillit_domain::visit`.
//!
//! Only the visit's participants (its patient, its responsible clinician
//! and invited colleagues) see it; anyone else gets 404. The video itself
//! comes with the media plane (`kernel/media`).

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect};
use serde::Serialize;
use tillit_domain::Person;
use tillit_domain::access::AccessAction;
use tillit_domain::booking::Booking;
use tillit_domain::visit::{self, RoomState};

use crate::http::error::AppError;
use crate::http::extract::{Portal, User};
use crate::http::forms::log_access;
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
#[derive(Debug, Serialize)]
struct VisitPage<'a> {
    title: &'static str,
    id: &'a str,
    heading: &'a str,
    when: String,
    clinician: Option<String>,
    clinician_title: String,
    patient: Option<String>,
    is_clinician: bool,
    /// `not_open`, `waiting`, `in_progress`, `closed` or `missed`: which of
    /// `room`'s fields there are.
    state: &'static str,
    room: RoomView,
}

/// What the page says about the room in its state.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum RoomView {
    /// `not_open`: the local time (`HH:MM`) it opens.
    NotOpen {
        opens_at: String,
    },
    Waiting {
        can_start: bool,
    },
    InProgress {
        minutes_left: u64,
    },
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
            RoomState::Waiting { can_start } => ("waiting", Self::Waiting { can_start }),
            RoomState::InProgress { minutes_left } => {
                ("in_progress", Self::InProgress { minutes_left })
            }
            RoomState::Closed => ("closed", Self::Shut {}),
            RoomState::Missed => ("missed", Self::Shut {}),
        }
    }
}

pub async fn show(p: Portal, User(me): User, Path(id): Path<String>) -> PageResult {
    let (booking, role) = participation(&p, &me.person, &id).await?;
    let store = p.store();
    let now = p.state.clock.now();
    let responsible = store.person(&booking.clinician).await?;
    let title = store
        .profile(&booking.clinician)
        .await?
        .map(|p| p.text.title)
        .unwrap_or_default();
    let patient = if role == visit::Role::Clinician {
        let patient = store.person(&booking.patient).await?;
        if let Some(patient) = &patient {
            log_access(&p, &me.person, patient, AccessAction::Read, "visit").await?;
        }
        patient.map(|p| p.full_name())
    } else {
        None
    };
    let (state, room) = RoomView::of(visit::room_state(&booking, role, now));
    let page = VisitPage {
        title: "visit.title",
        id: &booking.id,
        heading: &booking.title,
        when: p
            .state
            .catalogs
            .format_span(p.ctx.lang, booking.starts_at, booking.ends_at()),
        clinician: responsible.map(|p| p.full_name()),
        clinician_title: title,
        patient,
        is_clinician: role == visit::Role::Clinician,
        state,
        room,
    };
    Ok(p.page("visit", page)?.into_response())
}

/// "Starta videomöte": a clinician participant, inside the window, on a
/// confirmed visit. Whoever starts it becomes its responsible clinician.
pub async fn start(p: Portal, User(me): User, Path(id): Path<String>) -> PageResult {
    let store = p.store();
    tillit_app::visits::start(p.env(&store), &me, &id).await?;
    Ok(Redirect::to(&format!("/visits/{id}")).into_response())
}

/// Ends the visit for everyone; nobody can enter it again, and the room's
/// connections are closed (by the use case, through `Env::live`).
pub async fn end(p: Portal, User(me): User, Path(id): Path<String>) -> PageResult {
    let store = p.store();
    tillit_app::visits::end(p.env(&store), &me, &id).await?;
    Ok(Redirect::to(&format!("/visits/{id}")).into_response())
}
