//! The token endpoint's request and answer, and the access tokens it
//! issues.
//!
//! Access tokens are short-lived HS256 JWTs (RFC 9068's `at+jwt`) signed
//! with the installation's secret, so the FHIR API checks one with no
//! database read. What the token may do is in it: its tenant, the FHIR
//! base URL it is for, and its granted scopes. A token is only accepted by
//! the tenant and base URL it was issued for, and only as HS256 `at+jwt`:
//! a client assertion (RS384/ES384, typ `JWT`) is never an access token.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::{AccessTokenProblem, SmartError, echo};
use super::scopes::Scopes;

/// The shortest secret accepted for signing access tokens: HS256's key
/// should be at least as long as its hash (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;
/// The JWT `typ` of Tillit's access tokens (RFC 9068 §2.1).
const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The `grant_type` of SMART Backend Services.
const CLIENT_CREDENTIALS: &str = "client_credentials";
/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What an access token says: who may use it, where, for what, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The tenant it was issued by; no other tenant accepts it.
    pub tenant: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The FHIR base URL it is for (its JWT `aud`).
    pub aud: String,
    /// What it permits.
    pub scope: Scopes,
    /// When it expires (unix seconds).
    pub exp: i64,
    /// When it was issued (unix seconds).
    pub iat: i64,
    /// Its unique id, for logs and audit.
    pub jti: String,
}

/// The JWT claims as written, with RFC 9068's names: `sub` and `client_id`
/// are both the client, since no user is involved.
#[derive(Serialize, Deserialize)]
struct WireClaims {
    sub: String,
    client_id: String,
    aud: String,
    tenant: String,
    scope: Scopes,
    exp: i64,
    iat: i64,
    jti: String,
}

/// Signs an access token (HS256, `typ` `at+jwt`) with the installation's
/// secret, which must be at least 32 bytes. The kernel passes a short
/// life: `exp` = now + 300.
pub fn issue_access_token(secret: &[u8], claims: &AccessClaims) -> Result<String, SmartError> {
    check_secret(secret)?;
    let key = EncodingKey::from_secret(secret).map_err(|e| SmartError::Signing(e.to_string()))?;
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    let wire = WireClaims {
        sub: claims.client_id.clone(),
        client_id: claims.client_id.clone(),
        aud: claims.aud.clone(),
        tenant: claims.tenant.clone(),
        scope: claims.scope.clone(),
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti.clone(),
    };
    jsonwebtoken::encode(&header, &wire, &key).map_err(|e| SmartError::Signing(e.to_string()))
}

/// Verifies an access token for `tenant` and FHIR base URL `aud` at time
/// `now` (unix seconds): an HS256 `at+jwt` signed with `secret`, not
/// expired, issued for exactly this tenant and base URL. No database read.
pub fn verify_access_token(
    secret: &[u8],
    token: &str,
    tenant: &str,
    aud: &str,
    now: i64,
) -> Result<AccessClaims, SmartError> {
    check_secret(secret)?;
    let refused = |problem| SmartError::InvalidAccessToken(problem);
    let malformed = |why: String| refused(AccessTokenProblem::Malformed(why));

    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| malformed("not a JWT with a known alg".into()))?;
    if header.alg != Algorithm::HS256 {
        return Err(malformed(format!("alg {:?} is not HS256", header.alg)));
    }
    if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(malformed(format!("typ is not {ACCESS_TOKEN_TYP}")));
    }

    let key = DecodingKey::from_secret(secret).map_err(|e| SmartError::Signing(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let wire = match jsonwebtoken::decode::<WireClaims>(token, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature | ErrorKind::Base64(_)) => {
            return Err(refused(AccessTokenProblem::Signature));
        }
        Err(e) => return Err(malformed(e.to_string())),
    };

    if wire.tenant != tenant {
        return Err(refused(AccessTokenProblem::WrongTenant));
    }
    if wire.aud != aud {
        return Err(refused(AccessTokenProblem::WrongAudience));
    }
    if wire.exp <= now {
        return Err(refused(AccessTokenProblem::Expired { exp: wire.exp, now }));
    }
    Ok(AccessClaims {
        tenant: wire.tenant,
        client_id: wire.client_id,
        aud: wire.aud,
        scope: wire.scope,
        exp: wire.exp,
        iat: wire.iat,
        jti: wire.jti,
    })
}

fn check_secret(secret: &[u8]) -> Result<(), SmartError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(SmartError::WeakSecret(secret.len()));
    }
    Ok(())
}

