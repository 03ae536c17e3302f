//! The tenant's information notice and terms, which a patient accepts the
//! first time they log in to that tenant (and again when the version in the
//! tenant file changes). The acceptance is stored with the version and time.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use tillit_domain::Role;
use tillit_domain::access::AccessAction;

use crate::app::AppState;
use crate::error::AppError;
use crate::pages::{PageResult, page};
use crate::session::Ctx;

/// Paths a patient may use before accepting (to accept, or to leave).
const OPEN: [&str; 3] = ["/terms", "/logout", "/language"];

/// Sends a patient who has not accepted the current terms to `/terms`.
pub async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let pending = match req.extensions().get::<Ctx>() {
        Some(ctx) if !OPEN.contains(&req.uri().path()) => match &ctx.user {
            Some(u) if u.role == Role::Patient => {
                let store = state.store.tenant(ctx.tenant.id.clone());
                match store
                    .has_accepted_terms(&u.id, &ctx.tenant.terms_version)
                    .await
                {
                    Ok(accepted) => !accepted,
                    Err(e) => return AppError::from(e).into_response(),
                }
            }
            _ => false,
        },
        _ => false,
    };
    if pending {
        return (
            axum::http::StatusCode::SEE_OTHER,
            [(header::LOCATION, "/terms")],
        )
            .into_response();
    }
    next.run(req).await
}

pub async fn show(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    ctx.require(Role::Patient)?;
    let html = page(
        &state,
        &ctx,
        "terms",
        json!({"title": "terms.title", "version": ctx.tenant.terms_version, "provider": ctx.tenant.display_name}),
    )?;
    Ok(html.into_response())
}

pub async fn accept(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let me = ctx.require(Role::Patient)?.clone();
    let store = state.store.tenant(ctx.tenant.id.clone());
    let now = state.clock.now();
    store
        .accept_terms(&me.id, &ctx.tenant.terms_version, now)
        .await?;
    crate::forms::log_access(&state, &ctx, &me, &me, AccessAction::Update, "terms").await?;
    Ok(Redirect::to("/").into_response())
}
