//! Ending sessions with the provider: a back-channel logout token (OpenID
//! Connect Back-Channel Logout 1.0), checked in full before any session
//! ends, and the address of the provider's end-session endpoint for a
//! person who logs out here (RP-Initiated Logout 1.0).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openidconnect::{ClientId, LogoutRequest, PostLogoutRedirectUrl};
use serde_json::Value;
use tillit_domain::Timestamp;

use super::provider::Metadata;
use crate::tenants::LoginMethod;

/// The event a logout token must carry.
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How old (by its `iat`) a logout token may be, and how far ahead of our
/// clock the provider's may run.
const MAX_AGE_SECONDS: i64 = 5 * 60;
const MAX_SKEW_SECONDS: i64 = 60;

/// What a valid logout token asks to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutToken {
    pub subject: Option<String>,
    pub session: Option<String>,
    /// Its id, used once; and until when it could be replayed.
    pub jti: String,
    pub replayable_until: Timestamp,
}

/// The issuer a token claims, unverified: to choose which method's keys
/// check it.
pub fn claimed_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// Checks a logout token for `method`, whose provider's keys are `keys`,
/// at `now`: type `logout+jwt`, an asymmetric signature by one of the
/// keys, the issuer exactly, this client in the audience, fresh, the
/// back-channel event, no `nonce` (so an ID token cannot pass for one), a
/// `jti`, and a session or subject to end.
pub fn check(
    token: &str,
    method: &LoginMethod,
    keys: &JwkSet,
    now: Timestamp,
) -> Result<LogoutToken, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
    let typ = header
        .typ
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if typ != "logout+jwt" && typ != "application/logout+jwt" {
        return Err(format!("typ is {typ:?}, not logout+jwt"));
    }
    let asymmetric = matches!(
        header.alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    );
    if !asymmetric {
        return Err(format!("alg {:?} is not allowed", header.alg));
    }
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or("no key of the provider's matches")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key: {e}"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&method.issuer]);
    validation.set_audience(&[&method.client_id]);
    // Time is checked below, against our clock.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "iat"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|e| format!("token: {e}"))?
        .claims;

    let seconds = now.0.div_euclid(1000);
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or("no iat")?;
    if iat < seconds - MAX_AGE_SECONDS || iat > seconds + MAX_SKEW_SECONDS {
        return Err("not fresh (iat)".into());
    }
    if let Some(exp) = claims.get("exp")
        && exp.as_i64().is_none_or(|exp| exp <= seconds)
    {
        return Err("expired".into());
    }
    let event = claims
        .get("events")
        .and_then(|e| e.get(BACKCHANNEL_EVENT))
        .is_some_and(Value::is_object);
    if !event {
        return Err("no back-channel logout event".into());
    }
    if claims.get("nonce").is_some() {
        return Err("a logout token has no nonce".into());
    }
    let text = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 255)
            .map(str::to_owned)
    };
    let (subject, session) = (text("sub"), text("sid"));
    if subject.is_none() && session.is_none() {
        return Err("neither sub nor sid".into());
    }
    let jti = text("jti").ok_or("no jti")?;
    Ok(LogoutToken {
        subject,
        session,
        jti,
        replayable_until: Timestamp((iat + MAX_AGE_SECONDS + MAX_SKEW_SECONDS) * 1000),
    })
}

/// The provider's keys as the logout token check takes them.
pub fn keys_of(meta: &Metadata) -> Result<JwkSet, String> {
    let json = serde_json::to_value(meta.jwks()).map_err(|e| e.to_string())?;
    serde_json::from_value(json).map_err(|e| format!("the provider's keys: {e}"))
}

