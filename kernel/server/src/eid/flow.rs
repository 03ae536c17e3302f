//! The authorisation code flow with PKCE, from the redirect to the
//! provider to the identity it vouches for.

use openidconnect::core::{CoreAuthenticationFlow, CoreGenderClaim, CoreJwsSigningAlgorithm};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthType, AuthenticationContextClass, AuthorizationCode,
    ClientId, ClientSecret, CsrfToken, IdTokenVerifier, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SubjectIdentifier, TokenResponse as _,
    UserInfoClaims,
};
use tillit_app::sessions::Identity;
use tillit_domain::{HsaId, Personnummer, Timestamp};

use super::Failure;
use super::pending::Pending;
use super::provider::{Metadata, OidcClient, OtherClaims, Providers, error_chain};
use crate::tenants::{ClientAuth, IdentityKind, LoginMethod};

/// The signature algorithms an ID token may use: asymmetric ones only, so
/// `none` and HS256 (signed with the client secret, which the provider's
/// other clients' operators might know) are refused.
const ID_TOKEN_ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A login sent to the provider: where to send the browser, and what to
/// keep for the callback.
#[derive(Debug)]
pub struct Started {
    pub url: String,
    pub pending: Pending,
}

/// What a provider vouched for in a completed login.
#[derive(Debug)]
pub struct Verified {
    pub identity: Identity,
    /// The provider's subject and session, for its logout calls (never
    /// used to identify the person).
    pub subject: String,
    pub provider_session: Option<String>,
}

/// Starts a login with `method`: a fresh `state`, `nonce` and PKCE
/// verifier (S256), the method's scopes and `acr_values`, and the callback
/// at `redirect_uri`.
pub async fn start(
    providers: &Providers,
    method: &LoginMethod,
    redirect_uri: &str,
    next: &str,
    now: Timestamp,
) -> Result<Started, Failure> {
    let meta = providers.metadata(&method.issuer).await?;
    let client = client(&meta, method, redirect_uri)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in method.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    for acr in &method.acr_values {
        request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    Ok(Started {
        url: url.to_string(),
        pending: Pending {
            method: method.id.clone(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next: next.to_owned(),
            started_at: now.0,
        },
    })
}

/// Finishes a login: exchanges `code` (with the PKCE verifier and the
/// method's client authentication), checks the ID token in full (issuer,
/// audience, expiry at `now`, signature by the provider's keys with an
/// asymmetric algorithm, nonce, `at_hash`, `acr`), and reads the identity
/// from its claim, in the ID token or else at UserInfo.
pub async fn finish(
    providers: &Providers,
    method: &LoginMethod,
    pending: &Pending,
    code: &str,
    redirect_uri: &str,
    now: Timestamp,
) -> Result<Verified, Failure> {
    let meta = providers.metadata(&method.issuer).await?;
    let client = client(&meta, method, redirect_uri)?;
    let mut exchange = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| Failure::Provider(format!("no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()));
    if let ClientAuth::PrivateKey { .. } = &method.auth {
        let audience = meta
            .token_endpoint()
            .map(|u| u.to_string())
            .ok_or_else(|| Failure::Provider("no token endpoint".into()))?;
        exchange = exchange
            .add_extra_param("client_assertion_type", JWT_BEARER)
            .add_extra_param("client_assertion", assertion(method, &audience, now)?);
    }
    let token = exchange
        .request_async(&providers.http)
        .await
        .map_err(|e| match e {
            // The provider answered, and refused: a code used twice or too
            // late, a verifier that does not match, a client it does not
            // know.
            openidconnect::RequestTokenError::ServerResponse(r) => {
                Failure::Token(format!("the token endpoint refused: {}", r.error()))
            }
            other => Failure::Provider(format!("token: {}", error_chain(&other))),
        })?;
    let id_token = token
        .id_token()
        .ok_or_else(|| Failure::Token("the token response has no ID token".into()))?;
    let verifier = id_token_verifier(
        &method.client_id,
        &method.issuer,
        meta.jwks().clone(),
        method.accepted_acr.clone(),
        now,
    );
    let claims = match id_token.claims(&verifier, &Nonce::new(pending.nonce.clone())) {
        Ok(claims) => claims,
        Err(e) => {
            // A key the provider has rotated in since it was fetched: the
            // next login fetches the keys again.
            if matches!(
                e,
                openidconnect::ClaimsVerificationError::SignatureVerification(
                    openidconnect::SignatureVerificationError::NoMatchingKey
                )
            ) {
                providers.forget(&method.issuer);
            }
            return Err(Failure::Token(error_chain(&e)));
        }
    };
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(|e| Failure::Token(error_chain(&e)))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| Failure::Token(error_chain(&e)))?;
        let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
            .map_err(|e| Failure::Token(error_chain(&e)))?;
        if actual != *expected {
            return Err(Failure::Token(
                "at_hash does not match the access token".into(),
            ));
        }
    }
    let value = match claims.additional_claims().claims.get(&method.claim) {
        Some(v) => v.clone(),
        None => user_info(&client, providers, token.access_token(), claims.subject())
            .await?
            .additional_claims()
            .claims
            .get(&method.claim)
            .cloned()
            .ok_or_else(|| Failure::NoIdentity(format!("no claim {}", method.claim)))?,
    };
    Ok(Verified {
        identity: identity(method.identity, &value, now)?,
        subject: claims.subject().to_string(),
        provider_session: claims
            .additional_claims()
            .claims
            .get("sid")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
    })
}

/// The identity a claim's value gives, as the method says to read it.
pub fn identity(
    kind: IdentityKind,
    value: &serde_json::Value,
    now: Timestamp,
) -> Result<Identity, Failure> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err(Failure::NoIdentity("the claim is not a string".into())),
    };
    match kind {
        IdentityKind::Personnummer => Personnummer::parse_at(&text, now)
            .map(Identity::Personnummer)
            .map_err(|e| Failure::NoIdentity(format!("not a personnummer: {e:?}"))),
        IdentityKind::HsaId => HsaId::parse(&text)
            .map(Identity::HsaId)
            .map_err(|e| Failure::NoIdentity(format!("not an HSA-id: {e:?}"))),
    }
}

