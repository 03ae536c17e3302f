//! Tokens as an attacker (or a confused provider) would make them, for the
//! unit tests of the ID token and logout token checks: signed with the
//! fixed test keys of `fhir/tests/keys/` (the registered RSA key's public
//! half is the JWK Set the checks trust).

use serde_json::Value;

pub const KEY: &str = include_str!("../../../../fhir/tests/keys/rsa-registered.pem");
/// The trusted key's public half as PEM: what an attacker would try as an
/// HS256 secret.
pub const PUBLIC_PEM: &str = include_str!("../../../../fhir/tests/keys/rsa-registered.pub.pem");
pub const OTHER_KEY: &str = include_str!("../../../../fhir/tests/keys/rsa-unregistered.pem");
pub const KEYS: &str = include_str!("../../../../fhir/tests/keys/registered.jwks.json");
pub const ISSUER: &str = "https://idp.example.se";
/// The checks' time, in Unix seconds.
pub const NOW: i64 = 1_800_000_000;

/// `claims` signed RS384 with `key` (as the trusted key's `kid`), with
/// the header's `typ`.
pub fn signed(claims: &Value, key: &str, typ: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS384);
    header.kid = Some("rsa-1".into());
    header.typ = Some(typ.into());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key.as_bytes()).expect("a test key");
    jsonwebtoken::encode(&header, claims, &key).expect("signs")
}

/// `claims` signed HS256 with `secret`.
pub fn hs256(claims: &Value, secret: &[u8], typ: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret).expect("an HMAC key");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, &key).expect("signs")
}

/// `base` with each named claim set, or removed where the value is null.
pub fn with(mut base: Value, change: &[(&str, Value)]) -> Value {
    for (k, v) in change {
        if v.is_null() {
            base.as_object_mut().map(|o| o.remove(*k));
        } else {
            base[*k] = v.clone();
        }
    }
    base
}
