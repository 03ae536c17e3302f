//! Registered backend clients: an id, the public keys their assertions are
//! signed with, and the scopes they may be granted.
//!
//! Keys are checked once, at registration, so that a key that could never
//! verify an accepted assertion (wrong curve, short RSA, an `alg` Tillit
//! refuses) is refused while an admin is there to fix it, not at the first
//! token request. A set carrying a private key is refused outright: whoever
//! pasted it has leaked the client's secret, and storing it would spread it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value};

use super::error::{SmartError, echo};
use super::scopes::Scopes;

/// The JWK members that hold private key material: RSA's (RFC 7518 §6.3.2),
/// EC's `d` (§6.2.2) and a symmetric key's `k` (§6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The smallest RSA modulus accepted, in bits (SMART and NIST's floor).
const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus the verifier accepts, in bits.
const MAX_RSA_BITS: usize = 8192;
/// The byte length of a P-384 coordinate.
const P384_COORDINATE_BYTES: usize = 48;

/// The type of a registered key, which decides the `alg` it verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    /// RSA, for RS384.
    Rsa,
    /// EC on P-384, for ES384.
    Ec,
}

/// One registered public key.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredKey {
    pub(crate) kid: Option<String>,
    pub(crate) kty: KeyType,
    pub(crate) key: DecodingKey,
}

/// A backend client (an EHR) registered with a tenant.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client id, which its assertions carry as `iss` and `sub`.
    pub id: String,
    keys: Vec<RegisteredKey>,
    /// The most this client may be granted; a token request gets the part
    /// of what it asks for that lies within this.
    pub allowed: Scopes,
}

impl Client {
    /// Registers a client with its JWK Set (`{"keys":[...]}`), refusing a
    /// set that is not JSON or not a set, an empty set, or any key that
    /// has a private part, an `alg` other than RS384/ES384, a `use` other
    /// than `sig`, an unsupported `kty` or curve (EC must be P-384), an
    /// RSA modulus under 2048 bits, or a `kid` another key already has.
    /// The error names the key (index and `kid`) and the reason.
    pub fn new(id: String, jwks_json: &str, allowed: Scopes) -> Result<Client, SmartError> {
        if id.is_empty() {
            return Err(SmartError::InvalidRequest("the client id is empty".into()));
        }
        let set: Value = serde_json::from_str(jwks_json)
            .map_err(|e| SmartError::InvalidJwks(format!("not JSON: {e}")))?;
        let Some(entries) = set.get("keys").and_then(Value::as_array) else {
            return Err(SmartError::InvalidJwks(
                "expected a JWK Set, an object with a \"keys\" array".into(),
            ));
        };
        if entries.is_empty() {
            return Err(SmartError::InvalidJwks("the set has no keys".into()));
        }
        let mut keys: Vec<RegisteredKey> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let key = parse_key(index, entry)?;
            if let Some(kid) = &key.kid
                && keys.iter().any(|k| k.kid.as_ref() == Some(kid))
            {
                return Err(SmartError::InvalidKey {
                    key: describe(index, key.kid.as_deref()),
                    reason: "another key of the set has the same kid".into(),
                });
            }
            keys.push(key);
        }
        Ok(Client { id, keys, allowed })
    }

    /// The registered keys, for the assertion check.
    pub(crate) fn keys(&self) -> &[RegisteredKey] {
        &self.keys
    }
}

/// How an error names a key: `#index` and its `kid` if it has one.
fn describe(index: usize, kid: Option<&str>) -> String {
    match kid {
        Some(kid) => format!("#{index} (kid {:?})", echo(kid)),
        None => format!("#{index}"),
    }
}

