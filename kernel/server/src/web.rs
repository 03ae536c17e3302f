//! The HTTP surface: which route goes to which feature, and the layers
//! every request passes through.
//!
//! Outermost first: request id → tracing span → metrics → security headers →
//! (ops routes: `/healthz`, `/readyz`, `/metrics`) → tenant from `Host`
//! (unknown host: a plain 404) → themed error pages → theme and brand assets,
//! or the session-and-CSRF layer → the terms gate → portal pages.
//!
//! The handlers live in `routes`, one module per feature; the plumbing they
//! share (errors, sessions, extractors, rendering) in `http`.

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::http::layers::{
    error_pages, record_metrics, resolve_tenant, security_headers, tag_route,
};
use crate::http::session;
use crate::routes::{
    admin, assets, bookings, home, login, me, messages, ops, plugins, profile, room, terms, visits,
    wizard,
};
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(home::show))
        .route("/login", get(login::form))
        .route("/login/test", post(login::test_login))
        .route("/logout", post(login::logout))
        .route("/language", post(login::set_language))
        .route("/me", get(me::show).post(me::update))
        .route(
            "/admin/people",
            get(admin::people).post(admin::create_person),
        )
        .route("/admin/people/{id}/status", post(admin::set_status))
        .route("/terms", get(terms::show).post(terms::accept))
        .route("/bookings", get(bookings::list).post(bookings::create))
        .route("/bookings/new", get(bookings::new_form))
        .route("/bookings/group", get(wizard::start).post(wizard::post))
        .route("/contacts", get(bookings::contacts))
        .route("/dev/outbox", get(messages::page))
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
        .fallback(crate::http::error::not_found)
        .layer(from_fn_with_state(state.clone(), terms::gate))
        .layer(from_fn_with_state(state.clone(), session::middleware));
    let portal = Router::new()
        // Called by 46elks, not by a browser: no session, no CSRF token;
        // the URL carries a token of its own.
        .route(
            "/hooks/46elks/{id}/{token}",
            post(messages::delivery_report),
        )
        .route("/assets/{theme}/{hash}/{*path}", get(assets::theme_asset))
        .route("/brand/{hash}/{file}", get(assets::brand_asset))
        .route_layer(from_fn(tag_route))
        .merge(pages)
        .layer(from_fn_with_state(state.clone(), error_pages))
        .layer(from_fn_with_state(state.clone(), resolve_tenant))
        .with_state(state.clone());
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
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
