//! A tenant's theme's static files and its generated brand files, by
//! content hash (cached forever when the hash matches). A host serves its
//! own tenant's only: another theme's files on it would tell which themes
//! (and so which other care providers) the installation serves.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::AppError;
use crate::http::session::TenantOf;
use crate::state::AppState;
use crate::theme::Asset;

fn serve_asset(asset: &Asset, requested_hash: &str) -> Response {
    // The current file is served either way; only a matching hash may be
    // cached forever.
    let cache = if requested_hash == asset.hash {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::ETAG,
                HeaderValue::from_str(&format!("\"{}\"", asset.hash))
                    .unwrap_or(HeaderValue::from_static("\"\"")),
            ),
        ],
        asset.bytes.to_vec(),
    )
        .into_response()
}

pub async fn theme_asset(
    State(state): State<AppState>,
    axum::Extension(TenantOf(tenant)): axum::Extension<TenantOf>,
    Path((theme, hash, path)): Path<(String, String, String)>,
) -> Response {
    if theme != tenant.theme {
        return AppError::NotFound.into_response();
    }
    match state.themes.get(&theme).and_then(|t| t.assets.get(&path)) {
        Some(a) => serve_asset(a, &hash),
        None => AppError::NotFound.into_response(),
    }
}

pub async fn brand_asset(
    State(state): State<AppState>,
    axum::Extension(TenantOf(tenant)): axum::Extension<TenantOf>,
    Path((hash, file)): Path<(String, String)>,
) -> Response {
    let Some(brand) = state.brands.get(&tenant.id) else {
        return AppError::NotFound.into_response();
    };
    match (file.as_str(), &brand.logo) {
        ("brand.css", _) => serve_asset(&brand.css, &hash),
        (name, Some((logo_name, logo))) if name == logo_name => serve_asset(logo, &hash),
        _ => AppError::NotFound.into_response(),
    }
}
