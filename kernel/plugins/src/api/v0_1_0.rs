//! API `tillit:plugin@0.1.0` (`plugin-api/wit/v0.1.0/`): the bindings, the
//! capability imports (converting WIT types and delegating to
//! [`crate::call`], which holds the rules), and the exports called with
//! the host's own types ([`super::Exports`]).

use tillit_domain::plugin_data::{BlobInfo, Condition};
use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::{Answer, Exports, GuestEvent, GuestSlot, Linked, Prepared, Version};
use crate::call::{self, CallState, LogLevel, PluginError, Scope, said};
use crate::context::{Role, VisitStatus};
use crate::http::{HttpRequest, HttpResponse};
use crate::storage::BoxFuture;

pub(super) const VERSION: Version = Version { api: "0.1.0", link };

mod bindings {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../../plugin-api/wit/v0.1.0",
        // Storage and blobs wait for the database, and trap when the host
        // stops the call (its deadline, its budget of host calls). Context
        // and clock return no error in the WIT, so a denied call to them
        // traps.
        imports: {
            "tillit:plugin/context": async | trappable,
            "tillit:plugin/clock": async | trappable,
            "tillit:plugin/storage": async | trappable,
            "tillit:plugin/blobs": async | trappable,
            default: async,
        },
        exports: { default: async },
    });
}

use bindings::exports::tillit::plugin::{events, http, ui};
use bindings::tillit::plugin::{blobs, clock, context, live, log, storage, types};

/// The linker every plugin of this API version is instantiated with.
struct PluginLinker(Linker<CallState>);

fn link(engine: &wasmtime::Engine) -> wasmtime::Result<Box<dyn Linked>> {
    let mut linker = Linker::new(engine);
    bindings::Plugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)?;
    Ok(Box::new(PluginLinker(linker)))
}

impl Linked for PluginLinker {
    fn pre(&self, component: &Component) -> wasmtime::Result<Box<dyn Prepared>> {
        let pre = bindings::PluginPre::new(self.0.instantiate_pre(component)?)?;
        Ok(Box::new(pre))
    }
}

impl Prepared for bindings::PluginPre<CallState> {
    fn instantiate<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
    ) -> BoxFuture<'a, wasmtime::Result<Box<dyn Exports>>> {
        Box::pin(async move {
            let plugin = self.instantiate_async(store).await?;
            Ok(Box::new(plugin) as Box<dyn Exports>)
        })
    }
}

impl Exports for bindings::Plugin {
    fn handle_http<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
        request: HttpRequest,
    ) -> Answer<'a, HttpResponse> {
        let request = http::Request {
            method: match request.method {
                crate::context::Method::Get => http::Method::Get,
                crate::context::Method::Post => http::Method::Post,
                crate::context::Method::Put => http::Method::Put,
                crate::context::Method::Patch => http::Method::Patch,
                crate::context::Method::Delete => http::Method::Delete,
            },
            path: request.path,
            query: request.query,
            headers: request.headers,
            body: request.body,
        };
        Box::pin(async move {
            let answer = self
                .tillit_plugin_http()
                .call_handle(&mut *store, &request)
                .await?;
            let text = text_len(store);
            Ok(answer
                .map(|r| HttpResponse {
                    status: r.status,
                    headers: r.headers,
                    body: r.body,
                })
                .map_err(|e| from_wit(e, text)))
        })
    }

    fn render<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
        slot: GuestSlot,
    ) -> Answer<'a, Option<(String, String)>> {
        let slot = match slot {
            GuestSlot::VisitPanel => ui::Slot::VisitPanel,
            GuestSlot::ProfileSection(person) => ui::Slot::ProfileSection(person),
            GuestSlot::BetweenVisitsPage => ui::Slot::BetweenVisitsPage,
        };
        Box::pin(async move {
            let answer = self
                .tillit_plugin_ui()
                .call_render(&mut *store, &slot)
                .await?;
            let text = text_len(store);
            // The template's name reaches the log if the plugin has no such
            // template; a name cut short names none it has.
            Ok(answer
                .map(|view| view.map(|v| (said(&v.template, text), v.data)))
                .map_err(|e| from_wit(e, text)))
        })
    }

    fn handle_event<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
        event: GuestEvent,
    ) -> Answer<'a, ()> {
        let event = match event {
            GuestEvent::BookingCreated => events::Event::BookingCreated,
            GuestEvent::BookingCancelled => events::Event::BookingCancelled,
            GuestEvent::VisitStarted => events::Event::VisitStarted,
            GuestEvent::VisitEnded => events::Event::VisitEnded,
            GuestEvent::ParticipantJoined(p) => events::Event::ParticipantJoined(p),
            GuestEvent::ParticipantLeft(p) => events::Event::ParticipantLeft(p),
        };
        Box::pin(async move {
            let answer = self
                .tillit_plugin_events()
                .call_handle(&mut *store, &event)
                .await?;
            let text = text_len(store);
            Ok(answer.map_err(|e| from_wit(e, text)))
        })
    }
}

