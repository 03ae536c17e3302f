//! Practitioner: a clinician of the tenant; PractitionerRole: the
//! clinician in their unit with their title, as their profile says.
//! Read-only: staff are managed in Tillit.

use fhir_sdk::r4b::resources::{Practitioner, PractitionerRole};
use fhir_sdk::r4b::types::{CodeableConcept, Identifier};
use tillit_domain::{Person, PersonStatus};

use super::{Version, built, meta, official_name, reference};
use crate::identifiers;
use crate::outcome::FhirError;
use crate::wire;

/// A clinician as Tillit holds them.
#[derive(Debug, Clone, Copy)]
pub struct PractitionerOut<'a> {
    pub person: &'a Person,
    /// `None` until versions are kept: no `meta` is written.
    pub version: Option<Version>,
    /// Their HSA-id, if the tenant's file or the admin tool gave one.
    pub hsa_id: Option<&'a str>,
}

fn identifier(system: &str, value: &str) -> Result<Option<Identifier>, FhirError> {
    built(
        Identifier::builder()
            .system(system.to_owned())
            .value(value.to_owned())
            .build(),
    )
    .map(Some)
}

/// The Practitioner resource, as JSON. The personnummer of staff is not
/// shown: an EHR names clinicians by HSA-id or Tillit's id.
pub fn write(p: PractitionerOut<'_>) -> Result<String, FhirError> {
    let person = p.person;
    let mut ids = vec![identifier(identifiers::TILLIT_ID, person.id.as_str())?];
    if let Some(hsa) = p.hsa_id {
        ids.push(identifier(identifiers::HSA_ID, hsa)?);
    }
    let name = official_name(person)?;
    let r = built(
        Practitioner::builder()
            .id(person.id.as_str().to_owned())
            .identifier(ids)
            .active(person.status == PersonStatus::Active)
            .name(vec![Some(name)])
            .build(),
    )?;
    wire::write(&r)
}

/// A clinician's role as their published profile gives it.
#[derive(Debug, Clone, Copy)]
pub struct RoleOut<'a> {
    pub person: &'a Person,
    /// `None` until versions are kept: no `meta` is written.
    pub version: Option<Version>,
    /// The profile's yrkestitel, e.g. "Sjuksköterska".
    pub title: &'a str,
    /// The unit they work in, as the profile says.
    pub unit: &'a str,
    /// Whether the profile is published (bookable).
    pub published: bool,
}

/// The PractitionerRole resource, as JSON. Its id is the clinician's.
pub fn write_role(r: RoleOut<'_>) -> Result<String, FhirError> {
    let person = r.person;
    let mut b = PractitionerRole::builder()
        .id(person.id.as_str().to_owned())
        .active(r.published && person.status == PersonStatus::Active)
        .practitioner(reference(
            "Practitioner",
            person.id.as_str(),
            Some(person.full_name()),
        )?);
    if let Some(v) = r.version {
        b = b.meta(meta(v)?);
    }
    if !r.title.is_empty() {
        b = b.code(vec![Some(built(
            CodeableConcept::builder().text(r.title.to_owned()).build(),
        )?)]);
    }
    if !r.unit.is_empty() {
        b = b.specialty(vec![Some(built(
            CodeableConcept::builder().text(r.unit.to_owned()).build(),
        )?)]);
    }
    wire::write(&built(b.build())?)
}
