//! Logging in and out, and the language choice. The development identity
//! provider ("test login", a stand-in for BankID that takes a typed
//! personnummer) lives here; every provider ends in
//! `tillit_app::sessions::log_in`.

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
}

/// The login page's data.
#[derive(Debug, Serialize)]
struct LoginPage<'a> {
    dev_login: bool,
    personnummer: &'a str,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

pub async fn form(p: Portal, Query(q): Query<LoginQuery>) -> PageResult {
    if p.ctx.user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    // Why the visitor is here again: the session ended on this request, or
    // the logout redirect says so.
    let notice = match (p.ctx.ended, q.ended.as_deref()) {
        (Some(SessionExpired::Idle), _) | (_, Some("idle")) => Some("login.ended_idle"),
        (Some(SessionExpired::Absolute), _) | (_, Some("absolute")) => Some("login.ended_absolute"),
        (_, Some("logout")) => Some("login.logged_out"),
        _ => None,
    };
    login_page(&p, "", None, notice, StatusCode::OK)
}

fn login_page(
    p: &Portal,
    typed: &str,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> PageResult {
    let html = p.page(
        "login",
        LoginPage {
            dev_login: p.state.config.identity.dev_login,
            personnummer: typed,
            error,
            notice,
        },
    )?;
    Ok((status, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    personnummer: String,
}

/// The development identity provider. Refused unless enabled (never in
/// production).
pub async fn test_login(p: Portal, Form(form): Form<LoginForm>) -> PageResult {
    if !p.state.config.identity.dev_login {
        return Err(AppError::NotFound);
    }
    let pnr = match Personnummer::parse(&form.personnummer) {
        Ok(pnr) => pnr,
        Err(e) => {
            metrics::counter!("tillit_logins_total", "result" => "malformed").increment(1);
            let key = personnummer_error_key(e);
            return login_page(
                &p,
                &form.personnummer,
                Some(key),
                None,
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
            Ok(see_other("/", Some(new.cookie)))
        }
        Err(refused) => {
            let result = refused.as_str();
            metrics::counter!("tillit_logins_total", "result" => result).increment(1);
            tracing::info!(tenant = %p.ctx.tenant.id, result, "test login refused");
            // One message for "unknown" and "not active": the login form
            // should not tell who is registered.
            login_page(
                &p,
                &form.personnummer,
                Some("login.no_such_user"),
                None,
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
    // Only same-site paths, so the form cannot be used as an open redirect.
    let back = if form.return_to.starts_with('/')
        && !form.return_to.starts_with("//")
        && !form.return_to.contains('\\')
    {
        form.return_to.as_str()
    } else {
        "/"
    };
    Ok(see_other(
        back,
        Some(session::language_cookie(&state, lang)),
    ))
}
