//! Tillit's FHIR R4 (4.0.1) surface, for journal systems (EHRs).
//!
//! Everything FHIR-shaped lives here, so the kernel never sees a FHIR model
//! type and the large models are compiled once, in this crate, behind
//! non-generic functions:
//!
//! - [`smart`]: SMART Backend Services: the registered clients, their
//!   signed client assertions, the access tokens Tillit issues and the
//!   scopes they carry.
//! - [`map`]: Tillit's data as resources, and resources as commands
//!   (pure); [`identifiers`]: the identifier systems read and written.
//! - [`outcome`]: every error as an HTTP status and an
//!   `OperationOutcome`, in one place; [`media`]: formats.
//! - [`bundle`]: search results and histories; [`transaction`]:
//!   transaction Bundles in and their responses out; [`capability`]: the
//!   CapabilityStatement.
//! - `wire`: the only code generic over fhir-sdk's models.
//!
//! The kernel's adapter (`kernel/server/src/routes/fhir.rs`) parses a
//! request with these functions, calls the use case every door calls, and
//! answers with what this crate writes.

pub mod bundle;
pub mod capability;
pub mod identifiers;
pub mod map;
pub mod media;
pub mod outcome;
pub mod smart;
pub mod transaction;
mod wire;

pub use outcome::FhirError;
