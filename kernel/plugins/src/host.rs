//! The plugin host: one wasmtime engine, the loaded plugins, which tenant
//! enabled which with what grant, and the calls.
//!
//! Loaded plugins and tenants' grants live in one immutable snapshot
//! behind a lock that is held only to clone an `Arc`: a call takes the
//! snapshot and runs on it, so a reload that swaps in a new version lets
//! calls in flight finish on the old one.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Deserialize;
use tillit_domain::{Clock, PersonId, TenantId};
use tillit_plugin_manifest::{Capability, ConfigType, Manifest};
use wasmtime::{
    Cache, CacheConfig, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};

use crate::admission::{Admission, Admitted};
use crate::api::{GuestEvent, GuestSlot, Instance, Linkers, Pre};
use crate::call::{CallState, Grants, PluginError, Services, Stop, said};
use crate::config::{HostConfig, Limits, Quotas};
use crate::context::{CallContext, Event, LiveMessage, Slot, Visit};
use crate::http::{self, HttpRequest, HttpResponse, RouteMatch};
use crate::load::{self, LoadError, Loaded, PluginInfo};
use crate::refs::Pseudonyms;
use crate::storage::PluginStorage;
use crate::view::{self, RenderLimits, View};

/// Bytes of each pooled linear memory reset in place rather than returned
/// to the kernel between calls.
const KEEP_RESIDENT: usize = 4 << 20;

/// The engine could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("setting up the plugin engine: {0}")]
pub struct HostError(String);

/// What a tenant allows a plugin: the capabilities it may use, its
/// settings, and its quotas. Deserialises from a tenant file's section:
///
/// ```toml
/// [plugins.notes]
/// grant = ["context", "storage", "clock"]
/// config = { max_note_chars = 5000 }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Grant {
    #[serde(rename = "grant")]
    pub capabilities: BTreeSet<Capability>,
    pub config: serde_json::Map<String, serde_json::Value>,
    /// None: the host's defaults ([`Limits::quotas`]).
    #[serde(skip)]
    pub quotas: Option<Quotas>,
}

impl Grant {
    /// Exactly what the plugin's manifest asks for, with default settings.
    pub fn requested(plugin: &PluginInfo) -> Self {
        Self {
            capabilities: plugin.manifest.capabilities.iter().copied().collect(),
            ..Self::default()
        }
    }
}

/// Why a tenant cannot have a plugin. Messages name the tenant and the key
/// in its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnableError {
    #[error("tenant {tenant}: plugins.{plugin}: no plugin {plugin} is loaded")]
    UnknownPlugin { tenant: TenantId, plugin: String },
    #[error(
        "tenant {tenant}: plugins.{plugin}.grant: {plugin} needs {}, which the tenant does not grant",
        missing.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
    )]
    NotGranted {
        tenant: TenantId,
        plugin: String,
        missing: Vec<Capability>,
    },
    #[error("tenant {tenant}: plugins.{plugin}.config.{key}: {reason}")]
    Config {
        tenant: TenantId,
        plugin: String,
        key: String,
        reason: String,
    },
}

/// A tenant's enablement of one plugin, checked against its manifest.
#[derive(Debug)]
struct Enabled {
    grant: Grant,
    granted: Grants,
    /// The plugin's settings as the JSON object `context.config` returns.
    config: Arc<str>,
    quotas: Quotas,
}

/// Everything a call needs to find, swapped as a whole.
#[derive(Debug, Default, Clone)]
struct Snapshot {
    plugins: HashMap<String, Arc<Loaded>>,
    tenants: HashMap<TenantId, HashMap<String, Arc<Enabled>>>,
}

/// What loading a directory of plugins did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Loaded, or reloaded because their files changed.
    pub loaded: Vec<Arc<PluginInfo>>,
    /// Refused (with why), or failed to reload (the old version stays).
    pub failed: Vec<LoadError>,
}

/// A call's answer and the live messages it sent, for the kernel to deliver
/// over the visit's room connection. A call that fails sends nothing.
#[derive(Debug)]
pub struct Called<T> {
    pub value: T,
    pub live: Vec<LiveMessage>,
}

