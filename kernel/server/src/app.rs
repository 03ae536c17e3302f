//! Start-up and the shared state of a running kernel.
//!
//! [`start`] loads catalogs, themes and tenants, connects to and migrates
//! the database, registers the tenants and creates their bootstrap staff.
//! [`serve`] runs the portals' router on a listener until `shutdown`
//! resolves, so tests can bind port 0 and stop the server when they are
//! done; [`serve_ops`] does the same for health, readiness and metrics on
//! their own address.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tillit_domain::{Clock, PersonId};
use tillit_store::Store;

use crate::config::Config;
use crate::i18n::Catalogs;
use crate::tenants::{Registry, Tenant};
use crate::theme::{Asset, Themes};

pub use crate::state::{AppState, BrandAssets, Inner};

/// Why the kernel could not start. Each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("tenant configuration is invalid:\n{}", .0.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Tenants(Vec<crate::tenants::Issue>),
    #[error("theme is invalid: {0}")]
    Theme(#[from] crate::theme::ThemeError),
    #[error("cannot use the database at {url}: {cause}")]
    Database {
        url: String,
        cause: tillit_store::StoreError,
    },
    #[error("{0}")]
    Io(String),
}

/// Loads themes and tenants and checks them together, without touching the
/// database. Used by `serve` and by `tillit tenants check`.
pub fn load_tenants(
    config: &Config,
    catalogs: Arc<Catalogs>,
) -> Result<(Themes, Vec<Tenant>), StartError> {
    let themes = Themes::load(&config.themes_dir, catalogs, config.reload_templates)?;
    let tenants = crate::tenants::load_dir(&config.tenants_dir, &themes.ids())
        .map_err(StartError::Tenants)?;
    if config.mode == crate::config::Mode::Production {
        // Production has no test login: every tenant needs e-ID for each
        // kind of person it serves.
        let issues: Vec<_> = tenants
            .iter()
            .flat_map(crate::tenants::production_issues)
            .collect();
        if !issues.is_empty() {
            return Err(StartError::Tenants(issues));
        }
    }
    Ok((themes, tenants))
}

pub async fn connect(config: &Config) -> Result<Store, StartError> {
    let db_err = |cause| StartError::Database {
        url: tillit_store::redact_url(&config.database.url),
        cause,
    };
    let store = Store::connect(&config.database.url, config.database.connect_timeout.0)
        .await
        .map_err(db_err)?;
    Ok(store)
}

pub async fn start(
    config: Config,
    clock: Arc<dyn Clock>,
    metrics: PrometheusHandle,
) -> Result<AppState, StartError> {
    let catalogs = Arc::new(Catalogs::builtin());
    let (themes, tenants) = load_tenants(&config, Arc::clone(&catalogs))?;
    let brands = tenants
        .iter()
        .map(|t| Ok((t.id.clone(), brand_assets(&config, &themes, t)?)))
        .collect::<Result<HashMap<_, _>, StartError>>()?;
    let store = connect(&config).await?;
    let db_err = |cause| StartError::Database {
        url: tillit_store::redact_url(&config.database.url),
        cause,
    };
    if config.database.auto_migrate {
        store.migrate().await.map_err(db_err)?;
    }
    let now = clock.now();
    for t in &tenants {
        store.register_tenant(&t.id, now).await.map_err(db_err)?;
        let ts = store.tenant(t.id.clone());
        for p in &t.bootstrap {
            let id = PersonId::new(uuid::Uuid::new_v4().to_string());
            if ts.ensure_person(&id, p, now).await.map_err(db_err)? {
                tracing::info!(tenant = %t.id, person = %id, role = p.role.as_str(), "created bootstrap person");
            }
        }
    }
    crate::install_tls_provider();
    let secret = load_or_create_secret(&config.data_dir)?;
    let senders = crate::outbox::Senders::new(&config).map_err(StartError::Io)?;
    let media = tillit_media::driver::Hub::start(config.media.listen, config.media.announce)
        .await
        .map_err(|e| StartError::Io(format!("media.listen {}: {e}", config.media.listen)))?;
    let cache_dir = config
        .plugins
        .cache_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("plugin-cache"));
    let plugins = crate::plugins::start_host(
        &config.plugins.dir,
        &cache_dir,
        &secret,
        store.clone(),
        Arc::clone(&clock),
        &tenants,
    )
    .map_err(|e| StartError::Io(format!("plugins: {e}")))?;
    Ok(AppState::new(Inner {
        tenants: Registry::new(tenants),
        themes,
        catalogs,
        brands,
        store,
        clock,
        secret,
        metrics,
        senders,
        bound_port: std::sync::OnceLock::new(),
        sockets: crate::sockets::Sockets::new(media.clone()),
        eid: crate::eid::Providers::default(),
        media,
        plugins,
        live: crate::plugins::LiveRooms::default(),
        cpu: crate::cpu::CpuPool::for_this_machine(),
        config,
    }))
}

