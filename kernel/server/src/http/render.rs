//! Rendering a page: the tenant's theme, with the context every template
//! gets ([`Base`]) and the page's own data under `page`.
//!
//! Page data are `#[derive(Serialize)]` structs, one per page, next to the
//! handler that renders it: they are the page's contract with theme authors
//! (`themes/README.md`), so a field a template uses cannot silently vanish.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;
use tillit_domain::{Person, Role};

use crate::http::error::AppError;
use crate::http::session::Ctx;
use crate::state::AppState;
use crate::tenants::Tenant;
use crate::values::Language;

pub type PageResult = Result<Response, AppError>;

/// The visitor, as templates see them.
#[derive(Debug, Serialize)]
pub struct UserView<'a> {
    pub id: &'a str,
    pub name: String,
    pub given_name: &'a str,
    pub initials: String,
    pub role: Role,
    pub role_key: String,
    pub is_admin: bool,
    pub is_clinician: bool,
    pub is_patient: bool,
}

impl<'a> UserView<'a> {
    pub fn of(p: &'a Person) -> Self {
        Self {
            id: p.id.as_str(),
            name: p.full_name(),
            given_name: p.given_name.as_str(),
            initials: p.initials(),
            role: p.role,
            role_key: format!("role.{}", p.role.as_str()),
            is_admin: p.role == Role::Administrator,
            is_clinician: p.role == Role::Clinician,
            is_patient: p.role == Role::Patient,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LanguageChoice {
    pub code: &'static str,
    pub label_key: String,
    pub current: bool,
}

#[derive(Debug, Serialize)]
pub struct TenantView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub product: &'a str,
}

/// A plugin with a page of its own (the between-visits slot), for the menu.
#[derive(Debug, Serialize)]
pub struct PluginPage {
    pub id: String,
    pub name: String,
}

/// What every template can use: tenant, brand, language, visitor, CSRF
/// token, and the page's own data under `page`.
#[derive(Debug, Serialize)]
pub struct Base<'a, P> {
    pub lang: &'static str,
    pub langs: Vec<LanguageChoice>,
    pub tenant: TenantView<'a>,
    pub brand_css: Option<String>,
    pub logo: Option<String>,
    pub user: Option<UserView<'a>>,
    pub plugin_pages: Option<Vec<PluginPage>>,
    pub csrf: Option<&'a str>,
    pub path: &'a str,
    pub dev: bool,
    pub page: P,
}

/// Who a page is for, and where.
struct Visitor<'a> {
    tenant: &'a Tenant,
    lang: Language,
    user: Option<&'a Person>,
    csrf: Option<&'a str>,
    path: &'a str,
}

fn base<'a, P>(state: &AppState, v: Visitor<'a>, page: P) -> Base<'a, P> {
    let Visitor {
        tenant,
        lang,
        user,
        csrf,
        path,
    } = v;
    let brand = state.brands.get(&tenant.id);
    Base {
        lang: lang.code(),
        langs: Language::ALL
            .iter()
            .map(|l| LanguageChoice {
                code: l.code(),
                label_key: format!("lang.{}", l.code()),
                current: *l == lang,
            })
            .collect(),
        tenant: TenantView {
            id: tenant.id.as_str(),
            name: &tenant.display_name,
            product: tenant
                .brand
                .product_name
                .as_deref()
                .unwrap_or(&tenant.display_name),
        },
        brand_css: brand.map(|b| format!("/brand/{}/brand.css", b.css.hash)),
        logo: brand
            .and_then(|b| b.logo.as_ref())
            .map(|(name, a)| format!("/brand/{}/{name}", a.hash)),
        user: user.map(UserView::of),
        plugin_pages: user.map(|_| {
            state
                .plugins
                .plugins_for_slot(&tenant.id, tillit_plugin_manifest::Slot::BetweenVisitsPage)
                .iter()
                .map(|p| PluginPage {
                    id: p.id().to_owned(),
                    name: p.name(lang.code()).to_owned(),
                })
                .collect()
        }),
        csrf,
        path,
        dev: state.config.is_development(),
        page,
    }
}

fn render<T: Serialize>(
    state: &AppState,
    tenant: &Tenant,
    template: &str,
    data: &T,
) -> Result<Html<String>, AppError> {
    let theme = state
        .themes
        .get(&tenant.theme)
        .ok_or_else(|| AppError::Internal(format!("theme {} is not loaded", tenant.theme)))?;
    Ok(Html(theme.registry.render(template, data)?))
}

/// Renders `template` for the visitor in `ctx`, with `page` as page data.
pub fn page<P: Serialize>(
    state: &AppState,
    ctx: &Ctx,
    template: &str,
    page: P,
) -> Result<Html<String>, AppError> {
    let visitor = Visitor {
        tenant: &ctx.tenant,
        lang: ctx.lang,
        user: ctx.user.as_ref(),
        csrf: Some(&ctx.csrf),
        path: &ctx.path,
    };
    render(state, &ctx.tenant, template, &base(state, visitor, page))
}

/// The data of the error page.
#[derive(Debug, Serialize)]
struct ErrorPage {
    title: String,
    text: String,
}

/// The themed page for an error of `kind` (see `AppError::kind`).
pub fn error_page(
    state: &AppState,
    tenant: &Tenant,
    lang: Language,
    kind: &str,
) -> Result<Html<String>, AppError> {
    let visitor = Visitor {
        tenant,
        lang,
        user: None,
        csrf: None,
        path: "/",
    };
    let page = ErrorPage {
        title: format!("error.{kind}.title"),
        text: format!("error.{kind}.text"),
    };
    render(state, tenant, "error", &base(state, visitor, page))
}

/// A 303 to `to`, setting `cookie` if given.
pub fn see_other(to: &str, cookie: Option<HeaderValue>) -> Response {
    let mut res = Redirect::to(to).into_response();
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}