fn parse_key(index: usize, entry: &Value) -> Result<RegisteredKey, SmartError> {
    let Some(jwk) = entry.as_object() else {
        return Err(SmartError::InvalidKey {
            key: describe(index, None),
            reason: "not a JSON object".into(),
        });
    };
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => {
            return Err(SmartError::InvalidKey {
                key: describe(index, None),
                reason: "kid is not a string".into(),
            });
        }
    };
    let refuse = |reason: String| SmartError::InvalidKey {
        key: describe(index, kid.as_deref()),
        reason,
    };

    if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| jwk.contains_key(**m)) {
        return Err(refuse(format!(
            "it contains private key material ({member:?}); register only the public key, \
             and replace this key pair, since its private half has been shared"
        )));
    }
    let kty = match string_member(jwk, "kty") {
        Some("RSA") => KeyType::Rsa,
        Some("EC") => KeyType::Ec,
        Some(other) => {
            return Err(refuse(format!(
                "kty {:?} is not supported; use RSA or EC",
                echo(other)
            )));
        }
        None => return Err(refuse("kty is missing".into())),
    };
    match (jwk.get("alg"), kty) {
        (None, _) => {}
        (Some(Value::String(alg)), KeyType::Rsa) if alg == "RS384" => {}
        (Some(Value::String(alg)), KeyType::Ec) if alg == "ES384" => {}
        (Some(alg), KeyType::Rsa) => {
            return Err(refuse(format!(
                "alg {alg} is not accepted for an RSA key; use RS384"
            )));
        }
        (Some(alg), KeyType::Ec) => {
            return Err(refuse(format!(
                "alg {alg} is not accepted for an EC key; use ES384"
            )));
        }
    }
    if let Some(key_use) = jwk.get("use")
        && key_use.as_str() != Some("sig")
    {
        return Err(refuse(format!("use {key_use} is not \"sig\"")));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err(refuse("key_ops does not include \"verify\"".into()));
        }
    }

    let key = match kty {
        KeyType::Rsa => {
            let n = bytes_member(jwk, "n").map_err(&refuse)?;
            let e = bytes_member(jwk, "e").map_err(&refuse)?;
            let bits = bit_length(&n);
            if bits < MIN_RSA_BITS {
                return Err(refuse(format!(
                    "the RSA modulus has {bits} bits; at least {MIN_RSA_BITS} are required"
                )));
            }
            if bits > MAX_RSA_BITS {
                return Err(refuse(format!(
                    "the RSA modulus has {bits} bits; at most {MAX_RSA_BITS} are supported"
                )));
            }
            if bit_length(&e) < 2 {
                return Err(refuse("the RSA exponent e is not usable".into()));
            }
            DecodingKey::from_rsa_raw_components(&n, &e)
        }
        KeyType::Ec => {
            match string_member(jwk, "crv") {
                Some("P-384") => {}
                Some(other) => {
                    return Err(refuse(format!(
                        "curve {:?} is not supported; ES384 needs P-384",
                        echo(other)
                    )));
                }
                None => return Err(refuse("crv is missing".into())),
            }
            let x = bytes_member(jwk, "x").map_err(&refuse)?;
            let y = bytes_member(jwk, "y").map_err(&refuse)?;
            if x.len() != P384_COORDINATE_BYTES || y.len() != P384_COORDINATE_BYTES {
                return Err(refuse(format!(
                    "x and y must be {P384_COORDINATE_BYTES} bytes each for P-384"
                )));
            }
            // The uncompressed SEC1 point, as the ES384 verifier takes it.
            let mut point = Vec::with_capacity(1 + 2 * P384_COORDINATE_BYTES);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            DecodingKey::from_ec_der(&point)
        }
    };
    Ok(RegisteredKey { kid, kty, key })
}

fn string_member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

/// A base64url member's bytes (padding tolerated, as some tools add it).
fn bytes_member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let Some(text) = string_member(jwk, name) else {
        return Err(format!("{name} is missing or not a string"));
    };
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| format!("{name} is not base64url"))
}

/// The number of significant bits in a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        Some(first) => (bytes.len() - first - 1) * 8 + (8 - bytes[first].leading_zeros() as usize),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_counts_from_the_first_set_bit() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x01, 0x00, 0x01]), 17);
    }
}
