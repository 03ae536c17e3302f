//! Routes about messages: 46elks' delivery reports, and in development the
//! outbox page that shows what would have been sent.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tillit_app::messages::{self, Delivery};

use crate::http::error::AppError;
use crate::http::extract::{Portal, User};
use crate::http::render::PageResult;
use crate::state::AppState;

/// The outbox page's data.
#[derive(Debug, Serialize)]
struct OutboxPage {
    title: &'static str,
    messages: Vec<Message>,
}

#[derive(Debug, Serialize)]
struct Message {
    due: String,
    channel: &'static str,
    to: String,
    kind: &'static str,
    status: &'static str,
    channel_key: String,
    kind_key: String,
    status_key: String,
    delivery: String,
    text: String,
}

/// A 46elks delivery report (`whendelivered`): `id`, `status` (`delivered`
/// or `failed`), `delivered` (time).
#[derive(Debug, Deserialize)]
pub struct DeliveryReport {
    id: String,
    status: String,
}

/// `POST /hooks/46elks/{notification}/{token}`: records the report. The
/// token proves the URL came from us; anything else is 404.
pub async fn delivery_report(
    State(state): State<AppState>,
    axum::Extension(tenant): axum::Extension<crate::http::session::TenantOf>,
    Path((id, token)): Path<(String, String)>,
    Form(report): Form<DeliveryReport>,
) -> Response {
    let tenant = &tenant.0;
    let expected = crate::outbox::report_token(&state.secret, &tenant.id, &id);
    if !crate::http::session::constant_time_eq(expected.as_bytes(), token.as_bytes()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(delivery) = Delivery::parse(&report.status) else {
        return (StatusCode::BAD_REQUEST, "unknown status\n").into_response();
    };
    let store = state.store.tenant(tenant.id.clone());
    let env = state.env_for(tenant, &store);
    match messages::record_delivery(env, &id, &report.id, delivery).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(tillit_app::Error::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// `GET /dev/outbox`: what would have been sent, newest first, as far as
/// the visitor may read it (`messages::outbox`). Routed in development
/// only: it shows phone numbers and addresses.
pub async fn page(p: Portal, User(actor): User) -> PageResult {
    let store = p.store();
    let messages: Vec<Message> = messages::outbox(p.env(&store), &actor, 200)
        .await?
        .into_iter()
        .map(|n| {
            let local = n.due_at.to_stockholm();
            Message {
                due: local.strftime("%Y-%m-%d %H:%M").to_string(),
                channel: n.channel.as_str(),
                to: n.recipient.unwrap_or_default(),
                kind: n.kind.as_str(),
                status: n.status.as_str(),
                channel_key: format!("outbox.channel_{}", n.channel.as_str()),
                kind_key: format!("outbox.kind_{}", n.kind.as_str()),
                status_key: format!("outbox.status_{}", n.status.as_str()),
                delivery: n.delivery.or(n.last_error).unwrap_or_default(),
                text: n.body.unwrap_or_default(),
            }
        })
        .collect();
    let html = p.page(
        "outbox",
        OutboxPage {
            title: "outbox.title",
            messages,
        },
    )?;
    Ok(html.into_response())
}
