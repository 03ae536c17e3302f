//! Logging in and out, and the language choice. The e-ID methods of the
//! tenant's file (OpenID Connect, `crate::eid`) and the development
//! identity provider ("test login", a stand-in for BankID that takes a
//! typed personnummer) live here; every provider ends in
//! `tillit_app::sessions::log_in_as`.
//!
//! A page that needs a login sends the visitor to `/login?next=<the page>`
//! (the session layer adds `next` to a GET's redirect), so that a deep link
//! (a visit page from an SMS) survives the login: the login page carries
//! `next` on, and a provider that logs someone in sends them to
//! [`return_path`]`(next)`, which is a path on this site or `/`. (An
//! e-ID login keeps `next` with its `state` for the callback.)

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::{Deserialize, Serialize};
use tillit_app::sessions::{Identity, Refused, Serves};
use tillit_domain::Personnummer;
use tillit_domain::session::{ProviderLogin, SessionExpired};

use crate::eid::Failure;
use crate::eid::pending::{self, Pending};

use crate::http::error::AppError;
use crate::http::extract::Portal;
use crate::http::forms::personnummer_error_key;
use crate::http::render::{PageResult, see_other};
use crate::http::session;
use crate::state::AppState;
use crate::values::Language;

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    ended: Option<String>,
    /// Where to go once logged in (see [`return_path`]).
    #[serde(default)]
    next: String,
}

/// The login page's data.
#[derive(Debug, Serialize)]
struct LoginPage<'a> {
    /// The tenant's e-ID methods, as buttons.
    methods: Vec<MethodButton<'a>>,
    dev_login: bool,
    personnummer: &'a str,
    /// The test login's field error.
    error: Option<&'static str>,
    /// Why an e-ID login did not work.
    alert: Option<&'static str>,
    notice: Option<&'static str>,
    /// The page to return to after login, if it is one of this site's
    /// (else empty).
    next: &'a str,
}

pub async fn form(p: Portal, Query(q): Query<LoginQuery>) -> PageResult {
    if p.ctx.user.is_some() {
        return Ok(Redirect::to(return_path(&q.next)).into_response());
    }
    // Why the visitor is here again: the session ended on this request, or
    // the logout redirect says so.
    let notice = match (p.ctx.ended, q.ended.as_deref()) {
        (Some(SessionExpired::Idle), _) | (_, Some("idle")) => Some("login.ended_idle"),
        (Some(SessionExpired::Absolute), _) | (_, Some("absolute")) => Some("login.ended_absolute"),
        (_, Some("logout")) => Some("login.logged_out"),
        _ => None,
    };
    login_page(&p, "", None, None, notice, &q.next, StatusCode::OK)
}

fn login_page(
    p: &Portal,
    typed: &str,
    error: Option<&'static str>,
    alert: Option<&'static str>,
    notice: Option<&'static str>,
    next: &str,
    status: StatusCode,
) -> PageResult {
    let next = return_path(next);
    let methods = p
        .ctx
        .tenant
        .login_methods
        .iter()
        .map(|m| MethodButton {
            label: &m.label,
            href: if next == "/" {
                format!("/login/oidc/{}", m.id)
            } else {
                format!(
                    "/login/oidc/{}?{}",
                    m.id,
                    serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
                )
            },
        })
        .collect();
    let html = p.page(
        "login",
        LoginPage {
            methods,
            dev_login: p.state.config.identity.dev_login,
            personnummer: typed,
            error,
            alert,
            notice,
            next: if next == "/" { "" } else { next },
        },
    )?;
    Ok((status, html).into_response())
}

/// One e-ID method on the login page.
#[derive(Debug, Serialize)]
struct MethodButton<'a> {
    label: &'a str,
    href: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    personnummer: String,
    /// Carried from the login page's `next`.
    #[serde(default)]
    next: String,
}

