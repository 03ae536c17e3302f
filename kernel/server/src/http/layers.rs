//! The layers every request passes through: the client's request id
//! checked, route labels and metrics, security headers, the tenant from
//! `Host`, and themed error pages.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::http::error::{AppError, ErrorKind};
use crate::http::session::TenantOf;
use crate::state::AppState;

/// The header that names a request in the logs and in its response.
pub const REQUEST_ID: &str = "x-request-id";

/// Keeps a client's `X-Request-Id` only if it is one short token of safe
/// characters ([`is_safe_request_id`]): it is echoed in the response and
/// written in every log line of the request, where anything else could
/// forge fields or carry data. Otherwise the header goes, and the request
/// id layer after this one gives the request a new id.
pub async fn accept_request_id(mut req: Request, next: Next) -> Response {
    let keep = {
        let mut ids = req.headers().get_all(REQUEST_ID).iter();
        match (ids.next(), ids.next()) {
            (Some(id), None) => is_safe_request_id(id.as_bytes()),
            (None, _) => true,
            (Some(_), Some(_)) => false,
        }
    };
    if !keep {
        req.headers_mut().remove(REQUEST_ID);
    }
    next.run(req).await
}

/// 1 to 64 of `A–Z a–z 0–9 . _ -`: enough for a UUID or a proxy's own id.
pub fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The route that served a request, passed out to the metrics layer (which
/// runs before routing and so cannot see it on the request).
#[derive(Debug, Clone)]
struct RouteLabel(String);

pub async fn tag_route(req: Request, next: Next) -> Response {
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

pub async fn record_metrics(req: Request, next: Next) -> Response {
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

/// The portal's content security policy for a page served to `origin`:
/// scripts and styles only from the kernel's own hashed assets (a
/// plugin's route is on the same origin, and must not be able to serve a
/// script the portal would run), no inline script, no framing.
fn csp(origin: Option<&str>) -> String {
    let (scripts, styles) = match origin {
        Some(o) => (format!("{o}/assets/"), format!("{o}/assets/ {o}/brand/")),
        None => ("'none'".to_owned(), "'none'".to_owned()),
    };
    format!(
        "default-src 'none'; script-src {scripts}; style-src {styles}; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'; media-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// `scheme://host` of the request, if its `Host` is a plain host name (and
/// port): anything else could add directives to the policy.
fn origin_of(req: &Request, tls: bool) -> Option<String> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    let scheme = if tls { "https" } else { "http" };
    plain.then(|| format!("{scheme}://{}", host.to_ascii_lowercase()))
}

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let origin = origin_of(&req, state.config.server.behind_tls);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    };
    // A response with a stricter policy of its own (a plugin's answer is
    // sandboxed) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(v) = HeaderValue::from_str(&csp(origin.as_deref()))
    {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
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

/// Finds the tenant from the `Host` header (or, without one, the request
/// target's authority, as HTTP/2 sends it), on the installation's public
/// port only (`Registry::by_host`). An unknown host learns nothing; a
/// request that names its host twice gets 400 (see [`request_host`]).
pub async fn resolve_tenant(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let host = match request_host(&req) {
        Ok(host) => host,
        Err(e) => return e.into_response(),
    };
    match state.tenants.by_host(&host, state.public_port()) {
        Some(t) => {
            let t = TenantOf(t.clone());
            req.extensions_mut().insert(t);
            next.run(req).await
        }
        None => unknown_host(),
    }
}

/// The host a request is for. Two `Host` headers, or a `Host` that differs
/// from an authority in the request target, are refused: a proxy in front,
/// a cache or a layer here could each read another one, and serve or key
/// one tenant's answer under the other's name.
fn request_host(req: &Request) -> Result<String, AppError> {
    let header = {
        let mut hosts = req.headers().get_all(header::HOST).iter();
        match (hosts.next(), hosts.next()) {
            (_, Some(_)) => return Err(AppError::BadRequest("more than one Host header")),
            (Some(h), None) => Some(
                h.to_str()
                    .map_err(|_| AppError::BadRequest("a Host header that is not text"))?,
            ),
            (None, _) => None,
        }
    };
    let target = req.uri().authority().map(|a| a.as_str());
    match (header, target) {
        (Some(h), Some(t)) if !h.eq_ignore_ascii_case(t) => Err(AppError::BadRequest(
            "the Host header and the request target name different hosts",
        )),
        (Some(h), _) => Ok(h.to_owned()),
        (None, Some(t)) => Ok(t.to_owned()),
        (None, None) => Ok(String::new()),
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
pub async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let tenant = req.extensions().get::<TenantOf>().map(|t| t.0.clone());
    let lang = crate::http::session::lang_from_headers(req.headers());
    let res = next.run(req).await;
    let (Some(kind), Some(tenant)) = (res.extensions().get::<ErrorKind>().copied(), tenant) else {
        return res;
    };
    let lang = lang.unwrap_or(tenant.default_language);
    let (mut parts, _) = res.into_parts();
    let body = match crate::http::render::error_page(&state, &tenant, lang, kind.0) {
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

#[cfg(test)]
mod tests {
    use super::is_safe_request_id;

    #[test]
    fn a_clients_request_id_is_kept_only_when_short_and_plain() {
        for ok in [
            "a",
            "3f2b6c1e-8f4a-4d7e-9c3b-2a1d0e9f8b7c",
            "lb.1_2-3",
            &"x".repeat(64),
        ] {
            assert!(is_safe_request_id(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            &"x".repeat(65),
            "a b",
            "id\" injected=\"1",
            "<script>",
            "ä",
            "a/b",
            "a\tb",
        ] {
            assert!(!is_safe_request_id(bad.as_bytes()), "{bad}");
        }
    }
}
