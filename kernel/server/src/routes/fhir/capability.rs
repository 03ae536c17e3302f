//! What the FHIR API does, as one table: the router's routes and the
//! CapabilityStatement both follow it, and `tests/http/fhir.rs` exercises
//! every interaction and parameter it names.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use tillit_fhir::capability::{ResourceCapability, statement};

use super::auth::base_url;
use super::{Answer, respond};
use crate::state::AppState;

/// Each resource type served, with its interactions and search parameters.
pub const RESOURCES: [ResourceCapability; 7] = [
    ResourceCapability {
        resource_type: "Patient",
        interactions: &[
            "read",
            "vread",
            "history-instance",
            "history-type",
            "search-type",
            "create",
        ],
        search_params: &[
            ("_id", "token"),
            ("identifier", "token"),
            ("name", "string"),
            ("birthdate", "date"),
        ],
        conditional_create: true,
        search_include: &[],
        search_rev_include: &[],
    },
    ResourceCapability {
        resource_type: "Practitioner",
        interactions: &["read", "search-type"],
        search_params: &[("identifier", "token"), ("name", "string")],
        conditional_create: false,
        search_include: &[],
        search_rev_include: &[],
    },
    ResourceCapability {
        resource_type: "PractitionerRole",
        interactions: &["read", "search-type"],
        search_params: &[("practitioner", "reference")],
        conditional_create: false,
        search_include: &[],
        search_rev_include: &[],
    },
    ResourceCapability {
        resource_type: "Appointment",
        interactions: &[
            "read",
            "vread",
            "history-instance",
            "history-type",
            "search-type",
            "create",
            "update",
            "patch",
        ],
        search_params: &[
            ("_id", "token"),
            ("identifier", "token"),
            ("patient", "reference"),
            ("practitioner", "reference"),
            ("actor", "reference"),
            ("date", "date"),
            ("status", "token"),
            ("_lastUpdated", "date"),
        ],
        conditional_create: true,
        search_include: &[
            "Appointment:patient",
            "Appointment:practitioner",
            "Appointment:actor",
        ],
        search_rev_include: &["Encounter:appointment"],
    },
    ResourceCapability {
        resource_type: "Encounter",
        interactions: &["read", "search-type"],
        search_params: &[("appointment", "reference"), ("patient", "reference")],
        conditional_create: false,
        search_include: &[],
        search_rev_include: &[],
    },
    ResourceCapability {
        resource_type: "Schedule",
        interactions: &["read", "search-type"],
        search_params: &[("actor", "reference")],
        conditional_create: false,
        search_include: &[],
        search_rev_include: &[],
    },
    ResourceCapability {
        resource_type: "Slot",
        interactions: &["read", "search-type"],
        search_params: &[
            ("schedule", "reference"),
            ("start", "date"),
            ("status", "token"),
        ],
        conditional_create: false,
        search_include: &[],
        search_rev_include: &[],
    },
];

/// What the server does at its base: transactions (`POST /fhir/R4`).
pub const SYSTEM_INTERACTIONS: [&str; 1] = ["transaction"];

/// `GET /fhir/R4/metadata`: the CapabilityStatement (no token needed).
pub async fn metadata(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&state, &headers);
    let date = jiff::Timestamp::from_millisecond(state.clock.now().0)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "2026-01-01T00:00:00Z".to_owned());
    respond(Ok(Answer::ok(statement(
        &base,
        env!("CARGO_PKG_VERSION"),
        &date,
        &format!("{base}/auth/token"),
        &RESOURCES,
        &SYSTEM_INTERACTIONS,
    ))))
}
