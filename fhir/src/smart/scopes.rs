//! SMART system scopes: what a backend client may do to which resource type.
//!
//! Only `system/` scopes exist for Backend Services: there is no user and
//! no patient in the launch. A grant is a set of (resource type or `*`,
//! interactions) pairs, kept normalised, so that two grants with the same
//! permissions compare equal and print the same canonical v2 string.
//!
//! v2 scopes (`system/Patient.rs`) are read as written; v1 ones
//! (`system/Patient.read`, `.write`, `.*`) as their v2 equivalents, since
//! EHRs still send both. v2's query-parameter scopes (`…rs?category=…`) are
//! not supported: Tillit cannot enforce them, so they are never granted.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{SmartError, echo};

/// A FHIR interaction a scope letter permits, in SMART v2's letter order
/// `c r u d s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    /// `c`: create.
    Create,
    /// `r`: read (and vread).
    Read,
    /// `u`: update.
    Update,
    /// `d`: delete.
    Delete,
    /// `s`: search.
    Search,
}

impl Interaction {
    /// All interactions in SMART v2's letter order.
    pub const ALL: [Interaction; 5] = [
        Interaction::Create,
        Interaction::Read,
        Interaction::Update,
        Interaction::Delete,
        Interaction::Search,
    ];

    /// The interaction's SMART v2 letter.
    pub fn letter(self) -> char {
        match self {
            Interaction::Create => 'c',
            Interaction::Read => 'r',
            Interaction::Update => 'u',
            Interaction::Delete => 'd',
            Interaction::Search => 's',
        }
    }

    fn bit(self) -> u8 {
        match self {
            Interaction::Create => 1,
            Interaction::Read => 2,
            Interaction::Update => 4,
            Interaction::Delete => 8,
            Interaction::Search => 16,
        }
    }
}

/// The letters `rs` (v1 `read`).
const READ: u8 = 2 | 16;
/// The letters `cud` (v1 `write`).
const WRITE: u8 = 1 | 4 | 8;
/// The letters `cruds` (v1 `*`).
const ALL: u8 = READ | WRITE;

/// The key for "every resource type".
const EVERY_TYPE: &str = "*";

/// A set of granted SMART system scopes.
///
/// Kept normalised: no type without letters, and a type's letters always
/// include those granted to `*`, with a type dropped when `*` already
/// grants all it has. So equal permissions give equal values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeMap<String, u8>);

impl Scopes {
    /// Parses a space-separated scope string, refusing the whole string at
    /// the first token that is not a SMART system scope Tillit grants.
    ///
    /// For a client's registered allowance, where a typo must not silently
    /// shrink (or be mistaken for) what an admin meant.
    pub fn parse_strict(s: &str) -> Result<Scopes, SmartError> {
        let mut scopes = Scopes::default();
        for token in s.split_ascii_whitespace() {
            let (resource_type, letters) =
                parse_token(token).map_err(|reason| SmartError::InvalidScope {
                    token: echo(token),
                    reason: reason.to_owned(),
                })?;
            scopes.add(resource_type, letters);
        }
        scopes.normalise();
        Ok(scopes)
    }

    /// Parses a space-separated scope string, dropping every token that is
    /// not a SMART system scope Tillit grants.
    ///
    /// For a token request: OAuth2 lets a server grant less than asked, and
    /// clients often ask for `openid` or scopes meant for other servers.
    pub fn parse_lenient(s: &str) -> Scopes {
        let mut scopes = Scopes::default();
        for token in s.split_ascii_whitespace() {
            if let Ok((resource_type, letters)) = parse_token(token) {
                scopes.add(resource_type, letters);
            }
        }
        scopes.normalise();
        scopes
    }

    /// Whether these scopes permit interaction `i` on `resource_type`;
    /// a `*` scope covers every type.
    pub fn permits(&self, resource_type: &str, i: Interaction) -> bool {
        self.letters(resource_type) & i.bit() != 0
    }

