//! The identifier systems Tillit reads and writes, and FHIR's `token`
//! search values (`system|value`). Swedish systems come in two spellings
//! (SE Base's URLs and the OIDs); both are accepted on input, and the SE
//! Base form is written.

/// Personnummer, as HL7 Sweden's base profiles name it (written).
pub const PERSONNUMMER: &str = "http://electronichealth.se/identifier/personnummer";
/// Personnummer as an OID (accepted).
pub const PERSONNUMMER_OID: &str = "urn:oid:1.2.752.129.2.1.3.1";
/// Samordningsnummer, as SE Base names it (written).
pub const SAMORDNINGSNUMMER: &str = "http://electronichealth.se/identifier/samordningsnummer";
/// Samordningsnummer as an OID (accepted).
pub const SAMORDNINGSNUMMER_OID: &str = "urn:oid:1.2.752.129.2.1.3.3";
/// HSA-id (written).
pub const HSA_ID: &str = "urn:oid:1.2.752.29.4.19";
/// HSA-id in Inera's and an older profile's spelling (accepted).
pub const HSA_ID_ALIASES: [&str; 2] = ["urn:oid:1.2.752.129.2.1.4.1", "urn:oid:1.2.752.29.6.2.1"];
/// Tillit's own ids of people, as an identifier (a Practitioner may be
/// named by it where the EHR has no HSA-id).
pub const TILLIT_ID: &str = "https://tillit.se/fhir/sid/person";
/// Tillit's visit types (an Appointment's `serviceType` coding).
pub const VISIT_TYPE: &str = "https://tillit.se/fhir/CodeSystem/visit-type";

/// Which kind of identifier a system names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// Personnummer or samordningsnummer (the kernel tells them apart by
    /// the number itself).
    PersonalIdentity,
    HsaId,
    TillitId,
}

/// The kind of identifier `system` names, in any accepted spelling.
pub fn system_kind(system: &str) -> Option<System> {
    match system {
        PERSONNUMMER | PERSONNUMMER_OID | SAMORDNINGSNUMMER | SAMORDNINGSNUMMER_OID => {
            Some(System::PersonalIdentity)
        }
        HSA_ID => Some(System::HsaId),
        s if HSA_ID_ALIASES.contains(&s) => Some(System::HsaId),
        TILLIT_ID => Some(System::TillitId),
        _ => None,
    }
}

/// A `token` search value: `system|value`, `|value` (no system), or
/// `value` (any system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// `None`: any system; `Some("")`: no system.
    pub system: Option<String>,
    pub value: String,
}

impl Token {
    pub fn parse(s: &str) -> Token {
        match s.split_once('|') {
            Some((system, value)) => Token {
                system: Some(system.to_owned()),
                value: value.to_owned(),
            },
            None => Token {
                system: None,
                value: s.to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_each_swedish_system_are_understood() {
        for s in [
            PERSONNUMMER,
            PERSONNUMMER_OID,
            SAMORDNINGSNUMMER,
            SAMORDNINGSNUMMER_OID,
        ] {
            assert_eq!(system_kind(s), Some(System::PersonalIdentity), "{s}");
        }
        assert_eq!(system_kind(HSA_ID), Some(System::HsaId));
        assert_eq!(system_kind(HSA_ID_ALIASES[0]), Some(System::HsaId));
        assert_eq!(system_kind("http://example.org/mrn"), None);
        assert_eq!(
            Token::parse("urn:oid:1.2.752.129.2.1.3.1|200002292381"),
            Token {
                system: Some(PERSONNUMMER_OID.into()),
                value: "200002292381".into()
            }
        );
        assert_eq!(Token::parse("x").system, None);
    }
}
