//! The guest SDK for Tillit plugins: write a plugin as a Rust crate, build it
//! to a WebAssembly component, and the kernel runs it for the tenants that
//! enable it.
//!
//! A plugin is a type implementing [`Plugin`], registered once per crate
//! with [`register!`]. The kernel calls it for HTTP requests below the
//! plugin's mount ([`Plugin::on_request`]), to fill slots in its pages
//! ([`Plugin::render`]) and for events it subscribed to
//! ([`Plugin::on_event`]). Everything a plugin may do outside itself goes
//! through a *capability*: one module here per interface of the WIT package
//! `tillit:plugin@0.1.0` (`plugin-api/wit/v0.1.0/`). The plugin's manifest
//! (`plugin.toml`) lists the capabilities it uses; the host refuses a
//! component that imports more. See `plugin-api/README.md` for the manifest,
//! templates and building.
//!
//! # Layout
//!
//! - [`context`]: the caller, the current visit, the tenant's configuration.
//! - [`storage`]: small documents (JSON) by key, shared in the tenant or
//!   private to the caller ([`Scope`]).
//! - [`blobs`]: larger binary objects with host-assigned ids.
//! - [`live`]: JSON messages to the people in the current visit's room.
//! - [`log`]: lines in the kernel's log (always granted).
//! - [`clock`]: the time.
//! - [`http`]: [`Request`] and [`Response`] helpers for the plugin's routes.
//! - [`ui`]: [`Slot`] and [`View`], what a slot shows.
//! - [`events`]: [`Event`], what happened in the tenant.
//! - [`testing`] (native targets only): an in-memory host for unit tests.
//! - [`bindings`]: the raw generated bindings, for what the wrappers lack.
//!
//! # A whole plugin
//!
//! ```
//! use tillit_plugin_sdk::{context, storage, Method, Plugin, Request, Response, Result, Scope};
//!
//! struct Greeter;
//!
//! impl Plugin for Greeter {
//!     fn on_request(request: Request) -> Result<Response> {
//!         match (request.method, request.path.as_str()) {
//!             (Method::Get, "/hello") => {
//!                 let caller = context::require_caller()?;
//!                 let key = storage::key(&["greetings"])?;
//!                 let count = storage::get_json::<u32>(Scope::Caller, &key)?
//!                     .map_or(0, |doc| doc.value);
//!                 storage::set_json(Scope::Caller, &key, &(count + 1), storage::Condition::Always)?;
//!                 Ok(Response::json(&serde_json::json!({
//!                     "hello": caller.display_name,
//!                     "times": count + 1,
//!                 })))
//!             }
//!             _ => Ok(Response::not_found()),
//!         }
//!     }
//! }
//!
//! tillit_plugin_sdk::register!(Greeter);
//! # fn main() {
//! #     use tillit_plugin_sdk::{testing, Role};
//! #     testing::reset();
//! #     testing::set_caller(Some(testing::caller("p1", Role::Patient, "Tove")));
//! #     let response = Greeter::on_request(Request::new(Method::Get, "/hello")).unwrap();
//! #     assert_eq!(response.status, 200);
//! # }
//! ```
//!
//! The crate is a `cdylib`; `cargo xtask plugins` builds it for
//! `wasm32-unknown-unknown` and turns it into a component.
//!
//! # Errors
//!
//! Capabilities return [`Error`]. From [`Plugin::on_request`] an `Err`
//! becomes an HTTP status chosen by the kernel ([`Error::status`]), so `?`
//! is the normal way to give up; return a [`Response`] yourself when the
//! client needs a body (a 409 with the current version, say).
//!
//! # Panics
//!
//! On wasm a panic aborts the call, and the host sees only a trap. The SDK
//! installs a panic hook on the first call into the plugin that writes the
//! panic message and location to [`log`] first. The next call gets a fresh
//! instance: keep nothing in statics between calls.
//!
//! # Tests
//!
//! On native targets the capabilities talk to [`testing`], an in-memory
//! host with the same rules (scopes, keys, conditions), so `cargo test`
//! runs a plugin's handlers without wasm.

pub mod blobs;
pub mod clock;
pub mod context;
pub mod events;
pub mod http;
pub mod live;
pub mod log;
mod panic;
pub mod storage;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod ui;

/// The bindings generated from `plugin-api/wit/v0.1.0` by wit-bindgen.
///
/// The wrappers in this crate cover them; reach for these only for what the
/// wrappers lack. `export!` here is what [`register!`] expands to.
#[allow(
    unsafe_code,
    missing_debug_implementations,
    clippy::all,
    clippy::unwrap_used,
    missing_docs
)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.1.0",
        world: "plugin",
        // Plugin crates export through `register!`, which names this module.
        pub_export_macro: true,
        default_bindings_module: "tillit_plugin_sdk::bindings",
        additional_derives: [PartialEq, Clone],
    });
}