    /// What of `requested` these scopes (a client's registered allowance)
    /// also permit, as a grant: the intersection by type and letters.
    ///
    /// A request for `*` against an allowance for named types grants those
    /// types, and a request for a named type against a `*` allowance grants
    /// that type; only what both sides permit is granted. Empty when
    /// nothing overlaps.
    pub fn grant(&self, requested: &Scopes) -> Scopes {
        let mut granted = Scopes::default();
        let types = self.0.keys().chain(requested.0.keys());
        for resource_type in types {
            let letters = self.letters(resource_type) & requested.letters(resource_type);
            granted.add(resource_type.as_str(), letters);
        }
        granted.normalise();
        granted
    }

    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The canonical v2 scope string, e.g.
    /// `system/Appointment.cruds system/Patient.rs`: sorted by type (`*`
    /// first), letters in `cruds` order, so equal grants print the same.
    pub fn to_scope_string(&self) -> String {
        let mut out = String::new();
        for (resource_type, &letters) in &self.0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("system/");
            out.push_str(resource_type);
            out.push('.');
            for i in Interaction::ALL {
                if letters & i.bit() != 0 {
                    out.push(i.letter());
                }
            }
        }
        out
    }

    /// The letters granted for `resource_type`, counting those of `*`.
    fn letters(&self, resource_type: &str) -> u8 {
        let every = self.0.get(EVERY_TYPE).copied().unwrap_or(0);
        every | self.0.get(resource_type).copied().unwrap_or(0)
    }

    fn add(&mut self, resource_type: &str, letters: u8) {
        if letters != 0 {
            *self.0.entry(resource_type.to_owned()).or_insert(0) |= letters;
        }
    }

    fn normalise(&mut self) {
        let every = self.0.get(EVERY_TYPE).copied().unwrap_or(0);
        self.0.retain(|resource_type, letters| {
            if resource_type != EVERY_TYPE {
                *letters |= every;
            }
            *letters != 0 && (resource_type == EVERY_TYPE || *letters != every)
        });
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_scope_string())
    }
}

/// Serialised as the canonical scope string, as in an access token's
/// `scope` claim.
impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_scope_string())
    }
}

/// Read strictly: a stored grant or a token's claim that does not parse is
/// corrupt, not something to shrink silently.
impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Scopes::parse_strict(&s).map_err(serde::de::Error::custom)
    }
}

/// One scope token as (resource type or `*`, letters), or why it is not a
/// system scope Tillit grants.
fn parse_token(token: &str) -> Result<(&str, u8), &'static str> {
    let Some(rest) = token.strip_prefix("system/") else {
        return Err("only system/ scopes are granted to backend services");
    };
    if rest.contains('?') {
        return Err("scopes with query parameters are not supported");
    }
    let Some((resource_type, permissions)) = rest.split_once('.') else {
        return Err("expected system/<Type|*>.<permissions>");
    };
    if resource_type != EVERY_TYPE && !is_resource_type_name(resource_type) {
        return Err("the resource type must be * or a FHIR type name such as Patient");
    }
    let letters = match permissions {
        "read" => READ,
        "write" => WRITE,
        "*" => ALL,
        v2 => v2_letters(v2)?,
    };
    Ok((resource_type, letters))
}

/// SMART v2 permissions: a non-empty subset of `cruds`, in that order,
/// each letter at most once.
fn v2_letters(permissions: &str) -> Result<u8, &'static str> {
    let mut letters = 0;
    let mut order = Interaction::ALL.iter();
    for ch in permissions.chars() {
        // Each letter must come later in `cruds` than the one before it.
        let Some(i) = order.by_ref().find(|i| i.letter() == ch) else {
            return Err("permissions must be read, write, * or letters of cruds in that order");
        };
        letters |= i.bit();
    }
    if letters == 0 {
        return Err("no permissions after the dot");
    }
    Ok(letters)
}