/// The token endpoint's JSON answer body (RFC 6749 §5.1):
/// `access_token`, `token_type` `Bearer`, `expires_in` and the granted
/// `scope`, which may be less than the client asked for.
pub fn token_response(token: &str, expires_in: i64, scope: &Scopes) -> serde_json::Value {
    json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": scope.to_scope_string(),
    })
}

/// The parts of a token request the kernel acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The requested scopes, as sent (parse them leniently and grant).
    pub scope: String,
    /// The client assertion JWT, for [`verify_assertion`](super::verify_assertion).
    pub assertion: String,
}

/// Reads a token request's form (`application/x-www-form-urlencoded`,
/// decoded into pairs): `grant_type` must be `client_credentials`,
/// `client_assertion_type` the JWT bearer type, and `client_assertion` and
/// `scope` present. A parameter sent twice is refused (RFC 6749 §3.2).
pub fn parse_token_request(form: &[(String, String)]) -> Result<TokenRequest, SmartError> {
    for (i, (name, _)) in form.iter().enumerate() {
        if form[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(SmartError::InvalidRequest(format!(
                "parameter {:?} is sent more than once",
                echo(name)
            )));
        }
    }
    let get = |name: &str| {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| SmartError::InvalidRequest(format!("parameter {name} is missing")))
    };

    let grant_type = get("grant_type")?;
    if grant_type != CLIENT_CREDENTIALS {
        return Err(SmartError::UnsupportedGrantType(echo(grant_type)));
    }
    let assertion_type = get("client_assertion_type")?;
    if assertion_type != JWT_BEARER {
        return Err(SmartError::InvalidRequest(format!(
            "client_assertion_type must be {JWT_BEARER}"
        )));
    }
    let assertion = get("client_assertion")?;
    let scope = get("scope")?;
    Ok(TokenRequest {
        scope: scope.to_owned(),
        assertion: assertion.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    const GOOD: [(&str, &str); 4] = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", "a.b.c"),
        ("scope", "system/Patient.rs"),
    ];

    #[test]
    fn a_complete_request_is_read() {
        let request = parse_token_request(&form(&GOOD)).unwrap();
        assert_eq!(request.assertion, "a.b.c");
        assert_eq!(request.scope, "system/Patient.rs");
    }

    #[test]
    fn another_grant_type_is_unsupported() {
        let mut pairs = GOOD;
        pairs[0] = ("grant_type", "authorization_code");
        let err = parse_token_request(&form(&pairs)).unwrap_err();
        assert_eq!(
            err,
            SmartError::UnsupportedGrantType("authorization_code".into())
        );
        assert_eq!(err.oauth_error().1["error"], "unsupported_grant_type");
    }

    #[test]
    fn missing_wrong_or_repeated_parameters_are_invalid_requests() {
        for (missing, (name, _)) in GOOD.iter().enumerate() {
            let pairs: Vec<_> = GOOD
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != missing)
                .map(|(_, p)| *p)
                .collect();
            let err = parse_token_request(&form(&pairs)).unwrap_err();
            assert_eq!(err.oauth_error().0, 400);
            assert_eq!(err.oauth_error().1["error"], "invalid_request", "{err}");
            assert!(err.to_string().contains(name), "{err}");
        }

        let mut pairs = GOOD;
        pairs[1] = (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        );
        let err = parse_token_request(&form(&pairs)).unwrap_err();
        assert!(matches!(err, SmartError::InvalidRequest(_)));

        let mut repeated = GOOD.to_vec();
        repeated.push(("scope", "system/*.cruds"));
        let err = parse_token_request(&form(&repeated)).unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");

        let mut empty = GOOD;
        empty[2] = ("client_assertion", "");
        let err = parse_token_request(&form(&empty)).unwrap_err();
        assert!(err.to_string().contains("client_assertion"), "{err}");
    }

    #[test]
    fn the_response_carries_the_granted_scope() {
        let scope = Scopes::parse_strict("system/Patient.read").unwrap();
        let body = token_response("tok", 300, &scope);
        assert_eq!(
            body,
            json!({
                "access_token": "tok",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "system/Patient.rs",
            })
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        let claims = AccessClaims {
            tenant: "t".into(),
            client_id: "c".into(),
            aud: "https://x/fhir/R4".into(),
            scope: Scopes::default(),
            exp: 2,
            iat: 1,
            jti: "j".into(),
        };
        assert_eq!(
            issue_access_token(&[7; 31], &claims),
            Err(SmartError::WeakSecret(31))
        );
        assert!(matches!(
            verify_access_token(&[7; 31], "a.b.c", "t", "https://x/fhir/R4", 1),
            Err(SmartError::WeakSecret(31))
        ));
    }
}
