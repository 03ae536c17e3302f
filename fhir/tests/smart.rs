//! SMART Backend Services as an EHR's backend meets it: registering its
//! keys, signing client assertions, getting and using access tokens, and
//! every forged or careless assertion and token being refused with the
//! OAuth2 error the RFCs prescribe.

// Helpers outside #[test] functions may unwrap too: a panic is the report.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tillit_fhir::smart::{
    AccessClaims, AccessTokenProblem, AssertionProblem, Client, Interaction, Scopes, SmartError,
    issue_access_token, parse_token_request, smart_configuration, token_response,
    verify_access_token, verify_assertion,
};

const NOW: i64 = 1_750_000_000;
const BASE: &str = "https://demo.example.se/fhir/R4";
const TOKEN_URL: &str = "https://demo.example.se/fhir/R4/auth/token";
const CLIENT_ID: &str = "journal-ehr";
const SECRET: &[u8] = b"installation-secret-of-at-least-32-bytes";

const REGISTERED_JWKS: &str = include_str!("keys/registered.jwks.json");
const RSA_PRIVATE: &[u8] = include_bytes!("keys/rsa-registered.pem");
const RSA_PUBLIC_PEM: &[u8] = include_bytes!("keys/rsa-registered.pub.pem");
const EC_PRIVATE: &[u8] = include_bytes!("keys/ec-p384-registered.pem");
const RSA_UNREGISTERED: &[u8] = include_bytes!("keys/rsa-unregistered.pem");

fn allowance() -> Scopes {
    Scopes::parse_strict("system/Patient.rs system/Appointment.cruds").unwrap()
}

fn clients() -> Vec<Client> {
    vec![
        Client::new("other-ehr".into(), REGISTERED_JWKS, Scopes::default()).unwrap(),
        Client::new(CLIENT_ID.into(), REGISTERED_JWKS, allowance()).unwrap(),
    ]
}

