//! The portal over HTTP, in process: tenant routing, login and logout,
//! session expiry with a controlled clock, CSRF, tenant isolation of
//! sessions, bad input, headers, languages, the admin pages and the access
//! log. The flows run on SQLite and on the machine's PostgreSQL.
//!
//! One module per feature; the harness they share is `tests/support/`.

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "../support/headless.rs"]
mod headless;
#[path = "../support/mod.rs"]
mod support;

mod a11y;
mod admin;
mod bookings;
mod contacts;
mod eid;
mod fhir;
mod fhir_sekmet;
mod fhir_validators;
mod groups;
mod health;
mod languages;
mod login;
mod login_browser;
mod my_details;
mod privacy;
mod profile;
mod routes;
mod security;
mod sockets;
mod tenancy;
mod terms;
mod visits;
mod wizard;