/// The longest text of a plugin's the host passes on ([`said`]).
fn text_len(store: &Store<CallState>) -> usize {
    store.data().services.limits.text_len
}

/// A hook's error, its reason cut to `text` bytes: an `invalid` reason is
/// shown to the person, an `internal` one logged.
fn from_wit(e: types::Error, text: usize) -> PluginError {
    match e {
        types::Error::NotFound => PluginError::NotFound,
        types::Error::Denied => PluginError::Denied,
        types::Error::Conflict => PluginError::Conflict,
        types::Error::QuotaExceeded => PluginError::QuotaExceeded,
        types::Error::TooLarge => PluginError::TooLarge,
        types::Error::Invalid(s) => PluginError::Invalid(said(&s, text)),
        types::Error::Internal(s) => PluginError::Internal(said(&s, text)),
    }
}

fn to_wit(e: PluginError) -> types::Error {
    match e {
        PluginError::NotFound => types::Error::NotFound,
        PluginError::Denied => types::Error::Denied,
        PluginError::Conflict => types::Error::Conflict,
        PluginError::QuotaExceeded => types::Error::QuotaExceeded,
        PluginError::TooLarge => types::Error::TooLarge,
        PluginError::Invalid(s) => types::Error::Invalid(s),
        PluginError::Internal(s) => types::Error::Internal(s),
    }
}

/// A capability the plugin may not use, from an import whose WIT has no
/// error: the call traps.
fn trap(e: PluginError) -> wasmtime::Error {
    wasmtime::Error::msg(format!("capability call refused: {e}"))
}

/// A storage or blob operation's answer for the plugin, or a trap if the
/// host stopped the call meanwhile (what stopped it is in the state).
fn answer<T>(
    state: &CallState,
    result: Result<T, PluginError>,
) -> wasmtime::Result<Result<T, types::Error>> {
    match state.stopped {
        Some(why) => Err(wasmtime::Error::msg(format!(
            "the host stopped the call: {why:?}"
        ))),
        None => Ok(result.map_err(to_wit)),
    }
}

fn scope(s: types::Scope) -> Scope {
    match s {
        types::Scope::Tenant => Scope::Tenant,
        types::Scope::Caller => Scope::Caller,
    }
}

fn condition(c: storage::Condition) -> Condition {
    match c {
        storage::Condition::Always => Condition::Always,
        storage::Condition::IfAbsent => Condition::IfAbsent,
        storage::Condition::IfRevision(r) => Condition::IfRevision(r),
    }
}

fn role(r: Role) -> types::Role {
    match r {
        Role::Clinician => types::Role::Clinician,
        Role::Patient => types::Role::Patient,
        Role::Guest => types::Role::Guest,
        Role::Administrator => types::Role::Administrator,
    }
}

fn wit_blob_info(i: BlobInfo) -> blobs::BlobInfo {
    blobs::BlobInfo {
        id: i.id,
        content_type: i.content_type,
        size: i.size,
        created_at: i.created_at.0,
    }
}

impl types::Host for CallState {}

impl context::Host for CallState {
    async fn current_caller(&mut self) -> wasmtime::Result<Option<context::Caller>> {
        let caller = self.current_caller().map_err(trap)?;
        Ok(caller.map(|c| context::Caller {
            person: c.person,
            role: role(c.role),
            display_name: c.display_name,
            language: c.language,
        }))
    }