/// Why a call did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("plugin {plugin} is not enabled for tenant {tenant}")]
    NotEnabled { tenant: TenantId, plugin: String },
    #[error("plugin {plugin} has no route {path}")]
    NoRoute { plugin: String, path: String },
    #[error("plugin {plugin} does not allow this method on {path}")]
    MethodNotAllowed {
        plugin: String,
        path: String,
        allow: Vec<crate::context::Method>,
    },
    #[error("the request body is over {limit} bytes")]
    BodyTooLarge { plugin: String, limit: usize },
    /// The plugin answered with an error (`types.error`) other than
    /// `internal`; an `invalid` one's reason is for the person.
    #[error("plugin {plugin} answered: {error}")]
    Returned { plugin: String, error: PluginError },
    /// The plugin answered `internal`: its reason is for the log, never
    /// for the person.
    #[error("plugin {plugin} reported an internal error: {reason}")]
    Internal { plugin: String, reason: String },
    /// Its own running time ([`Limits::call_time`]).
    #[error("plugin {plugin} ran longer than {limit:?} and was stopped")]
    TimedOut { plugin: String, limit: Duration },
    /// Its time with its storage and blob operations
    /// ([`Limits::call_wall_time`]).
    #[error("plugin {plugin} took longer than {limit:?} with its host calls and was stopped")]
    DeadlineExceeded { plugin: String, limit: Duration },
    #[error(
        "plugin {plugin} made more than {limit} storage and blob operations in one call and was stopped"
    )]
    TooManyHostCalls { plugin: String, limit: u32 },
    #[error(
        "plugin {plugin} moved more than {limit} bytes through storage and blobs in one call and was stopped"
    )]
    TooManyHostBytes { plugin: String, limit: u64 },
    /// It passed the host more than [`Limits::hostcall_fuel`] bytes at once
    /// (in one capability call, or one answer), which were not copied.
    #[error("plugin {plugin} passed the host more than {limit} bytes at once and was stopped")]
    TooMuchData { plugin: String, limit: usize },
    #[error("plugin {plugin} reached its memory limit of {limit} bytes and was stopped")]
    OutOfMemory { plugin: String, limit: usize },
    #[error("plugin {plugin} panicked: {message}")]
    Panicked { plugin: String, message: String },
    #[error("plugin {plugin} trapped: {message}")]
    Trapped { plugin: String, message: String },
    #[error("plugin {plugin} answered something the host cannot use: {reason}")]
    BadAnswer { plugin: String, reason: String },
    /// Its tenant's share of the instances, or the plugin's, stayed taken
    /// for [`Limits::queue_time`].
    #[error("plugin {plugin} is busy: no instance came free in {waited:?}")]
    Busy { plugin: String, waited: Duration },
    /// No instance could be made.
    #[error("plugin {plugin} could not be started: {message}")]
    Unavailable { plugin: String, message: String },
}

impl CallError {
    /// The HTTP status for the kernel to answer with.
    pub fn status(&self) -> u16 {
        match self {
            CallError::NotEnabled { .. } | CallError::NoRoute { .. } => 404,
            CallError::MethodNotAllowed { .. } => 405,
            CallError::BodyTooLarge { .. } => 413,
            CallError::Returned { error, .. } => error.status(),
            CallError::Busy { .. } | CallError::Unavailable { .. } => 503,
            CallError::Internal { .. }
            | CallError::TimedOut { .. }
            | CallError::DeadlineExceeded { .. }
            | CallError::TooManyHostCalls { .. }
            | CallError::TooManyHostBytes { .. }
            | CallError::TooMuchData { .. }
            | CallError::OutOfMemory { .. }
            | CallError::Panicked { .. }
            | CallError::Trapped { .. }
            | CallError::BadAnswer { .. } => 500,
        }
    }

    /// The plugin failed (trap, time or memory limit, bad answer, its own
    /// internal error), as opposed to answering with an error or being
    /// asked for something it does not have.
    pub fn is_failure(&self) -> bool {
        self.status() == 500 && !matches!(self, CallError::Returned { .. })
    }
}

