//! Logging in and out, and the language choice. The development identity
//! provider ("test login", a stand-in for BankID that takes a typed
//! personnummer) lives here; every provider ends in
//! `tillit_app::sessions::log_in`.
//!
//! A page that needs a login sends the visitor to `/login?next=<the page>`
//! (the session layer adds `next` to a GET's redirect), so that a deep link
//! (a visit page from an SMS) survives the login: the login page carries
//! `next` on, and a provider that logs someone in sends them to
//! [`return_path`]`(next)`, which is a path on this site or `/`. (An
//! OpenID Connect provider keeps `next` with its `state` for the
//! callback.)

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::{Deserialize, Serialize};
use tillit_domain::Personnummer;
use tillit_domain::session::SessionExpired;

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
    dev_login: bool,
    personnummer: &'a str,
    error: Option<&'static str>,
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
    login_page(&p, "", None, notice, &q.next, StatusCode::OK)
}

fn login_page(
    p: &Portal,
    typed: &str,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    next: &str,
    status: StatusCode,
) -> PageResult {
    let next = return_path(next);
    let html = p.page(
        "login",
        LoginPage {
            dev_login: p.state.config.identity.dev_login,
            personnummer: typed,
            error,
            notice,
            next: if next == "/" { "" } else { next },
        },
    )?;
    Ok((status, html).into_response())
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
                &form.next,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let new = session::new_session(&p.state, &p.ctx.tenant);
    let store = p.store();
    match tillit_app::sessions::log_in(p.env(&store), &pnr, &new.hash, new.expires_at).await? {
        Ok(_) => {
            // A new session every time: the old one (and its CSRF binding)
            // ends.
            session::end_session(&p.state, &p.ctx).await?;
            metrics::counter!("tillit_logins_total", "result" => "ok").increment(1);
            Ok(see_other(return_path(&form.next), Some(new.cookie)))
        }
        Err(refused) => {
            // One outcome for "unknown" and "not active", on the page and in
            // the metrics (which anyone trying numbers could watch move): the
            // login form should not tell who is registered. Only the log,
            // which names no number, says which.
            metrics::counter!("tillit_logins_total", "result" => "refused").increment(1);
            tracing::info!(tenant = %p.ctx.tenant.id, reason = refused.as_str(), "test login refused");
            login_page(
                &p,
                &form.personnummer,
                Some("login.no_such_user"),
                None,
                &form.next,
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

pub async fn logout(p: Portal) -> PageResult {
    let cookie = session::end_session(&p.state, &p.ctx).await?;
    if let Some(u) = &p.ctx.user {
        tracing::info!(tenant = %p.ctx.tenant.id, person = %u.id, "logged out");
    }
    Ok(see_other("/login?ended=logout", Some(cookie)))
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
