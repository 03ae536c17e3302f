//! The host's configuration: the pseudonym key, where compiled code is
//! cached, and the limits every call runs under.

use std::path::PathBuf;
use std::time::Duration;

use crate::refs::RefKey;

/// How the kernel sets up its plugin host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The secret behind person references ([`crate::refs`]).
    pub ref_key: RefKey,
    /// Where wasmtime keeps compiled plugins, so a restart loads them
    /// without compiling. None: compile at every start.
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
}

impl HostConfig {
    pub fn new(ref_key: RefKey) -> Self {
        Self {
            ref_key,
            cache_dir: None,
            limits: Limits::default(),
        }
    }
}

/// What one call may use. Plugins learn limits only through errors
/// (`too-large`, `quota-exceeded`) and traps.
///
/// The instance pool is shared by every tenant, so it is split: a tenant
/// may hold at most [`Limits::tenant_calls`] of its
/// [`Limits::concurrent_calls`] instances, and one plugin in one tenant at
/// most [`Limits::plugin_calls`]; a call waits up to [`Limits::queue_time`]
/// for its share, then gets [`crate::CallError::Busy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Time the plugin's own code may run in one call (time spent waiting
    /// for storage does not count). Checked at every epoch tick, so a
    /// looping plugin is stopped between `call_time` and `call_time +
    /// epoch_tick`.
    pub call_time: Duration,
    /// Time one call may take from start to answer, its host calls and
    /// their waiting included: a second by default, room for its
    /// [`Limits::host_calls`] on a database under load (the budget of
    /// operations, not this, stops a plugin that loops over storage). Checked at every epoch tick and around
    /// every storage and blob operation, which is cut off when it runs
    /// past it ([`crate::CallError::DeadlineExceeded`]).
    pub call_wall_time: Duration,
    /// How often the background ticker advances the engine's epoch.
    pub epoch_tick: Duration,
    /// The most linear memory an instance may grow to, in bytes.
    pub memory: usize,
    /// The size of the instance pool: how many calls may run at once over
    /// all tenants.
    pub concurrent_calls: u32,
    /// How many of those one tenant may hold at once: a quarter of the pool
    /// by default, so one tenant's flood leaves the others three quarters.
    pub tenant_calls: u32,
    /// How many of those one plugin may hold in one tenant: an eighth of
    /// the pool by default.
    pub plugin_calls: u32,
    /// How long a call waits for its share of the pool before it gets
    /// [`crate::CallError::Busy`] (503).
    pub queue_time: Duration,
    /// Storage and blob operations one call may make; the next one stops
    /// the call ([`crate::CallError::TooManyHostCalls`]).
    pub host_calls: u32,
    /// Bytes of documents and blobs one call may read and write, keys and
    /// values; going over stops the call
    /// ([`crate::CallError::TooManyHostBytes`]).
    pub host_bytes: u64,
    /// The largest request body passed to a plugin.
    pub request_body: usize,
    /// The largest response body a plugin may return.
    pub response_body: usize,
    /// The most response headers a plugin may return.
    pub response_headers: usize,
    /// The longest response header a plugin may return, name and value,
    /// in bytes.
    pub response_header_len: usize,
    /// The largest view data (the JSON text `render` returns), in bytes;
    /// larger is refused before it is parsed.
    pub view_data: usize,
    /// The deepest nesting of arrays and objects in view data; deeper is
    /// refused before it is parsed.
    pub view_depth: usize,
    /// The most HTML one view may render to, in bytes: three nested
    /// `#each` over a short list multiply it without end otherwise.
    pub view_html: usize,
    /// The longest one view may take to render. Rendering runs on the
    /// kernel's request threads, so this is what it may take from them.
    pub view_time: Duration,
    /// The largest document value.
    pub value_size: usize,
    /// The largest blob (`blobs.max-size`).
    pub blob_size: u64,
    /// Default quotas per (tenant, plugin); a tenant's grant may set others.
    pub quotas: Quotas,
    /// Log lines a call may write; later ones are dropped.
    pub log_lines: u32,
    /// The longest text of a plugin's that reaches the kernel's log or a
    /// response, in bytes: a log line, an error's reason, a template's
    /// name, a trap's message. Longer text is cut, and control characters
    /// are escaped, where it crosses into the host ([`crate::call::said`]).
    pub text_len: usize,
    /// Live messages a call may send.
    pub live_messages: u32,
}

impl Limits {
    /// The most bytes a plugin may make the host copy out of its memory at
    /// once: one capability call's arguments, or one hook's answer
    /// (wasmtime's "hostcall fuel", 128 MiB unless set). The largest thing a
    /// plugin may legitimately pass (a blob, a response with its headers,
    /// view data) and 64 KiB for the rest; a plugin that passes more is
    /// stopped before the host copies it ([`crate::CallError::TooMuchData`]).
    pub fn hostcall_fuel(&self) -> usize {
        let blob = usize::try_from(self.blob_size).unwrap_or(usize::MAX);
        let response = self.response_body.saturating_add(
            self.response_headers
                .saturating_mul(self.response_header_len),
        );
        blob.max(response)
            .max(self.view_data)
            .saturating_add(64 << 10)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            call_time: Duration::from_millis(50),
            call_wall_time: Duration::from_secs(1),
            epoch_tick: Duration::from_millis(10),
            memory: 32 << 20,
            concurrent_calls: 128,
            tenant_calls: 32,
            plugin_calls: 16,
            queue_time: Duration::from_millis(500),
            host_calls: 256,
            host_bytes: 32 << 20,
            request_body: 1 << 20,
            response_body: 4 << 20,
            response_headers: 32,
            response_header_len: 8 << 10,
            view_data: 256 << 10,
            view_depth: 32,
            view_html: 1 << 20,
            view_time: Duration::from_millis(25),
            value_size: 256 << 10,
            blob_size: 8 << 20,
            quotas: Quotas::default(),
            log_lines: 100,
            text_len: 2048,
            live_messages: 32,
        }
    }
}

/// Bytes one plugin may keep in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Documents: keys and values.
    pub storage: u64,
    /// Blob contents.
    pub blobs: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            storage: 64 << 20,
            blobs: 1 << 30,
        }
    }
}
