//! The tenant's information notice and terms, which a patient accepts the
//! first time they log in to that tenant (and again when the version in the
//! tenant file changes). The acceptance is stored with the version and time.

use axum::Form;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tillit_app::{Actor, terms};

use crate::http::error::AppError;
use crate::http::extract::{Patient, Portal};
use crate::http::render::PageResult;
use crate::http::session::Ctx;
use crate::routes::login::return_path;
use crate::state::AppState;

/// Paths a patient may use before accepting (to accept, or to leave).
const OPEN: [&str; 3] = ["/terms", "/logout", "/language"];

/// Sends a patient who has not accepted the current terms to `/terms`.
pub async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let pending = match req.extensions().get::<Ctx>() {
        Some(ctx) if !OPEN.contains(&req.uri().path()) => match &ctx.user {
            Some(u) => {
                let store = state.store.tenant(ctx.tenant.id.clone());
                let actor = Actor::portal(u.clone());
                let env = state.env(ctx, &store);
                match terms::pending(env, &actor, &ctx.tenant.terms_version).await {
                    Ok(pending) => pending,
                    Err(e) => return AppError::from(e).into_response(),
                }
            }
            None => false,
        },
        _ => false,
    };
    if pending {
        // The page the patient opened (a visit page from an SMS, say) is
        // where accepting takes them.
        let back = (req.method() == axum::http::Method::GET && req.uri().path() != "/")
            .then(|| req.uri().path_and_query().map(|pq| pq.as_str()))
            .flatten()
            .and_then(|back| serde_urlencoded::to_string([("next", back)]).ok())
            .map_or_else(|| "/terms".to_owned(), |q| format!("/terms?{q}"));
        return (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response();
    }
    next.run(req).await
}

/// The page's data.
#[derive(Debug, Serialize)]
struct TermsPage<'a> {
    title: &'static str,
    version: &'a str,
    provider: &'a str,
    /// The page to go on to once accepted (empty: the start page).
    next: &'a str,
}

/// Where to go once the terms are accepted.
#[derive(Debug, Default, Deserialize)]
pub struct ReturnTo {
    #[serde(default)]
    next: String,
}

pub async fn show(p: Portal, _: Patient, Query(q): Query<ReturnTo>) -> PageResult {
    let tenant = &p.ctx.tenant;
    let next = return_path(&q.next);
    let page = TermsPage {
        title: "terms.title",
        version: &tenant.terms_version,
        provider: &tenant.display_name,
        next: if next == "/" { "" } else { next },
    };
    Ok(p.page("terms", page)?.into_response())
}

pub async fn accept(p: Portal, Patient(me): Patient, Form(form): Form<ReturnTo>) -> PageResult {
    let store = p.store();
    terms::accept(p.env(&store), &me, &p.ctx.tenant.terms_version).await?;
    Ok(Redirect::to(return_path(&form.next)).into_response())
}
