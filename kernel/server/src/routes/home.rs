//! The start page: a landing page before login; after it, the patient's
//! coming visits or the clinician's "Översikt" of confirmed visits.

use axum::extract::Query;
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::Value;
use tillit_domain::Role;

use crate::http::extract::Portal;
use crate::http::render::PageResult;
use crate::routes::bookings;

/// The start page's data.
#[derive(Debug, Serialize)]
struct HomePage {
    bookings: Vec<Value>,
    guest_visits: Vec<Value>,
    notice: Option<&'static str>,
}

pub async fn show(p: Portal, Query(q): Query<bookings::DoneQuery>) -> PageResult {
    let (state, ctx) = (&p.state, &p.ctx);
    let (bookings, guest_visits) = match &ctx.user {
        Some(me) if me.role == Role::Patient => (
            bookings::for_patient_home(state, ctx, me).await?,
            Vec::new(),
        ),
        Some(me) if me.role == Role::Clinician => (
            bookings::for_clinician_home(state, ctx, me).await?,
            bookings::guest_visits(state, ctx, me).await?,
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let page = HomePage {
        bookings,
        guest_visits,
        notice: bookings::home_notice(&q),
    };
    Ok(p.page("home", page)?.into_response())
}