pub use bindings::tillit::plugin::types::{
    Error, Participant, PersonRef, Role, Scope, Timestamp, Visit, VisitStatus,
};
pub use events::Event;
pub use http::{Method, Request, Response};
pub use ui::{Slot, View};

/// The result of every capability and hook.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// A plugin: the kernel calls these for the tenants that enable it.
///
/// Every method has a harmless default, so a plugin implements only what
/// its manifest declares. The methods are associated functions: each call
/// may run in a fresh instance, so there is no `self` to keep state in;
/// keep it in [`storage`].
pub trait Plugin {
    /// An event the manifest subscribes to (`events = [...]`). Runs with no
    /// caller; [`context::visit`] is the visit concerned. An error is logged
    /// by the host and the event is not retried. Default: ignore it.
    fn on_event(event: Event) -> Result<()> {
        let _ = event;
        Ok(())
    }

    /// A request to one of the routes the manifest declares, with the path
    /// below the plugin's mount. The caller is authenticated and CSRF is
    /// checked. Default: 404.
    fn on_request(request: Request) -> Result<Response> {
        let _ = request;
        Ok(Response::not_found())
    }

    /// What to show in a slot the manifest lists: a [`View`] naming one of
    /// the plugin's templates, or `None` for nothing. Default: nothing.
    fn render(slot: Slot) -> Result<Option<View>> {
        let _ = slot;
        Ok(None)
    }
}

/// Makes `$plugin` (a type implementing [`Plugin`]) the crate's exports.
/// Use it exactly once, at the crate root of a `cdylib`.
///
/// ```ignore
/// struct Notes;
/// impl tillit_plugin_sdk::Plugin for Notes { /* ... */ }
/// tillit_plugin_sdk::register!(Notes);
/// ```
#[macro_export]
macro_rules! register {
    ($plugin:ty) => {
        #[allow(unsafe_code)]
        const _: () = {
            type TillitPluginExports = $crate::__private::Adapter<$plugin>;
    $crate::bindings::export!(TillitPluginExports with_types_in $crate::bindings);
        };
    };
}

impl Error {
    /// Bad input, with a reason safe to show to the person.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Error::Invalid(reason.into())
    }

    /// A failure inside the plugin; the reason is logged, never shown.
    pub fn internal(reason: impl Into<String>) -> Self {
        Error::Internal(reason.into())
    }

    /// The HTTP status the kernel answers with when a request handler
    /// returns this error.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound => 404,
            Error::Denied => 403,
            Error::Conflict => 409,
            Error::QuotaExceeded => 507,
            Error::TooLarge => 413,
            Error::Invalid(_) => 400,
            Error::Internal(_) => 500,
        }
    }
}

impl Role {
    /// The role's name as in WIT and manifests: `clinician`, `patient`,
    /// `guest`, `administrator`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Patient => "patient",
            Role::Guest => "guest",
            Role::Administrator => "administrator",
        }
    }
}

impl Visit {
    /// The participant with this reference, if they are in the visit.
    pub fn participant(&self, person: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.person == person)
    }

    /// The participants with a role, in booking order.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Participant> {
        self.participants.iter().filter(move |p| p.role == role)
    }
}

#[doc(hidden)]
pub mod __private {
    //! What `register!` expands to; not part of the API.

    use core::marker::PhantomData;

    use crate::bindings::exports::tillit::plugin::{events, http, ui};
    use crate::{Error, Plugin};

    /// Implements the generated export traits for any [`Plugin`], so plugin
    /// crates never see them.
    pub struct Adapter<P>(PhantomData<P>);

    impl<P> core::fmt::Debug for Adapter<P> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("Adapter")
        }
    }

    impl<P: Plugin> events::Guest for Adapter<P> {
        fn handle(event: events::Event) -> Result<(), Error> {
            crate::panic::install_hook();
            P::on_event(event)
        }
    }

    impl<P: Plugin> http::Guest for Adapter<P> {
        fn handle(request: http::Request) -> Result<http::Response, Error> {
            crate::panic::install_hook();
            P::on_request(request)
        }
    }

    impl<P: Plugin> ui::Guest for Adapter<P> {
        fn render(slot: ui::Slot) -> Result<Option<ui::View>, Error> {
            crate::panic::install_hook();
            P::render(slot)
        }
    }
}
