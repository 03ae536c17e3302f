//! The HTTP surface: which route goes to which feature, and the layers
//! every request passes through.
//!
//! Two routers, on two addresses. [`router`], the tenants' portals on
//! `server.listen`, outermost first: request id (a client's kept only if it
//! is a short, safe token) → tracing span → metrics → security headers →
//! tenant from `Host` (unknown host: a plain 404) → themed error pages →
//! theme and brand assets, or the session-and-CSRF layer → the terms gate
//! → portal pages. [`ops_router`], for the installation's operators on
//! `server.ops_listen`: `/healthz`, `/readyz`, `/metrics`, and nothing of
//! any tenant.
//!
//! The handlers live in `routes`, one module per feature; the plumbing they
//! share (errors, sessions, extractors, rendering) in `http`.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{HeaderName, Method};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodFilter, MethodRouter, get, on, post};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::http::layers::{
    REQUEST_ID, accept_request_id, error_pages, record_metrics, resolve_tenant, security_headers,
    tag_route,
};
use crate::http::session;
use crate::routes::fhir::{
    appointment, auth as smart, capability, encounter, patient, practitioner, schedule, transaction,
};
use crate::routes::{
    admin, assets, bookings, home, login, me, messages, ops, plugins, profile, room, terms, visits,
    wizard,
};
use crate::state::AppState;

/// Who may use a route. Every portal route is declared with one (the
/// router is built from [`Routes`] only), and `tests/http/routes.rs` walks
/// them all as every kind of visitor of every tenant, with and without the
/// CSRF token, checking that the answers match what is declared here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, logged in or not.
    Public,
    /// Anyone logged in to this tenant (what they then see is the use
    /// case's to decide: their own visits, say).
    User,
    Patient,
    Clinician,
    Administrator,
    /// Called by another system's server, not a browser: no session, no
    /// CSRF token; the request carries a secret of its own (a webhook URL's
    /// token, a SMART client's signed assertion).
    Hook,
    /// A journal system over FHIR: no session, no CSRF token; a SMART
    /// access token issued for this tenant (`routes::fhir::auth::Ehr`).
    JournalSystem,
}

/// One declared route: method, path as the router has it, who may use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// Routes and what each declares, built together so neither can exist
/// without the other.
struct Routes {
    router: Router<AppState>,
    info: Vec<RouteInfo>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            info: Vec::new(),
        }
    }

    /// `handler` for `method` on `path`, for `access`.
    fn at<H, T>(self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("{method} {path}: not a method a route can have"));
        self.with(&[method], path, access, on(filter, handler))
    }

    /// A method router for `methods` on `path` (several methods, or one
    /// with a layer of its own).
    fn with(
        mut self,
        methods: &[Method],
        path: &'static str,
        access: Access,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.info.extend(methods.iter().map(|m| RouteInfo {
            method: m.clone(),
            path,
            access,
        }));
        self
    }
}

