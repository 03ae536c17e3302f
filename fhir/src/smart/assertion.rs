//! The client assertion: the signed JWT with which a backend client
//! authenticates at the token endpoint (`private_key_jwt`, RFC 7523 §2.2,
//! as SMART Backend Services profiles it).
//!
//! The order of the checks is deliberate: the header's `alg` is checked
//! against RS384/ES384 before any key is touched (so `none`, HS256 signed
//! with a public key, or RS256 never reach a verifier); the client is found
//! by `iss` and the signature verified with its keys; only then are the
//! claims judged, so nothing about the claims is told to a caller that
//! cannot sign for the client. Time comes from the caller (the kernel's
//! clock), never from the system, so tests fix it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

use super::clients::{Client, KeyType, RegisteredKey};
use super::error::{AssertionProblem, SmartError, echo};

/// The longest an assertion may be valid for: SMART says `exp` is no more
/// than five minutes in the future.
const MAX_LIFETIME_SECS: i64 = 300;
/// How far `nbf` and `iat` may lie ahead of the server's clock.
const CLOCK_SKEW_SECS: i64 = 60;
/// The longest `jti` accepted (the kernel stores it to refuse replays).
const MAX_JTI_CHARS: usize = 255;

/// An assertion that authenticated a client; the kernel refuses it if it
/// has seen the `jti` before, and keeps the `jti` until `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The authenticated client's id.
    pub client_id: String,
    /// The assertion's `jti`, for the kernel's replay check.
    pub jti: String,
    /// The assertion's `exp` (unix seconds): after it the assertion is
    /// refused anyway, so the kernel may forget the `jti` then.
    pub exp: i64,
}

fn refused(problem: AssertionProblem) -> SmartError {
    SmartError::InvalidAssertion(problem)
}

/// Verifies a client assertion JWT addressed to `token_url` at time `now`
/// (unix seconds), and returns what the kernel needs with the client it
/// authenticates.
///
/// The header's `alg` must be RS384 or ES384; a `kid` selects the client's
/// key, else each key of the matching type is tried. `iss` and `sub` must
/// both be the id of a client in `clients`; `aud` must be `token_url` (or
/// an array containing it); `exp` must be after `now` and at most 300 s
/// ahead; `jti` must be 1–255 characters; `nbf` and `iat`, when present,
/// no more than 60 s ahead. Replays are not checked here: the kernel
/// stores the returned `jti`.
pub fn verify_assertion<'c>(
    assertion: &str,
    clients: &'c [Client],
    token_url: &str,
    now: i64,
) -> Result<(Verified, &'c Client), SmartError> {
    let (alg, kid) = read_header(assertion)?;

    // The client is found by the unverified `iss`; the signature check
    // below, with that client's keys, is what makes it trustworthy.
    let unverified: Value = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|e| refused(AssertionProblem::Malformed(e.to_string())))?;
    let Some(iss) = unverified.get("iss").and_then(Value::as_str) else {
        return Err(refused(AssertionProblem::MissingClaim("iss")));
    };
    let Some(client) = clients.iter().find(|c| c.id == iss) else {
        return Err(refused(AssertionProblem::UnknownClient(echo(iss))));
    };

    let claims = verify_signature(assertion, alg, kid.as_deref(), client)?;
    let verified = check_claims(&claims, client, token_url, now)?;
    Ok((verified, client))
}

/// The header's accepted `alg` and its `kid`, read before any key is used.
fn read_header(assertion: &str) -> Result<(Algorithm, Option<String>), SmartError> {
    let malformed = |why: &str| refused(AssertionProblem::Malformed(why.to_owned()));
    let mut parts = assertion.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected three dot-separated parts"));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| malformed("the header is not base64url"))?;
    let header: Value =
        serde_json::from_slice(&header).map_err(|_| malformed("the header is not JSON"))?;
    let alg = match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS384" => Algorithm::RS384,
        Some(Value::String(alg)) if alg == "ES384" => Algorithm::ES384,
        Some(Value::String(alg)) => return Err(refused(AssertionProblem::Algorithm(echo(alg)))),
        _ => return Err(malformed("the header has no alg")),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(malformed("the header's kid is not a string")),
    };
    Ok((alg, kid))
}