fn brand_assets(config: &Config, themes: &Themes, t: &Tenant) -> Result<BrandAssets, StartError> {
    let theme = themes
        .get(&t.theme)
        .ok_or_else(|| StartError::Io(format!("theme {} vanished", t.theme)))?;
    let primary = t
        .brand
        .primary_color
        .as_ref()
        .unwrap_or(&theme.colors.primary);
    let accent = t
        .brand
        .accent_color
        .as_ref()
        .unwrap_or(&theme.colors.accent);
    let css = format!(
        ":root {{ --brand-primary: {}; --brand-accent: {}; }}\n",
        primary.as_str(),
        accent.as_str()
    );
    let css = Asset::new(css.into_bytes(), Path::new("brand.css"));
    let logo = match &t.brand.logo {
        Some(rel) => {
            let path = config.tenants_dir.join(rel);
            let bytes = std::fs::read(&path)
                .map_err(|e| StartError::Io(format!("{}: {e}", path.display())))?;
            let ext = rel
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("svg")
                .to_owned();
            Some((format!("logo.{ext}"), Asset::new(bytes, rel)))
        }
        None => None,
    };
    Ok(BrandAssets { css, logo })
}

fn load_or_create_secret(dir: &Path) -> Result<Vec<u8>, StartError> {
    let path = dir.join("secret.key");
    let io = |e: std::io::Error| StartError::Io(format!("{}: {e}", path.display()));
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 32 => Ok(bytes),
        Ok(_) => Err(StartError::Io(format!(
            "{}: too short; delete it to create a new one",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(io)?;
            let mut key = vec![0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
            write_private(&path, &key).map_err(io)?;
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Removes expired sessions every few minutes, for every tenant.
pub fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            let now = state.clock.now();
            for t in state.tenants.all() {
                match state
                    .store
                    .tenant(t.id.clone())
                    .delete_expired_sessions(now)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(tenant = %t.id, n, "removed expired sessions"),
                    Err(e) => {
                        tracing::warn!(tenant = %t.id, error = %e, "could not remove expired sessions")
                    }
                }
            }
        }
    })
}

/// Serves health, readiness and metrics (`web::ops_router`) on `listener`
/// (bound to `server.ops_listen`) until `shutdown` resolves.
pub async fn serve_ops(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, crate::web::ops_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves the tenants' portals of `state` on `listener` until `shutdown`
/// resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        let _ = state.bound_port.set(addr.port());
    }
    let housekeeping = spawn_housekeeping(state.clone());
    let session_check = crate::sockets::spawn_session_check(state.clone());
    let plugin_reload = state
        .config
        .is_development()
        .then(|| crate::plugins::spawn_reload(state.clone()));
    let reminders = crate::outbox::spawn_reminder_tick(state.clone());
    let plugin_events = crate::plugins::spawn_event_delivery(state.clone());
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = crate::outbox::spawn_worker(state.clone(), async move {
        let _ = worker_stopped.await;
    });
    let router = crate::web::router(state);
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    housekeeping.abort();
    session_check.abort();
    if let Some(r) = plugin_reload {
        r.abort();
    }
    reminders.abort();
    plugin_events.abort();
    // Let a message being sent finish; jobs not started stay queued.
    let _ = stop_worker.send(());
    if tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .is_err()
    {
        tracing::warn!("the outbox worker did not stop within 10 s");
    }
    result
}
