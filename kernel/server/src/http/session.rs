//! Logins, cookies and CSRF: one middleware in front of every portal page.
//!
//! - The session cookie holds 32 random bytes; the database holds only their
//!   SHA-256, keyed by tenant, so a cookie from one tenant means nothing on
//!   another and a database leak yields no usable tokens.
//! - Each request checks the tenant's idle timeout and absolute lifetime
//!   against the injected clock; an ended session is deleted and the visitor
//!   is told why at the login page.
//! - CSRF: every state-changing request must carry a token (form field
//!   `_csrf` or header `X-CSRF-Token`; for file uploads, the header or the
//!   form's first field `_csrf`, never the URL, where it would show in the
//!   address bar, history and logs) equal to an HMAC, under the
//!   installation's secret, of the tenant and the session (or, before login,
//!   of a random pre-session cookie). Requests whose `Origin` or
//!   `Sec-Fetch-Site` says they come from elsewhere are refused outright.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tillit_app::sessions::{self, Resumed};
use tillit_domain::session::SessionExpired;
use tillit_domain::{Person, Role, Timestamp};

use crate::http::error::AppError;
use crate::state::AppState;
use crate::tenants::Tenant;
use crate::values::Language;

const SESSION: &str = "tillit_session";
const PRE_SESSION: &str = "tillit_pre";
/// An e-ID login under way: its state, nonce and PKCE verifier, sealed
/// (`eid::pending`), for the provider's callback to this host.
const EID_PENDING: &str = "tillit_eid";
pub const LANG: &str = "tillit_lang";
pub const CSRF_FIELD: &str = "_csrf";
const CSRF_HEADER: &str = "x-csrf-token";

/// Everything a portal handler knows about the request's visitor.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub tenant: Arc<Tenant>,
    pub lang: Language,
    pub user: Option<Person>,
    /// The token to put in this page's forms.
    pub csrf: String,
    /// Why the visitor's session just ended, if it did.
    pub ended: Option<SessionExpired>,
    /// The request's path, for forms that return to the same page.
    pub path: String,
    /// The hash of the session token, to end this session on logout.
    pub(crate) session_hash: Option<String>,
}

impl Ctx {
    pub fn user(&self) -> Result<&Person, AppError> {
        self.user.as_ref().ok_or(AppError::LoginRequired)
    }

