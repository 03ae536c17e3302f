//! The visit page: the waiting room before the video, and the start and end
//! of a visit, by the rules in `tillit_domain::visit`.
//!
//! Only the visit's participants (its patient, its responsible clinician
//! and invited colleagues) see it; anyone else gets 404. The video itself
//! comes with the media plane (`kernel/media`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use serde_json::json;
use tillit_app::Actor;
use tillit_domain::Person;
use tillit_domain::access::AccessAction;
use tillit_domain::booking::Booking;
use tillit_domain::visit::{self, RoomState};

use crate::http::error::AppError;
use crate::http::forms::log_access;
use crate::http::render::{PageResult, page};
use crate::http::session::Ctx;
use crate::state::AppState;

/// The booking, and how `me` takes part in it; 404 if they do not.
pub(crate) async fn participation(
    state: &AppState,
    ctx: &Ctx,
    me: &Person,
    id: &str,
) -> Result<(Booking, visit::Role), AppError> {
    let store = state.store.tenant(ctx.tenant.id.clone());
    Ok(tillit_app::visits::participation(state.env(ctx, &store), me, id).await?)
}

pub async fn show(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let me = ctx.user()?.clone();
    let (booking, role) = participation(&state, &ctx, &me, &id).await?;
    let store = state.store.tenant(ctx.tenant.id.clone());
    let now = state.clock.now();
    let room = visit::room_state(&booking, role, now);
    let responsible = store.person(&booking.clinician).await?;
    let title = store
        .profile(&booking.clinician)
        .await?
        .map(|p| p.text.title)
        .unwrap_or_default();
    let patient = if role == visit::Role::Clinician {
        let p = store.person(&booking.patient).await?;
        if let Some(p) = &p {
            log_access(&state, &ctx, &me, p, AccessAction::Read, "visit").await?;
        }
        p.map(|p| p.full_name())
    } else {
        None
    };
    let (state_name, extra) = match room {
        RoomState::NotOpen { opens_at } => (
            "not_open",
            json!({"opens_at": opens_at.to_stockholm().strftime("%H:%M").to_string()}),
        ),
        RoomState::Waiting { can_start } => ("waiting", json!({"can_start": can_start})),
        RoomState::InProgress { minutes_left } => {
            ("in_progress", json!({"minutes_left": minutes_left}))
        }
        RoomState::Closed => ("closed", json!({})),
        RoomState::Missed => ("missed", json!({})),
    };
    let html = page(
        &state,
        &ctx,
        "visit",
        json!({
            "title": "visit.title",
            "id": booking.id,
            "heading": booking.title,
            "when": state.catalogs.format_span(ctx.lang, booking.starts_at, booking.ends_at()),
            "clinician": responsible.map(|p| p.full_name()),
            "clinician_title": title,
            "patient": patient,
            "is_clinician": role == visit::Role::Clinician,
            "state": state_name,
            "room": extra,
        }),
    )?;
    Ok(html.into_response())
}

/// "Starta videomöte": a clinician participant, inside the window, on a
/// confirmed visit. Whoever starts it becomes its responsible clinician.
pub async fn start(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let me = ctx.user()?.clone();
    let store = state.store.tenant(ctx.tenant.id.clone());
    tillit_app::visits::start(state.env(&ctx, &store), &Actor::portal(me), &id).await?;
    Ok(Redirect::to(&format!("/visits/{id}")).into_response())
}

/// Ends the visit for everyone; nobody can enter it again, and the room's
/// connections are closed.
pub async fn end(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let me = ctx.user()?.clone();
    let store = state.store.tenant(ctx.tenant.id.clone());
    tillit_app::visits::end(state.env(&ctx, &store), &Actor::portal(me), &id).await?;
    state
        .media
        .end(crate::routes::room::room_key(&ctx.tenant.id, &id));
    Ok(Redirect::to(&format!("/visits/{id}")).into_response())
}