/// A FHIR resource type name: an ASCII capital, then ASCII letters/digits.
fn is_resource_type_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::Interaction::*;
    use super::*;

    fn strict(s: &str) -> Scopes {
        match Scopes::parse_strict(s) {
            Ok(scopes) => scopes,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn refused_token(s: &str) -> String {
        match Scopes::parse_strict(s) {
            Err(SmartError::InvalidScope { token, .. }) => token,
            other => panic!("{s:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn v1_aliases_mean_their_v2_letters() {
        assert_eq!(strict("system/Patient.read"), strict("system/Patient.rs"));
        assert_eq!(strict("system/Patient.write"), strict("system/Patient.cud"));
        assert_eq!(strict("system/Patient.*"), strict("system/Patient.cruds"));
        assert_eq!(strict("system/*.read").to_scope_string(), "system/*.rs");
    }

    #[test]
    fn v2_letter_subsets_permit_exactly_their_interactions() {
        let scopes = strict("system/Appointment.cud");
        assert!(scopes.permits("Appointment", Create));
        assert!(scopes.permits("Appointment", Update));
        assert!(scopes.permits("Appointment", Delete));
        assert!(!scopes.permits("Appointment", Read));
        assert!(!scopes.permits("Appointment", Search));
        assert!(!scopes.permits("Patient", Create));

        let search_only = strict("system/Patient.s");
        assert!(search_only.permits("Patient", Search));
        assert!(!search_only.permits("Patient", Read));
    }

    #[test]
    fn star_covers_every_type() {
        let scopes = strict("system/*.rs");
        assert!(scopes.permits("Patient", Read));
        assert!(scopes.permits("Appointment", Search));
        assert!(!scopes.permits("Patient", Create));
    }

    #[test]
    fn letters_out_of_order_repeated_or_unknown_are_refused() {
        assert_eq!(
            refused_token("system/Patient.rs system/Patient.sr"),
            "system/Patient.sr"
        );
        assert_eq!(refused_token("system/Patient.xyz"), "system/Patient.xyz");
        assert_eq!(refused_token("system/Patient.rrs"), "system/Patient.rrs");
        assert_eq!(refused_token("system/Patient."), "system/Patient.");
        assert_eq!(refused_token("system/Patient.Read"), "system/Patient.Read");
    }

    #[test]
    fn other_contexts_and_malformed_tokens_are_refused_strictly() {
        assert_eq!(
            refused_token("system/Patient.rs patient/Patient.rs"),
            "patient/Patient.rs"
        );
        assert_eq!(
            refused_token("user/Appointment.cruds"),
            "user/Appointment.cruds"
        );
        assert_eq!(refused_token("openid"), "openid");
        assert_eq!(refused_token("system/Patient"), "system/Patient");
        assert_eq!(refused_token("system/patient.rs"), "system/patient.rs");
        assert_eq!(refused_token("system/.rs"), "system/.rs");
        assert_eq!(
            refused_token("system/Observation.rs?category=vital-signs"),
            "system/Observation.rs?category=vital-signs"
        );
    }

    #[test]
    fn lenient_parsing_keeps_only_system_scopes() {
        let scopes = Scopes::parse_lenient(
            "openid patient/Patient.rs system/Patient.sr system/Appointment.read fhirUser",
        );
        assert_eq!(scopes.to_scope_string(), "system/Appointment.rs");
        assert!(Scopes::parse_lenient("openid launch").is_empty());
        assert!(Scopes::parse_lenient("").is_empty());
    }

    #[test]
    fn canonical_string_is_sorted_merged_and_in_cruds_order() {
        let scopes = strict("system/Patient.s system/Appointment.* system/Patient.r");
        assert_eq!(
            scopes.to_scope_string(),
            "system/Appointment.cruds system/Patient.rs"
        );
        assert_eq!(strict(&scopes.to_scope_string()), scopes);
        // A type that `*` already covers says nothing more and is dropped;
        // one with more letters than `*` keeps all its letters.
        assert_eq!(
            strict("system/Patient.rs system/*.rs system/Appointment.c").to_scope_string(),
            "system/*.rs system/Appointment.crs"
        );
    }

    #[test]
    fn grant_is_the_intersection_by_type_and_letters() {
        let allowed = strict("system/Patient.rs system/Appointment.cruds");

        let asked = strict("system/Patient.cruds system/Appointment.rs system/Practitioner.rs");
        assert_eq!(
            allowed.grant(&asked).to_scope_string(),
            "system/Appointment.rs system/Patient.rs"
        );

        // Asking for everything yields what is allowed, type by type.
        let everything = strict("system/*.*");
        assert_eq!(allowed.grant(&everything), allowed);

        // A `*` allowance grants the named types asked for, within its letters.
        let read_all = strict("system/*.rs");
        assert_eq!(
            read_all
                .grant(&strict("system/Patient.cruds"))
                .to_scope_string(),
            "system/Patient.rs"
        );

        // Nothing in common: an empty grant.
        assert!(
            allowed
                .grant(&strict("system/Practitioner.cruds"))
                .is_empty()
        );
        assert!(allowed.grant(&strict("system/Patient.cud")).is_empty());
    }

    #[test]
    fn serde_uses_the_scope_string() {
        let scopes = strict("system/Patient.read");
        let json = serde_json::to_string(&scopes).unwrap();
        assert_eq!(json, "\"system/Patient.rs\"");
        assert_eq!(serde_json::from_str::<Scopes>(&json).unwrap(), scopes);
        assert!(serde_json::from_str::<Scopes>("\"system/Patient.sr\"").is_err());
    }
}
