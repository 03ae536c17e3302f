//! HTTP plumbing that every route shares and none owns: failures mapped to
//! responses ([`error`]), sessions and CSRF ([`session`]), extractors for
//! the visitor and the tenant ([`extract`]), rendering pages ([`render`]),
//! form field errors and read logging ([`forms`]), and the layers every
//! request passes through ([`layers`]).

pub mod error;
pub mod extract;
pub mod forms;
pub mod layers;
pub mod render;
pub mod session;
