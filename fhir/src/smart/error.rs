//! Every way a SMART request can be refused, and the OAuth2 answer for it.
//!
//! The variants are grouped by where they arise (the token request, the
//! scopes, a client's registration, the client assertion, an access token),
//! so the kernel can answer each with the status and `error` code the RFCs
//! fix without looking at the reason, and tests can match the reason.
//! Descriptions name what was wrong and what was expected, never a key or a
//! secret: they go back to the caller.

use serde_json::json;

/// The longest caller-supplied value an error message repeats; longer ones
/// are cut, so a hostile request cannot make the answer (or a log) huge.
const ECHO_LIMIT: usize = 80;

/// A caller-supplied value, shortened for an error message.
pub(crate) fn echo(value: &str) -> String {
    if value.chars().count() <= ECHO_LIMIT {
        value.to_owned()
    } else {
        let cut: String = value.chars().take(ECHO_LIMIT).collect();
        format!("{cut}…")
    }
}

/// Why SMART refused a request, a registration or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmartError {
    /// The token request's `grant_type` is not `client_credentials`.
    #[error("grant_type {0:?} is not supported; use client_credentials")]
    UnsupportedGrantType(String),
    /// The token request lacks a parameter, repeats one, or has a wrong
    /// `client_assertion_type`.
    #[error("{0}")]
    InvalidRequest(String),
    /// A scope that is not a SMART v1 or v2 system scope (or not one Tillit
    /// understands), when parsed strictly.
    #[error("scope {token:?} is not accepted: {reason}")]
    InvalidScope {
        /// The offending scope token as the client wrote it (shortened).
        token: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client asked only for scopes its registration does not allow.
    #[error("none of the requested scopes ({requested:?}) is allowed for this client")]
    ScopeNotGranted {
        /// The requested scope string (shortened).
        requested: String,
    },
    /// A JWK Set offered at registration is not a usable set as a whole.
    #[error("the JWK Set is refused: {0}")]
    InvalidJwks(String),
    /// One key of a JWK Set offered at registration is refused.
    #[error("key {key} of the JWK Set is refused: {reason}")]
    InvalidKey {
        /// Which key: its index in `keys` and its `kid` when it has one.
        key: String,
        /// Why it is refused.
        reason: String,
    },
    /// The client assertion does not authenticate a registered client.
    #[error("client assertion refused: {0}")]
    InvalidAssertion(AssertionProblem),
    /// An access token presented to the FHIR API is not valid here and now.
    #[error("access token refused: {0}")]
    InvalidAccessToken(AccessTokenProblem),
    /// The installation's token secret is too short to sign with.
    #[error("the access-token secret has {0} bytes; at least 32 are needed")]
    WeakSecret(usize),
    /// Signing an access token failed (not expected with a valid secret).
    #[error("signing the access token failed: {0}")]
    Signing(String),
}

/// What is wrong with a client assertion (RFC 7523 §3, SMART Backend
/// Services' authentication JWT).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionProblem {
    /// Not a signed JWT that can be read (three base64url parts of JSON).
    #[error("not a readable JWT: {0}")]
    Malformed(String),
    /// The header's `alg` is not RS384 or ES384 (`none`, HS256, RS256, …).
    #[error("alg {0:?} is not accepted; sign with RS384 or ES384")]
    Algorithm(String),
    /// A claim that must be there is missing or not of its type.
    #[error("claim {0:?} is missing or not of the right type")]
    MissingClaim(&'static str),
    /// No registered client has the assertion's `iss` as its id.
    #[error("no client is registered with id {0:?} (the assertion's iss)")]
    UnknownClient(String),
    /// `sub` differs from `iss`; both must be the client id.
    #[error("sub {sub:?} differs from iss {iss:?}; both must be the client id")]
    SubjectMismatch {
        /// The assertion's `iss`.
        iss: String,
        /// The assertion's `sub`.
        sub: String,
    },
    /// `aud` is not (and does not contain) the token endpoint's URL.
    #[error("aud does not name this token endpoint; it must be {expected:?}")]
    Audience {
        /// The token endpoint URL the assertion must be addressed to.
        expected: String,
    },
    /// `exp` is not after the server's time.
    #[error("expired: exp {exp} is not after the server's time {now}")]
    Expired {
        /// The assertion's `exp`.
        exp: i64,
        /// The server's time.
        now: i64,
    },
    /// `exp` is more than five minutes ahead, which SMART forbids.
    #[error("exp {exp} is more than 300 s after the server's time {now}")]
    ExpiresTooLate {
        /// The assertion's `exp`.
        exp: i64,
        /// The server's time.
        now: i64,
    },
    /// `nbf` or `iat` lies in the future beyond the allowed clock skew.
    #[error("{claim} {value} is in the future (server time {now}, 60 s skew allowed)")]
    NotYetValid {
        /// `nbf` or `iat`.
        claim: &'static str,
        /// Its value.
        value: i64,
        /// The server's time.
        now: i64,
    },
    /// `jti` is empty or longer than 255 characters.
    #[error("jti must be 1 to 255 characters long, it has {0}")]
    JtiLength(usize),
    /// The header's `kid` names no key the client registered.
    #[error("kid {0:?} names no key registered for this client")]
    UnknownKid(String),
    /// The client registered no key of the kind the `alg` needs.
    #[error("the client registered no {kty} key, which alg {alg} needs")]
    NoKeyForAlgorithm {
        /// The header's `alg`.
        alg: &'static str,
        /// The key type it needs (`RSA` or `EC`).
        kty: &'static str,
    },
    /// The key named by `kid` is of another type than the `alg` needs.
    #[error("kid {kid:?} is not a {kty} key, which alg {alg} needs")]
    KeyTypeMismatch {
        /// The header's `kid`.
        kid: String,
        /// The header's `alg`.
        alg: &'static str,
        /// The key type it needs.
        kty: &'static str,
    },
    /// No registered key verifies the signature.
    #[error("the signature does not verify with the client's registered keys")]
    Signature,
    /// The `jti` was used before: an assertion is good for one token only
    /// (the kernel, which remembers them, says so).
    #[error("this assertion's jti was used before; sign a new assertion for each token request")]
    Replayed,
}

