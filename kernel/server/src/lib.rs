//! The Tillit kernel: one process that serves every tenant's branded portal.
//!
//! # Layout
//! - [`config`]: installation settings (figment: defaults → `tillit.toml` → `TILLIT_*`).
//! - [`tenants`]: the per-tenant files in `tenants/`, validated; host → tenant.
//! - [`theme`]: Handlebars themes in `themes/`, and their assets.
//! - [`i18n`]: the Swedish and English message catalogs.
//! - [`app`]: start-up (load, connect, migrate, seed) and [`app::serve`].
//! - [`web`]: the router and the layers every request passes through.
//! - [`session`]: login sessions, cookies and CSRF.
//! - [`pages`]: the portal's pages and forms.
//! - [`bookings`]: inviting to visits, "Mina bokningar", and the patient's side.
//! - [`picture`]: what a profile picture upload must be, and what is kept.
//! - [`profile`]: "Min profil": a clinician's profile and bookable visit types.
//! - [`visits`]: the visit page: waiting room, start and end.
//! - [`room`]: the video room's page and signalling WebSocket, and "Testa video".
//! - [`error`]: failures mapped to responses, in one place.
//! - [`forms`]: field errors and the patient-data access log, for every form.
//! - [`telemetry`]: logs and metrics.
//! - [`terms`]: the information notice and terms patients accept.
//! - [`values`]: value types of config files and their error messages.

pub mod app;

/// Chooses the TLS crypto provider for the whole process (aws-lc-rs). Call
/// once at start, before any TLS connection: dependencies enable rustls
/// with more than one provider, and rustls refuses to guess.
pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
pub mod bookings;
pub mod config;
pub mod error;
pub mod forms;
pub mod i18n;
pub mod outbox;
pub mod pages;
pub mod picture;
pub mod plugins;
pub mod profile;
pub mod room;
pub mod session;
pub mod telemetry;
pub mod tenants;
pub mod terms;
pub mod theme;
pub mod values;
pub mod visits;
pub mod web;
pub mod wizard;
