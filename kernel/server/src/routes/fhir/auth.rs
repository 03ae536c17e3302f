//! SMART Backend Services on a tenant's host: the discovery document, the
//! token endpoint (`client_credentials` with a signed client assertion),
//! and [`Ehr`], the check every FHIR request passes: a bearer token Tillit
//! issued for this tenant and this host, still valid, checked with no
//! database read.

use std::sync::Arc;

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tillit_fhir::FhirError;
use tillit_fhir::smart::{self, AccessClaims, AssertionProblem, Interaction, Scopes, SmartError};

use super::{BASE_PATH, error_response};
use crate::http::session::TenantOf;
use crate::state::AppState;
use crate::tenants::Tenant;

/// How long an access token lasts, in seconds.
const TOKEN_SECONDS: i64 = 300;

/// The origin the request came to (the tenant's host, as the client named
/// it), so tokens are bound to it.
fn origin(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.server.behind_tls {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// `https://<host>/fhir/R4`: the FHIR base URL, and the `aud` of tokens.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    format!("{}{BASE_PATH}", origin(state, headers))
}

fn token_url(state: &AppState, headers: &HeaderMap) -> String {
    format!("{}/auth/token", base_url(state, headers))
}

/// The key access tokens are signed with: derived from the installation's
/// secret, for this use only.
fn token_key(state: &AppState) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&state.secret).expect("HMAC takes any key length");
    mac.update(b"smart-access-token");
    mac.finalize().into_bytes().to_vec()
}

fn now_secs(state: &AppState) -> i64 {
    state.clock.now().0.div_euclid(1000)
}

/// `GET /fhir/R4/.well-known/smart-configuration`.
pub async fn smart_configuration(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // The resource types served, as the capability table has them.
    let types: Vec<(&str, bool)> = super::capability::RESOURCES
        .iter()
        .map(|r| {
            let writes = ["create", "update", "patch", "delete"];
            (
                r.resource_type,
                r.interactions.iter().any(|i| writes.contains(i)),
            )
        })
        .collect();
    let doc = smart::smart_configuration(&token_url(&state, &headers), &types);
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

fn oauth_error(e: &SmartError) -> Response {
    let (status, body) = e.oauth_error();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `POST /fhir/R4/auth/token`: a client assertion for an access token.
pub async fn token(
    State(state): State<AppState>,
    axum::Extension(TenantOf(tenant)): axum::Extension<TenantOf>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(&SmartError::InvalidRequest(
            "send application/x-www-form-urlencoded".into(),
        ));
    };
    match issue(&state, &tenant, &headers, &form).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body.to_string(),
        )
            .into_response(),
        Err(e) => {
            tracing::info!(tenant = %tenant.id, error = %e, "SMART token request refused");
            oauth_error(&e)
        }
    }
}

async fn issue(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<serde_json::Value, SmartError> {
    let req = smart::parse_token_request(form)?;
    let now = now_secs(state);
    let (verified, client) = smart::verify_assertion(
        &req.assertion,
        &tenant.fhir_clients,
        &token_url(state, headers),
        now,
    )?;
    if let Some((_, id)) = form.iter().find(|(k, _)| k == "client_id")
        && *id != client.id
    {
        return Err(SmartError::InvalidRequest(
            "client_id does not match the assertion's issuer".into(),
        ));
    }
    let store = state.store.tenant(tenant.id.clone());
    let system = tillit_app::journal::JournalSystem {
        client: client.id.clone(),
    };
    let expires_at = tillit_domain::Timestamp(verified.exp.saturating_mul(1000));
    let first = tillit_app::journal::first_use_of_assertion(
        state.env_for(tenant, &store),
        &system,
        &verified.jti,
        expires_at,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "SMART assertion could not be recorded");
        SmartError::Signing("the assertion could not be recorded".into())
    })?;
    if !first {
        return Err(SmartError::InvalidAssertion(AssertionProblem::Replayed));
    }
    let requested = Scopes::parse_lenient(&req.scope);
    let granted = client.allowed.grant(&requested);
    if granted.is_empty() {
        return Err(SmartError::ScopeNotGranted {
            requested: req.scope.chars().take(80).collect(),
        });
    }
    let claims = AccessClaims {
        tenant: tenant.id.as_str().to_owned(),
        client_id: client.id.clone(),
        aud: base_url(state, headers),
        scope: granted.clone(),
        exp: now + TOKEN_SECONDS,
        iat: now,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let token = smart::issue_access_token(&token_key(state), &claims)?;
    tracing::info!(tenant = %tenant.id, client = %client.id, scope = %granted, "SMART access token issued");
    Ok(smart::token_response(&token, TOKEN_SECONDS, &granted))
}

/// A journal system calling the FHIR API with a valid access token of
/// this tenant and host, and the base URL it called.
#[derive(Debug, Clone)]
pub struct Ehr {
    pub tenant: Arc<Tenant>,
    pub system: tillit_app::journal::JournalSystem,
    pub scopes: Scopes,
    pub base: String,
}

impl Ehr {
    /// Whether the token grants `interaction` on `resource_type`; a 403
    /// naming the scope needed if not.
    pub fn may(&self, resource_type: &str, interaction: Interaction) -> Result<(), FhirError> {
        if self.scopes.permits(resource_type, interaction) {
            Ok(())
        } else {
            Err(FhirError::Forbidden(format!(
                "The access token does not grant {} on {resource_type} (scope system/{resource_type}.{} is needed).",
                match interaction {
                    Interaction::Create => "create",
                    Interaction::Read => "read",
                    Interaction::Update => "update",
                    Interaction::Delete => "delete",
                    Interaction::Search => "search",
                },
                interaction.letter()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Ehr {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let fail = |e: FhirError| error_response(&e);
        let format = parts.uri.query().and_then(|q| url_param(q, "_format"));
        tillit_fhir::media::negotiate(
            parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok()),
            format.as_deref(),
        )
        .map_err(fail)?;
        let tenant = parts
            .extensions
            .get::<TenantOf>()
            .map(|t| Arc::clone(&t.0))
            .ok_or_else(|| fail(FhirError::Internal))?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                fail(FhirError::Unauthorized(
                    "An access token is required (Authorization: Bearer …), from the token endpoint in .well-known/smart-configuration.".into(),
                ))
            })?;
        let base = base_url(state, &parts.headers);
        let claims = smart::verify_access_token(
            &token_key(state),
            token.trim(),
            tenant.id.as_str(),
            &base,
            now_secs(state),
        )
        .map_err(|e| {
            fail(FhirError::Unauthorized(format!(
                "The access token is refused: {e}."
            )))
        })?;
        Ok(Ehr {
            tenant,
            system: tillit_app::journal::JournalSystem {
                client: claims.client_id,
            },
            scopes: claims.scope,
            base,
        })
    }
}

/// The first value of `name` in a query string, decoded.
fn url_param(query: &str, name: &str) -> Option<String> {
    super::search::pairs(query)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}