/// The claims, once a registered key of `client` verifies the signature.
fn verify_signature(
    assertion: &str,
    alg: Algorithm,
    kid: Option<&str>,
    client: &Client,
) -> Result<Value, SmartError> {
    let (kty, alg_name, kty_name) = match alg {
        Algorithm::ES384 => (KeyType::Ec, "ES384", "EC"),
        _ => (KeyType::Rsa, "RS384", "RSA"),
    };
    let candidates: Vec<&RegisteredKey> = match kid {
        Some(kid) => {
            let Some(key) = client.keys().iter().find(|k| k.kid.as_deref() == Some(kid)) else {
                return Err(refused(AssertionProblem::UnknownKid(echo(kid))));
            };
            if key.kty != kty {
                return Err(refused(AssertionProblem::KeyTypeMismatch {
                    kid: echo(kid),
                    alg: alg_name,
                    kty: kty_name,
                }));
            }
            vec![key]
        }
        None => client.keys().iter().filter(|k| k.kty == kty).collect(),
    };
    if candidates.is_empty() {
        return Err(refused(AssertionProblem::NoKeyForAlgorithm {
            alg: alg_name,
            kty: kty_name,
        }));
    }

    // Only the signature is checked here; every claim is checked below
    // against the caller's clock, not the system's.
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();

    for candidate in candidates {
        match jsonwebtoken::decode::<Value>(assertion, &candidate.key, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
            // A signature that is not even the right shape for the key is
            // still a signature this key does not verify.
            Err(e) if matches!(e.kind(), ErrorKind::Base64(_) | ErrorKind::Provider(_)) => {
                continue;
            }
            Err(e) => return Err(refused(AssertionProblem::Malformed(e.to_string()))),
        }
    }
    Err(refused(AssertionProblem::Signature))
}

fn check_claims(
    claims: &Value,
    client: &Client,
    token_url: &str,
    now: i64,
) -> Result<Verified, SmartError> {
    let string = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| refused(AssertionProblem::MissingClaim(name)))
    };

    let iss = string("iss")?;
    if iss != client.id {
        // The signed claims differ from the ones the client was found by.
        return Err(refused(AssertionProblem::UnknownClient(echo(iss))));
    }
    let sub = string("sub")?;
    if sub != iss {
        return Err(refused(AssertionProblem::SubjectMismatch {
            iss: echo(iss),
            sub: echo(sub),
        }));
    }

    let addressed_here = match claims.get("aud") {
        Some(Value::String(aud)) => aud == token_url,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(token_url)),
        _ => return Err(refused(AssertionProblem::MissingClaim("aud"))),
    };
    if !addressed_here {
        return Err(refused(AssertionProblem::Audience {
            expected: token_url.to_owned(),
        }));
    }

    let Some(exp) = numeric_date(claims, "exp")? else {
        return Err(refused(AssertionProblem::MissingClaim("exp")));
    };
    if exp <= now {
        return Err(refused(AssertionProblem::Expired { exp, now }));
    }
    if exp > now.saturating_add(MAX_LIFETIME_SECS) {
        return Err(refused(AssertionProblem::ExpiresTooLate { exp, now }));
    }
    for claim in ["nbf", "iat"] {
        if let Some(value) = numeric_date(claims, claim)?
            && value > now.saturating_add(CLOCK_SKEW_SECS)
        {
            return Err(refused(AssertionProblem::NotYetValid { claim, value, now }));
        }
    }

    let jti = string("jti")?;
    let jti_chars = jti.chars().count();
    if jti_chars == 0 || jti_chars > MAX_JTI_CHARS {
        return Err(refused(AssertionProblem::JtiLength(jti_chars)));
    }

    Ok(Verified {
        client_id: client.id.clone(),
        jti: jti.to_owned(),
        exp,
    })
}

/// A NumericDate claim (RFC 7519 §2) in whole seconds, `None` if absent.
/// Fractions are cut, as no check here needs them.
fn numeric_date(claims: &Value, name: &'static str) -> Result<Option<i64>, SmartError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(whole) = n.as_i64() {
                Ok(Some(whole))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.trunc() as i64)),
                    _ => Err(refused(AssertionProblem::MissingClaim(name))),
                }
            }
        }
        Some(_) => Err(refused(AssertionProblem::MissingClaim(name))),
    }
}