    pub fn require(&self, role: Role) -> Result<&Person, AppError> {
        let user = self.user()?;
        if user.role == role {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Ctx>().cloned().ok_or_else(|| {
            AppError::Internal("portal handler mounted outside the session layer".into())
        })
    }
}

/// The tenant a request is for, set by the tenant layer.
#[derive(Debug, Clone)]
pub struct TenantOf(pub Arc<Tenant>);

pub fn cookie_name(state: &AppState, base: &str) -> String {
    // `__Host-` pins the cookie to this host, path / and TLS.
    if state.config.server.behind_tls {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// A cookie for this installation; `base` gets the `__Host-` prefix behind TLS.
fn build_cookie(
    state: &AppState,
    base: &str,
    value: String,
    max_age: Option<cookie::time::Duration>,
) -> HeaderValue {
    let name = if base == LANG {
        base.to_owned()
    } else {
        cookie_name(state, base)
    };
    let mut c = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.server.behind_tls);
    if let Some(age) = max_age {
        c = c.max_age(age);
    }
    HeaderValue::from_str(&c.build().to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie(state: &AppState, name: &str) -> HeaderValue {
    build_cookie(
        state,
        name,
        String::new(),
        Some(cookie::time::Duration::ZERO),
    )
}

/// The `Set-Cookie` value for a language choice (a year; not sensitive).
pub fn language_cookie(state: &AppState, lang: Language) -> HeaderValue {
    build_cookie(
        state,
        LANG,
        lang.code().to_owned(),
        Some(cookie::time::Duration::days(365)),
    )
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| Cookie::parse(c.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The `Set-Cookie` value for an e-ID login under way: it lasts as long as
/// a login at the provider may take.
pub fn eid_pending_cookie(state: &AppState, sealed: String) -> HeaderValue {
    let lifetime = crate::eid::pending::LIFETIME;
    let seconds = i64::try_from(lifetime.as_secs()).unwrap_or(600);
    build_cookie(
        state,
        EID_PENDING,
        sealed,
        Some(cookie::time::Duration::seconds(seconds)),
    )
}

/// The `Set-Cookie` value that ends an e-ID login under way (it is used
/// once, whatever its outcome).
pub fn clear_eid_pending_cookie(state: &AppState) -> HeaderValue {
    clear_cookie(state, EID_PENDING)
}

/// The sealed e-ID login under way, from its cookie.
pub fn eid_pending_from_headers(state: &AppState, headers: &HeaderMap) -> Option<String> {
    read_cookie(headers, &cookie_name(state, EID_PENDING))
}

/// The language the visitor chose, from its cookie.
pub fn lang_from_headers(headers: &HeaderMap) -> Option<Language> {
    read_cookie(headers, LANG)
        .as_deref()
        .and_then(Language::parse)
}

/// A new random token, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn csrf_token(secret: &[u8], tenant: &str, binding: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"tillit-csrf\0");
    mac.update(tenant.as_bytes());
    mac.update(b"\0");
    mac.update(binding.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A session about to start: what the store keeps (the token's hash and
/// the expiry) and the cookie that carries the token.
#[derive(Debug)]
pub struct NewSession {
    pub hash: String,
    pub expires_at: Timestamp,
    pub cookie: HeaderValue,
}

/// A new session token for `tenant`, for `tillit_app::sessions::log_in` to
/// store. The caller ends any previous session (session fixation).
pub fn new_session(state: &AppState, tenant: &Tenant) -> NewSession {
    let token = new_token();
    let now = state.clock.now();
    let times = tillit_domain::session::SessionTimes {
        created_at: now,
        last_seen_at: now,
    };
    NewSession {
        hash: hash_token(&token),
        expires_at: tenant.session.expires_at(times),
        // No Max-Age: the cookie ends with the browser, as the FAQ
        // promises; the server-side expiry is what counts.
        cookie: build_cookie(state, SESSION, token, None),
    }
}

/// Ends the visitor's session, if any, and returns the cookie that clears it.
pub async fn end_session(state: &AppState, ctx: &Ctx) -> Result<HeaderValue, AppError> {
    if let Some(hash) = &ctx.session_hash {
        let store = state.store.tenant(ctx.tenant.id.clone());
        tillit_app::sessions::log_out(state.env(ctx, &store), hash).await?;
    }
    Ok(clear_cookie(state, SESSION))
}

/// The session-and-CSRF layer for portal pages.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match run(&state, req, next).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn run(state: &AppState, req: Request, next: Next) -> Result<Response, AppError> {
    let tenant = req
        .extensions()
        .get::<TenantOf>()
        .map(|t| Arc::clone(&t.0))
        .ok_or_else(|| {
            AppError::Internal("session layer mounted outside the tenant layer".into())
        })?;
    let headers = req.headers();
    let mut set_cookies: Vec<HeaderValue> = Vec::new();
    // Who is this?
    let mut user = None;
    let mut ended = None;
    let mut session_hash = None;
    if let Some(token) = read_cookie(headers, &cookie_name(state, SESSION)) {
        let hash = hash_token(&token);
        let store = state.store.tenant(tenant.id.clone());
        let env = state.env_for(&tenant, &store);
        match sessions::resume(env, &hash, &tenant.session).await? {
            Resumed::Valid(person) => {
                user = Some(person);
                session_hash = Some(hash);
            }
            Resumed::Ended(why) => {
                ended = Some(why);
                set_cookies.push(clear_cookie(state, SESSION));
            }
            Resumed::Unknown => set_cookies.push(clear_cookie(state, SESSION)),
        }
    }

    // What is this visitor's CSRF token?
    let binding = match &session_hash {
        Some(h) => h.clone(),
        None => match read_cookie(headers, &cookie_name(state, PRE_SESSION)) {
            Some(pre) if pre.len() == 43 => pre,
            _ => {
                let pre = new_token();
                set_cookies.push(build_cookie(state, PRE_SESSION, pre.clone(), None));
                pre
            }
        },
    };
    let csrf = csrf_token(&state.secret, tenant.id.as_str(), &binding);

    let lang = lang_from_headers(headers).unwrap_or(tenant.default_language);

    let req = if is_state_changing(req.method()) {
        check_csrf(state, req, &csrf).await?
    } else {
        req
    };

    let path = req.uri().path().to_owned();
    // The page to come back to if this request is sent to log in: a page a
    // person opened (not a form's post, nor a socket).
    let back = (matches!(*req.method(), Method::GET | Method::HEAD)
        && !req.headers().contains_key(header::UPGRADE))
    .then(|| req.uri().path_and_query().map(|pq| pq.as_str().to_owned()))
    .flatten();
    let ctx = Ctx {
        tenant,
        lang,
        user,
        csrf,
        ended,
        path,
        session_hash,
    };
    let mut req = req;
    req.extensions_mut().insert(ctx);
    let mut res = next.run(req).await;
    if res
        .extensions()
        .get::<crate::http::error::LoginRedirect>()
        .is_some()
    {
        let mut query: Vec<(&str, &str)> = Vec::new();
        match ended {
            Some(SessionExpired::Idle) => query.push(("ended", "idle")),
            Some(SessionExpired::Absolute) => query.push(("ended", "absolute")),
            None => {}
        }
        if let Some(back) = back.as_deref().filter(|b| *b != "/") {
            query.push(("next", back));
        }
        let to = match serde_urlencoded::to_string(&query) {
            Ok(q) if !q.is_empty() => format!("/login?{q}"),
            _ => "/login".to_owned(),
        };
        if let Ok(to) = HeaderValue::from_str(&to) {
            res.headers_mut().insert(header::LOCATION, to);
        }
    }
    // A cookie the handler set (a login's new session) is newer than what
    // this layer decided before the handler ran (clearing the stale one the
    // request came with): the layer's own for the same name is dropped, as
    // browsers would keep whichever comes last.
    let set_by_handler: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(cookie_name_of)
        .collect();
    for c in set_cookies {
        if cookie_name_of(&c).is_some_and(|n| set_by_handler.contains(&n)) {
            continue;
        }
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// The name of the cookie a `Set-Cookie` value sets.
fn cookie_name_of(v: &HeaderValue) -> Option<String> {
    let v = v.to_str().ok()?;
    let (name, _) = v.split_once('=')?;
    Some(name.trim().to_owned())
}

fn is_state_changing(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request's `Origin` is the host it was sent to; `None` if it
/// has no origin (or "null", which says nothing either way).
pub(crate) fn same_origin(headers: &axum::http::HeaderMap) -> Option<bool> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")?;
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
    Some(!host.is_empty() && origin_host.eq_ignore_ascii_case(host))
}

/// Reads the body (within the size limit), checks the token and the origin,
/// and hands the request on with its body intact.
async fn check_csrf(state: &AppState, req: Request, expected: &str) -> Result<Request, AppError> {
    let (parts, body) = req.into_parts();
    if parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        == Some("cross-site")
    {
        return Err(AppError::Csrf("cross-site request"));
    }
    // "null" (privacy modes, some redirects) says nothing either way; the
    // token below is what protects the request.
    if same_origin(&parts.headers) == Some(false) {
        return Err(AppError::Csrf("request from another origin"));
    }
    let from_header = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let check = |given: Option<String>| match given {
        None => Err(AppError::Csrf("missing token")),
        Some(t) if !constant_time_eq(t.as_bytes(), expected.as_bytes()) => {
            Err(AppError::Csrf("wrong token"))
        }
        Some(_) => Ok(()),
    };
    // File uploads carry the token in the header or as the form's first
    // field; only that field is read here, and the body streams on to the
    // handler, whose route sets its own size limit. Every other form is read
    // here, within the general limit.
    let boundary = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(multipart_boundary);
    if let Some(boundary) = boundary {
        if from_header.is_some() {
            check(from_header)?;
            return Ok(Request::from_parts(parts, body));
        }
        let (token, body) = multipart_token(&boundary, body).await?;
        check(token)?;
        return Ok(Request::from_parts(parts, body));
    }
    let bytes: Bytes = axum::body::to_bytes(body, state.config.server.max_body_bytes)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let from_form = || {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v)
    };
    check(from_header.or_else(from_form))?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The boundary of a `multipart/form-data` body, from its content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let mime = params.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

/// The most of a multipart body read for its first field: a token and its
/// part's headers fit many times over.
const MULTIPART_TOKEN_BYTES: usize = 4096;

/// What the start of a multipart body says about its first field.
#[derive(Debug, PartialEq, Eq)]
enum FirstField {
    /// It is `_csrf`, with this value.
    Token(String),
    /// It is something else, or the body is not multipart as declared.
    Other,
    /// Not all of it has arrived yet.
    Incomplete,
}

/// Reads the first field of a multipart body that begins with `buf`.
fn first_field(buf: &[u8], boundary: &str) -> FirstField {
    let opening = format!("--{boundary}\r\n");
    let Some(rest) = buf.strip_prefix(opening.as_bytes()) else {
        return if opening.as_bytes().starts_with(buf) {
            FirstField::Incomplete
        } else {
            FirstField::Other
        };
    };
    let Some(head_end) = find(rest, b"\r\n\r\n") else {
        return FirstField::Incomplete;
    };
    let head = String::from_utf8_lossy(&rest[..head_end]);
    let is_token = head.split("\r\n").any(|line| {
        let Some((name, value)) = line.split_once(':') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("content-disposition")
            && value.split(';').skip(1).any(|param| {
                param.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("name")
                        && v.trim().trim_matches('"') == CSRF_FIELD
                })
            })
    });
    if !is_token {
        return FirstField::Other;
    }
    let value = &rest[head_end + 4..];
    let closing = format!("\r\n--{boundary}");
    match find(value, closing.as_bytes()) {
        Some(end) => FirstField::Token(String::from_utf8_lossy(&value[..end]).into_owned()),
        None => FirstField::Incomplete,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `_csrf` field a multipart body starts with, if it does, and the
/// whole body to hand on: what was read, then the rest as it streams.
async fn multipart_token(boundary: &str, body: Body) -> Result<(Option<String>, Body), AppError> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut read = Vec::new();
    let token = loop {
        match first_field(&read, boundary) {
            FirstField::Token(t) => break Some(t),
            FirstField::Other => break None,
            FirstField::Incomplete if read.len() >= MULTIPART_TOKEN_BYTES => break None,
            FirstField::Incomplete => {}
        }
        match stream.next().await {
            Some(Ok(chunk)) => read.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(AppError::BadRequest("the upload broke off")),
            None => break None,
        }
    };
    let head = futures::stream::once(std::future::ready(Ok::<_, axum::Error>(Bytes::from(read))));
    Ok((token, Body::from_stream(head.chain(stream))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_carries_its_token_as_its_first_field() {
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=----x7"),
            Some("----x7".to_owned())
        );
        assert_eq!(
            multipart_boundary("Multipart/Form-Data; boundary=\"a b\""),
            Some("a b".to_owned())
        );
        assert_eq!(
            multipart_boundary("application/x-www-form-urlencoded"),
            None
        );
        let body = b"--B\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok3n\r\n--B\r\nContent-Disposition: form-data; name=\"picture\"; filename=\"a.png\"\r\n\r\n...";
        assert_eq!(first_field(body, "B"), FirstField::Token("tok3n".into()));
        // Arriving a byte at a time, it is read once it is all in.
        for cut in 0..body.len() {
            let partial = first_field(&body[..cut], "B");
            assert!(
                partial == FirstField::Incomplete || partial == FirstField::Token("tok3n".into()),
                "{cut}: {partial:?}"
            );
        }
        assert_eq!(first_field(&body[..40], "B"), FirstField::Incomplete);
        // Another first field, a file first, or no multipart at all.
        let picture_first = b"--B\r\nContent-Disposition: form-data; name=\"picture\"; filename=\"_csrf\"\r\n\r\nxx\r\n--B--";
        assert_eq!(first_field(picture_first, "B"), FirstField::Other);
        assert_eq!(first_field(b"_csrf=tok3n", "B"), FirstField::Other);
    }

    #[test]
    fn csrf_tokens_are_bound_to_tenant_and_session() {
        let k = b"secret";
        let a = csrf_token(k, "alfa", "s1");
        assert_eq!(a, csrf_token(k, "alfa", "s1"));
        assert_ne!(a, csrf_token(k, "beta", "s1"));
        assert_ne!(a, csrf_token(k, "alfa", "s2"));
        assert_ne!(a, csrf_token(b"other", "alfa", "s1"));
    }

    #[test]
    fn tokens_are_random_and_hashes_hex() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a).len(), 64);
        assert!(
            constant_time_eq(b"abc", b"abc")
                && !constant_time_eq(b"abc", b"abd")
                && !constant_time_eq(b"a", b"ab")
        );
    }
}
