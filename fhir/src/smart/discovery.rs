//! The `.well-known/smart-configuration` document (SMART App Launch 2.x,
//! "Conformance"), by which an EHR's backend discovers how to get a token.
//!
//! Tillit offers only SMART Backend Services: no authorization endpoint,
//! no user launch, only `client_credentials` with `private_key_jwt`
//! signed RS384 or ES384, and system scopes in v2 and v1 syntax.

use serde_json::json;

/// The discovery document for a FHIR endpoint whose token endpoint is
/// `token_url` and which serves `resource_types`, each with whether
/// anything of it can be written.
///
/// `scopes_supported` lists, for each type, the read-only
/// `system/<T>.rs`, and the full `system/<T>.cruds` where it can be
/// written, plus `system/*.rs`: the usual
/// requests, not an exhaustive list (the spec lets clients ask for any
/// subset). `code_challenge_methods_supported` is REQUIRED by the spec even
/// without an authorization endpoint; it names S256 only, as required,
/// and is moot here since there is no authorization-code flow.
pub fn smart_configuration(token_url: &str, resource_types: &[(&str, bool)]) -> serde_json::Value {
    let mut scopes: Vec<String> = Vec::with_capacity(2 * resource_types.len() + 1);
    scopes.push("system/*.rs".to_owned());
    for (resource_type, writable) in resource_types {
        if *writable {
            scopes.push(format!("system/{resource_type}.cruds"));
        }
        scopes.push(format!("system/{resource_type}.rs"));
    }
    json!({
        "token_endpoint": token_url,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": scopes,
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "client-confidential-asymmetric",
            "permission-v2",
            "permission-v1",
        ],
    })
}
