//! The HTTP surface: routes, and the layers every request passes through.
//!
//! Outermost first: request id → tracing span → metrics → security headers →
//! (ops routes: `/healthz`, `/readyz`, `/metrics`) → tenant from `Host`
//! (unknown host: a plain 404) → themed error pages → theme and brand assets,
//! or the session-and-CSRF layer → portal pages.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::app::AppState;
use crate::error::ErrorKind;
use crate::session::{self, TenantOf};
use crate::theme::Asset;
use crate::{bookings, outbox, pages, plugins, profile, room, terms, visits, wizard};

pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form))
        .route("/login/test", post(pages::test_login))
        .route("/logout", post(pages::logout))
        .route("/language", post(pages::set_language))
        .route("/me", get(pages::me).post(pages::update_me))
        .route(
            "/admin/people",
            get(pages::admin_people).post(pages::admin_create_person),
        )
        .route("/admin/people/{id}/status", post(pages::admin_set_status))
        .route("/terms", get(terms::show).post(terms::accept))
        .route("/bookings", get(bookings::list).post(bookings::create))
        .route("/bookings/new", get(bookings::new_form))
        .route("/bookings/group", get(wizard::start).post(wizard::post))
        .route("/contacts", get(bookings::contacts))
        .route("/dev/outbox", get(outbox::page))
        .route("/visits/{id}", get(visits::show))
        .route("/visits/{id}/room", get(room::show))
        .route("/visits/{id}/ws", get(room::socket))
        .route("/plugins/{id}/{*path}", axum::routing::any(plugins::route))
        .route("/features/{id}", get(plugins::feature_page))
        .route("/video-test", get(room::test_page))
        .route("/video-test/ws", get(room::test_socket))
        .route("/visits/{id}/start", post(visits::start))
        .route("/visits/{id}/end", post(visits::end))
        .route("/bookings/{id}/cancel", post(bookings::cancel))
        .route(
            "/bookings/{id}/time",
            get(bookings::time_form).post(bookings::change_time),
        )
        .route("/bookings/{id}/confirm", post(bookings::confirm))
        .route("/profile", get(profile::show).post(profile::save))
        .route("/profile/publish", post(profile::publish))
        .route(
            "/profile/picture",
            post(profile::upload_picture).layer(axum::extract::DefaultBodyLimit::max(
                crate::picture::MAX_REQUEST_BYTES,
            )),
        )
        .route("/people/{id}/picture/{hash}", get(profile::serve_picture))
        .route("/profile/unpublish", post(profile::unpublish))
        .route("/profile/visit-types", post(profile::create_visit_type))
        .route(
            "/profile/visit-types/{id}",
            post(profile::update_visit_type),
        )
        .route(
            "/profile/visit-types/{id}/archive",
            post(profile::archive_visit_type),
        )
        .route_layer(from_fn(tag_route))
        .fallback(pages::not_found)
        .layer(from_fn_with_state(state.clone(), terms::gate))
        .layer(from_fn_with_state(state.clone(), session::middleware));
    let portal = Router::new()
        // Called by 46elks, not by a browser: no session, no CSRF token;
        // the URL carries a token of its own.
        .route("/hooks/46elks/{id}/{token}", post(outbox::delivery_report))
        .route("/assets/{theme}/{hash}/{*path}", get(theme_asset))
        .route("/brand/{hash}/{file}", get(brand_asset))
        .route_layer(from_fn(tag_route))
        .merge(pages)
        .layer(from_fn_with_state(state.clone(), error_pages))
        .layer(from_fn_with_state(state.clone(), resolve_tenant))
        .with_state(state.clone());
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route_layer(from_fn(tag_route))
        .fallback_service(portal)
        .layer(axum::extract::DefaultBodyLimit::max(state.config.server.max_body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request| {
                            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                            // The path only: query strings may carry personal data.
                            tracing::info_span!("request", id, method = %req.method(), path = req.uri().path())
                        })
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(from_fn(record_metrics))
                .layer(from_fn_with_state(state.clone(), security_headers)),
        )
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => "ready\n".into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database did not answer within 2 s\n",
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The route that served a request, passed out to the metrics layer (which
/// runs before routing and so cannot see it on the request).
#[derive(Debug, Clone)]
struct RouteLabel(String);

async fn tag_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(r) = route {
        res.extensions_mut().insert(RouteLabel(r));
    }
    res
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let res = next.run(req).await;
    // Unmatched paths share one label, so scanners cannot blow up the series.
    let route = res
        .extensions()
        .get::<RouteLabel>()
        .map_or_else(|| "unmatched".to_owned(), |r| r.0.clone());
    let labels = [
        ("method", method),
        ("route", route),
        ("status", res.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2])
        .record(start.elapsed().as_secs_f64());
    res
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   font-src 'self'; connect-src 'self'; media-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    };
    set(h, "content-security-policy", CSP);
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    // Same-origin: no URL leaks to other sites, and same-origin form posts
    // keep their Origin header (with no-referrer, browsers send "null").
    set(h, "referrer-policy", "same-origin");
    set(h, "cross-origin-opener-policy", "same-origin");
    set(
        h,
        "permissions-policy",
        "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()",
    );
    if state.config.server.behind_tls {
        set(
            h,
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages can show personal data: never keep them in a shared cache.
        set(h, "cache-control", "no-store");
    }
    res
}

/// Finds the tenant from the `Host` header. An unknown host learns nothing.
async fn resolve_tenant(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or_default();
    match state.tenants.by_host(host) {
        Some(t) => {
            let t = TenantOf(t.clone());
            req.extensions_mut().insert(t);
            next.run(req).await
        }
        None => unknown_host(),
    }
}

pub fn unknown_host() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><html lang=\"sv\"><meta charset=\"utf-8\"><title>404</title>\
         <h1>Sidan finns inte</h1><p lang=\"en\">Page not found.</p></html>\n",
    )
        .into_response()
}

/// Replaces the body of an error response with the tenant's themed page.
async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let tenant = req.extensions().get::<TenantOf>().map(|t| t.0.clone());
    let lang = crate::session::lang_from_headers(req.headers());
    let res = next.run(req).await;
    let (Some(kind), Some(tenant)) = (res.extensions().get::<ErrorKind>().copied(), tenant) else {
        return res;
    };
    let lang = lang.unwrap_or(tenant.default_language);
    let (mut parts, _) = res.into_parts();
    let body = match pages::render_error(&state, &tenant, lang, kind.0) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "error page could not be rendered");
            Html(format!(
                "<!doctype html><title>{}</title><h1>{}</h1>",
                parts.status, parts.status
            ))
        }
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body.into_response().into_body())
}

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

async fn theme_asset(
    State(state): State<AppState>,
    Path((theme, hash, path)): Path<(String, String, String)>,
) -> Response {
    match state.themes.get(&theme).and_then(|t| t.assets.get(&path)) {
        Some(a) => serve_asset(a, &hash),
        None => crate::error::AppError::NotFound.into_response(),
    }
}

async fn brand_asset(
    State(state): State<AppState>,
    axum::Extension(TenantOf(tenant)): axum::Extension<TenantOf>,
    Path((hash, file)): Path<(String, String)>,
) -> Response {
    let Some(brand) = state.brands.get(&tenant.id) else {
        return crate::error::AppError::NotFound.into_response();
    };
    match (file.as_str(), &brand.logo) {
        ("brand.css", _) => serve_asset(&brand.css, &hash),
        (name, Some((logo_name, logo))) if name == logo_name => serve_asset(logo, &hash),
        _ => crate::error::AppError::NotFound.into_response(),
    }
}