/// What is wrong with an access token presented to the FHIR API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessTokenProblem {
    /// Not a token Tillit issued (not a readable JWT, not HS256 `at+jwt`,
    /// missing claims).
    #[error("not an access token issued here: {0}")]
    Malformed(String),
    /// The signature does not verify with the installation's secret.
    #[error("the signature does not verify")]
    Signature,
    /// The token's `exp` is not after the server's time.
    #[error("expired at {exp} (server time {now})")]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The server's time.
        now: i64,
    },
    /// The token was issued for another tenant.
    #[error("issued for another tenant")]
    WrongTenant,
    /// The token was issued for another FHIR base URL.
    #[error("issued for another FHIR base URL")]
    WrongAudience,
}

impl SmartError {
    /// The HTTP status and OAuth2 error body (RFC 6749 §5.2) to answer with.
    ///
    /// A bad client assertion is `401 invalid_client` (RFC 6749 §5.2,
    /// RFC 7523 §3.2), a scope problem `400 invalid_scope`. An access-token
    /// problem is `401 invalid_token` (RFC 6750 §3.1), for the FHIR API's
    /// `WWW-Authenticate` answer. Registration problems never reach the
    /// token endpoint; they map to `400 invalid_request` for an admin API.
    /// A weak secret or a failed signature is the installation's fault:
    /// `500 server_error`, with no detail for the caller.
    pub fn oauth_error(&self) -> (u16, serde_json::Value) {
        let (status, code) = match self {
            SmartError::UnsupportedGrantType(_) => (400, "unsupported_grant_type"),
            SmartError::InvalidRequest(_) => (400, "invalid_request"),
            SmartError::InvalidScope { .. } | SmartError::ScopeNotGranted { .. } => {
                (400, "invalid_scope")
            }
            SmartError::InvalidJwks(_) | SmartError::InvalidKey { .. } => (400, "invalid_request"),
            SmartError::InvalidAssertion(_) => (401, "invalid_client"),
            SmartError::InvalidAccessToken(_) => (401, "invalid_token"),
            SmartError::WeakSecret(_) | SmartError::Signing(_) => {
                return (
                    500,
                    json!({
                        "error": "server_error",
                        "error_description": "the server could not issue a token",
                    }),
                );
            }
        };
        (
            status,
            json!({ "error": code, "error_description": self.to_string() }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_shortens_long_caller_values() {
        assert_eq!(echo("short"), "short");
        let long = "x".repeat(500);
        let shown = echo(&long);
        assert_eq!(shown.chars().count(), ECHO_LIMIT + 1);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn server_faults_hide_their_detail() {
        let (status, body) = SmartError::Signing("aws-lc said no".into()).oauth_error();
        assert_eq!(status, 500);
        assert_eq!(body["error"], "server_error");
        assert!(!body.to_string().contains("aws-lc"));
    }
}