/// The methods a plugin's routes may have.
const PLUGIN_METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The portal's pages, behind the session, CSRF and terms layers; in
/// `development`, also the outbox (what would have been sent, with phone
/// numbers: not even a route in production).
fn pages(development: bool) -> Routes {
    use Access::*;
    let plugin_methods = PLUGIN_METHODS
        .iter()
        .filter_map(|m| MethodFilter::try_from(m.clone()).ok())
        .reduce(MethodFilter::or)
        .unwrap_or(MethodFilter::GET);
    let routes = Routes::new()
        .at(Method::GET, "/", Public, home::show)
        .at(Method::GET, "/login", Public, login::form)
        .at(Method::POST, "/login/test", Public, login::test_login)
        .at(
            Method::GET,
            "/login/oidc/callback",
            Public,
            login::eid_callback,
        )
        .at(Method::GET, "/login/oidc/{id}", Public, login::eid_start)
        .at(Method::POST, "/logout", Public, login::logout)
        .at(Method::POST, "/language", Public, login::set_language)
        .at(Method::GET, "/me", User, me::show)
        .at(Method::POST, "/me", Patient, me::update)
        .at(Method::GET, "/admin/people", Administrator, admin::people)
        .at(
            Method::POST,
            "/admin/people",
            Administrator,
            admin::create_person,
        )
        .at(
            Method::POST,
            "/admin/people/{id}/status",
            Administrator,
            admin::set_status,
        )
        .at(Method::GET, "/terms", Patient, terms::show)
        .at(Method::POST, "/terms", Patient, terms::accept)
        .at(Method::GET, "/bookings", Clinician, bookings::list)
        .at(Method::POST, "/bookings", Clinician, bookings::create)
        .at(Method::GET, "/bookings/new", Clinician, bookings::new_form)
        .at(Method::GET, "/bookings/group", Clinician, wizard::start)
        .at(Method::POST, "/bookings/group", Clinician, wizard::post)
        .at(Method::GET, "/contacts", Clinician, bookings::contacts)
        .at(Method::GET, "/visits/{id}", User, visits::show)
        .at(Method::GET, "/visits/{id}/room", User, room::show)
        .at(Method::GET, "/visits/{id}/ws", User, room::socket)
        .with(
            &PLUGIN_METHODS,
            "/plugins/{id}/{*path}",
            User,
            on(plugin_methods, plugins::route),
        )
        .at(Method::GET, "/features/{id}", User, plugins::feature_page)
        .at(Method::GET, "/video-test", User, room::test_page)
        .at(Method::GET, "/video-test/ws", User, room::test_socket)
        .at(Method::POST, "/visits/{id}/start", User, visits::start)
        .at(Method::POST, "/visits/{id}/end", User, visits::end)
        .at(
            Method::POST,
            "/bookings/{id}/cancel",
            User,
            bookings::cancel,
        )
        .at(
            Method::GET,
            "/bookings/{id}/time",
            Clinician,
            bookings::time_form,
        )
        .at(
            Method::POST,
            "/bookings/{id}/time",
            Clinician,
            bookings::change_time,
        )
        .at(
            Method::POST,
            "/bookings/{id}/confirm",
            User,
            bookings::confirm,
        )
        .at(Method::GET, "/profile", Clinician, profile::show)
        .at(Method::POST, "/profile", Clinician, profile::save)
        .at(
            Method::POST,
            "/profile/publish",
            Clinician,
            profile::publish,
        )
        .with(
            &[Method::POST],
            "/profile/picture",
            Clinician,
            post(profile::upload_picture).layer(axum::extract::DefaultBodyLimit::max(
                crate::picture::MAX_REQUEST_BYTES,
            )),
        )
        .at(
            Method::GET,
            "/people/{id}/picture/{hash}",
            User,
            profile::serve_picture,
        )
        .at(
            Method::POST,
            "/profile/unpublish",
            Clinician,
            profile::unpublish,
        )
        .at(
            Method::POST,
            "/profile/visit-types",
            Clinician,
            profile::create_visit_type,
        )
        .at(
            Method::POST,
            "/profile/visit-types/{id}",
            Clinician,
            profile::update_visit_type,
        )
        .at(
            Method::POST,
            "/profile/visit-types/{id}/archive",
            Clinician,
            profile::archive_visit_type,
        )
        // Confirmation pages before ending a visit and cancelling a booking
        // (the use cases say who may), and the visit page's state for its
        // script.
        .at(Method::GET, "/visits/{id}/end", User, visits::end_form)
        .at(Method::GET, "/visits/{id}/status", User, visits::status)
        .at(
            Method::GET,
            "/bookings/{id}/cancel",
            User,
            bookings::cancel_form,
        );
    if development {
        routes.at(Method::GET, "/dev/outbox", User, messages::page)
    } else {
        routes
    }
}

