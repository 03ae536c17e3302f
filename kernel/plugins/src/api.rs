//! The plugin API versions this host runs, and the only place that names
//! them.
//!
//! Each version is a module beside this one (`api/v0_1_0.rs` for
//! `tillit:plugin@0.1.0`): its WIT bindings, the conversions between its
//! types and the host's, its capability imports delegating to
//! [`crate::call`], and its exports. The rest of the host sees only what is
//! here, whatever the version: which versions there are ([`supported`],
//! the manifest crate's list, which [`VERSIONS`] must match),
//! linking a component for its version ([`Linkers::pre`]), instantiating it
//! ([`Pre::instantiate`]) and calling its exports ([`Instance`]).
//!
//! A new API version is a new module implementing [`Linked`],
//! [`Prepared`] and [`Exports`], and one line in [`VERSIONS`]; older
//! versions stay, so plugins built against them keep loading.

use std::fmt;

use tillit_plugin_manifest::SUPPORTED_APIS;
use wasmtime::component::Component;
use wasmtime::{Engine, Store};

use crate::call::{CallState, PluginError};
use crate::http::{HttpRequest, HttpResponse};
use crate::storage::BoxFuture;

mod v0_1_0;

/// A module for every API version, oldest first.
const VERSIONS: &[Version] = &[v0_1_0::VERSION];

// Which versions exist is the manifest crate's to say, for the build and
// the host alike: this host runs exactly those, or does not compile.
const _: () = assert!(
    runs_exactly(SUPPORTED_APIS),
    "api::VERSIONS must hold one module for each of tillit_plugin_manifest::SUPPORTED_APIS"
);

/// One API version: its WIT package version and how to link against it.
struct Version {
    /// `major.minor.patch`, as a manifest's `api` names it.
    api: &'static str,
    /// The linker every component of this version is instantiated with:
    /// every capability is defined, and each checks its grant when called.
    link: fn(&Engine) -> wasmtime::Result<Box<dyn Linked>>,
}

/// The API versions this host runs, as a manifest's `api` names them:
/// those of [`SUPPORTED_APIS`].
pub(crate) fn supported() -> impl Iterator<Item = &'static str> {
    SUPPORTED_APIS.iter().copied()
}

/// The newest API version, for tests' manifests.
#[cfg(test)]
pub(crate) fn newest() -> &'static str {
    SUPPORTED_APIS.last().copied().unwrap_or_default()
}

/// Whether `apis` and [`VERSIONS`] name the same versions.
const fn runs_exactly(apis: &[&str]) -> bool {
    if apis.len() != VERSIONS.len() {
        return false;
    }
    let mut i = 0;
    while i < apis.len() {
        let mut found = false;
        let mut j = 0;
        while j < VERSIONS.len() {
            found |= same(apis[i].as_bytes(), VERSIONS[j].api.as_bytes());
            j += 1;
        }
        if !found {
            return false;
        }
        i += 1;
    }
    true
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// What calling an export gives: a trap (outer), or the plugin's answer.
pub(crate) type Answer<'a, T> = BoxFuture<'a, wasmtime::Result<Result<T, PluginError>>>;

/// A version's linker, made once per engine.
trait Linked: Send + Sync {
    /// Pre-links a compiled component; fails if it does not fit the version.
    fn pre(&self, component: &Component) -> wasmtime::Result<Box<dyn Prepared>>;
}

/// A component pre-linked against its version, shared by every call.
trait Prepared: Send + Sync {
    fn instantiate<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
    ) -> BoxFuture<'a, wasmtime::Result<Box<dyn Exports>>>;
}

/// An instance's exports, called with the host's own types.
trait Exports: Send + Sync {
    fn handle_http<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
        request: HttpRequest,
    ) -> Answer<'a, HttpResponse>;

    /// `(template, data)`, or None to show nothing.
    fn render<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
        slot: GuestSlot,
    ) -> Answer<'a, Option<(String, String)>>;

    fn handle_event<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
        event: GuestEvent,
    ) -> Answer<'a, ()>;
}

/// What the host passes for a slot, with people as references already.
pub(crate) enum GuestSlot {
    VisitPanel,
    ProfileSection(String),
    BetweenVisitsPage,
}

/// What the host passes for an event, with people as references already.
pub(crate) enum GuestEvent {
    BookingCreated,
    BookingCancelled,
    VisitStarted,
    VisitEnded,
    ParticipantJoined(String),
    ParticipantLeft(String),
}

/// The linkers of every API version this host runs.
pub(crate) struct Linkers(Vec<(&'static str, Box<dyn Linked>)>);

impl Linkers {
    pub(crate) fn new(engine: &Engine) -> wasmtime::Result<Self> {
        VERSIONS
            .iter()
            .map(|v| Ok((v.api, (v.link)(engine)?)))
            .collect::<wasmtime::Result<_>>()
            .map(Linkers)
    }

    /// Pre-links `component` against API `api`; None if this host does not
    /// run that version.
    pub(crate) fn pre(&self, api: &str, component: &Component) -> Option<wasmtime::Result<Pre>> {
        let (api, linked) = self.0.iter().find(|(v, _)| *v == api)?;
        Some(linked.pre(component).map(|inner| Pre { api, inner }))
    }
}

/// A compiled component pre-linked against its API version: one per
/// loaded plugin version, shared by every call and tenant.
pub(crate) struct Pre {
    api: &'static str,
    inner: Box<dyn Prepared>,
}

impl fmt::Debug for Pre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pre")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl Pre {
    /// An instance in one call's store (running the component's start
    /// function, which can trap like any call).
    pub(crate) async fn instantiate(
        &self,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Instance> {
        self.inner.instantiate(store).await.map(Instance)
    }
}

/// An instance of a plugin in one call's store.
pub(crate) struct Instance(Box<dyn Exports>);

impl Instance {
    pub(crate) fn handle_http<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
        request: HttpRequest,
    ) -> Answer<'a, HttpResponse> {
        self.0.handle_http(store, request)
    }

    /// `(template, data)`, or None to show nothing.
    pub(crate) fn render<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
        slot: GuestSlot,
    ) -> Answer<'a, Option<(String, String)>> {
        self.0.render(store, slot)
    }

    pub(crate) fn handle_event<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
        event: GuestEvent,
    ) -> Answer<'a, ()> {
        self.0.handle_event(store, event)
    }
}
