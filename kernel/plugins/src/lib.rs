//! The plugin host: runs tenants' WebAssembly plugins (components of the
//! WIT package `tillit:plugin`, `plugin-api/wit/`) inside the kernel.
//!
//! A plugin is loaded once per version (checked, compiled or fetched from
//! the on-disk cache, pre-linked); a tenant enables it with a [`Grant`];
//! every call (an HTTP request to one of its routes, a slot to render, an
//! event) runs in a fresh, limited instance that is thrown away afterwards.
//!
//! ```no_run
//! # async fn example(storage: std::sync::Arc<dyn tillit_plugins::PluginStorage>,
//! #                  clock: std::sync::Arc<dyn tillit_domain::Clock>,
//! #                  key: Vec<u8>, ctx: tillit_plugins::CallContext) -> Result<(), Box<dyn std::error::Error>> {
//! use tillit_plugins::*;
//! let mut config = HostConfig::new(RefKey::new(key)?);
//! config.cache_dir = Some("data/plugin-cache".into());
//! let host = PluginHost::new(config, storage, clock)?;
//! let report = host.load_dir("plugins/target/dist".as_ref());
//! for refused in &report.failed {
//!     eprintln!("{refused}");
//! }
//! let notes = host.plugin("notes").ok_or("no notes plugin")?;
//! host.enable(&ctx.tenant, "notes", Grant::requested(&notes))?;
//! let request = HttpRequest::new(Method::Get, "/note").with_query("patient", "p0");
//! match host.handle_http(&ctx, "notes", request).await {
//!     Ok(called) => println!("{} and {} live messages", called.value.status, called.live.len()),
//!     Err(e) => println!("{}: {e}", e.status()),
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`host`]: [`PluginHost`]: the engine, loading and reloading,
//!   tenants' grants, and the calls ([`PluginHost::handle_http`],
//!   [`PluginHost::render_slot`], [`PluginHost::handle_event`]).
//! - [`load`]: reading and checking one packaged plugin ([`LoadError`]).
//! - [`call`]: one call's state and the capabilities, whatever the API
//!   version, with the call's budget of host calls; [`PluginError`], and
//!   [`call::said`], the one rule for a plugin's text that reaches a log
//!   or a response.
//! - `admission`: the instance pool shared out per tenant and per plugin,
//!   so one tenant's calls cannot take another's instances.
//! - `api`: the only place that names API versions: which ones the host
//!   runs, and one module per version (bindings, type conversions,
//!   exports) behind version-neutral types. A new version is a module
//!   there and one line.
//! - [`context`]: what the kernel says about a call (tenant, caller,
//!   visit, slot, event) and what comes back ([`LiveMessage`]).
//! - [`http`]: requests and responses, header filtering, route matching.
//! - [`view`]: rendering a plugin's [`View`] with Handlebars, within a
//!   size and a time ([`ViewError`]).
//! - [`refs`]: pseudonyms for people and visits.
//! - [`storage`]: the [`PluginStorage`] trait and an in-memory
//!   implementation; [`sql`]: the adapter to `tillit-store`. Both speak
//!   the domain's [`tillit_domain::plugin_data`] (spaces, key rules,
//!   conditions, what a write came to), as the store does.
//! - [`config`]: [`HostConfig`] and [`Limits`].
//!
//! # Architecture invariants
//!
//! - A plugin never runs unless its manifest, hash, API version, imports and
//!   templates passed the checks at load, and the tenant granted every
//!   capability its manifest lists.
//! - Every capability call checks its grant at call time, and derives whose
//!   data it touches from the call (tenant, plugin, authenticated caller),
//!   never from what the plugin passes.
//! - Plugins see pseudonyms, never the kernel's ids or personal numbers.
//! - Every call gets a fresh store under a memory cap, a limit on its own
//!   running time and one on its wall-clock time with its host calls, and a
//!   budget of storage operations; a trapped instance is never reused.
//! - No tenant can take another's instances: each has its share of the
//!   pool, and each plugin its share of the tenant's.
//! - Nothing a plugin passes is copied into the host beyond
//!   [`Limits::hostcall_fuel`] bytes at once, and none of its text reaches
//!   a log line or a response longer than [`Limits::text_len`].
//! - The host logs a plugin's own lines; a failed call is returned, for
//!   the caller to log once.
//!
//! Calls need a tokio runtime with timers (the deadlines of storage
//! operations, waiting for a share of the pool).

mod admission;
mod api;
pub mod call;
pub mod config;
pub mod context;
pub mod host;
pub mod http;
pub mod load;
pub mod refs;
pub mod sql;
pub mod storage;
pub mod view;

pub use call::PluginError;
pub use config::{HostConfig, Limits, Quotas};
pub use context::{
    CallContext, Caller, Capability, Event, LiveMessage, Method, Participant, Role, Slot, Visit,
    VisitStatus,
};
pub use host::{CallError, Called, EnableError, Grant, HostError, LoadReport, PluginHost};
pub use http::{HttpRequest, HttpResponse, RouteMatch, match_route};
pub use load::{LoadError, PluginInfo};
pub use refs::RefKey;
pub use sql::SqlStorage;
pub use storage::{MemoryStorage, PluginStorage};
pub use tillit_plugin_manifest as manifest;
pub use view::{Page, View, ViewError};