/// Hosts the plugins of every tenant. Cheap to share (`Arc<PluginHost>`);
/// every method takes `&self`.
pub struct PluginHost {
    engine: Engine,
    linkers: Linkers,
    cache: Option<Cache>,
    services: Arc<Services>,
    admission: Admission,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Directories given to [`Self::load_dir`] and [`Self::load`], for
    /// [`Self::reload`]; the flag says whether it is a directory of plugins.
    sources: Mutex<Vec<(PathBuf, bool)>>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("plugins", &self.snapshot().plugins.len())
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// Sets up the engine (pooling allocator sized for
    /// [`Limits::concurrent_calls`], epoch interruption with a ticker
    /// thread, the compilation cache if configured). No plugins yet.
    pub fn new(
        config: HostConfig,
        storage: Arc<dyn PluginStorage>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, HostError> {
        let limits = config.limits;
        let mut wasm = wasmtime::Config::new();
        wasm.epoch_interruption(true);
        // Bounds checks in the compiled code instead of guard pages and
        // signals: a plugin's memory is then a plain 32 MiB slot, and a new
        // instance needs no `mprotect` (whose TLB shootdowns made up half
        // of a call: 12.5 µs -> 6.8 µs per hook here). Plugins run briefly,
        // so the cost of explicit checks in their own code does not matter.
        wasm.signals_based_traps(false)
            .memory_guard_size(0)
            .memory_reservation(limits.memory as u64)
            .memory_reservation_for_growth(0);
        let slots = limits.concurrent_calls.max(1);
        let mut pool = PoolingAllocationConfig::default();
        // A component made from one Rust module has one memory and a few
        // core instances and tables (the module and its adapter shims).
        pool.total_component_instances(slots)
            .total_core_instances(slots * 4)
            .total_memories(slots)
            .total_tables(slots * 4)
            .total_stacks(slots)
            .max_memory_size(limits.memory)
            // A fresh instance per call must not cost page faults and TLB
            // shootdowns: instead of returning a slot's memory to the
            // kernel, reset the pages the last call touched (found with
            // PAGEMAP_SCAN where the kernel has it, Linux 6.7+) and keep
            // them. A Rust guest touches the top of its 1 MiB stack and
            // its data and heap just above.
            .pagemap_scan(wasmtime::Enabled::Auto)
            .linear_memory_keep_resident(KEEP_RESIDENT.min(limits.memory))
            .table_keep_resident(64 << 10)
            // The native stacks calls run on are zeroed between calls, so
            // nothing of one tenant's call is left for the next even in case
            // of a compiler bug: the most recently used 8 KiB with memset
            // (no measurable cost), the rest by the kernel.
            .async_stack_keep_resident(8 << 10)
            .decommit_batch_size(16);
        wasm.async_stack_zeroing(true);
        wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let cache = match &config.cache_dir {
            Some(dir) => {
                // wasmtime wants an absolute directory; the configuration
                // (`data/plugin-cache` by default) is relative to where
                // `tillit` was started, as every other path in it is.
                let dir = std::path::absolute(dir)
                    .map_err(|e| HostError(format!("cache in {}: {e}", dir.display())))?;
                let mut cache_config = CacheConfig::new();
                cache_config.with_directory(&dir);
                let cache = Cache::new(cache_config)
                    .map_err(|e| HostError(format!("cache in {}: {e:#}", dir.display())))?;
                wasm.cache(Some(cache.clone()));
                Some(cache)
            }
            None => None,
        };
        let engine = Engine::new(&wasm).map_err(|e| HostError(format!("{e:#}")))?;
        let linkers = Linkers::new(&engine).map_err(|e| HostError(format!("{e:#}")))?;
        start_ticker(&engine, limits.epoch_tick)?;
        Ok(Self {
            engine,
            linkers,
            cache,
            services: Arc::new(Services {
                pseudonyms: Pseudonyms::new(&config.ref_key),
                limits: limits.clone(),
                storage,
                clock,
            }),
            admission: Admission::new(&limits),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            sources: Mutex::new(Vec::new()),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.services.limits
    }

    /// Compiled components found in the cache and compiled anew since
    /// start, if there is a cache.
    pub fn cache_stats(&self) -> Option<(usize, usize)> {
        self.cache
            .as_ref()
            .map(|c| (c.cache_hits(), c.cache_misses()))
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn update<R>(&self, f: impl FnOnce(&mut Snapshot) -> R) -> R {
        let mut guard = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
        // Copies the snapshot only if a call still holds it.
        f(Arc::make_mut(&mut guard))
    }

    // --- loading ------------------------------------------------------------

    /// Loads the plugin packaged in `dir` (`<dist>/<id>-<version>/`),
    /// replacing a loaded version of it.
    pub fn load(&self, dir: &Path) -> Result<Arc<PluginInfo>, LoadError> {
        self.remember(dir, false);
        self.install(load::load(dir, &self.engine, &self.linkers)?)
    }

    /// Loads every plugin in `root` (each `<id>-<version>/` directory),
    /// reporting the ones refused; a refused plugin does not stop the
    /// others. If a directory holds two versions of a plugin, the last in
    /// name order wins.
    pub fn load_dir(&self, root: &Path) -> LoadReport {
        self.remember(root, true);
        let mut report = LoadReport::default();
        let mut dirs = match std::fs::read_dir(root) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join(load::MANIFEST).is_file())
                .collect::<Vec<_>>(),
            Err(error) => {
                report.failed.push(LoadError::Io {
                    path: root.to_owned(),
                    error,
                });
                return report;
            }
        };
        dirs.sort();
        for dir in dirs {
            match load::load(&dir, &self.engine, &self.linkers).and_then(|l| self.install(l)) {
                Ok(info) => report.loaded.push(info),
                Err(e) => report.failed.push(e),
            }
        }
        report
    }

    /// Development: reads every loaded directory again and swaps in the
    /// plugins whose files changed. Calls in flight finish on the version
    /// they started with; a plugin that fails to load keeps its old version.
    pub fn reload(&self) -> LoadReport {
        let sources = self
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut report = LoadReport::default();
        let current = self.snapshot();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (path, is_root) in sources {
            if is_root {
                if let Ok(entries) = std::fs::read_dir(&path) {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.join(load::MANIFEST).is_file())
                        .collect();
                    found.sort();
                    dirs.extend(found);
                }
            } else {
                dirs.push(path);
            }
        }
        for dir in dirs {
            let loaded = match load::load(&dir, &self.engine, &self.linkers) {
                Ok(loaded) => loaded,
                Err(e) => {
                    report.failed.push(e);
                    continue;
                }
            };
            let unchanged = current.plugins.get(loaded.info.id()).is_some_and(|old| {
                old.info.sha256 == loaded.info.sha256
                    && old.info.manifest == loaded.info.manifest
                    && old.info.templates == loaded.info.templates
            });
            if unchanged {
                continue;
            }
            match self.install(loaded) {
                Ok(info) => {
                    tracing::info!(plugin = %info.id(), version = %info.version(), "plugin reloaded");
                    report.loaded.push(info);
                }
                Err(e) => report.failed.push(e),
            }
        }
        report
    }

    fn remember(&self, path: &Path, is_root: bool) {
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if !sources.iter().any(|(p, _)| p == path) {
            sources.push((path.to_owned(), is_root));
        }
    }

    /// Puts a loaded plugin into the snapshot, re-checking the grants of the
    /// tenants that enabled an earlier version.
    fn install(&self, loaded: Loaded) -> Result<Arc<PluginInfo>, LoadError> {
        let info = loaded.info.clone();
        let loaded = Arc::new(loaded);
        self.update(|snapshot| {
            let mut regranted = Vec::new();
            for (tenant, plugins) in &snapshot.tenants {
                if let Some(enabled) = plugins.get(info.id()) {
                    let checked = check_grant(
                        tenant,
                        &info.manifest,
                        &enabled.grant,
                        &self.services.limits,
                    )
                    .map_err(|e| LoadError::Regrant {
                        path: info.dir.join(load::MANIFEST),
                        error: e,
                    })?;
                    regranted.push((tenant.clone(), checked));
                }
            }
            for (tenant, enabled) in regranted {
                if let Some(plugins) = snapshot.tenants.get_mut(&tenant) {
                    plugins.insert(info.id().to_owned(), Arc::new(enabled));
                }
            }
            snapshot
                .plugins
                .insert(info.id().to_owned(), loaded.clone());
            Ok(info.clone())
        })
    }

    /// The loaded plugin with this id.
    pub fn plugin(&self, id: &str) -> Option<Arc<PluginInfo>> {
        self.snapshot().plugins.get(id).map(|l| l.info.clone())
    }

    /// Every loaded plugin, by id.
    pub fn plugins(&self) -> Vec<Arc<PluginInfo>> {
        let mut all: Vec<_> = self
            .snapshot()
            .plugins
            .values()
            .map(|l| l.info.clone())
            .collect();
        all.sort_by(|a, b| a.id().cmp(b.id()));
        all
    }

    // --- tenants ------------------------------------------------------------

    /// Enables a loaded plugin for a tenant, if the grant covers every
    /// capability the manifest lists and the settings fit its `[config]`.
    pub fn enable(&self, tenant: &TenantId, plugin: &str, grant: Grant) -> Result<(), EnableError> {
        self.enable_all([(tenant.clone(), plugin.to_owned(), grant)])
            .into_iter()
            .next()
            .map_or(Ok(()), Err)
    }

    /// Enables many at once (start-up: one snapshot change); returns the
    /// refusals, the others are enabled.
    pub fn enable_all(
        &self,
        grants: impl IntoIterator<Item = (TenantId, String, Grant)>,
    ) -> Vec<EnableError> {
        self.update(|snapshot| {
            let mut refused = Vec::new();
            for (tenant, plugin, grant) in grants {
                let Some(loaded) = snapshot.plugins.get(&plugin) else {
                    refused.push(EnableError::UnknownPlugin { tenant, plugin });
                    continue;
                };
                match check_grant(
                    &tenant,
                    &loaded.info.manifest,
                    &grant,
                    &self.services.limits,
                ) {
                    Ok(enabled) => {
                        snapshot
                            .tenants
                            .entry(tenant)
                            .or_default()
                            .insert(plugin, Arc::new(enabled));
                    }
                    Err(e) => refused.push(e),
                }
            }
            refused
        })
    }

    pub fn disable(&self, tenant: &TenantId, plugin: &str) {
        self.update(|snapshot| {
            if let Some(plugins) = snapshot.tenants.get_mut(tenant) {
                plugins.remove(plugin);
            }
        });
    }

    /// The plugins a tenant has enabled, by id.
    pub fn enabled(&self, tenant: &TenantId) -> Vec<Arc<PluginInfo>> {
        let snapshot = self.snapshot();
        let mut enabled: Vec<_> = snapshot
            .tenants
            .get(tenant)
            .into_iter()
            .flat_map(|plugins| plugins.keys())
            .filter_map(|id| snapshot.plugins.get(id).map(|l| l.info.clone()))
            .collect();
        enabled.sort_by(|a, b| a.id().cmp(b.id()));
        enabled
    }

    /// The tenant's plugins that fill a kind of slot, by id: the tabs of a
    /// visit's side panel, say.
    pub fn plugins_for_slot(
        &self,
        tenant: &TenantId,
        slot: tillit_plugin_manifest::Slot,
    ) -> Vec<Arc<PluginInfo>> {
        self.enabled(tenant)
            .into_iter()
            .filter(|p| p.manifest.slots.contains(&slot))
            .collect()
    }

    /// The person behind a reference a plugin used, if they take part in
    /// `visit`. The only way back from a reference: the kernel never needs
    /// more than the current visit's people.
    pub fn participant(
        &self,
        tenant: &TenantId,
        plugin: &str,
        visit: &Visit,
        reference: &str,
    ) -> Option<PersonId> {
        self.services
            .pseudonyms
            .participant(tenant, plugin, visit, reference)
            .cloned()
    }

    /// Which of `candidates` are named, by `plugin`'s reference for them,
    /// in any of `texts` (a request's path, query and body, a response): how
    /// the kernel learns whom a call outside a visit was about, to log it.
    /// No MAC is computed unless some text holds a reference at all.
    pub fn named_in<'c>(
        &self,
        tenant: &TenantId,
        plugin: &str,
        candidates: impl IntoIterator<Item = &'c PersonId>,
        texts: &[&[u8]],
    ) -> Vec<&'c PersonId> {
        let found: std::collections::HashSet<&str> = texts
            .iter()
            .flat_map(|t| crate::refs::person_refs_in(t))
            .collect();
        if found.is_empty() {
            return Vec::new();
        }
        candidates
            .into_iter()
            .filter(|p| found.contains(self.person_ref(tenant, plugin, p).as_str()))
            .collect()
    }

    /// How `plugin` sees `person` in `tenant`.
    pub fn person_ref(&self, tenant: &TenantId, plugin: &str, person: &PersonId) -> String {
        self.services.pseudonyms.person(tenant, plugin, person)
    }

    // --- calls --------------------------------------------------------------

    /// Runs a request to one of the plugin's declared routes.
    pub async fn handle_http(
        &self,
        ctx: &CallContext,
        plugin: &str,
        mut request: HttpRequest,
    ) -> Result<Called<HttpResponse>, CallError> {
        let (loaded, enabled) = self.find(ctx, plugin)?;
        let manifest = &loaded.info.manifest;
        match http::match_route(manifest, request.method, &request.path) {
            RouteMatch::Found => {}
            RouteMatch::NotFound => {
                return Err(CallError::NoRoute {
                    plugin: plugin.to_owned(),
                    path: request.path,
                });
            }
            RouteMatch::MethodNotAllowed(allow) => {
                return Err(CallError::MethodNotAllowed {
                    plugin: plugin.to_owned(),
                    path: request.path,
                    allow,
                });
            }
        }
        let limits = &self.services.limits;
        if request.body.len() > limits.request_body {
            return Err(CallError::BodyTooLarge {
                plugin: plugin.to_owned(),
                limit: limits.request_body,
            });
        }
        request.headers = http::forwarded_headers(&request.headers);
        let mut call = self.start(ctx, plugin, &enabled).await?;
        let instance = self.instantiate(&loaded.pre, &mut call, plugin).await?;
        let outcome = instance.handle_http(&mut call.store, request).await;
        let Called { value, live } = self.finish(call, plugin, outcome)?;
        if !(100..=599).contains(&value.status) {
            return Err(bad_answer(plugin, format!("status {}", value.status)));
        }
        if value.body.len() > limits.response_body {
            return Err(bad_answer(
                plugin,
                format!("a body of {} bytes", value.body.len()),
            ));
        }
        if value.headers.len() > limits.response_headers {
            return Err(bad_answer(
                plugin,
                format!("{} headers", value.headers.len()),
            ));
        }
        if let Some((name, value)) = value
            .headers
            .iter()
            .find(|(n, v)| n.len() + v.len() > limits.response_header_len)
        {
            return Err(bad_answer(
                plugin,
                format!(
                    "a header {:?} of {} bytes",
                    said(name, 64),
                    name.len() + value.len()
                ),
            ));
        }
        Ok(Called {
            value: HttpResponse {
                status: value.status,
                headers: http::kept_headers(value.headers),
                body: value.body,
            },
            live,
        })
    }

    /// Asks the plugin what to show in a slot. A plugin that does not list
    /// the slot in its manifest is not called and shows nothing. The view's
    /// data is checked for size and depth before it is parsed, and the view
    /// renders within [`Limits::view_html`] and [`Limits::view_time`].
    pub async fn render_slot(
        &self,
        ctx: &CallContext,
        plugin: &str,
        slot: &Slot,
    ) -> Result<Called<Option<View>>, CallError> {
        let (loaded, enabled) = self.find(ctx, plugin)?;
        if !loaded.info.manifest.slots.contains(&slot.kind()) {
            return Ok(Called {
                value: None,
                live: Vec::new(),
            });
        }
        let guest_slot = match slot {
            Slot::VisitPanel => GuestSlot::VisitPanel,
            Slot::ProfileSection(person) => {
                GuestSlot::ProfileSection(self.person_ref(&ctx.tenant, plugin, person))
            }
            Slot::BetweenVisitsPage => GuestSlot::BetweenVisitsPage,
        };
        let mut call = self.start(ctx, plugin, &enabled).await?;
        let instance = self.instantiate(&loaded.pre, &mut call, plugin).await?;
        let outcome = instance.render(&mut call.store, guest_slot).await;
        let Called { value, live } = self.finish(call, plugin, outcome)?;
        let Some((template, data)) = value else {
            return Ok(Called { value: None, live });
        };
        if !loaded.templates.has(plugin, &template) {
            return Err(bad_answer(
                plugin,
                format!("a view of template {template:?}, which it does not have"),
            ));
        }
        let limits = &self.services.limits;
        // Parsed JSON takes many times the room of its text (twenty times
        // for a long list of small numbers): refuse what is too big or too
        // deep before building it.
        if data.len() > limits.view_data {
            return Err(bad_answer(
                plugin,
                format!(
                    "view data of {} bytes, over the limit of {}",
                    data.len(),
                    limits.view_data
                ),
            ));
        }
        if !view::nests_within(&data, limits.view_depth) {
            return Err(bad_answer(
                plugin,
                format!(
                    "view data nested deeper than {} arrays and objects",
                    limits.view_depth
                ),
            ));
        }
        let data: serde_json::Value = match serde_json::from_str(&data) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => {
                return Err(bad_answer(
                    plugin,
                    "view data that is not a JSON object".to_owned(),
                ));
            }
        };
        let render_limits = RenderLimits {
            html: limits.view_html,
            time: limits.view_time,
        };
        Ok(Called {
            value: Some(View::new(
                plugin,
                template,
                data,
                loaded.templates.clone(),
                render_limits,
            )),
            live,
        })
    }

    /// Every plugin of the tenant that fills the slot, concurrently, in
    /// the order of [`Self::plugins_for_slot`]. One failing does not stop
    /// the others.
    pub async fn render_all(
        &self,
        ctx: &CallContext,
        slot: &Slot,
    ) -> Vec<(Arc<PluginInfo>, Result<Called<Option<View>>, CallError>)> {
        let plugins = self.plugins_for_slot(&ctx.tenant, slot.kind());
        let calls = plugins.iter().map(|p| self.render_slot(ctx, p.id(), slot));
        let results = futures::future::join_all(calls).await;
        plugins.into_iter().zip(results).collect()
    }

    /// Tells the plugin about an event, if its manifest subscribes to the
    /// kind; it runs without a caller.
    pub async fn handle_event(
        &self,
        ctx: &CallContext,
        plugin: &str,
        event: &Event,
    ) -> Result<Called<()>, CallError> {
        let ctx = CallContext {
            caller: None,
            ..ctx.clone()
        };
        let (loaded, enabled) = self.find(&ctx, plugin)?;
        if !loaded.info.manifest.events.contains(&event.kind()) {
            return Ok(Called {
                value: (),
                live: Vec::new(),
            });
        }
        let reference = |p: &PersonId| self.person_ref(&ctx.tenant, plugin, p);
        let guest_event = match event {
            Event::BookingCreated => GuestEvent::BookingCreated,
            Event::BookingCancelled => GuestEvent::BookingCancelled,
            Event::VisitStarted => GuestEvent::VisitStarted,
            Event::VisitEnded => GuestEvent::VisitEnded,
            Event::ParticipantJoined(p) => GuestEvent::ParticipantJoined(reference(p)),
            Event::ParticipantLeft(p) => GuestEvent::ParticipantLeft(reference(p)),
        };
        let mut call = self.start(&ctx, plugin, &enabled).await?;
        let instance = self.instantiate(&loaded.pre, &mut call, plugin).await?;
        let outcome = instance.handle_event(&mut call.store, guest_event).await;
        self.finish(call, plugin, outcome)
    }

    /// Delivers an event to every plugin of the tenant that subscribes to
    /// it; failures are returned, never retried.
    pub async fn dispatch_event(
        &self,
        ctx: &CallContext,
        event: &Event,
    ) -> Vec<(String, Result<Called<()>, CallError>)> {
        let plugins: Vec<String> = self
            .enabled(&ctx.tenant)
            .into_iter()
            .filter(|p| p.manifest.events.contains(&event.kind()))
            .map(|p| p.id().to_owned())
            .collect();
        let calls = plugins.iter().map(|p| self.handle_event(ctx, p, event));
        let results = futures::future::join_all(calls).await;
        plugins.into_iter().zip(results).collect()
    }

    /// The plugin, and the tenant's enablement of it.
    fn find(
        &self,
        ctx: &CallContext,
        plugin: &str,
    ) -> Result<(Arc<Loaded>, Arc<Enabled>), CallError> {
        let snapshot = self.snapshot();
        let not_enabled = || CallError::NotEnabled {
            tenant: ctx.tenant.clone(),
            plugin: plugin.to_owned(),
        };
        let enabled = snapshot
            .tenants
            .get(&ctx.tenant)
            .and_then(|t| t.get(plugin))
            .ok_or_else(not_enabled)?;
        let loaded = snapshot.plugins.get(plugin).ok_or_else(not_enabled)?;
        Ok((loaded.clone(), enabled.clone()))
    }

    /// A place in the instance pool within the tenant's and the plugin's
    /// shares, and a fresh store for one call with its limits: the memory
    /// cap, the bytes the plugin may pass at once (hostcall fuel), and at
    /// every epoch tick a check of the plugin's own running time and of the
    /// call's wall-clock time (yielding to the executor in between, so a
    /// busy plugin does not hold a runtime thread).
    async fn start(
        &self,
        ctx: &CallContext,
        plugin: &str,
        enabled: &Enabled,
    ) -> Result<Call, CallError> {
        let limits = &self.services.limits;
        let admitted = self
            .admission
            .admit(&ctx.tenant, plugin)
            .await
            .ok_or_else(|| CallError::Busy {
                plugin: plugin.to_owned(),
                waited: limits.queue_time,
            })?;
        let state = CallState::new(
            Arc::new(ctx.clone()),
            Arc::from(plugin),
            enabled.granted,
            enabled.config.clone(),
            enabled.quotas,
            self.services.clone(),
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(limits.hostcall_fuel());
        let (own_time, wall_time) = (limits.call_time, limits.call_wall_time);
        store.epoch_deadline_callback(move |mut cx| {
            let state = cx.data_mut();
            let over = if state.guest_time() >= own_time {
                Some(Stop::GuestTime)
            } else if state.started.elapsed() >= wall_time {
                Some(Stop::WallTime)
            } else {
                None
            };
            match over {
                Some(why) => {
                    state.stop(why);
                    Ok(UpdateDeadline::Interrupt)
                }
                None => Ok(UpdateDeadline::Yield(1)),
            }
        });
        store.set_epoch_deadline(1);
        Ok(Call {
            store,
            _admitted: admitted,
        })
    }

    async fn instantiate(
        &self,
        pre: &Pre,
        call: &mut Call,
        plugin: &str,
    ) -> Result<Instance, CallError> {
        match pre.instantiate(&mut call.store).await {
            Ok(instance) => Ok(instance),
            Err(e) => {
                // A start function can trap like any call.
                if e.downcast_ref::<Trap>().is_some() {
                    return Err(self.failed(&call.store, plugin, e));
                }
                Err(CallError::Unavailable {
                    plugin: plugin.to_owned(),
                    message: format!("{e:#}"),
                })
            }
        }
    }

    /// The call's answer, or why there is none. The store is dropped here
    /// whatever happened: a trapped instance never runs again.
    fn finish<T>(
        &self,
        mut call: Call,
        plugin: &str,
        outcome: wasmtime::Result<Result<T, PluginError>>,
    ) -> Result<Called<T>, CallError> {
        match outcome {
            Ok(Ok(value)) => Ok(Called {
                value,
                live: std::mem::take(&mut call.store.data_mut().live),
            }),
            // `internal` is for the log, never for the person.
            Ok(Err(PluginError::Internal(reason))) => Err(CallError::Internal {
                plugin: plugin.to_owned(),
                reason,
            }),
            Ok(Err(error)) => Err(CallError::Returned {
                plugin: plugin.to_owned(),
                error,
            }),
            Err(e) => Err(self.failed(&call.store, plugin, e)),
        }
    }

    /// Why a call trapped, from what its state recorded. Nothing is logged
    /// here: whoever made the call logs its failure, once.
    fn failed(&self, store: &Store<CallState>, plugin: &str, e: wasmtime::Error) -> CallError {
        let state = store.data();
        let limits = &self.services.limits;
        let plugin = plugin.to_owned();
        let message = format!("{e:#}");
        match state.stopped {
            Some(Stop::GuestTime) => CallError::TimedOut {
                plugin,
                limit: limits.call_time,
            },
            Some(Stop::WallTime) => CallError::DeadlineExceeded {
                plugin,
                limit: limits.call_wall_time,
            },
            Some(Stop::HostCalls) => CallError::TooManyHostCalls {
                plugin,
                limit: limits.host_calls,
            },
            Some(Stop::HostBytes) => CallError::TooManyHostBytes {
                plugin,
                limit: limits.host_bytes,
            },
            None if state.limiter.hit => CallError::OutOfMemory {
                plugin,
                limit: limits.memory,
            },
            // wasmtime's error for it is private: its message is all there
            // is to go by (a test pins it).
            None if message.contains(HOSTCALL_FUEL_EXHAUSTED) => CallError::TooMuchData {
                plugin,
                limit: limits.hostcall_fuel(),
            },
            None => match state
                .last_error_log
                .as_ref()
                .filter(|l| l.contains("panicked"))
            {
                Some(line) if e.downcast_ref::<Trap>() == Some(&Trap::UnreachableCodeReached) => {
                    CallError::Panicked {
                        plugin,
                        message: line.clone(),
                    }
                }
                // The message has the guest's backtrace, with names of
                // the plugin's choosing.
                _ => CallError::Trapped {
                    plugin,
                    message: said(&message, limits.text_len),
                },
            },
        }
    }
}