fn claims() -> Value {
    json!({
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": TOKEN_URL,
        "exp": NOW + 240,
        "iat": NOW,
        "jti": "6b4d2c0e-assertion-1",
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn rs384(claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap();
    sign(Algorithm::RS384, Some("rsa-1"), &key, claims)
}

fn es384(claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    sign(Algorithm::ES384, Some("ec-1"), &key, claims)
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// The assertion's refusal, checked to be a `401 invalid_client`.
fn refusal(assertion: &str) -> AssertionProblem {
    let clients = clients();
    match verify_assertion(assertion, &clients, TOKEN_URL, NOW) {
        Err(err @ SmartError::InvalidAssertion(_)) => {
            let (status, body) = err.oauth_error();
            assert_eq!(status, 401, "{err}");
            assert_eq!(body["error"], "invalid_client", "{err}");
            assert!(!body["error_description"].as_str().unwrap().is_empty());
            let SmartError::InvalidAssertion(problem) = err else {
                unreachable!()
            };
            problem
        }
        Err(other) => panic!("expected an assertion refusal, got {other:?}"),
        Ok((verified, _)) => panic!("expected a refusal, accepted {verified:?}"),
    }
}

fn accepted(assertion: &str) -> (String, String, i64) {
    let clients = clients();
    let (verified, client) = verify_assertion(assertion, &clients, TOKEN_URL, NOW).unwrap();
    assert_eq!(client.id, verified.client_id);
    assert_eq!(client.allowed, allowance());
    (verified.client_id, verified.jti, verified.exp)
}

// --- Accepted assertions ---

#[test]
fn rs384_and_es384_assertions_authenticate_the_client() {
    let expected = (
        CLIENT_ID.to_owned(),
        "6b4d2c0e-assertion-1".to_owned(),
        NOW + 240,
    );
    assert_eq!(accepted(&rs384(&claims())), expected);
    assert_eq!(accepted(&es384(&claims())), expected);
}

#[test]
fn without_kid_each_key_of_the_right_type_is_tried() {
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap();
    let ec = EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    assert_eq!(
        accepted(&sign(Algorithm::RS384, None, &rsa, &claims())).0,
        CLIENT_ID
    );
    assert_eq!(
        accepted(&sign(Algorithm::ES384, None, &ec, &claims())).0,
        CLIENT_ID
    );
}

#[test]
fn aud_may_be_an_array_containing_the_token_endpoint() {
    let claims = with(
        claims(),
        "aud",
        json!(["https://elsewhere.example/token", TOKEN_URL]),
    );
    assert_eq!(accepted(&rs384(&claims)).0, CLIENT_ID);
}

#[test]
fn the_limits_themselves_are_accepted() {
    let claims = with(claims(), "exp", json!(NOW + 300));
    let claims = with(claims, "iat", json!(NOW + 60));
    let claims = with(claims, "nbf", json!(NOW + 60));
    let claims = with(claims, "jti", json!("j".repeat(255)));
    assert_eq!(accepted(&rs384(&claims)).2, NOW + 300);
}

// --- Refused algorithms ---

#[test]
fn alg_none_is_refused() {
    let header = json!({"alg": "none", "typ": "JWT", "kid": "rsa-1"});
    let unsigned = format!("{}.{}.", b64(&header), b64(&claims()));
    assert_eq!(
        refusal(&unsigned),
        AssertionProblem::Algorithm("none".into())
    );
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    // The classic confusion attack: the public key (which anyone has) used
    // as an HMAC secret, hoping the server verifies HS256 with it.
    for public_bytes in [RSA_PUBLIC_PEM, REGISTERED_JWKS.as_bytes()] {
        let key = EncodingKey::from_secret(public_bytes).unwrap();
        let forged = sign(Algorithm::HS256, Some("rsa-1"), &key, &claims());
        assert_eq!(
            refusal(&forged),
            AssertionProblem::Algorithm("HS256".into())
        );
    }
}

#[test]
fn rs256_is_refused_even_with_the_registered_key() {
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap();
    let assertion = sign(Algorithm::RS256, Some("rsa-1"), &key, &claims());
    assert_eq!(
        refusal(&assertion),
        AssertionProblem::Algorithm("RS256".into())
    );
}

// --- Refused keys and signatures ---

#[test]
fn a_signature_by_an_unregistered_key_is_refused() {
    let key = EncodingKey::from_rsa_pem(RSA_UNREGISTERED).unwrap();
    let same_kid = sign(Algorithm::RS384, Some("rsa-1"), &key, &claims());
    assert_eq!(refusal(&same_kid), AssertionProblem::Signature);
    let no_kid = sign(Algorithm::RS384, None, &key, &claims());
    assert_eq!(refusal(&no_kid), AssertionProblem::Signature);
}

#[test]
fn claims_changed_after_signing_are_refused() {
    let assertion = rs384(&claims());
    let parts: Vec<&str> = assertion.split('.').collect();
    let widened = with(claims(), "exp", json!(NOW + 290));
    let tampered = format!("{}.{}.{}", parts[0], b64(&widened), parts[2]);
    assert_eq!(refusal(&tampered), AssertionProblem::Signature);
}

#[test]
fn a_kid_the_client_did_not_register_or_of_the_wrong_type_is_refused() {
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap();
    let unknown = sign(Algorithm::RS384, Some("rsa-2"), &rsa, &claims());
    assert_eq!(
        refusal(&unknown),
        AssertionProblem::UnknownKid("rsa-2".into())
    );

    let ec = EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    let crossed = sign(Algorithm::ES384, Some("rsa-1"), &ec, &claims());
    assert!(matches!(
        refusal(&crossed),
        AssertionProblem::KeyTypeMismatch { .. }
    ));
}

#[test]
fn an_assertion_that_is_not_a_jwt_is_refused() {
    assert!(matches!(
        refusal("not-a-jwt"),
        AssertionProblem::Malformed(_)
    ));
    assert!(matches!(refusal("a.b.c.d"), AssertionProblem::Malformed(_)));
    assert!(matches!(
        refusal("%%%.e30.sig"),
        AssertionProblem::Malformed(_)
    ));
}

// --- Refused claims ---

#[test]
fn wrong_aud_is_refused() {
    let expected = AssertionProblem::Audience {
        expected: TOKEN_URL.into(),
    };
    let elsewhere = with(
        claims(),
        "aud",
        json!("https://other.example.se/fhir/R4/auth/token"),
    );
    assert_eq!(refusal(&rs384(&elsewhere)), expected);
    let base_not_token = with(claims(), "aud", json!(BASE));
    assert_eq!(refusal(&rs384(&base_not_token)), expected);
    let array = with(claims(), "aud", json!(["https://other.example/token"]));
    assert_eq!(refusal(&rs384(&array)), expected);
    assert_eq!(
        refusal(&rs384(&without(claims(), "aud"))),
        AssertionProblem::MissingClaim("aud")
    );
}

#[test]
fn sub_other_than_iss_is_refused() {
    let other_sub = with(claims(), "sub", json!("other-ehr"));
    assert_eq!(
        refusal(&rs384(&other_sub)),
        AssertionProblem::SubjectMismatch {
            iss: CLIENT_ID.into(),
            sub: "other-ehr".into()
        }
    );
    assert_eq!(
        refusal(&rs384(&without(claims(), "sub"))),
        AssertionProblem::MissingClaim("sub")
    );
}

#[test]
fn an_unknown_iss_is_refused() {
    let stranger = with(
        with(claims(), "iss", json!("stranger")),
        "sub",
        json!("stranger"),
    );
    assert_eq!(
        refusal(&rs384(&stranger)),
        AssertionProblem::UnknownClient("stranger".into())
    );
    assert_eq!(
        refusal(&rs384(&without(claims(), "iss"))),
        AssertionProblem::MissingClaim("iss")
    );
}

#[test]
fn the_key_of_another_client_does_not_authenticate_this_one() {
    // Both clients registered the same keys here, so the signature is the
    // other client's too; what decides is iss, which must name the client.
    let clients =
        vec![Client::new("other-ehr".into(), REGISTERED_JWKS, Scopes::default()).unwrap()];
    let err = verify_assertion(&rs384(&claims()), &clients, TOKEN_URL, NOW).unwrap_err();
    assert_eq!(
        err,
        SmartError::InvalidAssertion(AssertionProblem::UnknownClient(CLIENT_ID.into()))
    );
}

#[test]
fn exp_missing_past_or_too_far_ahead_is_refused() {
    assert_eq!(
        refusal(&rs384(&without(claims(), "exp"))),
        AssertionProblem::MissingClaim("exp")
    );
    assert_eq!(
        refusal(&rs384(&with(claims(), "exp", json!("tomorrow")))),
        AssertionProblem::MissingClaim("exp")
    );
    for exp in [NOW - 1, NOW] {
        assert_eq!(
            refusal(&rs384(&with(claims(), "exp", json!(exp)))),
            AssertionProblem::Expired { exp, now: NOW }
        );
    }
    assert_eq!(
        refusal(&rs384(&with(claims(), "exp", json!(NOW + 301)))),
        AssertionProblem::ExpiresTooLate {
            exp: NOW + 301,
            now: NOW
        }
    );
}

#[test]
fn nbf_or_iat_beyond_the_clock_skew_is_refused() {
    for claim in ["nbf", "iat"] {
        assert_eq!(
            refusal(&rs384(&with(claims(), claim, json!(NOW + 61)))),
            AssertionProblem::NotYetValid {
                claim,
                value: NOW + 61,
                now: NOW
            }
        );
    }
}

#[test]
fn missing_empty_or_overlong_jti_is_refused() {
    assert_eq!(
        refusal(&rs384(&without(claims(), "jti"))),
        AssertionProblem::MissingClaim("jti")
    );
    assert_eq!(
        refusal(&rs384(&with(claims(), "jti", json!("")))),
        AssertionProblem::JtiLength(0)
    );
    assert_eq!(
        refusal(&rs384(&with(claims(), "jti", json!("j".repeat(256))))),
        AssertionProblem::JtiLength(256)
    );
}

#[test]
fn error_descriptions_name_the_problem_without_the_key() {
    let (_, body) = SmartError::InvalidAssertion(refusal(&rs384(&with(
        claims(),
        "aud",
        json!("https://wrong.example/token"),
    ))))
    .oauth_error();
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains(TOKEN_URL), "{description}");
    assert!(!description.contains("BEGIN"), "{description}");
}

// --- Registration ---

fn registration_error(jwks: &str) -> SmartError {
    Client::new(CLIENT_ID.into(), jwks, allowance()).unwrap_err()
}

fn set_with(key: Value) -> String {
    json!({ "keys": [key] }).to_string()
}

fn registered_key(index: usize) -> Value {
    let set: Value = serde_json::from_str(REGISTERED_JWKS).unwrap();
    set["keys"][index].clone()
}

#[test]
fn a_jwks_with_a_private_part_is_refused() {
    let private_rsa = with(registered_key(0), "d", json!("c2VjcmV0"));
    match registration_error(&set_with(private_rsa)) {
        SmartError::InvalidKey { key, reason } => {
            assert_eq!(key, "#0 (kid \"rsa-1\")");
            assert!(reason.contains("private"), "{reason}");
            assert!(reason.contains("\"d\""), "{reason}");
        }
        other => panic!("expected InvalidKey, got {other:?}"),
    }
    for member in ["p", "q", "dp", "dq", "qi"] {
        let leaked = with(registered_key(0), member, json!("AQAB"));
        assert!(
            registration_error(&set_with(leaked))
                .to_string()
                .contains(&format!("{member:?}")),
            "{member}"
        );
    }

    // The second key of a set, an EC one without kid, is named by index.
    let mut ec = without(registered_key(1), "kid");
    ec["d"] = json!("c2VjcmV0");
    let jwks = json!({ "keys": [registered_key(0), ec] }).to_string();
    match registration_error(&jwks) {
        SmartError::InvalidKey { key, .. } => assert_eq!(key, "#1"),
        other => panic!("expected InvalidKey, got {other:?}"),
    }
}

#[test]
fn keys_tillit_would_never_accept_a_signature_from_are_refused() {
    let reason = |jwks: String| match registration_error(&jwks) {
        SmartError::InvalidKey { reason, .. } => reason,
        other => panic!("expected InvalidKey, got {other:?}"),
    };
    assert!(reason(set_with(with(registered_key(0), "alg", json!("RS256")))).contains("RS384"));
    assert!(reason(set_with(with(registered_key(1), "alg", json!("ES256")))).contains("ES384"));
    assert!(reason(set_with(with(registered_key(0), "alg", json!("ES384")))).contains("RS384"));
    assert!(reason(set_with(with(registered_key(0), "use", json!("enc")))).contains("sig"));
    assert!(reason(single(include_str!("keys/rsa-1024.jwk.json"))).contains("1024"));
    assert!(reason(single(include_str!("keys/ec-p256.jwk.json"))).contains("P-256"));
    assert!(
        reason(set_with(
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})
        ))
        .contains("OKP")
    );
    assert!(reason(set_with(json!({"kty": "oct", "k": "c2VjcmV0"}))).contains("private"));
    assert!(reason(set_with(without(registered_key(0), "n"))).contains('n'));
    assert!(reason(set_with(with(registered_key(1), "x", json!("AAAA")))).contains("48 bytes"));

    let twice =
        json!({ "keys": [registered_key(0), with(registered_key(1), "kid", json!("rsa-1"))] });
    assert!(reason(twice.to_string()).contains("same kid"));
}

/// A single JWK, as a fixture file holds it, wrapped in a set.
fn single(jwk_json: &str) -> String {
    set_with(serde_json::from_str(jwk_json).unwrap())
}

#[test]
fn a_set_that_is_not_a_usable_jwk_set_is_refused() {
    for jwks in ["not json", "[]", "{\"keys\": {}}", "{\"keys\": []}", "{}"] {
        assert!(
            matches!(registration_error(jwks), SmartError::InvalidJwks(_)),
            "{jwks:?} should be refused"
        );
    }
    assert!(
        registration_error("{\"keys\": []}")
            .to_string()
            .contains("no keys")
    );
    assert!(matches!(
        registration_error("{\"keys\": [42]}"),
        SmartError::InvalidKey { .. }
    ));
}

#[test]
fn a_key_without_alg_or_use_is_registered() {
    let bare = without(without(registered_key(0), "alg"), "use");
    let client = Client::new(CLIENT_ID.into(), &set_with(bare), allowance()).unwrap();
    let clients = [client];
    let (verified, _) = verify_assertion(&rs384(&claims()), &clients, TOKEN_URL, NOW).unwrap();
    assert_eq!(verified.client_id, CLIENT_ID);
}

// --- Access tokens ---

fn access_claims() -> AccessClaims {
    AccessClaims {
        tenant: "demo".into(),
        client_id: CLIENT_ID.into(),
        aud: BASE.into(),
        scope: Scopes::parse_strict("system/Patient.rs").unwrap(),
        exp: NOW + 300,
        iat: NOW,
        jti: "at-1".into(),
    }
}

fn token_refusal(token: &str, tenant: &str, aud: &str, now: i64) -> AccessTokenProblem {
    match verify_access_token(SECRET, token, tenant, aud, now) {
        Err(err @ SmartError::InvalidAccessToken(_)) => {
            assert_eq!(err.oauth_error().0, 401);
            assert_eq!(err.oauth_error().1["error"], "invalid_token");
            let SmartError::InvalidAccessToken(problem) = err else {
                unreachable!()
            };
            problem
        }
        other => panic!("expected an access-token refusal, got {other:?}"),
    }
}

#[test]
fn an_access_token_round_trips() {
    let token = issue_access_token(SECRET, &access_claims()).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let back = verify_access_token(SECRET, &token, "demo", BASE, NOW + 299).unwrap();
    assert_eq!(back, access_claims());
    assert!(back.scope.permits("Patient", Interaction::Read));
    assert!(!back.scope.permits("Patient", Interaction::Update));
}

#[test]
fn an_access_token_for_another_tenant_or_base_is_refused() {
    let token = issue_access_token(SECRET, &access_claims()).unwrap();
    assert_eq!(
        token_refusal(&token, "other", BASE, NOW),
        AccessTokenProblem::WrongTenant
    );
    assert_eq!(
        token_refusal(&token, "demo", "https://demo.example.se/fhir/R5", NOW),
        AccessTokenProblem::WrongAudience
    );
}

#[test]
fn an_expired_access_token_is_refused() {
    let token = issue_access_token(SECRET, &access_claims()).unwrap();
    assert_eq!(
        token_refusal(&token, "demo", BASE, NOW + 300),
        AccessTokenProblem::Expired {
            exp: NOW + 300,
            now: NOW + 300
        }
    );
}

#[test]
fn a_tampered_access_token_is_refused() {
    let token = issue_access_token(SECRET, &access_claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();

    // A signature changed in the middle.
    let mut signature: Vec<char> = parts[2].chars().collect();
    signature[10] = if signature[10] == 'A' { 'B' } else { 'A' };
    let signature: String = signature.into_iter().collect();
    let forged = format!("{}.{}.{}", parts[0], parts[1], signature);
    assert_eq!(
        token_refusal(&forged, "demo", BASE, NOW),
        AccessTokenProblem::Signature
    );

    // Wider scopes written into a genuine token.
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["scope"] = json!("system/*.cruds");
    let widened = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    assert_eq!(
        token_refusal(&widened, "demo", BASE, NOW),
        AccessTokenProblem::Signature
    );

    // Signed with another installation's secret.
    let other =
        issue_access_token(b"another-installation-secret-32-bytes!", &access_claims()).unwrap();
    assert_eq!(
        token_refusal(&other, "demo", BASE, NOW),
        AccessTokenProblem::Signature
    );
}

#[test]
fn an_assertion_is_not_an_access_token() {
    // An RS384 JWT shaped like a client assertion, carrying the access
    // token's claims: the EHR's own signature grants nothing.
    let mut forged = claims();
    forged["tenant"] = json!("demo");
    forged["aud"] = json!(BASE);
    forged["client_id"] = json!(CLIENT_ID);
    forged["scope"] = json!("system/*.cruds");
    forged["exp"] = json!(NOW + 300);
    assert!(matches!(
        token_refusal(&rs384(&forged), "demo", BASE, NOW),
        AccessTokenProblem::Malformed(_)
    ));

    // Nor is an HS256 JWT of another kind signed with the right secret.
    let key = EncodingKey::from_secret(SECRET).unwrap();
    let plain_jwt = sign(Algorithm::HS256, None, &key, &forged);
    assert!(matches!(
        token_refusal(&plain_jwt, "demo", BASE, NOW),
        AccessTokenProblem::Malformed(_)
    ));
}

// --- The whole exchange, as the kernel will run it ---

#[test]
fn a_token_request_yields_a_token_with_the_granted_scopes() {
    let form: Vec<(String, String)> = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", &es384(&claims())),
        (
            "scope",
            "system/Patient.cruds system/Practitioner.rs openid",
        ),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();

    let request = parse_token_request(&form).unwrap();
    let clients = clients();
    let (verified, client) =
        verify_assertion(&request.assertion, &clients, TOKEN_URL, NOW).unwrap();
    let granted = client.allowed.grant(&Scopes::parse_lenient(&request.scope));
    assert_eq!(granted.to_scope_string(), "system/Patient.rs");

    let token = issue_access_token(
        SECRET,
        &AccessClaims {
            tenant: "demo".into(),
            client_id: verified.client_id.clone(),
            aud: BASE.into(),
            scope: granted.clone(),
            exp: NOW + 300,
            iat: NOW,
            jti: "at-2".into(),
        },
    )
    .unwrap();
    let body = token_response(&token, 300, &granted);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "system/Patient.rs");

    let presented = body["access_token"].as_str().unwrap();
    let claims = verify_access_token(SECRET, presented, "demo", BASE, NOW + 10).unwrap();
    assert_eq!(claims.client_id, CLIENT_ID);
    assert!(claims.scope.permits("Patient", Interaction::Search));
    assert!(!claims.scope.permits("Patient", Interaction::Create));
    assert!(!claims.scope.permits("Practitioner", Interaction::Read));
}

#[test]
fn a_request_for_nothing_allowed_is_an_invalid_scope() {
    let granted = allowance().grant(&Scopes::parse_lenient("system/Practitioner.rs openid"));
    assert!(granted.is_empty());
    let err = SmartError::ScopeNotGranted {
        requested: "system/Practitioner.rs openid".into(),
    };
    assert_eq!(err.oauth_error().0, 400);
    assert_eq!(err.oauth_error().1["error"], "invalid_scope");

    let strict = Scopes::parse_strict("system/Patient.sr").unwrap_err();
    assert_eq!(strict.oauth_error().1["error"], "invalid_scope");
    assert!(strict.to_string().contains("system/Patient.sr"));
}

// --- Discovery ---

#[test]
fn the_smart_configuration_advertises_backend_services() {
    let doc = smart_configuration(
        TOKEN_URL,
        &[("Patient", true), ("Appointment", true), ("Slot", false)],
    );
    assert_eq!(doc["token_endpoint"], TOKEN_URL);
    assert_eq!(doc["grant_types_supported"], json!(["client_credentials"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    assert_eq!(
        doc["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS384", "ES384"])
    );
    let capabilities = doc["capabilities"].as_array().unwrap();
    for capability in [
        "client-confidential-asymmetric",
        "permission-v2",
        "permission-v1",
    ] {
        assert!(capabilities.contains(&json!(capability)), "{capability}");
    }
    let scopes: Vec<&str> = doc["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for scope in [
        "system/*.rs",
        "system/Patient.cruds",
        "system/Patient.rs",
        "system/Appointment.cruds",
        "system/Slot.rs",
    ] {
        assert!(scopes.contains(&scope), "{scope}");
    }
    assert!(
        !scopes.contains(&"system/Slot.cruds"),
        "read-only: {scopes:?}"
    );
    // Every advertised scope is one the token endpoint accepts.
    Scopes::parse_strict(&scopes.join(" ")).unwrap();
    assert!(doc.get("authorization_endpoint").is_none());
}
