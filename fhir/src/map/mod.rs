//! Tillit's own data as FHIR resources, and resources sent to Tillit as
//! the commands its use cases take. Pure: no IO, the kernel passes in what
//! it read. A booking *is* the Appointment; there is no second store.
//!
//! - [`patient`]: Patient, both ways.
//! - [`practitioner`]: Practitioner and PractitionerRole (a clinician and
//!   their profile).
//! - [`appointment`]: Appointment, both ways, with the visit's link.
//! - [`encounter`]: Encounter, a visit once started (read-only).
//! - [`schedule`]: Schedule and Slot, a clinician's taken times
//!   (read-only).
//! - [`status`]: the one table between booking statuses and FHIR's.

use fhir_sdk::r4b::codes::NameUse;
use fhir_sdk::r4b::types::{HumanName, Meta, Reference};
use fhir_sdk::time::OffsetDateTime;
use fhir_sdk::{BuilderError, Instant};
use tillit_domain::Timestamp;

use crate::outcome::FhirError;

pub mod appointment;
pub mod encounter;
pub mod patient;
pub mod practitioner;
pub mod schedule;
pub mod status;

/// A version of a resource as it is served: `meta.versionId` and
/// `meta.lastUpdated` (and the `ETag` and `Last-Modified` headers).
pub use tillit_domain::Version;

/// A version's entity tag: `W/"<versionId>"`.
pub fn etag(v: Version) -> String {
    format!("W/\"{}\"", v.number)
}

/// The version an `If-Match` header names (`W/"3"`, or `"3"`, or `3`).
pub fn if_match(value: &str) -> Result<u64, FhirError> {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    let v = v.trim_matches('"');
    v.parse().map_err(|_| {
        FhirError::BadRequest(format!(
            "If-Match: {value} is not a version's ETag (W/\"<versionId>\")."
        ))
    })
}

/// A builder's error is a bug in the mapping, not the client's.
pub(crate) fn built<T>(r: Result<T, BuilderError>) -> Result<T, FhirError> {
    r.map_err(|_| FhirError::Internal)
}

pub fn instant(t: Timestamp) -> Result<Instant, FhirError> {
    // Whole milliseconds; FHIR instants keep them.
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000)
        .map(Instant)
        .map_err(|_| FhirError::Internal)
}

/// The kernel's time of an instant read from a resource.
pub(crate) fn timestamp(i: &Instant) -> Timestamp {
    Timestamp((i.0.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A person's name as Tillit holds it: official, one given name and the
/// family name.
pub(crate) fn official_name(person: &tillit_domain::Person) -> Result<HumanName, FhirError> {
    built(
        HumanName::builder()
            .r#use(NameUse::Official)
            .family(person.family_name.as_str().to_owned())
            .given(vec![Some(person.given_name.as_str().to_owned())])
            .build(),
    )
}

pub(crate) fn meta(v: Version) -> Result<Meta, FhirError> {
    built(
        Meta::builder()
            .version_id(v.number.to_string())
            .last_updated(instant(v.last_updated)?)
            .build(),
    )
}

/// A reference to `type/id`, with a display name where it helps a person
/// reading the resource.
pub(crate) fn reference(
    resource_type: &str,
    id: &str,
    display: Option<String>,
) -> Result<Reference, FhirError> {
    let b = Reference::builder().reference(format!("{resource_type}/{id}"));
    built(match display {
        Some(d) => b.display(d).build(),
        None => b.build(),
    })
}

/// What a reference in a resource sent to Tillit points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `Type/id`: a resource of Tillit's.
    Id(String),
    /// An identifier (an HSA-id, a personnummer), by system and value.
    Identifier { system: String, value: String },
    /// `urn:uuid:…`: an entry of the same transaction Bundle.
    Placeholder(String),
}

/// Reads a reference expected to point at `resource_type`. `path` names
/// it in errors.
pub(crate) fn target(
    r: &Reference,
    resource_type: &str,
    path: &str,
) -> Result<Option<Target>, FhirError> {
    if let Some(s) = &r.reference {
        if s.starts_with("urn:uuid:") {
            return Ok(Some(Target::Placeholder(s.clone())));
        }
        // Relative (`Patient/1`) or absolute (`https://…/fhir/R4/Patient/1`).
        let mut parts = s.rsplit('/');
        let (id, ty) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if ty == resource_type && !id.is_empty() {
            return Ok(Some(Target::Id(id.to_owned())));
        }
        if ty.is_empty() || id.is_empty() {
            return Err(FhirError::structure(
                format!("{path}.reference"),
                format!("\"{s}\" is not a reference of the form {resource_type}/[id]."),
            ));
        }
        return Ok(None);
    }
    if let Some(i) = &r.identifier
        && let (Some(system), Some(value)) = (&i.system, &i.value)
    {
        let by_type = r.r#type.as_deref().is_none_or(|t| t == resource_type);
        return Ok(by_type.then(|| Target::Identifier {
            system: system.clone(),
            value: value.clone(),
        }));
    }
    Ok(None)
}

/// The type a reference names, from its `reference` (`Type/id`) or `type`.
pub(crate) fn reference_type(r: &Reference) -> Option<&str> {
    if let Some(s) = &r.reference
        && !s.starts_with("urn:")
    {
        let mut parts = s.rsplit('/');
        parts.next();
        return parts.next();
    }
    r.r#type.as_deref()
}

/// A booking for the mappings' tests: Karin with Tove, 30 minutes from
/// 2027-01-15 08:00 UTC.
#[cfg(test)]
pub(crate) fn test_booking(
    status: tillit_domain::booking::BookingStatus,
) -> tillit_domain::booking::Booking {
    tillit_domain::booking::Booking {
        id: "b1".into(),
        clinician: tillit_domain::PersonId::new("karin"),
        patient: tillit_domain::PersonId::new("tove"),
        visit_type_id: "vt1".into(),
        title: "Uppföljning".into(),
        minutes: 30,
        kind: tillit_domain::booking::VisitKind::Video,
        starts_at: Timestamp(1_800_000_000_000),
        status,
        message: "Välkommen".into(),
    }
}

/// Karin, a clinician of the demo tenant, for the mappings' tests.
#[cfg(test)]
pub(crate) fn test_clinician() -> tillit_domain::Person {
    tillit_domain::Person {
        id: tillit_domain::PersonId::new("karin"),
        tenant: tillit_domain::TenantId::parse("demo").unwrap(),
        role: tillit_domain::Role::Clinician,
        status: tillit_domain::PersonStatus::Active,
        personnummer: tillit_domain::Personnummer::parse("19811218-9876").unwrap(),
        given_name: tillit_domain::PersonName::parse("Karin").unwrap(),
        family_name: tillit_domain::PersonName::parse("Lind").unwrap(),
        hsa_id: None,
    }
}
