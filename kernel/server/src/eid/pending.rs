//! An e-ID login under way, kept in the visitor's browser between the
//! redirect to the provider and its callback: which method, the `state`
//! that ties the callback to this browser, the `nonce` the ID token must
//! carry, the PKCE verifier, and the page to return to. It is sealed with
//! the installation's secret and the tenant, so it cannot be forged,
//! altered or carried to another tenant, and it expires.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tillit_domain::{TenantId, Timestamp};

/// How long a login at the provider may take.
pub const LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The most a sealed login may be (a cookie must stay well under 4 KB).
const MAX_SEALED_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The login method's id in the tenant file.
    pub method: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to go once logged in (checked again when used).
    pub next: String,
    /// When it started, in Unix milliseconds.
    pub started_at: i64,
}

fn mac(secret: &[u8], tenant: &TenantId) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"eid-pending\0");
    mac.update(tenant.as_str().as_bytes());
    mac.update(b"\0");
    mac
}

/// The login under way as a cookie value for `tenant`.
pub fn seal(secret: &[u8], tenant: &TenantId, pending: &Pending) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(pending).unwrap_or_default());
    let mut mac = mac(secret, tenant);
    mac.update(body.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{body}.{tag}")
}

/// The login under way sealed in `value`, if this installation sealed it
/// for `tenant` and it has not expired at `now`.
pub fn open(secret: &[u8], tenant: &TenantId, value: &str, now: Timestamp) -> Option<Pending> {
    if value.len() > MAX_SEALED_BYTES {
        return None;
    }
    let (body, tag) = value.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let mut mac = mac(secret, tenant);
    mac.update(body.as_bytes());
    mac.verify_slice(&tag).ok()?;
    let pending: Pending = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    let age = now.0.checked_sub(pending.started_at)?;
    let lifetime = i64::try_from(LIFETIME.as_millis()).unwrap_or(i64::MAX);
    (0..=lifetime).contains(&age).then_some(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Pending {
        Pending {
            method: "bankid".into(),
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            next: "/visits/x".into(),
            started_at: 1_000_000,
        }
    }

    fn tenant(id: &str) -> TenantId {
        TenantId::parse(id).expect("a valid id")
    }

    #[test]
    fn a_sealed_login_opens_only_for_its_tenant_unaltered_and_in_time() {
        let sealed = seal(b"key", &tenant("demo"), &pending());
        let at = |ms: i64| Timestamp(1_000_000 + ms);
        assert_eq!(
            open(b"key", &tenant("demo"), &sealed, at(1)),
            Some(pending())
        );
        assert_eq!(open(b"key", &tenant("norrland"), &sealed, at(1)), None);
        assert_eq!(open(b"other", &tenant("demo"), &sealed, at(1)), None);
        assert_eq!(
            open(b"key", &tenant("demo"), &sealed, at(10 * 60_000 + 1)),
            None
        );
        assert_eq!(open(b"key", &tenant("demo"), &sealed, at(-1)), None);
        // Another login's body under this one's tag.
        let mut other = pending();
        other.next = "/".into();
        let forged = format!(
            "{}.{}",
            seal(b"key", &tenant("demo"), &other)
                .split('.')
                .next()
                .unwrap_or_default(),
            sealed.split('.').nth(1).unwrap_or_default()
        );
        assert_eq!(open(b"key", &tenant("demo"), &forged, at(1)), None);
        assert_eq!(open(b"key", &tenant("demo"), "garbage", at(1)), None);
    }
}