    async fn current_visit(&mut self) -> wasmtime::Result<Option<types::Visit>> {
        let visit = self.current_visit().map_err(trap)?;
        Ok(visit.map(|v| types::Visit {
            id: v.id,
            status: match v.status {
                VisitStatus::Booked => types::VisitStatus::Booked,
                VisitStatus::InProgress => types::VisitStatus::InProgress,
                VisitStatus::Finished => types::VisitStatus::Finished,
                VisitStatus::Cancelled => types::VisitStatus::Cancelled,
            },
            starts_at: v.starts_at,
            ends_at: v.ends_at,
            participants: v
                .participants
                .into_iter()
                .map(|p| types::Participant {
                    person: p.person,
                    role: role(p.role),
                    display_name: p.display_name,
                })
                .collect(),
        }))
    }

    async fn config(&mut self) -> wasmtime::Result<String> {
        CallState::config(self).map_err(trap)
    }
}

impl clock::Host for CallState {
    async fn now(&mut self) -> wasmtime::Result<types::Timestamp> {
        CallState::now(self).map_err(trap)
    }
}

impl log::Host for CallState {
    async fn log(&mut self, level: log::Level, message: String) {
        let level = match level {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        CallState::log(self, level, &message);
    }
}

impl storage::Host for CallState {
    async fn get(
        &mut self,
        s: types::Scope,
        key: String,
    ) -> wasmtime::Result<Result<Option<storage::Entry>, types::Error>> {
        let found = self.storage_get(scope(s), &key).await.map(|found| {
            found.map(|d| storage::Entry {
                value: d.value,
                revision: d.revision,
                updated_at: d.updated_at.0,
            })
        });
        answer(self, found)
    }

    async fn set(
        &mut self,
        s: types::Scope,
        key: String,
        value: Vec<u8>,
        c: storage::Condition,
    ) -> wasmtime::Result<Result<storage::Revision, types::Error>> {
        let written = self.storage_set(scope(s), &key, &value, condition(c)).await;
        answer(self, written)
    }

    async fn delete(
        &mut self,
        s: types::Scope,
        key: String,
        c: storage::Condition,
    ) -> wasmtime::Result<Result<bool, types::Error>> {
        let deleted = self.storage_delete(scope(s), &key, condition(c)).await;
        answer(self, deleted)
    }

    async fn list(
        &mut self,
        s: types::Scope,
        prefix: String,
        cursor: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<storage::Page, types::Error>> {
        let listed = self
            .storage_list(scope(s), &prefix, cursor.as_deref(), limit)
            .await
            .map(|(keys, cursor)| storage::Page { keys, cursor });
        answer(self, listed)
    }
}

impl blobs::Host for CallState {
    async fn max_size(&mut self) -> wasmtime::Result<u64> {
        // No error in the WIT: without the grant the plugin learns nothing.
        Ok(self.blob_max_size().unwrap_or(0))
    }

    async fn put(
        &mut self,
        s: types::Scope,
        content_type: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<blobs::BlobInfo, types::Error>> {
        let put = self
            .blob_put(scope(s), &content_type, &data)
            .await
            .map(wit_blob_info);
        answer(self, put)
    }

    async fn get(
        &mut self,
        s: types::Scope,
        id: String,
    ) -> wasmtime::Result<Result<blobs::Blob, types::Error>> {
        let found = self
            .blob_get(scope(s), &id)
            .await
            .map(|(info, data)| blobs::Blob {
                info: wit_blob_info(info),
                data,
            });
        answer(self, found)
    }

    async fn info(
        &mut self,
        s: types::Scope,
        id: String,
    ) -> wasmtime::Result<Result<blobs::BlobInfo, types::Error>> {
        let info = self.blob_info(scope(s), &id).await.map(wit_blob_info);
        answer(self, info)
    }

    async fn delete(
        &mut self,
        s: types::Scope,
        id: String,
    ) -> wasmtime::Result<Result<(), types::Error>> {
        let deleted = self.blob_delete(scope(s), &id).await;
        answer(self, deleted)
    }
}

impl live::Host for CallState {
    async fn broadcast(&mut self, message: String) -> Result<(), types::Error> {
        self.live_send(None, message).map_err(to_wit)
    }

    async fn send(&mut self, to: String, message: String) -> Result<(), types::Error> {
        self.live_send(Some(&to), message).map_err(to_wit)
    }
}

// The limits the API fixes are the host's too.
const _: () = assert!(call::MAX_LIST == 1000);