/// What wasmtime says when a plugin passes more than the hostcall fuel.
const HOSTCALL_FUEL_EXHAUSTED: &str = "fuel allocated for hostcalls has been exhausted";

/// One call: its store, and its place in the pool. The fields drop in this
/// order: the store gives its instance back to the pool before the place is
/// free for the next call.
struct Call {
    store: Store<CallState>,
    _admitted: Admitted,
}

/// An answer the host cannot use; `what` holds nothing of the plugin's
/// longer than [`Limits::text_len`].
fn bad_answer(plugin: &str, what: String) -> CallError {
    CallError::BadAnswer {
        plugin: plugin.to_owned(),
        reason: what,
    }
}

/// Advances the engine's epoch every `tick` until the engine is dropped.
fn start_ticker(engine: &Engine, tick: Duration) -> Result<(), HostError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("plugin-epoch".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|e| HostError(format!("starting the epoch ticker: {e}")))
}

/// Checks a tenant's grant against a plugin's manifest and builds the
/// settings object `context.config` returns: every declared key, with the
/// tenant's value or the default.
fn check_grant(
    tenant: &TenantId,
    manifest: &Manifest,
    grant: &Grant,
    limits: &Limits,
) -> Result<Enabled, EnableError> {
    let missing: Vec<Capability> = manifest
        .capabilities
        .iter()
        .copied()
        .filter(|c| !grant.capabilities.contains(c) && !Capability::ALWAYS_GRANTED.contains(c))
        .collect();
    if !missing.is_empty() {
        return Err(EnableError::NotGranted {
            tenant: tenant.clone(),
            plugin: manifest.id.clone(),
            missing,
        });
    }
    let config_error = |key: &str, reason: String| EnableError::Config {
        tenant: tenant.clone(),
        plugin: manifest.id.clone(),
        key: key.to_owned(),
        reason,
    };
    if let Some(key) = grant
        .config
        .keys()
        .find(|k| !manifest.config.contains_key(*k))
    {
        return Err(config_error(
            key,
            format!("{} has no such setting", manifest.id),
        ));
    }
    let mut config = serde_json::Map::new();
    for (key, spec) in &manifest.config {
        let value = match grant.config.get(key) {
            Some(value) => {
                let fits = match spec.kind {
                    ConfigType::String => value.is_string(),
                    ConfigType::Integer => value.is_i64(),
                    ConfigType::Boolean => value.is_boolean(),
                };
                if !fits {
                    return Err(config_error(
                        key,
                        format!("expected {:?}, found {value}", spec.kind),
                    ));
                }
                value.clone()
            }
            None => toml_to_json(&spec.default),
        };
        config.insert(key.clone(), value);
    }
    // What the component may actually use: the grant, within what the
    // manifest asks for (the load checked the imports against that).
    let granted = Grants::of(
        manifest
            .capabilities
            .iter()
            .copied()
            .filter(|c| grant.capabilities.contains(c))
            .chain(Capability::ALWAYS_GRANTED),
    );
    Ok(Enabled {
        grant: grant.clone(),
        granted,
        config: Arc::from(serde_json::Value::Object(config).to_string()),
        quotas: grant.quotas.unwrap_or(limits.quotas),
    })
}

fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::from(s.as_str()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Boolean(b) => serde_json::Value::from(*b),
        toml::Value::Float(f) => serde_json::Value::from(*f),
        other => serde_json::Value::from(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel shares one host between its request handlers, and axum
    /// needs their futures to be `Send`.
    #[allow(dead_code)]
    fn the_host_can_be_shared_across_tasks(host: &PluginHost, ctx: &CallContext) {
        fn shared<T: Send + Sync>(_: &T) {}
        fn sendable<T: Send>(_: T) {}
        shared(host);
        let get = HttpRequest::new(crate::context::Method::Get, "/");
        sendable(host.handle_http(ctx, "p", get));
        sendable(host.render_all(ctx, &Slot::VisitPanel));
        sendable(host.dispatch_event(ctx, &Event::VisitStarted));
    }

    fn manifest() -> Manifest {
        let text = r#"
            id = "notes"
            version = "0.1.0"
            api = "{api}"
            capabilities = ["context", "storage"]
            [name]
            sv = "Anteckningar"
            [config.max_note_chars]
            type = "integer"
            default = 20000
            description = "Longest note"
            "#;
        Manifest::parse(&text.replace("{api}", crate::api::newest()))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn tenant() -> TenantId {
        TenantId::parse("demo").unwrap_or_else(|e| panic!("{e}"))
    }

    fn grant(toml_text: &str) -> Grant {
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_grant_must_cover_the_manifest() {
        let e = check_grant(
            &tenant(),
            &manifest(),
            &grant(r#"grant = ["context"]"#),
            &Limits::default(),
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "tenant demo: plugins.notes.grant: notes needs storage, which the tenant does not grant"
            )
        );
    }

    #[test]
    fn settings_are_checked_and_defaulted() {
        let ok = check_grant(
            &tenant(),
            &manifest(),
            &grant(r#"grant = ["context", "storage"]"#),
            &Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&*ok.config, r#"{"max_note_chars":20000}"#);
        assert!(ok.granted.has(Capability::Log));
        assert!(!ok.granted.has(Capability::Blobs));

        let set = check_grant(
            &tenant(),
            &manifest(),
            &grant(
                "grant = [\"context\", \"storage\", \"blobs\"]\nconfig = { max_note_chars = 500 }",
            ),
            &Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&*set.config, r#"{"max_note_chars":500}"#);
        // Granting more than the manifest asks gives nothing more.
        assert!(!set.granted.has(Capability::Blobs));

        for (config, expected) in [
            (
                "config = { max_note_chars = \"many\" }",
                "plugins.notes.config.max_note_chars: expected Integer",
            ),
            (
                "config = { colour = \"red\" }",
                "plugins.notes.config.colour: notes has no such setting",
            ),
        ] {
            let e = check_grant(
                &tenant(),
                &manifest(),
                &grant(&format!("grant = [\"context\", \"storage\"]\n{config}")),
                &Limits::default(),
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(e.contains(expected), "{e}");
        }
    }
}
