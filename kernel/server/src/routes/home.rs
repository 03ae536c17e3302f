//! The start page: a landing page before login; after it, the patient's
//! coming visits, or the clinician's "Översikt" of every coming visit
//! (unconfirmed ones too) and the visits colleagues invited them to, each
//! leading to its visit page.

use axum::extract::Query;
use axum::response::IntoResponse;
use serde::Serialize;
use tillit_app::Actor;
use tillit_domain::Role;

use crate::http::extract::Portal;
use crate::http::render::PageResult;
use crate::routes::bookings::{self, BookingRow, GuestVisitRow};

/// The start page's data.
#[derive(Debug, Serialize)]
struct HomePage {
    bookings: Vec<BookingRow>,
    guest_visits: Vec<GuestVisitRow>,
    notice: Option<&'static str>,
}

pub async fn show(p: Portal, Query(q): Query<bookings::DoneQuery>) -> PageResult {
    let me = p.ctx.user.clone().map(Actor::portal);
    let (bookings, guest_visits) = match &me {
        Some(me) if me.person.role == Role::Patient => {
            (bookings::for_patient_home(&p, me).await?, Vec::new())
        }
        Some(me) if me.person.role == Role::Clinician => (
            bookings::for_clinician_home(&p, me).await?,
            bookings::guest_visits(&p, me).await?,
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
