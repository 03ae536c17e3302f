//! The Tillit kernel: one process that serves every tenant's branded portal.
//!
//! # Layout
//! - [`config`]: installation settings (figment: defaults → `tillit.toml` → `TILLIT_*`).
//! - [`tenants`]: the per-tenant files in `tenants/`, validated; host → tenant.
//! - [`theme`]: Handlebars themes in `themes/`, and their assets.
//! - [`i18n`]: the Swedish and English message catalogs.
//! - [`app`]: start-up (load, connect, migrate, seed) and [`app::serve`].
//! - `state`: what a running kernel shares ([`app::AppState`]), and the
//!   environment it gives the use cases (`tillit_app`).
//! - [`web`]: which route goes to which feature, and the layers in front.
//! - `http`: the plumbing routes share: errors, sessions and CSRF,
//!   extractors, rendering, form errors, layers.
//! - `routes`: one module per feature of the portal; each handler parses,
//!   calls a use case and renders.
//! - [`outbox`]: sending messages (SMS, e-mail) and the reminder tick.
//! - [`plugins`]: the tenants' WebAssembly plugins wired into the kernel:
//!   events, live messages, UI slots.
//! - [`sockets`]: the open room connections by who holds them: one per
//!   person and place, closed when their session, access or visit ends.
//! - `picture`: what a profile picture upload must be, and what is kept.
//! - [`cpu`]: CPU-heavy work on the blocking pool, a few jobs at a time.
//! - [`telemetry`]: logs and metrics.
//! - [`values`]: value types of config files and their error messages.
//! - `waiting`: patients waiting on their visit's page, which journal
//!   systems read as `arrived`.

pub mod app;
pub mod config;
pub mod cpu;
pub mod eid;
mod http;
pub mod i18n;
pub mod outbox;
mod picture;
pub mod plugins;
mod routes;
pub mod sockets;
mod state;
pub mod telemetry;
pub mod tenants;
pub mod theme;
pub mod values;
mod waiting;
pub mod web;

/// Chooses the TLS crypto provider for the whole process (aws-lc-rs). Call
/// once at start, before any TLS connection: dependencies enable rustls
/// with more than one provider, and rustls refuses to guess.
pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