/// The FHIR API for journal systems (`routes::fhir`), outside the session
/// layer: SMART tokens instead of sessions and CSRF.
fn fhir() -> Routes {
    use Access::*;
    Routes::new()
        .at(
            Method::GET,
            "/fhir/R4/metadata",
            Public,
            capability::metadata,
        )
        .at(
            Method::GET,
            "/fhir/R4/.well-known/smart-configuration",
            Public,
            smart::smart_configuration,
        )
        .at(Method::POST, "/fhir/R4/auth/token", Hook, smart::token)
        .at(
            Method::POST,
            "/fhir/R4",
            JournalSystem,
            transaction::transaction,
        )
        // The base as clients often write it, with a slash.
        .at(
            Method::POST,
            "/fhir/R4/",
            JournalSystem,
            transaction::transaction,
        )
        .at(
            Method::GET,
            "/fhir/R4/Patient",
            JournalSystem,
            patient::search,
        )
        .at(
            Method::POST,
            "/fhir/R4/Patient",
            JournalSystem,
            patient::create,
        )
        .at(
            Method::GET,
            "/fhir/R4/Patient/{id}",
            JournalSystem,
            patient::read,
        )
        .at(
            Method::GET,
            "/fhir/R4/Patient/_history",
            JournalSystem,
            patient::type_history,
        )
        .at(
            Method::GET,
            "/fhir/R4/Patient/{id}/_history",
            JournalSystem,
            patient::history,
        )
        .at(
            Method::GET,
            "/fhir/R4/Patient/{id}/_history/{vid}",
            JournalSystem,
            patient::vread,
        )
        .at(
            Method::GET,
            "/fhir/R4/Practitioner",
            JournalSystem,
            practitioner::search,
        )
        .at(
            Method::GET,
            "/fhir/R4/Practitioner/{id}",
            JournalSystem,
            practitioner::read,
        )
        .at(
            Method::GET,
            "/fhir/R4/PractitionerRole",
            JournalSystem,
            practitioner::search_roles,
        )
        .at(
            Method::GET,
            "/fhir/R4/PractitionerRole/{id}",
            JournalSystem,
            practitioner::read_role,
        )
        .at(
            Method::GET,
            "/fhir/R4/Appointment",
            JournalSystem,
            appointment::search,
        )
        .at(
            Method::POST,
            "/fhir/R4/Appointment",
            JournalSystem,
            appointment::create,
        )
        .at(
            Method::GET,
            "/fhir/R4/Appointment/{id}",
            JournalSystem,
            appointment::read,
        )
        .at(
            Method::PATCH,
            "/fhir/R4/Appointment/{id}",
            JournalSystem,
            appointment::patch,
        )
        .at(
            Method::PUT,
            "/fhir/R4/Appointment/{id}",
            JournalSystem,
            appointment::update,
        )
        .at(
            Method::GET,
            "/fhir/R4/Appointment/_history",
            JournalSystem,
            appointment::type_history,
        )
        .at(
            Method::GET,
            "/fhir/R4/Appointment/{id}/_history",
            JournalSystem,
            appointment::history,
        )
        .at(
            Method::GET,
            "/fhir/R4/Appointment/{id}/_history/{vid}",
            JournalSystem,
            appointment::vread,
        )
        .at(
            Method::GET,
            "/fhir/R4/Schedule",
            JournalSystem,
            schedule::search,
        )
        .at(
            Method::GET,
            "/fhir/R4/Schedule/{id}",
            JournalSystem,
            schedule::read,
        )
        .at(
            Method::GET,
            "/fhir/R4/Slot",
            JournalSystem,
            schedule::search_slots,
        )
        .at(
            Method::GET,
            "/fhir/R4/Slot/{id}",
            JournalSystem,
            schedule::read_slot,
        )
        .at(
            Method::GET,
            "/fhir/R4/Encounter",
            JournalSystem,
            encounter::search,
        )
        .at(
            Method::GET,
            "/fhir/R4/Encounter/{id}",
            JournalSystem,
            encounter::read,
        )
}

/// The tenant's routes outside the session layer: theme and brand assets,
/// and providers' webhooks.
fn outside_sessions() -> Routes {
    use Access::*;
    Routes::new()
        .at(
            Method::POST,
            "/hooks/46elks/{id}/{token}",
            Hook,
            messages::delivery_report,
        )
        .at(
            Method::POST,
            "/oidc/backchannel-logout",
            Hook,
            crate::routes::backchannel::logout_token,
        )
        .at(
            Method::GET,
            "/assets/{theme}/{hash}/{*path}",
            Public,
            assets::theme_asset,
        )
        .at(
            Method::GET,
            "/brand/{hash}/{file}",
            Public,
            assets::brand_asset,
        )
}

/// Every route a tenant's portal can have, with who may use it.
pub fn route_table() -> Vec<RouteInfo> {
    let mut all = pages(true).info;
    all.extend(outside_sessions().info);
    all.extend(fhir().info);
    all
}

pub fn router(state: AppState) -> Router {
    let pages = pages(state.config.is_development())
        .router
        .route_layer(from_fn(tag_route))
        .fallback(crate::http::error::not_found)
        .layer(from_fn_with_state(state.clone(), terms::gate))
        .layer(from_fn_with_state(state.clone(), session::middleware));
    let request_id = HeaderName::from_static(REQUEST_ID);
    let fhir = fhir()
        .router
        .route_layer(from_fn(tag_route))
        .route("/fhir/R4", axum::routing::any(crate::routes::fhir::unknown))
        .route(
            "/fhir/R4/",
            axum::routing::any(crate::routes::fhir::unknown),
        )
        .route(
            "/fhir/R4/{*rest}",
            axum::routing::any(crate::routes::fhir::unknown),
        )
        .layer(from_fn(crate::routes::fhir::method_not_allowed));
    outside_sessions()
        .router
        .route_layer(from_fn(tag_route))
        .merge(fhir)
        .merge(pages)
        .layer(from_fn_with_state(state.clone(), error_pages))
        .layer(from_fn_with_state(state.clone(), resolve_tenant))
        .layer(axum::extract::DefaultBodyLimit::max(state.config.server.max_body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(from_fn(accept_request_id))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request| {
                            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
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

/// Health, readiness and metrics, served on `server.ops_listen` only: a
/// tenant's host (or an unknown one) never reaches them, and the portals'
/// router has no such routes.
pub fn ops_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .with_state(state)
}
