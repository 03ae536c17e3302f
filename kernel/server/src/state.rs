//! The state of a running kernel that every request and job shares, and the
//! environment it gives the use cases. Built by `app::start`; nothing here
//! knows about routes.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tillit_domain::{Clock, TenantId};
use tillit_store::Store;

use crate::config::Config;
use crate::i18n::Catalogs;
use crate::tenants::{Registry, Tenant};
use crate::theme::{Asset, Themes};

/// The per-tenant files generated from brand settings.
#[derive(Debug, Clone)]
pub struct BrandAssets {
    pub css: Asset,
    pub logo: Option<(String, Asset)>,
}

#[derive(Debug)]
pub struct Inner {
    pub config: Config,
    pub tenants: Registry,
    pub themes: Themes,
    pub catalogs: Arc<Catalogs>,
    pub brands: HashMap<TenantId, BrandAssets>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Key for CSRF tokens; kept in `<data_dir>/secret.key`.
    pub secret: Vec<u8>,
    pub metrics: PrometheusHandle,
    /// The SMS and e-mail clients of the outbox.
    pub senders: crate::outbox::Senders,
    /// The port `serve` listens on (which differs from the configured one
    /// when that is 0), for links in messages.
    pub bound_port: std::sync::OnceLock<u16>,
    /// The video SFU: every visit's media on one UDP port.
    pub media: tillit_media::driver::Hub,
    /// The tenants' WebAssembly plugins.
    pub plugins: Arc<tillit_plugins::PluginHost>,
    /// Room connections, for plugins' live messages.
    pub live: crate::plugins::LiveRooms,
    /// Where CPU-heavy work runs (picture uploads), never on the async
    /// workers.
    pub cpu: crate::cpu::CpuPool,
    /// Room connections by who holds them, and what ends them.
    pub sockets: crate::sockets::Sockets,
    /// The e-ID providers' discovery documents and keys.
    pub eid: crate::eid::Providers,
}

/// Cheap to clone; handed to every handler.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub(crate) fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// The port the portals are reached on: a proxy's 443 behind TLS, else
    /// the port `serve` listens on. The installation's links use it, and a
    /// `Host` naming another port reaches no tenant.
    pub fn public_port(&self) -> u16 {
        if self.config.server.behind_tls {
            443
        } else {
            self.bound_port
                .get()
                .copied()
                .unwrap_or(self.config.server.listen.port())
        }
    }

    /// What the use cases (`tillit_app`) work in for a request of `ctx`'s
    /// tenant, now; the endings they report close room connections.
    pub fn env<'a>(
        &'a self,
        ctx: &'a crate::http::session::Ctx,
        store: &'a tillit_store::TenantStore<'a>,
    ) -> tillit_app::Env<'a> {
        self.env_for(&ctx.tenant, store)
    }

    /// What the use cases work in for `tenant`, now (for requests before
    /// their `Ctx` exists, and for jobs).
    pub fn env_for<'a>(
        &'a self,
        tenant: &'a Tenant,
        store: &'a tillit_store::TenantStore<'a>,
    ) -> tillit_app::Env<'a> {
        tillit_app::Env {
            store,
            rules: booking_rules(tenant),
            now: self.clock.now(),
            ids: &tillit_app::RandomIds,
            live: &self.sockets,
        }
    }
}

/// The tenant file's booking settings, as the use cases take them.
pub fn booking_rules(t: &Tenant) -> tillit_app::BookingRules<'_> {
    tillit_app::BookingRules {
        require_confirmation: t.booking.require_confirmation,
        reminder_lead: t.booking.reminder_lead.0,
        reasons: &t.booking.reasons,
    }
}