/// Where to send a person who logs out of a session from `method`: the
/// provider's end-session endpoint, which comes back to `back`, if it has
/// one and the method asks for it.
pub fn end_session_url(meta: &Metadata, method: &LoginMethod, back: &str) -> Option<String> {
    if !method.end_session {
        return None;
    }
    let endpoint = meta.additional_metadata().end_session_endpoint.clone()?;
    let back = PostLogoutRedirectUrl::new(back.to_owned()).ok()?;
    Some(
        LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(method.client_id.clone()))
            .set_post_logout_redirect_uri(back)
            .http_get_url()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    //! Logout tokens forged as an attacker (or a confused provider) would
    //! make them; a real provider's token is tried in `tests/http/eid.rs`.

    use jsonwebtoken::jwk::JwkSet;
    use serde_json::{Value, json};
    use tillit_app::sessions::Serves;
    use tillit_domain::Timestamp;

    use super::{BACKCHANNEL_EVENT, check};
    use crate::tenants::{ClientAuth, IdentityKind, LoginMethod};

    use crate::eid::forged::{ISSUER, KEY, KEYS, NOW, OTHER_KEY, PUBLIC_PEM, hs256, signed};

    fn method() -> LoginMethod {
        LoginMethod {
            id: "bankid".into(),
            label: "BankID".into(),
            serves: Serves::Patients,
            issuer: ISSUER.into(),
            client_id: "tillit".into(),
            auth: ClientAuth::Secret("s".into()),
            scopes: vec!["openid".into()],
            acr_values: Vec::new(),
            accepted_acr: Vec::new(),
            identity: IdentityKind::Personnummer,
            claim: "ssn".into(),
            end_session: true,
        }
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "aud": "tillit", "iat": NOW - 5, "exp": NOW + 120,
            "jti": "logout-1", "sub": "pseudonym-1", "sid": "session-1",
            "events": { BACKCHANNEL_EVENT: {} },
        })
    }

    fn with(change: &[(&str, Value)]) -> Value {
        crate::eid::forged::with(claims(), change)
    }

    fn checked(token: &str) -> Result<super::LogoutToken, String> {
        let keys: JwkSet = serde_json::from_str(KEYS).expect("the test keys");
        check(token, &method(), &keys, Timestamp(NOW * 1000))
    }

    #[test]
    fn a_providers_logout_token_names_what_to_end() {
        let token = checked(&signed(&claims(), KEY, "logout+jwt")).expect("valid");
        assert_eq!(token.session.as_deref(), Some("session-1"));
        assert_eq!(token.subject.as_deref(), Some("pseudonym-1"));
        assert_eq!(token.jti, "logout-1");
        let only_sub = checked(&signed(&with(&[("sid", Value::Null)]), KEY, "logout+jwt"));
        assert!(only_sub.is_ok_and(|t| t.session.is_none()));
    }

    #[test]
    fn every_forged_stale_or_misused_logout_token_is_refused() {
        let typ = "logout+jwt";
        let cases: Vec<(&str, String)> = vec![
            ("an ID token's type", signed(&claims(), KEY, "JWT")),
            (
                "with a nonce (an ID token)",
                signed(&with(&[("nonce", json!("n"))]), KEY, typ),
            ),
            (
                "stale",
                signed(
                    &with(&[("iat", json!(NOW - 3600)), ("exp", json!(NOW + 60))]),
                    KEY,
                    typ,
                ),
            ),
            (
                "expired",
                signed(&with(&[("exp", json!(NOW - 1))]), KEY, typ),
            ),
            (
                "from the future",
                signed(&with(&[("iat", json!(NOW + 3600))]), KEY, typ),
            ),
            ("no iat", signed(&with(&[("iat", Value::Null)]), KEY, typ)),
            (
                "no event",
                signed(&with(&[("events", json!({}))]), KEY, typ),
            ),
            (
                "another event",
                signed(&with(&[("events", json!({"urn:other": {}}))]), KEY, typ),
            ),
            (
                "another issuer",
                signed(&with(&[("iss", json!("https://evil.example"))]), KEY, typ),
            ),
            (
                "another audience",
                signed(&with(&[("aud", json!("another-client"))]), KEY, typ),
            ),
            ("no jti", signed(&with(&[("jti", Value::Null)]), KEY, typ)),
            (
                "neither sub nor sid",
                signed(
                    &with(&[("sub", Value::Null), ("sid", Value::Null)]),
                    KEY,
                    typ,
                ),
            ),
            ("signed by another key", signed(&claims(), OTHER_KEY, typ)),
            (
                "HS256 with the public key",
                hs256(&claims(), PUBLIC_PEM.as_bytes(), typ),
            ),
        ];
        for (what, token) in cases {
            assert!(checked(&token).is_err(), "{what} was accepted");
        }
    }
}
