//! One call into a plugin: the state its `Store` carries, and the
//! capabilities as the host implements them, independent of any API
//! version (each version's module under `api` only converts types and
//! delegates here).
//!
//! Every capability checks at call time that it was granted, and derives
//! everything about *whose* data an operation touches itself: the tenant
//! and plugin from the call, the owner of `scope::caller` from the
//! authenticated caller's reference. Nothing a plugin passes can name
//! another tenant, plugin or person.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tillit_domain::Clock;
use tillit_domain::plugin_data::{
    self, BlobInfo, BlobPut, Condition, Deleted, Document, Owner, Space, Written,
};
use tillit_plugin_manifest::Capability;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use crate::config::{Limits, Quotas};
use crate::context::{CallContext, LiveMessage, Role, VisitStatus};
use crate::refs::Pseudonyms;
use crate::storage::{PluginStorage, StorageError};

/// The most keys one `list` call returns (fixed by the API).
pub const MAX_LIST: u32 = 1000;
/// The largest live message, in bytes (fixed by the API).
pub const MAX_LIVE_MESSAGE: usize = 16 * 1024;

/// Why a capability refused, as the WIT `types.error` has it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    #[error("not found")]
    NotFound,
    #[error("denied")]
    Denied,
    #[error("conflict")]
    Conflict,
    #[error("quota exceeded")]
    QuotaExceeded,
    #[error("too large")]
    TooLarge,
    /// Safe to show to the person.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl PluginError {
    /// The HTTP status the kernel answers with when a plugin returns this
    /// from its `http.handle`.
    pub fn status(&self) -> u16 {
        match self {
            PluginError::NotFound => 404,
            PluginError::Denied => 403,
            PluginError::Conflict => 409,
            PluginError::QuotaExceeded => 507,
            PluginError::TooLarge => 413,
            PluginError::Invalid(_) => 400,
            PluginError::Internal(_) => 500,
        }
    }
}

/// What a plugin said, fit for a log line or a response: control
/// characters escaped, so no line can be forged, and cut after `max` bytes
/// at a character boundary, with `…`. The one rule for every text of a
/// plugin's that leaves the host: its log lines, its errors' reasons, the
/// template names it answers with, the messages of its traps (which name
/// its functions). Reads no further than it keeps.
pub fn said(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 3);
    let mut escaped = String::new();
    for c in text.chars() {
        escaped.clear();
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
        if out.len() + escaped.len() > max {
            out.push('…');
            break;
        }
        out.push_str(&escaped);
    }
    out
}

/// Why the host stopped a call before the plugin answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Its own running time ([`Limits::call_time`]).
    GuestTime,
    /// Its time with its host calls ([`Limits::call_wall_time`]).
    WallTime,
    /// Its storage and blob operations ([`Limits::host_calls`]).
    HostCalls,
    /// The bytes of those ([`Limits::host_bytes`]).
    HostBytes,
}

/// Whose data a storage or blob operation works on, as the plugin asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Tenant,
    Caller,
}

/// A log line's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// The caller as the plugin sees them.
#[derive(Debug, Clone)]
pub(crate) struct CallerView {
    pub person: String,
    pub role: Role,
    pub display_name: String,
    pub language: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ParticipantView {
    pub person: String,
    pub role: Role,
    pub display_name: String,
}

/// The visit as the plugin sees it.
#[derive(Debug, Clone)]
pub(crate) struct VisitView {
    pub id: String,
    pub status: VisitStatus,
    pub starts_at: i64,
    pub ends_at: i64,
    pub participants: Vec<ParticipantView>,
}

/// What every call shares with the host.
#[derive(Debug)]
pub(crate) struct Services {
    pub limits: Limits,
    pub pseudonyms: Pseudonyms,
    pub storage: Arc<dyn PluginStorage>,
    pub clock: Arc<dyn Clock>,
}

/// Capabilities as a bit set: checked on every capability call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Grants(u8);

impl Grants {
    pub(crate) fn of(capabilities: impl IntoIterator<Item = Capability>) -> Self {
        Grants(
            capabilities
                .into_iter()
                .fold(0, |bits, c| bits | Self::bit(c)),
        )
    }

