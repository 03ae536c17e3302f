//! The providers' discovery documents and keys, fetched when first needed
//! and kept for an hour (keys rotate; a key that is not known yet makes
//! the next login fetch them again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, ProviderMetadataWithLogout, StandardErrorResponse,
    StandardTokenResponse,
};
use serde::{Deserialize, Serialize};

use super::Failure;
use super::http::ProviderHttp;

/// How long a provider's discovery document and keys are used.
const FRESH_FOR: Duration = Duration::from_secs(60 * 60);

/// The claims beyond the standard ones, as they come: where the brokers
/// put the personnummer or HSA-id (`ssn`, `nin`, …) is the tenant file's
/// choice, not the type's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

pub type Metadata = ProviderMetadataWithLogout;

pub type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

pub type TokenResponse = StandardTokenResponse<IdFields, CoreTokenType>;

/// A provider's client as discovery makes it: authorisation endpoint set,
/// token and UserInfo endpoints where the provider has them.
pub type OidcClient = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The discovered providers, by issuer, and the client that reaches them.
#[derive(Debug, Default)]
pub struct Providers {
    pub http: ProviderHttp,
    known: Mutex<HashMap<String, (Arc<Metadata>, Instant)>>,
}

impl Providers {
    /// `issuer`'s discovery document with its keys: kept, or fetched now.
    /// Discovery checks that the document names exactly this issuer.
    pub async fn metadata(&self, issuer: &str) -> Result<Arc<Metadata>, Failure> {
        if let Some((meta, at)) = self.lock().get(issuer)
            && at.elapsed() < FRESH_FOR
        {
            return Ok(Arc::clone(meta));
        }
        let url = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| Failure::Provider(format!("issuer: {e}")))?;
        let meta = Metadata::discover_async(url, &self.http)
            .await
            .map_err(|e| Failure::Provider(format!("discovery: {}", error_chain(&e))))?;
        let meta = Arc::new(meta);
        self.lock()
            .insert(issuer.to_owned(), (Arc::clone(&meta), Instant::now()));
        Ok(meta)
    }

    /// Forgets `issuer`'s document, so the next login fetches its keys
    /// again (after an ID token signed with a key not yet known).
    pub fn forget(&self, issuer: &str) {
        self.lock().remove(issuer);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<Metadata>, Instant)>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An error and its causes on one line, for the log.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out.chars().take(500).collect()
}
