//! Tenants: one file per care provider in `tenants/`.
//!
//! A tenant file names the tenant, its host names, its theme and brand, the
//! features it has enabled, its booking and session rules, how long its data
//! is kept, its default language, and the staff to create at start-up.
//! Loading collects every problem in every file (unknown keys, bad values,
//! hosts claimed twice, a theme or logo that does not exist) so that
//! `tillit tenants check` can report them all at once.
//!
//! # Layout
//! - `tenant`: [`Tenant`], validated, as the rest of the kernel uses it.
//! - `issue`: [`Issue`], one problem in one file.
//! - `dir`: [`load_dir`], every file in the tenants directory.
//! - `clashes`: ids and host names claimed by two files.
//! - `file`: one file, parsed, read and checked.
//! - `reader`: reading key by key, and the keys each section may have.
//! - `hosts`, `brand`, `grants`, `sms`, `bootstrap`, `fhir`, `login`: one
//!   section or key each.
//! - `registry`: [`Registry`], the tenant for a request's host.

mod bootstrap;
mod brand;
mod clashes;
mod dir;
mod fhir;
mod file;
mod grants;
mod hosts;
mod issue;
mod login;
mod reader;
mod registry;
mod sms;
mod tenant;

pub use brand::Brand;
pub use dir::load_dir;
pub use issue::Issue;
pub use login::{ClientAuth, IdentityKind, LoginMethod, production_issues};
pub use registry::Registry;
pub use sms::SmsProvider;
pub use tenant::{Booking, FEATURES, PluginGrant, Tenant};