    fn bit(c: Capability) -> u8 {
        1 << Capability::ALL.iter().position(|x| *x == c).unwrap_or(7)
    }

    pub(crate) fn has(self, c: Capability) -> bool {
        self.0 & Self::bit(c) != 0
    }
}

/// The data of one call's `Store`. Thrown away with the store when the
/// call ends, whatever happened.
pub(crate) struct CallState {
    pub ctx: Arc<CallContext>,
    pub plugin: Arc<str>,
    pub granted: Grants,
    /// The tenant's configuration for the plugin, as JSON.
    pub config: Arc<str>,
    pub quotas: Quotas,
    pub services: Arc<Services>,
    pub live: Vec<LiveMessage>,
    pub limiter: Limiter,
    pub started: Instant,
    /// Time spent in the host's storage during the call; not the plugin's.
    pub host_time: Duration,
    /// Set when the host stops the call; the call then traps and is
    /// reported as this.
    pub stopped: Option<Stop>,
    /// Storage and blob operations so far, and their bytes.
    host_calls: u32,
    host_bytes: u64,
    /// The last error-level line the plugin logged: the SDK's panic hook
    /// writes the panic message there before the trap.
    pub last_error_log: Option<String>,
    caller_ref: Option<String>,
    log_lines: u32,
}

impl CallState {
    pub(crate) fn new(
        ctx: Arc<CallContext>,
        plugin: Arc<str>,
        granted: Grants,
        config: Arc<str>,
        quotas: Quotas,
        services: Arc<Services>,
    ) -> Self {
        let limiter = Limiter::new(&services.limits);
        Self {
            ctx,
            plugin,
            granted,
            config,
            quotas,
            services,
            live: Vec::new(),
            limiter,
            started: Instant::now(),
            host_time: Duration::ZERO,
            stopped: None,
            host_calls: 0,
            host_bytes: 0,
            last_error_log: None,
            caller_ref: None,
            log_lines: 0,
        }
    }