/// The development identity provider. Refused unless enabled (never in
/// production).
pub async fn test_login(p: Portal, Form(form): Form<LoginForm>) -> PageResult {
    if !p.state.config.identity.dev_login {
        return Err(AppError::NotFound);
    }
    let pnr = match Personnummer::parse_at(&form.personnummer, p.state.clock.now()) {
        Ok(pnr) => pnr,
        Err(e) => {
            metrics::counter!("tillit_logins_total", "result" => "malformed").increment(1);
            let key = personnummer_error_key(e);
            return login_page(
                &p,
                &form.personnummer,
                Some(key),
                None,
                None,
                &form.next,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let who = Identity::Personnummer(pnr);
    match start_session(&p, &who, Serves::Everyone, None, &form.next, "test").await? {
        Ok(done) => Ok(done),
        Err(_) => login_page(
            &p,
            &form.personnummer,
            Some("login.no_such_user"),
            None,
            None,
            &form.next,
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// Logs in the person `who` is, if the method (`serves`) admits them: a
/// new session (the old one, and its CSRF binding, ends), remembering the
/// e-ID `login` it came from, and a redirect to [`return_path`]`(next)`.
/// `provider` names the method for the log.
async fn start_session(
    p: &Portal,
    who: &Identity,
    serves: Serves,
    login: Option<&ProviderLogin>,
    next: &str,
    provider: &str,
) -> Result<Result<axum::response::Response, Refused>, AppError> {
    let new = session::new_session(&p.state, &p.ctx.tenant);
    let store = p.store();
    match tillit_app::sessions::log_in_as(
        p.env(&store),
        who,
        serves,
        login,
        &new.hash,
        new.expires_at,
    )
    .await?
    {
        Ok(_) => {
            session::end_session(&p.state, &p.ctx).await?;
            metrics::counter!("tillit_logins_total", "result" => "ok").increment(1);
            Ok(Ok(see_other(return_path(next), Some(new.cookie))))
        }
        Err(refused) => {
            // One outcome for "unknown" and "not active", on the page and in
            // the metrics (which anyone trying numbers could watch move): the
            // login form should not tell who is registered. Only the log,
            // which names no number, says which.
            metrics::counter!("tillit_logins_total", "result" => "refused").increment(1);
            tracing::info!(tenant = %p.ctx.tenant.id, provider, reason = refused.as_str(), "login refused");
            Ok(Err(refused))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    next: String,
}

/// The start of an e-ID login with one of the tenant's methods: a sealed
/// login under way in a cookie, and the browser sent to the provider.
pub async fn eid_start(
    p: Portal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<StartQuery>,
) -> PageResult {
    let Some(method) = p.ctx.tenant.login_method(&id) else {
        return Err(AppError::NotFound);
    };
    // The callback comes back to the tenant's first host name, where its
    // cookie must be: a login started on another of its names moves there
    // first.
    let origin = crate::outbox::portal_origin(&p.state, &p.ctx.tenant);
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !origin.ends_with(&format!("//{host}"))
        && !origin.ends_with(&format!("//{host}:{}", p.state.public_port()))
    {
        let next = return_path(&q.next);
        let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        return Ok(Redirect::to(&format!("{origin}/login/oidc/{id}?{query}")).into_response());
    }
    let started = crate::eid::flow::start(
        &p.state.eid,
        method,
        &callback_uri(&p),
        return_path(&q.next),
        p.state.clock.now(),
    )
    .await;
    match started {
        Ok(started) => {
            let sealed = pending::seal(&p.state.secret, &p.ctx.tenant.id, &started.pending);
            let mut res = Redirect::to(&started.url).into_response();
            res.headers_mut().append(
                axum::http::header::SET_COOKIE,
                session::eid_pending_cookie(&p.state, sealed),
            );
            Ok(res)
        }
        Err(failure) => eid_failed(&p, &method.id, &failure, &q.next),
    }
}

/// Where every method's provider sends the browser back: one address per
/// tenant, registered at the provider.
fn callback_uri(p: &Portal) -> String {
    format!(
        "{}/login/oidc/callback",
        crate::outbox::portal_origin(&p.state, &p.ctx.tenant)
    )
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The provider that answers (RFC 9207), where it says.
    iss: Option<String>,
}

/// The provider's answer: the login under way (from its cookie, used once)
/// must be this browser's, for this tenant, in time, with this `state`;
/// then the code is exchanged and the identity logged in, if the method
/// admits them.
pub async fn eid_callback(
    p: Portal,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> PageResult {
    let now = p.state.clock.now();
    let pending: Option<Pending> = session::eid_pending_from_headers(&p.state, &headers)
        .and_then(|sealed| pending::open(&p.state.secret, &p.ctx.tenant.id, &sealed, now));
    let clear = session::clear_eid_pending_cookie(&p.state);
    let with_clear = |mut res: axum::response::Response| {
        res.headers_mut()
            .append(axum::http::header::SET_COOKIE, clear.clone());
        res
    };
    let Some(pending) = pending else {
        let failure = Failure::NotStartedHere("no login under way in this browser");
        return eid_failed(&p, "unknown", &failure, "").map(with_clear);
    };
    let Some(method) = p.ctx.tenant.login_method(&pending.method) else {
        let failure = Failure::NotStartedHere("the method is no longer configured");
        return eid_failed(&p, &pending.method, &failure, &pending.next).map(with_clear);
    };
    let code = match answered_code(q, &pending, method) {
        Ok(code) => code,
        Err(failure) => {
            return eid_failed(&p, &method.id, &failure, &pending.next).map(with_clear);
        }
    };
    let verified = crate::eid::flow::finish(
        &p.state.eid,
        method,
        &pending,
        &code,
        &callback_uri(&p),
        now,
    )
    .await;
    let verified = match verified {
        Ok(v) => v,
        Err(failure) => {
            return eid_failed(&p, &method.id, &failure, &pending.next).map(with_clear);
        }
    };
    let login = ProviderLogin {
        method: method.id.clone(),
        subject: verified.subject,
        session: verified.provider_session,
    };
    let session = start_session(
        &p,
        &verified.identity,
        method.serves,
        Some(&login),
        &pending.next,
        &method.id,
    )
    .await?;
    match session {
        Ok(done) => Ok(with_clear(done)),
        Err(refused) => {
            let key = match refused {
                Refused::NotForThisMethod => "login.not_for_this_method",
                Refused::Unknown | Refused::Inactive => "login.no_account",
            };
            login_page(
                &p,
                "",
                None,
                Some(key),
                None,
                &pending.next,
                StatusCode::FORBIDDEN,
            )
            .map(with_clear)
        }
    }
}

/// The code in the provider's answer, if the answer is to this browser's
/// login (its `state`), from the method's provider (RFC 9207 `iss`, where
/// it says), and not an error.
fn answered_code(
    q: CallbackQuery,
    pending: &Pending,
    method: &crate::tenants::LoginMethod,
) -> Result<String, Failure> {
    let state_ok = q
        .state
        .as_deref()
        .is_some_and(|s| session::constant_time_eq(s.as_bytes(), pending.state.as_bytes()));
    if !state_ok {
        return Err(Failure::NotStartedHere("state does not match"));
    }
    // A mix-up attack sends one provider's answer to another's login.
    if q.iss
        .as_deref()
        .is_some_and(|iss| iss.trim_end_matches('/') != method.issuer)
    {
        return Err(Failure::NotStartedHere("the answer names another provider"));
    }
    if let Some(error) = q.error {
        return Err(Failure::Refused(error.chars().take(64).collect()));
    }
    q.code.ok_or_else(|| Failure::Refused("no code".into()))
}

/// The login page again, saying the e-ID login did not work (or was
/// cancelled); the log says why, without the identity.
fn eid_failed(p: &Portal, method: &str, failure: &Failure, next: &str) -> PageResult {
    metrics::counter!("tillit_logins_total", "result" => "failed").increment(1);
    tracing::warn!(
        tenant = %p.ctx.tenant.id,
        method,
        kind = failure.as_str(),
        detail = %failure,
        "e-ID login failed"
    );
    let (key, status) = match failure {
        Failure::Refused(_) => ("login.eid_cancelled", StatusCode::UNAUTHORIZED),
        Failure::Provider(_) => ("login.eid_unavailable", StatusCode::BAD_GATEWAY),
        // No login of this browser's here to finish: a bad request, not a
        // refused identity.
        Failure::NotStartedHere(_) => ("login.eid_failed", StatusCode::BAD_REQUEST),
        Failure::Token(_) | Failure::NoIdentity(_) => {
            ("login.eid_failed", StatusCode::UNAUTHORIZED)
        }
    };
    login_page(p, "", None, Some(key), None, next, status)
}

/// Logs out: the session ends here, and a session from an e-ID login also
/// at its provider, where the provider has an end-session endpoint (it
/// sends the person back to the login page).
pub async fn logout(p: Portal) -> PageResult {
    let method = match &p.ctx.session_hash {
        Some(hash) => p
            .store()
            .session(hash)
            .await?
            .and_then(|s| s.login_method)
            .and_then(|id| p.ctx.tenant.login_method(&id)),
        None => None,
    };
    let cookie = session::end_session(&p.state, &p.ctx).await?;
    if let Some(u) = &p.ctx.user {
        tracing::info!(tenant = %p.ctx.tenant.id, person = %u.id, "logged out");
    }
    let here = "/login?ended=logout";
    let Some(method) = method else {
        return Ok(see_other(here, Some(cookie)));
    };
    let back = format!(
        "{}{here}",
        crate::outbox::portal_origin(&p.state, &p.ctx.tenant)
    );
    // The session here has ended whatever the provider does; a provider
    // that cannot be reached only misses its part.
    let at_provider = match p.state.eid.metadata(&method.issuer).await {
        Ok(meta) => crate::eid::logout::end_session_url(&meta, method, &back),
        Err(e) => {
            tracing::warn!(tenant = %p.ctx.tenant.id, method = %method.id, error = %e, "no end-session at the provider");
            None
        }
    };
    Ok(see_other(
        at_provider.as_deref().unwrap_or(here),
        Some(cookie),
    ))
}

#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    lang: String,
    #[serde(default)]
    return_to: String,
}

pub async fn set_language(
    State(state): State<AppState>,
    Form(form): Form<LanguageForm>,
) -> PageResult {
    let lang = Language::parse(&form.lang).ok_or(AppError::BadRequest("unknown language"))?;
    let back = local_path(&form.return_to);
    Ok(see_other(
        back,
        Some(session::language_cookie(&state, lang)),
    ))
}

/// `to` if it is a path on this site, else `/`, so that no form can be
/// used as an open redirect. Browsers drop tabs and newlines from a URL and
/// read `\` as `/`, so `/\t/evil.example` would become `//evil.example`:
/// a path with a control character, whitespace or backslash is refused, as
/// is one that starts with `//` (another host) and anything not ASCII (a
/// path this site links to is percent-encoded).
fn local_path(to: &str) -> &str {
    let safe = to.starts_with('/')
        && !to.starts_with("//")
        && to.len() <= 2048
        && to.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if safe { to } else { "/" }
}

/// Where a login (by any identity provider) sends the person: `next` if it
/// is a page of this site to come back to, else the start page. On top of
/// [`local_path`]'s rules (no other host, however spelled: `//evil`,
/// `/\evil`, `https://…`, control characters), an encoded slash or
/// backslash (`/%2F%2Fevil`, which some proxies decode), a `.` or `..`
/// segment, and the login and logout pages themselves are refused.
pub(crate) fn return_path(next: &str) -> &str {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let lower = path.to_ascii_lowercase();
    let refused = lower.contains("%2f")
        || lower.contains("%5c")
        || path.split('/').any(|seg| seg == "." || seg == "..")
        || ["/login", "/logout"]
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    if refused { "/" } else { local_path(next) }
}

#[cfg(test)]
mod tests {
    use super::{local_path, return_path};

    #[test]
    fn a_login_returns_only_to_pages_of_this_site() {
        for ok in ["/visits/abc", "/bookings?view=history&page=2", "/me#x"] {
            assert_eq!(return_path(ok), ok);
        }
        for bad in [
            "",
            "visits/abc",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\evil.example",
            "/\t/evil.example",
            "https://evil.example/",
            "http:/evil.example",
            "/%2F%2Fevil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/a/../..//evil.example",
            "/./",
            "/login",
            "/login?next=/x",
            "/logout",
            " /visits/abc",
        ] {
            assert_eq!(return_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn only_paths_on_this_site_are_returned_to() {
        for ok in ["/", "/login", "/visits/abc?tab=notes#x", "/a%2F%2Fb"] {
            assert_eq!(local_path(ok), ok);
        }
        for bad in [
            "",
            "login",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "https://evil.example/",
            "/\u{202e}x",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }
}
