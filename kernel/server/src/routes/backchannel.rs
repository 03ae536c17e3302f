//! `POST /oidc/backchannel-logout`: a tenant's e-ID provider ends the
//! sessions of one of its sessions (or subjects) with a signed logout
//! token (OpenID Connect Back-Channel Logout 1.0). Outside the session
//! layer: the caller is the provider's server, not a browser.

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tillit_app::sessions::ProviderLogout;

use crate::eid::logout;
use crate::http::error::AppError;
use crate::http::session::TenantOf;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    logout_token: String,
}

/// The most a logout token may be.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

pub async fn logout_token(
    State(state): State<AppState>,
    axum::Extension(TenantOf(tenant)): axum::Extension<TenantOf>,
    Form(form): Form<LogoutForm>,
) -> Response {
    let token = form.logout_token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return refused("a logout_token of at most 8 KB is required");
    }
    let Some(issuer) = logout::claimed_issuer(token) else {
        return refused("the logout token cannot be read");
    };
    let now = state.clock.now();
    // Every method of this tenant at that provider (each its own client)
    // may be the one the token is for.
    let mut why = String::from("no login method of this tenant has that issuer");
    for method in tenant
        .login_methods
        .iter()
        .filter(|m| m.issuer == issuer.trim_end_matches('/'))
    {
        let keys = match state.eid.metadata(&method.issuer).await {
            Ok(meta) => logout::keys_of(&meta),
            Err(e) => Err(e.to_string()),
        };
        let checked = keys.and_then(|keys| logout::check(token, method, &keys, now));
        let claims = match checked {
            Ok(c) => c,
            Err(e) => {
                why = e;
                continue;
            }
        };
        let store = state.store.tenant(tenant.id.clone());
        let replay_key = format!("logout:{}", method.id);
        match store
            .first_use_of_assertion(&replay_key, &claims.jti, claims.replayable_until, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return refused("the logout token was used before"),
            Err(e) => return AppError::from(tillit_app::Error::from(e)).into_response(),
        }
        let which = match (&claims.session, &claims.subject) {
            (Some(sid), _) => ProviderLogout::Session(sid),
            (None, Some(sub)) => ProviderLogout::Subject(sub),
            (None, None) => return refused("neither sub nor sid"),
        };
        let env = state.env_for(&tenant, &store);
        return match tillit_app::sessions::provider_logged_out(env, &method.id, which).await {
            Ok(_) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], "").into_response(),
            Err(e) => AppError::from(e).into_response(),
        };
    }
    tracing::warn!(tenant = %tenant.id, reason = %why, "back-channel logout refused");
    refused(&why)
}

/// 400 with the OAuth error body the specification asks for.
fn refused(why: &str) -> Response {
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": why.chars().take(200).collect::<String>(),
    });
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}
