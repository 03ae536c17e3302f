//! Patient: a person of the tenant with the patient role.
//!
//! Written with the personnummer (or samordningsnummer) as identifier, the
//! name, the birth date the number gives, and how Tillit reaches them.
//! Read from an EHR as the command to register a patient: a personnummer or
//! samordningsnummer is required, and a name.

use fhir_sdk::r4b::codes::{ContactPointSystem, ContactPointUse, NameUse};
use fhir_sdk::r4b::resources::Patient;
use fhir_sdk::r4b::types::{ContactPoint, HumanName, Identifier};
use fhir_sdk::time::{Date as CivilDate, Month};
use tillit_domain::{IdentityKind, Person, PersonStatus};

use super::{Version, built, meta, official_name};
use crate::identifiers::{self, System};
use crate::outcome::FhirError;
use crate::wire;

/// A patient as Tillit holds them.
#[derive(Debug, Clone, Copy)]
pub struct PatientOut<'a> {
    pub person: &'a Person,
    /// `None` until versions are kept: no `meta` is written.
    pub version: Option<Version>,
    /// The mobile number SMS go to, if known.
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
}

/// The Patient resource, as JSON.
pub fn write(p: PatientOut<'_>) -> Result<String, FhirError> {
    let person = p.person;
    let system = match person.personnummer.kind() {
        IdentityKind::Personnummer => identifiers::PERSONNUMMER,
        IdentityKind::Samordningsnummer => identifiers::SAMORDNINGSNUMMER,
    };
    let identifier = built(
        Identifier::builder()
            .system(system.to_owned())
            .value(person.personnummer.as_str().to_owned())
            .build(),
    )?;
    let name = official_name(person)?;
    let mut telecom = Vec::new();
    if let Some(phone) = p.phone {
        telecom.push(Some(built(
            ContactPoint::builder()
                .system(ContactPointSystem::Phone)
                .r#use(ContactPointUse::Mobile)
                .value(phone.to_owned())
                .build(),
        )?));
    }
    if let Some(email) = p.email {
        telecom.push(Some(built(
            ContactPoint::builder()
                .system(ContactPointSystem::Email)
                .value(email.to_owned())
                .build(),
        )?));
    }
    let (y, m, d) = person.personnummer.date_of_birth();
    let birth = Month::try_from(u8::try_from(m).unwrap_or(0))
        .ok()
        .and_then(|m| CivilDate::from_calendar_date(y, m, u8::try_from(d).unwrap_or(0)).ok());
    let mut b = Patient::builder()
        .id(person.id.as_str().to_owned())
        .identifier(vec![Some(identifier)])
        .active(person.status == PersonStatus::Active)
        .name(vec![Some(name)])
        .telecom(telecom);
    if let Some(date) = birth {
        b = b.birth_date(fhir_sdk::Date::Date(date));
    }
    if let Some(v) = p.version {
        b = b.meta(meta(v)?);
    }
    wire::write(&built(b.build())?)
}

/// A patient an EHR sends, as the command to register (or find) them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientIn {
    /// The personnummer or samordningsnummer as sent (the kernel parses
    /// it by its own rules).
    pub personal_identity: String,
    pub given_name: String,
    pub family_name: String,
    /// A mobile number, if the EHR sent one (`telecom` with system
    /// `phone`, use `mobile` preferred).
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Reads a Patient sent by an EHR. What is malformed is a 400; what is
/// missing for Tillit to register them, a 422 naming the element.
pub fn read(body: &[u8]) -> Result<PatientIn, FhirError> {
    let p: Patient = wire::parse(body, "Patient")?;
    let personal_identity = p
        .identifier
        .iter()
        .flatten()
        .find(|i| {
            i.system.as_deref().and_then(identifiers::system_kind) == Some(System::PersonalIdentity)
        })
        .and_then(|i| i.value.clone())
        .ok_or_else(|| {
            FhirError::rule(
                "Patient.identifier",
                format!(
                    "A personnummer ({}) or samordningsnummer ({}) is required.",
                    identifiers::PERSONNUMMER,
                    identifiers::SAMORDNINGSNUMMER
                ),
            )
        })?;
    let names: Vec<&HumanName> = p.name.iter().flatten().collect();
    let name = names
        .iter()
        .find(|n| n.r#use == Some(NameUse::Official))
        .or_else(|| names.first())
        .ok_or_else(|| FhirError::rule("Patient.name", "A name is required."))?;
    let given: Vec<&str> = name.given.iter().flatten().map(String::as_str).collect();
    let given_name = given.join(" ");
    let family_name = name.family.clone().unwrap_or_default();
    if given_name.trim().is_empty() || family_name.trim().is_empty() {
        return Err(FhirError::rule(
            "Patient.name",
            "Both a given name and a family name are required.",
        ));
    }
    let phones: Vec<&ContactPoint> = p
        .telecom
        .iter()
        .flatten()
        .filter(|t| t.system == Some(ContactPointSystem::Phone))
        .collect();
    let phone = phones
        .iter()
        .find(|t| t.r#use == Some(ContactPointUse::Mobile))
        .or_else(|| phones.first())
        .and_then(|t| t.value.clone());
    let email = p
        .telecom
        .iter()
        .flatten()
        .find(|t| t.system == Some(ContactPointSystem::Email))
        .and_then(|t| t.value.clone());
    Ok(PatientIn {
        personal_identity,
        given_name,
        family_name,
        phone,
        email,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patient_needs_a_swedish_identity_and_a_name() {
        let ok = read(
            br#"{"resourceType":"Patient",
                "identifier":[{"system":"urn:oid:1.2.752.129.2.1.3.1","value":"200002292381"}],
                "name":[{"family":"Toll","given":["Tove","Maria"]}],
                "telecom":[{"system":"email","value":"tove@example.se"},{"system":"phone","use":"home","value":"08123456"},{"system":"phone","use":"mobile","value":"0701234567"}]}"#,
        )
        .unwrap();
        assert_eq!(ok.personal_identity, "200002292381");
        assert_eq!(ok.given_name, "Tove Maria");
        assert_eq!(ok.phone.as_deref(), Some("0701234567"));
        assert_eq!(ok.email.as_deref(), Some("tove@example.se"));
        let no_id = read(br#"{"resourceType":"Patient","identifier":[{"system":"http://example.org/mrn","value":"1"}],"name":[{"family":"Toll","given":["Tove"]}]}"#).unwrap_err();
        assert_eq!(no_id.status(), 422);
        assert!(no_id.outcome_json().contains("Patient.identifier"));
        let no_name = read(br#"{"resourceType":"Patient","identifier":[{"system":"http://electronichealth.se/identifier/personnummer","value":"200002292381"}]}"#).unwrap_err();
        assert!(no_name.outcome_json().contains("Patient.name"));
    }
}