fn client(
    meta: &Metadata,
    method: &LoginMethod,
    redirect_uri: &str,
) -> Result<OidcClient, Failure> {
    let secret = match &method.auth {
        ClientAuth::Secret(s) => Some(ClientSecret::new(s.clone())),
        ClientAuth::PrivateKey { .. } => None,
    };
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|e| Failure::Provider(format!("redirect URI: {e}")))?;
    let client = OidcClient::from_provider_metadata(
        meta.clone(),
        ClientId::new(method.client_id.clone()),
        secret,
    )
    .set_redirect_uri(redirect);
    Ok(match method.auth {
        ClientAuth::Secret(_) => client.set_auth_type(AuthType::BasicAuth),
        ClientAuth::PrivateKey { .. } => client.set_auth_type(AuthType::RequestBody),
    })
}

/// How an ID token from `issuer` to `client_id` is checked at `now`: the
/// issuer exactly, this client in the audience (and as `azp` where there
/// are others), not expired, signed with an asymmetric algorithm by one
/// of the provider's `keys`, and with an `acr` among `accepted_acr` (when
/// the tenant names any). The nonce is the caller's to give.
pub fn id_token_verifier(
    client_id: &str,
    issuer: &str,
    keys: openidconnect::core::CoreJsonWebKeySet,
    accepted_acr: Vec<String>,
    now: Timestamp,
) -> IdTokenVerifier<'static, openidconnect::core::CoreJsonWebKey> {
    let at = chrono::DateTime::from_timestamp_millis(now.0).unwrap_or_default();
    IdTokenVerifier::new_public_client(
        ClientId::new(client_id.to_owned()),
        openidconnect::IssuerUrl::new(issuer.to_owned())
            .unwrap_or_else(|_| openidconnect::IssuerUrl::from_url(invalid_issuer())),
        keys,
    )
    .set_allowed_algs(ID_TOKEN_ALGORITHMS)
    .set_time_fn(move || at)
    .set_auth_context_verifier_fn(move |acr: Option<&AuthenticationContextClass>| {
        if accepted_acr.is_empty() {
            return Ok(());
        }
        match acr {
            Some(acr) if accepted_acr.iter().any(|a| a == acr.as_str()) => Ok(()),
            Some(acr) => Err(format!(
                "acr {} is not one the tenant accepts",
                acr.as_str()
            )),
            None => Err("no acr, and the tenant requires one".into()),
        }
    })
}

/// An issuer no token names, for a configured issuer that is not a URL
/// (the tenant file's check refuses those, so this is never met).
fn invalid_issuer() -> openidconnect::url::Url {
    openidconnect::url::Url::parse("invalid:issuer").expect("a valid URL")
}

async fn user_info(
    client: &OidcClient,
    providers: &Providers,
    access_token: &AccessToken,
    subject: &SubjectIdentifier,
) -> Result<UserInfoClaims<OtherClaims, CoreGenderClaim>, Failure> {
    client
        .user_info(access_token.clone(), Some(subject.clone()))
        .map_err(|e| Failure::NoIdentity(format!("not in the ID token, and no UserInfo: {e}")))?
        .request_async(&providers.http)
        .await
        .map_err(|e| Failure::Provider(format!("userinfo: {}", error_chain(&e))))
}