    /// The plugin's own running time so far.
    pub(crate) fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.host_time)
    }

    /// When the call's wall-clock time is up.
    pub(crate) fn deadline(&self) -> Instant {
        self.started + self.services.limits.call_wall_time
    }

    /// Marks the call stopped (the first reason stays). The API layer
    /// traps instead of passing on the error returned here, so the plugin
    /// never sees it.
    pub(crate) fn stop(&mut self, why: Stop) -> PluginError {
        self.stopped.get_or_insert(why);
        PluginError::Internal("the call was stopped".to_owned())
    }

    /// Lets one storage or blob operation start, moving `bytes` (its key
    /// and what it writes), or stops the call: its wall-clock time is up,
    /// or it has used its operations or bytes. A plugin that loops over
    /// storage is stopped here, since its own running time barely grows.
    fn begin_host_call(&mut self, bytes: usize) -> Result<(), PluginError> {
        let limits = &self.services.limits;
        let over = if let Some(stopped) = self.stopped {
            Some(stopped)
        } else if Instant::now() >= self.deadline() {
            Some(Stop::WallTime)
        } else if self.host_calls >= limits.host_calls {
            Some(Stop::HostCalls)
        } else {
            None
        };
        if let Some(why) = over {
            return Err(self.stop(why));
        }
        self.host_calls += 1;
        self.count_bytes(bytes)
    }

    fn count_bytes(&mut self, bytes: usize) -> Result<(), PluginError> {
        self.host_bytes = self.host_bytes.saturating_add(bytes as u64);
        if self.host_bytes > self.services.limits.host_bytes {
            return Err(self.stop(Stop::HostBytes));
        }
        Ok(())
    }

    /// What a storage operation came to, run until the call's deadline
    /// ([`within`]): its time is the host's, not the plugin's, and one
    /// that did not finish in time stops the call.
    fn landed<T>(
        &mut self,
        (done, took): (Option<Result<T, StorageError>>, Duration),
    ) -> Result<T, PluginError> {
        self.host_time += took;
        match done {
            Some(result) => result.map_err(|e| self.storage_failed(&e)),
            None => Err(self.stop(Stop::WallTime)),
        }
    }

    fn require(&self, capability: Capability) -> Result<(), PluginError> {
        if self.granted.has(capability) {
            Ok(())
        } else {
            Err(PluginError::Denied)
        }
    }

    fn person_ref(&self, person: &tillit_domain::PersonId) -> String {
        self.services
            .pseudonyms
            .person(&self.ctx.tenant, &self.plugin, person)
    }

    fn caller_ref(&mut self) -> Option<String> {
        if self.caller_ref.is_none() {
            self.caller_ref = self.ctx.caller.as_ref().map(|c| self.person_ref(&c.person));
        }
        self.caller_ref.clone()
    }

    // --- context ------------------------------------------------------------

    pub(crate) fn current_caller(&mut self) -> Result<Option<CallerView>, PluginError> {
        self.require(Capability::Context)?;
        let Some(person) = self.caller_ref() else {
            return Ok(None);
        };
        Ok(self.ctx.caller.as_ref().map(|c| CallerView {
            person,
            role: c.role,
            display_name: c.display_name.clone(),
            language: c.language.clone(),
        }))
    }

    pub(crate) fn current_visit(&mut self) -> Result<Option<VisitView>, PluginError> {
        self.require(Capability::Context)?;
        let Some(visit) = &self.ctx.visit else {
            return Ok(None);
        };
        let pseudonyms = &self.services.pseudonyms;
        Ok(Some(VisitView {
            id: pseudonyms.visit(&self.ctx.tenant, &self.plugin, &visit.id),
            status: visit.status,
            starts_at: visit.starts_at.0,
            ends_at: visit.ends_at.0,
            participants: visit
                .participants
                .iter()
                .map(|p| ParticipantView {
                    person: self.person_ref(&p.person),
                    role: p.role,
                    display_name: p.display_name.clone(),
                })
                .collect(),
        }))
    }

    pub(crate) fn config(&self) -> Result<String, PluginError> {
        self.require(Capability::Context)?;
        Ok(self.config.to_string())
    }

    // --- clock --------------------------------------------------------------

    pub(crate) fn now(&self) -> Result<i64, PluginError> {
        self.require(Capability::Clock)?;
        Ok(self.services.clock.now().0)
    }

    // --- storage ------------------------------------------------------------

    fn space(&mut self, scope: Scope) -> Result<Space, PluginError> {
        let owner = match scope {
            Scope::Tenant => Owner::Tenant,
            // The owner comes from the authenticated caller, never from the
            // plugin; without a caller (events) there is no private space.
            Scope::Caller => Owner::Person(self.caller_ref().ok_or(PluginError::Denied)?),
        };
        Ok(Space {
            plugin: self.plugin.to_string(),
            owner,
        })
    }

    fn storage_failed(&self, e: &StorageError) -> PluginError {
        tracing::error!(plugin = %self.plugin, tenant = %self.ctx.tenant, error = %e, "plugin storage failed");
        PluginError::Internal("storage is unavailable".to_owned())
    }

    fn check_key(key: &str) -> Result<(), PluginError> {
        if plugin_data::is_valid_key(key) {
            Ok(())
        } else {
            Err(PluginError::Invalid(format!(
                "a key is 1 to {} bytes of A-Z a-z 0-9 - _ . : @ + with / between segments that are not empty, . or ..",
                plugin_data::MAX_KEY_LEN
            )))
        }
    }

    pub(crate) async fn storage_get(
        &mut self,
        scope: Scope,
        key: &str,
    ) -> Result<Option<Document>, PluginError> {
        self.require(Capability::Storage)?;
        Self::check_key(key)?;
        let space = self.space(scope)?;
        self.begin_host_call(key.len())?;
        let found = within(
            self.deadline(),
            self.services.storage.get(&self.ctx.tenant, &space, key),
        )
        .await;
        let found = self.landed(found)?;
        self.count_bytes(found.as_ref().map_or(0, |d| d.value.len()))?;
        Ok(found)
    }

    pub(crate) async fn storage_set(
        &mut self,
        scope: Scope,
        key: &str,
        value: &[u8],
        condition: Condition,
    ) -> Result<u64, PluginError> {
        self.require(Capability::Storage)?;
        Self::check_key(key)?;
        if value.len() > self.services.limits.value_size {
            return Err(PluginError::TooLarge);
        }
        let space = self.space(scope)?;
        self.begin_host_call(key.len() + value.len())?;
        let now = self.services.clock.now();
        let written = within(
            self.deadline(),
            self.services.storage.set(
                &self.ctx.tenant,
                &space,
                key,
                value,
                condition,
                self.quotas.storage,
                now,
            ),
        )
        .await;
        match self.landed(written)? {
            Written::Revision(r) => Ok(r),
            Written::Conflict => Err(PluginError::Conflict),
            Written::QuotaExceeded => Err(PluginError::QuotaExceeded),
        }
    }

    pub(crate) async fn storage_delete(
        &mut self,
        scope: Scope,
        key: &str,
        condition: Condition,
    ) -> Result<bool, PluginError> {
        self.require(Capability::Storage)?;
        Self::check_key(key)?;
        if condition == Condition::IfAbsent {
            return Err(PluginError::Invalid(
                "a delete cannot be if-absent".to_owned(),
            ));
        }
        let space = self.space(scope)?;
        self.begin_host_call(key.len())?;
        let deleted = within(
            self.deadline(),
            self.services
                .storage
                .delete(&self.ctx.tenant, &space, key, condition),
        )
        .await;
        match self.landed(deleted)? {
            Deleted::Done(existed) => Ok(existed),
            Deleted::Conflict => Err(PluginError::Conflict),
        }
    }

    /// One page of keys and the cursor for the next, if there is more.
    pub(crate) async fn storage_list(
        &mut self,
        scope: Scope,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<String>, Option<String>), PluginError> {
        self.require(Capability::Storage)?;
        if !plugin_data::is_valid_prefix(prefix) {
            return Err(PluginError::Invalid(
                "a prefix is at most 256 bytes of A-Z a-z 0-9 - _ . : @ + and /".to_owned(),
            ));
        }
        if let Some(cursor) = cursor {
            // A cursor is a key the host returned; nothing else.
            Self::check_key(cursor)?;
        }
        if limit == 0 {
            return Err(PluginError::Invalid("limit must be at least 1".to_owned()));
        }
        let limit = limit.min(MAX_LIST);
        let space = self.space(scope)?;
        self.begin_host_call(prefix.len() + cursor.map_or(0, str::len))?;
        let listed = within(
            self.deadline(),
            self.services
                .storage
                .list(&self.ctx.tenant, &space, prefix, cursor, limit + 1),
        )
        .await;
        let mut keys = self.landed(listed)?;
        self.count_bytes(keys.iter().map(String::len).sum())?;
        let more = keys.len() > limit as usize;
        keys.truncate(limit as usize);
        let next = if more { keys.last().cloned() } else { None };
        Ok((keys, next))
    }

    // --- blobs --------------------------------------------------------------

    pub(crate) fn blob_max_size(&self) -> Result<u64, PluginError> {
        self.require(Capability::Blobs)?;
        Ok(self.services.limits.blob_size)
    }

    pub(crate) async fn blob_put(
        &mut self,
        scope: Scope,
        content_type: &str,
        data: &[u8],
    ) -> Result<BlobInfo, PluginError> {
        self.require(Capability::Blobs)?;
        if !is_content_type(content_type) {
            return Err(PluginError::Invalid(
                "a content type is type/subtype".to_owned(),
            ));
        }
        if data.len() as u64 > self.services.limits.blob_size {
            return Err(PluginError::TooLarge);
        }
        let space = self.space(scope)?;
        self.begin_host_call(content_type.len() + data.len())?;
        // The host picks the id: a plugin cannot choose a name that escapes.
        let id = format!("b{}", uuid::Uuid::new_v4().simple());
        let now = self.services.clock.now();
        let put = within(
            self.deadline(),
            self.services.storage.put_blob(
                &self.ctx.tenant,
                &space,
                &id,
                content_type,
                data,
                self.quotas.blobs,
                now,
            ),
        )
        .await;
        match self.landed(put)? {
            BlobPut::Stored(info) => Ok(info),
            BlobPut::QuotaExceeded => Err(PluginError::QuotaExceeded),
        }
    }

    pub(crate) async fn blob_get(
        &mut self,
        scope: Scope,
        id: &str,
    ) -> Result<(BlobInfo, Vec<u8>), PluginError> {
        self.require(Capability::Blobs)?;
        let space = self.space(scope)?;
        if !is_reference(id) {
            return Err(PluginError::NotFound);
        }
        self.begin_host_call(id.len())?;
        let found = within(
            self.deadline(),
            self.services.storage.get_blob(&self.ctx.tenant, &space, id),
        )
        .await;
        let (info, data) = self.landed(found)?.ok_or(PluginError::NotFound)?;
        self.count_bytes(data.len())?;
        Ok((info, data))
    }

    pub(crate) async fn blob_info(
        &mut self,
        scope: Scope,
        id: &str,
    ) -> Result<BlobInfo, PluginError> {
        self.require(Capability::Blobs)?;
        let space = self.space(scope)?;
        if !is_reference(id) {
            return Err(PluginError::NotFound);
        }
        self.begin_host_call(id.len())?;
        let found = within(
            self.deadline(),
            self.services
                .storage
                .blob_info(&self.ctx.tenant, &space, id),
        )
        .await;
        self.landed(found)?.ok_or(PluginError::NotFound)
    }

    pub(crate) async fn blob_delete(&mut self, scope: Scope, id: &str) -> Result<(), PluginError> {
        self.require(Capability::Blobs)?;
        let space = self.space(scope)?;
        if !is_reference(id) {
            return Err(PluginError::NotFound);
        }
        self.begin_host_call(id.len())?;
        let deleted = within(
            self.deadline(),
            self.services
                .storage
                .delete_blob(&self.ctx.tenant, &space, id),
        )
        .await;
        if self.landed(deleted)? {
            Ok(())
        } else {
            Err(PluginError::NotFound)
        }
    }

    // --- live ---------------------------------------------------------------

    /// Queues a message for the kernel to deliver: to everyone connected
    /// (`to` None) or to one participant of the call's visit.
    pub(crate) fn live_send(
        &mut self,
        to: Option<&str>,
        message: String,
    ) -> Result<(), PluginError> {
        self.require(Capability::Live)?;
        let Some(visit) = &self.ctx.visit else {
            return Err(PluginError::Denied);
        };
        if message.len() > MAX_LIVE_MESSAGE {
            return Err(PluginError::TooLarge);
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(&message).is_err() {
            return Err(PluginError::Invalid(
                "a live message is a JSON text".to_owned(),
            ));
        }
        if self.live.len() >= self.services.limits.live_messages as usize {
            return Err(PluginError::QuotaExceeded);
        }
        let to = match to {
            None => None,
            Some(reference) => Some(
                self.services
                    .pseudonyms
                    .participant(&self.ctx.tenant, &self.plugin, visit, reference)
                    .ok_or(PluginError::NotFound)?
                    .clone(),
            ),
        };
        self.live.push(LiveMessage {
            plugin: self.plugin.to_string(),
            to,
            message,
        });
        Ok(())
    }

    // --- log ----------------------------------------------------------------

    /// Writes a line to the kernel's log, tagged with the plugin and the
    /// tenant (never the caller). Control characters are escaped, so a
    /// plugin cannot forge lines; long lines are cut; lines over the limit
    /// are dropped.
    pub(crate) fn log(&mut self, level: LogLevel, message: &str) {
        let limits = &self.services.limits;
        if self.log_lines >= limits.log_lines {
            if self.log_lines == limits.log_lines {
                tracing::warn!(target: "tillit_plugins::guest", plugin = %self.plugin, tenant = %self.ctx.tenant,
                    "the plugin reached its log limit of {} lines in one call; further lines are dropped", limits.log_lines);
                self.log_lines += 1;
            }
            return;
        }
        self.log_lines += 1;
        let line = said(message, limits.text_len);
        let (plugin, tenant) = (&*self.plugin, &self.ctx.tenant);
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: "tillit_plugins::guest", plugin, %tenant, "{line}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: "tillit_plugins::guest", plugin, %tenant, "{line}")
            }
            LogLevel::Info => {
                tracing::info!(target: "tillit_plugins::guest", plugin, %tenant, "{line}")
            }
            LogLevel::Warn => {
                tracing::warn!(target: "tillit_plugins::guest", plugin, %tenant, "{line}")
            }
            LogLevel::Error => {
                tracing::error!(target: "tillit_plugins::guest", plugin, %tenant, "{line}");
                self.last_error_log = Some(line);
            }
        }
    }
}

