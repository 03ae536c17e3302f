//! Tillit's FHIR R4 (4.0.1) surface, for journal systems (EHRs).
//!
//! Everything FHIR-shaped lives here, so the kernel never sees a FHIR model
//! type and the large models are compiled once, in this crate, behind
//! non-generic functions:
//!
//! - [`smart`]: SMART Backend Services: the registered clients, their
//!   signed client assertions, the access tokens Tillit issues and the
//!   scopes they carry.
//!
//! The kernel's adapter (`kernel/server/src/routes/fhir.rs`) parses a
//! request with these functions, calls the use case every door calls, and
//! answers with what this crate writes.

pub mod smart;