/// A `private_key_jwt` client assertion for the token endpoint
/// (`audience`), valid for a minute.
fn assertion(method: &LoginMethod, audience: &str, now: Timestamp) -> Result<String, Failure> {
    let ClientAuth::PrivateKey {
        pem,
        algorithm,
        key_id,
    } = &method.auth
    else {
        return Err(Failure::Provider("not a private_key_jwt client".into()));
    };
    let key = match algorithm {
        jsonwebtoken::Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(pem),
        _ => jsonwebtoken::EncodingKey::from_rsa_pem(pem),
    }
    .map_err(|e| Failure::Provider(format!("private key: {e}")))?;
    let mut header = jsonwebtoken::Header::new(*algorithm);
    header.kid.clone_from(key_id);
    let seconds = now.0 / 1000;
    let claims = serde_json::json!({
        "iss": method.client_id,
        "sub": method.client_id,
        "aud": audience,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": seconds,
        "exp": seconds + 60,
    });
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| Failure::Provider(format!("client assertion: {e}")))
}

#[cfg(test)]
mod tests {
    //! The ID token checks, against tokens forged as an attacker (or a
    //! broken provider) would make them. The happy paths and the
    //! provider's own refusals run against a real provider in
    //! `tests/http/eid.rs`.

    use openidconnect::core::{
        CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    };
    use openidconnect::{IdToken, Nonce};
    use serde_json::{Value, json};
    use tillit_domain::Timestamp;

    use super::{OtherClaims, id_token_verifier};

    use crate::eid::forged::{ISSUER, KEY, KEYS, NOW, OTHER_KEY, PUBLIC_PEM};

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "aud": "tillit", "sub": "pseudonym-1",
            "iat": NOW - 10, "exp": NOW + 300,
            "nonce": "the-nonce", "acr": "loa3", "ssn": "200002292381",
        })
    }

    fn signed(claims: &Value, key: &str) -> String {
        crate::eid::forged::signed(claims, key, "JWT")
    }

    fn unsigned(header: &Value, claims: &Value, signature: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string()),
            b64.encode(signature)
        )
    }

    fn hs256(claims: &Value, secret: &[u8]) -> String {
        crate::eid::forged::hs256(claims, secret, "JWT")
    }

    /// Whether the token passes the checks a login makes.
    fn accepted(token: &str, accepted_acr: &[&str]) -> Result<(), String> {
        let keys: CoreJsonWebKeySet = serde_json::from_str(KEYS).expect("the test keys");
        let verifier = id_token_verifier(
            "tillit",
            ISSUER,
            keys,
            accepted_acr.iter().map(|s| (*s).to_owned()).collect(),
            Timestamp(NOW * 1000),
        );
        let token: IdToken<
            OtherClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        > = token.parse().map_err(|e| format!("unparsable: {e}"))?;
        token
            .claims(&verifier, &Nonce::new("the-nonce".into()))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn with(change: &[(&str, Value)]) -> Value {
        crate::eid::forged::with(claims(), change)
    }

    #[test]
    fn a_good_token_passes() {
        assert_eq!(accepted(&signed(&claims(), KEY), &["loa3"]), Ok(()));
        assert_eq!(accepted(&signed(&claims(), KEY), &[]), Ok(()));
    }

    #[test]
    fn every_forged_or_stale_token_is_refused() {
        let cases: Vec<(&str, String)> = vec![
            (
                "wrong nonce",
                signed(&with(&[("nonce", json!("another"))]), KEY),
            ),
            ("no nonce", signed(&with(&[("nonce", Value::Null)]), KEY)),
            (
                "another issuer (mix-up)",
                signed(&with(&[("iss", json!("https://evil.example"))]), KEY),
            ),
            (
                "issuer with a trailing slash",
                signed(&with(&[("iss", json!(format!("{ISSUER}/")))]), KEY),
            ),
            (
                "another audience",
                signed(&with(&[("aud", json!("someone-else"))]), KEY),
            ),
            ("expired", signed(&with(&[("exp", json!(NOW - 1))]), KEY)),
            ("signed by another key", signed(&claims(), OTHER_KEY)),
            (
                "alg none",
                unsigned(&json!({"alg": "none", "typ": "JWT"}), &claims(), b""),
            ),
            (
                "HS256 with the public key as secret",
                hs256(&claims(), PUBLIC_PEM.as_bytes()),
            ),
            ("HS256 with a guessable secret", hs256(&claims(), b"secret")),
        ];
        for (what, token) in cases {
            assert!(accepted(&token, &["loa3"]).is_err(), "{what} was accepted");
        }
        // A signature over other claims.
        let good = signed(&claims(), KEY);
        let other = signed(&with(&[("ssn", json!("191212121212"))]), KEY);
        let mut parts: Vec<&str> = good.split('.').collect();
        parts[1] = other.split('.').nth(1).unwrap_or_default();
        assert!(
            accepted(&parts.join("."), &["loa3"]).is_err(),
            "a swapped payload was accepted"
        );
    }

    #[test]
    fn an_acr_below_what_the_tenant_accepts_is_refused() {
        let low = signed(&with(&[("acr", json!("loa2"))]), KEY);
        assert!(accepted(&low, &["loa3", "loa4"]).is_err());
        let none = signed(&with(&[("acr", Value::Null)]), KEY);
        assert!(accepted(&none, &["loa3"]).is_err());
        assert_eq!(accepted(&none, &[]), Ok(()));
    }
}
