//! Pseudonyms: how plugins see people and visits.
//!
//! A person reference is an HMAC-SHA256, under a key from the kernel's
//! configuration, of (tenant, plugin, person id): stable, so a plugin can
//! key data by it and find it at the next visit, but different in every
//! tenant and every plugin, and meaningless without the key. Plugins never
//! see personnummer, HSA-ids or the kernel's ids. Visit ids get the same
//! treatment in their own domain.
//!
//! There is no general reverse lookup: the kernel gets back a person id only
//! for the participants of the call's visit
//! ([`crate::PluginHost::participant`]), which is all it needs to deliver
//! live messages or show a profile.

use std::collections::HashSet;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tillit_domain::{PersonId, TenantId};

use crate::context::Visit;

/// The secret behind every pseudonym. Changing it changes every reference,
/// which orphans what plugins stored under the old ones: keep it stable.
#[derive(Clone)]
pub struct RefKey(Vec<u8>);

impl RefKey {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// A key of at least [`Self::MIN_LEN`] bytes (from a secret in the
    /// configuration, never a constant in code).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ShortKey> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_LEN {
            return Err(ShortKey(bytes.len()));
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for RefKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefKey(..)")
    }
}

/// A [`RefKey`] that is too short to be a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the plugin reference key has {0} bytes; it needs at least 32")]
pub struct ShortKey(usize);

/// Computes pseudonyms under one key.
#[derive(Clone)]
pub(crate) struct Pseudonyms {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonyms(..)")
    }
}

impl Pseudonyms {
    pub(crate) fn new(key: &RefKey) -> Self {
        // HMAC takes keys of any length, so this cannot fail.
        let mac = match Hmac::<Sha256>::new_from_slice(&key.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts every key length"),
        };
        Self { mac }
    }

    /// `p` and 32 hex digits: 1–64 characters of `a-z 0-9`, as the WIT
    /// promises, so it can be a key segment.
    pub(crate) fn person(&self, tenant: &TenantId, plugin: &str, person: &PersonId) -> String {
        self.tagged('p', b"person", tenant, plugin, person.as_str())
    }

    /// `v` and 32 hex digits.
    pub(crate) fn visit(&self, tenant: &TenantId, plugin: &str, visit: &str) -> String {
        self.tagged('v', b"visit", tenant, plugin, visit)
    }

    /// The participant of `visit` whose reference for this plugin is
    /// `reference`.
    pub(crate) fn participant<'v>(
        &self,
        tenant: &TenantId,
        plugin: &str,
        visit: &'v Visit,
        reference: &str,
    ) -> Option<&'v PersonId> {
        visit
            .participants
            .iter()
            .map(|p| &p.person)
            .find(|p| self.person(tenant, plugin, p) == reference)
    }

    fn tagged(
        &self,
        tag: char,
        domain: &[u8],
        tenant: &TenantId,
        plugin: &str,
        id: &str,
    ) -> String {
        let mut mac = self.mac.clone();
        // Length-prefixed fields, so no two inputs share an encoding.
        for field in [
            domain,
            tenant.as_str().as_bytes(),
            plugin.as_bytes(),
            id.as_bytes(),
        ] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(33);
        out.push(tag);
        for b in &digest[..16] {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The person references in `text`: each `p` and 32 hex digits standing
/// alone (not part of a longer word of `a-z 0-9 _ -`), as a plugin would
/// put one in a URL, a form or JSON. Cheap: no MAC is computed.
pub(crate) fn person_refs_in(text: &[u8]) -> HashSet<&str> {
    let word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    text.split(|b| !word(*b))
        .filter(|w| w.len() == 33 && w[0] == b'p' && w[1..].iter().all(|b| HEX.contains(b)))
        .filter_map(|w| std::str::from_utf8(w).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(s: &str) -> TenantId {
        TenantId::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn references_differ_per_tenant_and_plugin_and_key() {
        let key = RefKey::new([7u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        let p = Pseudonyms::new(&key);
        let anna = PersonId::new("3f1e0a52-0000-4000-8000-000000000001");
        let a = p.person(&tenant("demo"), "notes", &anna);
        assert_eq!(a, p.person(&tenant("demo"), "notes", &anna), "stable");
        assert_ne!(a, p.person(&tenant("demo"), "chat", &anna));
        assert_ne!(a, p.person(&tenant("norrland"), "notes", &anna));
        assert_ne!(a, p.visit(&tenant("demo"), "notes", anna.as_str()));
        let other = Pseudonyms::new(&RefKey::new([8u8; 32]).unwrap_or_else(|e| panic!("{e}")));
        assert_ne!(a, other.person(&tenant("demo"), "notes", &anna));
        assert_eq!(a.len(), 33);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert!(!a.contains(anna.as_str()));
    }

    #[test]
    fn references_are_found_standing_alone_in_any_text() {
        let p = Pseudonyms::new(&RefKey::new(vec![7; 32]).unwrap());
        let r = p.person(&tenant("demo"), "notes", &PersonId::new("tove"));
        let texts = [
            format!("/note?patient={r}"),
            format!("{{\"patient\":\"{r}\",\"text\":\"x\"}}"),
            format!("_csrf=t&patient={r}&text=a"),
            format!("<li data-p=\"{r}\">"),
        ];
        for t in &texts {
            assert_eq!(
                person_refs_in(t.as_bytes()).into_iter().collect::<Vec<_>>(),
                [r.as_str()],
                "{t}"
            );
        }
        for t in [
            format!("x{r}"),
            format!("{r}0"),
            format!("{r}_a"),
            r[..32].to_owned(),
            r.to_uppercase(),
        ] {
            assert!(person_refs_in(t.as_bytes()).is_empty(), "{t}");
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(RefKey::new(b"secret".to_vec()).is_err());
        assert_eq!(
            format!("{:?}", RefKey::new([1u8; 40]).ok()),
            "Some(RefKey(..))"
        );
    }
}