/// Runs a storage operation until `deadline`, with the time it took: None
/// if it had not finished by then (it is dropped, which cancels it).
async fn within<T>(deadline: Instant, op: impl Future<Output = T>) -> (Option<T>, Duration) {
    let started = Instant::now();
    let done = tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), op)
        .await
        .ok();
    (done, started.elapsed())
}

/// `type/subtype`, printable ASCII, at most 255 bytes.
fn is_content_type(s: &str) -> bool {
    s.len() <= 255
        && s.bytes().all(|b| b.is_ascii_graphic())
        && s.split_once('/')
            .is_some_and(|(t, sub)| !t.is_empty() && !sub.is_empty() && !sub.contains('/'))
}

/// The format of person references and host-made ids: 1–64 of `a-z 0-9 _ -`.
fn is_reference(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The memory cap (wasmtime's [`StoreLimits`]), remembering whether the
/// plugin hit it so the call can say so.
pub(crate) struct Limiter {
    inner: StoreLimits,
    pub hit: bool,
}

impl Limiter {
    fn new(limits: &Limits) -> Self {
        Self {
            inner: StoreLimitsBuilder::new()
                .memory_size(limits.memory)
                .trap_on_grow_failure(true)
                .build(),
            hit: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum);
        if !matches!(allowed, Ok(true)) {
            self.hit = true;
        }
        allowed
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.hit = true;
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Caller;
    use crate::refs::RefKey;
    use crate::storage::MemoryStorage;
    use tillit_domain::time::ManualClock;
    use tillit_domain::{PersonId, TenantId, Timestamp};

    fn state(granted: &[Capability], caller: bool) -> CallState {
        state_with(
            granted,
            caller,
            Limits::default(),
            Arc::new(MemoryStorage::new()),
        )
    }

    fn state_with(
        granted: &[Capability],
        caller: bool,
        limits: Limits,
        storage: Arc<dyn PluginStorage>,
    ) -> CallState {
        let ctx = CallContext {
            tenant: TenantId::parse("demo").unwrap_or_else(|e| panic!("{e}")),
            caller: caller.then(|| Caller {
                person: PersonId::new("person-1"),
                role: Role::Clinician,
                display_name: "Karin".into(),
                language: "sv".into(),
            }),
            visit: None,
        };
        let services = Services {
            limits,
            pseudonyms: Pseudonyms::new(&RefKey::new([1u8; 32]).unwrap_or_else(|e| panic!("{e}"))),
            storage,
            clock: Arc::new(ManualClock::new(Timestamp(0))),
        };
        CallState::new(
            Arc::new(ctx),
            "notes".into(),
            Grants::of(granted.iter().copied()),
            "{}".into(),
            Quotas::default(),
            Arc::new(services),
        )
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(f)
    }

    #[test]
    fn every_capability_is_denied_unless_granted() {
        let mut s = state(&[Capability::Log], true);
        assert_eq!(s.current_caller().err(), Some(PluginError::Denied));
        assert_eq!(s.current_visit().err(), Some(PluginError::Denied));
        assert_eq!(s.config().err(), Some(PluginError::Denied));
        assert_eq!(s.now().err(), Some(PluginError::Denied));
        assert_eq!(s.blob_max_size().err(), Some(PluginError::Denied));
        assert_eq!(
            s.live_send(None, "{}".into()).err(),
            Some(PluginError::Denied)
        );
        block_on(async {
            assert_eq!(
                s.storage_get(Scope::Tenant, "k").await.err(),
                Some(PluginError::Denied)
            );
            assert_eq!(
                s.storage_set(Scope::Tenant, "k", b"v", Condition::Always)
                    .await
                    .err(),
                Some(PluginError::Denied)
            );
            assert_eq!(
                s.storage_list(Scope::Tenant, "", None, 10).await.err(),
                Some(PluginError::Denied)
            );
            assert_eq!(
                s.blob_put(Scope::Tenant, "text/plain", b"x").await.err(),
                Some(PluginError::Denied)
            );
        });
        // Granted, they work.
        let mut s = state(&[Capability::Context, Capability::Storage], true);
        assert!(s.current_caller().is_ok_and(|c| c.is_some()));
        block_on(async {
            assert!(
                s.storage_set(Scope::Caller, "k", b"v", Condition::Always)
                    .await
                    .is_ok()
            );
        });
    }

    #[test]
    fn the_callers_scope_needs_a_caller() {
        let mut s = state(&[Capability::Storage, Capability::Blobs], false);
        block_on(async {
            assert_eq!(
                s.storage_get(Scope::Caller, "k").await.err(),
                Some(PluginError::Denied)
            );
            assert_eq!(
                s.blob_put(Scope::Caller, "text/plain", b"x").await.err(),
                Some(PluginError::Denied)
            );
            assert_eq!(s.storage_get(Scope::Tenant, "k").await, Ok(None));
        });
    }

    #[test]
    fn live_messages_need_a_visit() {
        let mut s = state(&[Capability::Live], true);
        assert_eq!(s.live_send(None, "{}".into()), Err(PluginError::Denied));
    }

    #[test]
    fn content_types_and_references() {
        assert!(is_content_type("application/pdf"));
        assert!(!is_content_type("pdf"));
        assert!(!is_content_type("a/b/c"));
        assert!(!is_content_type("text/plain; charset=\"x y\""));
        assert!(is_reference("b0a1"));
        assert!(!is_reference("../b1"));
        assert!(!is_reference(""));
    }

    /// A database that never answers.
    #[derive(Debug)]
    struct Stalled;

    fn never<'a, T: Send + 'a>() -> crate::storage::Pending<'a, T> {
        Box::pin(std::future::pending())
    }

    impl PluginStorage for Stalled {
        fn get<'a>(
            &'a self,
            _: &'a TenantId,
            _: &'a Space,
            _: &'a str,
        ) -> crate::storage::Pending<'a, Option<Document>> {
            never()
        }
        fn set<'a>(
            &'a self,
            _: &'a TenantId,
            _: &'a Space,
            _: &'a str,
            _: &'a [u8],
            _: Condition,
            _: u64,
            _: Timestamp,
        ) -> crate::storage::Pending<'a, Written> {
            never()
        }
        fn delete<'a>(
            &'a self,
            _: &'a TenantId,
            _: &'a Space,
            _: &'a str,
            _: Condition,
        ) -> crate::storage::Pending<'a, Deleted> {
            never()
        }
        fn list<'a>(
            &'a self,
            _: &'a TenantId,
            _: &'a Space,
            _: &'a str,
            _: Option<&'a str>,
            _: u32,
        ) -> crate::storage::Pending<'a, Vec<String>> {
            never()
        }
        fn put_blob<'a>(
            &'a self,
            _: &'a TenantId,
            _: &'a Space,
            _: &'a str,
            _: &'a str,
            _: &'a [u8],
            _: u64,
            _: Timestamp,
        ) -> crate::storage::Pending<'a, BlobPut> {
            never()
        }
        fn get_blob<'a>(
            &'a self,
            _: &'a TenantId,
            _: &'a Space,
            _: &'a str,
        ) -> crate::storage::Pending<'a, Option<(BlobInfo, Vec<u8>)>> {
            never()
        }
        fn blob_info<'a>(
            &'a self,
            _: &'a TenantId,
            _: &'a Space,
            _: &'a str,
        ) -> crate::storage::Pending<'a, Option<BlobInfo>> {
            never()
        }
        fn delete_blob<'a>(
            &'a self,
            _: &'a TenantId,
            _: &'a Space,
            _: &'a str,
        ) -> crate::storage::Pending<'a, bool> {
            never()
        }
        fn usage<'a>(
            &'a self,
            _: &'a TenantId,
            _: &'a str,
        ) -> crate::storage::Pending<'a, plugin_data::Usage> {
            never()
        }
    }

    #[test]
    fn a_storage_operation_that_hangs_is_cut_off_at_the_calls_deadline() {
        let limits = Limits {
            call_wall_time: Duration::from_millis(50),
            ..Limits::default()
        };
        let mut s = state_with(&[Capability::Storage], true, limits, Arc::new(Stalled));
        let started = Instant::now();
        let got = block_on(s.storage_get(Scope::Tenant, "k"));
        let took = started.elapsed();
        assert!(got.is_err());
        assert_eq!(s.stopped, Some(Stop::WallTime));
        assert!(
            took >= Duration::from_millis(50) && took < Duration::from_millis(500),
            "{took:?}"
        );
        // And nothing more starts.
        assert!(block_on(s.storage_get(Scope::Tenant, "k")).is_err());
    }

    #[test]
    fn host_calls_have_a_budget_of_operations_and_bytes() {
        let limits = Limits {
            host_calls: 3,
            host_bytes: 1000,
            ..Limits::default()
        };
        let storage = Arc::new(MemoryStorage::new());
        let mut s = state_with(
            &[Capability::Storage],
            true,
            limits.clone(),
            storage.clone(),
        );
        block_on(async {
            for _ in 0..3 {
                assert!(s.storage_get(Scope::Tenant, "k").await.is_ok());
            }
            assert!(s.storage_get(Scope::Tenant, "k").await.is_err());
        });
        assert_eq!(s.stopped, Some(Stop::HostCalls));

        let mut s = state_with(&[Capability::Storage], true, limits, storage);
        block_on(async {
            assert!(
                s.storage_set(Scope::Tenant, "k", &[b'x'; 600], Condition::Always)
                    .await
                    .is_ok()
            );
            // Reading it back brings the bytes to 1200.
            assert!(s.storage_get(Scope::Tenant, "k").await.is_err());
        });
        assert_eq!(s.stopped, Some(Stop::HostBytes));
    }

    #[test]
    fn what_a_plugin_says_is_escaped_and_cut() {
        assert_eq!(said("ok", 10), "ok");
        assert_eq!(said("a\nforged", 100), "a\\nforged");
        assert_eq!(said("abcdef", 3), "abc…");
        // At a character boundary, escapes whole.
        assert_eq!(said("ååå", 5), "åå…");
        assert_eq!(said("ab\u{1b}", 4), "ab…");
        let long = "x".repeat(10 << 20);
        assert_eq!(said(&long, 2048).len(), 2048 + '…'.len_utf8());
    }
}
