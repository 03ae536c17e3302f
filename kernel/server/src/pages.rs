//! Portal pages: the landing page, the test login, logout, language choice,
//! the visitor's own data, and the administrators' people pages.
//!
//! Every page is a theme template rendered with the same base context
//! ([`base_context`]); handlers add only their own data under `page`.
//! Forms that fail validation are shown again with each field's error and
//! the values typed, and nothing is changed.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tillit_domain::access::AccessAction;
use tillit_domain::people::NewPerson;
use tillit_domain::personnummer::PersonnummerError;
use tillit_domain::{Person, PersonId, PersonName, PersonStatus, Personnummer, Role};
use tillit_store::StoreError;

use crate::app::AppState;
use crate::error::AppError;
use crate::forms::{FieldErrors, log_access, log_access_all};
use crate::session::{self, Ctx};
use crate::tenants::Tenant;
use crate::values::Language;

pub type PageResult = Result<Response, AppError>;

fn user_json(p: &Person) -> Value {
    json!({
        "id": p.id,
        "name": p.full_name(),
        "given_name": p.given_name.as_str(),
        "initials": p.initials(),
        "role": p.role,
        "role_key": format!("role.{}", p.role.as_str()),
        "is_admin": p.role == Role::Administrator,
        "is_clinician": p.role == Role::Clinician,
        "is_patient": p.role == Role::Patient,
    })
}

/// What every template can use: tenant, brand, language, visitor, CSRF token.
fn base_context(
    state: &AppState,
    tenant: &Tenant,
    lang: Language,
    user: Option<&Person>,
    csrf: Option<&str>,
    path: &str,
) -> Value {
    let brand = state.brands.get(&tenant.id);
    json!({
        "lang": lang.code(),
        "langs": Language::ALL.iter().map(|l| json!({
            "code": l.code(),
            "label_key": format!("lang.{}", l.code()),
            "current": *l == lang,
        })).collect::<Vec<_>>(),
        "tenant": {
            "id": tenant.id,
            "name": tenant.display_name,
            "product": tenant.brand.product_name.as_deref().unwrap_or(&tenant.display_name),
        },
        "brand_css": brand.map(|b| format!("/brand/{}/brand.css", b.css.hash)),
        "logo": brand.and_then(|b| b.logo.as_ref()).map(|(name, a)| format!("/brand/{}/{name}", a.hash)),
        "user": user.map(user_json),
        // Enabled plugins with a page of their own (the between-visits
        // slot), for the menu.
        "plugin_pages": user.map(|_| {
            state
                .plugins
                .plugins_for_slot(&tenant.id, tillit_plugin_manifest::Slot::BetweenVisitsPage)
                .iter()
                .map(|p| json!({"id": p.id(), "name": p.name(lang.code())}))
                .collect::<Vec<_>>()
        }),
        "csrf": csrf,
        "path": path,
        "dev": state.config.is_development(),
    })
}

fn render(
    state: &AppState,
    tenant: &Tenant,
    template: &str,
    ctx: Value,
) -> Result<Html<String>, AppError> {
    let theme = state
        .themes
        .get(&tenant.theme)
        .ok_or_else(|| AppError::Internal(format!("theme {} is not loaded", tenant.theme)))?;
    Ok(Html(theme.registry.render(template, &ctx)?))
}

/// Renders `template` for the visitor in `ctx`, with `page` as page data.
pub fn page(
    state: &AppState,
    ctx: &Ctx,
    template: &str,
    page: Value,
) -> Result<Html<String>, AppError> {
    let mut data = base_context(
        state,
        &ctx.tenant,
        ctx.lang,
        ctx.user.as_ref(),
        Some(&ctx.csrf),
        &ctx.path,
    );
    data["page"] = page;
    render(state, &ctx.tenant, template, data)
}

/// The themed page for an error of `kind` (see `error::AppError::kind`).
pub fn render_error(
    state: &AppState,
    tenant: &Tenant,
    lang: Language,
    kind: &str,
) -> Result<Html<String>, AppError> {
    let mut data = base_context(state, tenant, lang, None, None, "/");
    data["page"] = json!({
        "title": format!("error.{kind}.title"),
        "text": format!("error.{kind}.text"),
    });
    render(state, tenant, "error", data)
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// The start page: a landing page before login; after it, the patient's
/// coming visits or the clinician's "Översikt" of confirmed visits.
pub async fn home(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<crate::bookings::DoneQuery>,
) -> PageResult {
    let bookings = match &ctx.user {
        Some(me) if me.role == Role::Patient => {
            crate::bookings::for_patient_home(&state, &ctx, me).await?
        }
        Some(me) if me.role == Role::Clinician => {
            crate::bookings::for_clinician_home(&state, &ctx, me).await?
        }
        _ => Vec::new(),
    };
    let guest_visits = match &ctx.user {
        Some(me) if me.role == Role::Clinician => {
            crate::bookings::guest_visits(&state, &ctx, me).await?
        }
        _ => Vec::new(),
    };
    let data = json!({
        "bookings": bookings,
        "guest_visits": guest_visits,
        "notice": crate::bookings::home_notice(&q),
    });
    Ok(page(&state, &ctx, "home", data)?.into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    ended: Option<String>,
}

pub async fn login_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<LoginQuery>,
) -> PageResult {
    if ctx.user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    // Why the visitor is here again: the session ended on this request, or
    // the logout redirect says so.
    let notice = match (ctx.ended, q.ended.as_deref()) {
        (Some(tillit_domain::session::SessionExpired::Idle), _) | (_, Some("idle")) => {
            Some("login.ended_idle")
        }
        (Some(tillit_domain::session::SessionExpired::Absolute), _) | (_, Some("absolute")) => {
            Some("login.ended_absolute")
        }
        (_, Some("logout")) => Some("login.logged_out"),
        _ => None,
    };
    login_page(&state, &ctx, "", None, notice, StatusCode::OK)
}

fn login_page(
    state: &AppState,
    ctx: &Ctx,
    typed: &str,
    error: Option<&str>,
    notice: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let html = page(
        state,
        ctx,
        "login",
        json!({
            "dev_login": state.config.identity.dev_login,
            "personnummer": typed,
            "error": error,
            "notice": notice,
        }),
    )?;
    Ok((status, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    personnummer: String,
}

pub fn personnummer_error_key(e: PersonnummerError) -> &'static str {
    match e {
        PersonnummerError::WrongLength => "field.personnummer.length",
        PersonnummerError::NotDigits => "field.personnummer.digits",
        PersonnummerError::InvalidDate => "field.personnummer.date",
        PersonnummerError::BadCheckDigit => "field.personnummer.check_digit",
    }
}

/// The development identity provider: a stand-in for BankID that takes a
/// typed personnummer. Refused unless enabled (never in production).
pub async fn test_login(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<LoginForm>,
) -> PageResult {
    if !state.config.identity.dev_login {
        return Err(AppError::NotFound);
    }
    let pnr = match Personnummer::parse(&form.personnummer) {
        Ok(p) => p,
        Err(e) => {
            metrics::counter!("tillit_logins_total", "result" => "malformed").increment(1);
            let key = personnummer_error_key(e);
            return login_page(
                &state,
                &ctx,
                &form.personnummer,
                Some(key),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let store = state.store.tenant(ctx.tenant.id.clone());
    let person = match store.person_by_personnummer(&pnr).await? {
        Some(p) if p.status.can_log_in() => p,
        found => {
            // One message for "unknown" and "not active": the login form
            // should not tell who is registered.
            let result = if found.is_some() {
                "inactive"
            } else {
                "unknown"
            };
            metrics::counter!("tillit_logins_total", "result" => result).increment(1);
            tracing::info!(tenant = %ctx.tenant.id, result, "test login refused");
            return login_page(
                &state,
                &ctx,
                &form.personnummer,
                Some("login.no_such_user"),
                None,
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    // A new session every time: the old one (and its CSRF binding) ends.
    session::end_session(&state, &ctx).await?;
    let cookie = session::start_session(&state, &ctx.tenant, &person).await?;
    metrics::counter!("tillit_logins_total", "result" => "ok").increment(1);
    tracing::info!(tenant = %ctx.tenant.id, person = %person.id, role = person.role.as_str(), "logged in");
    Ok(see_other("/", Some(cookie)))
}

fn see_other(to: &str, cookie: Option<HeaderValue>) -> Response {
    let mut res = Redirect::to(to).into_response();
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

pub async fn logout(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let cookie = session::end_session(&state, &ctx).await?;
    if let Some(u) = &ctx.user {
        tracing::info!(tenant = %ctx.tenant.id, person = %u.id, "logged out");
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

#[derive(Debug, Default, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

/// "Mina uppgifter": the visitor's own data. Patients may change their name,
/// mobile number and e-mail here; never the personnummer.
pub async fn me(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PeopleQuery>,
) -> PageResult {
    let notice = (q.done.as_deref() == Some("saved")).then_some("me.saved");
    me_page(
        &state,
        &ctx,
        None,
        &FieldErrors::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

async fn me_page(
    state: &AppState,
    ctx: &Ctx,
    typed: Option<&ContactForm>,
    errors: &FieldErrors,
    notice: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let user = ctx.user()?.clone();
    let (phone, email) = state
        .store
        .tenant(ctx.tenant.id.clone())
        .contact_of(&user.id)
        .await?;
    if user.role == Role::Patient {
        log_access(state, ctx, &user, &user, AccessAction::Read, "profile").await?;
    }
    let form = match typed {
        Some(f) => {
            json!({"given_name": f.given_name, "family_name": f.family_name, "phone": f.phone, "email": f.email})
        }
        None => json!({
            "given_name": user.given_name.as_str(), "family_name": user.family_name.as_str(),
            "phone": phone, "email": email,
        }),
    };
    let html = page(
        state,
        ctx,
        "me",
        json!({
            "title": "me.title",
            "name": user.full_name(),
            "personnummer": format_personnummer(&user.personnummer),
            "role_key": format!("role.{}", user.role.as_str()),
            "editable": user.role == Role::Patient,
            "form": form,
            "errors": errors.to_json(),
            "notice": notice,
        }),
    )?;
    Ok((status, html).into_response())
}

pub async fn update_me(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ContactForm>,
) -> PageResult {
    let me = ctx.require(Role::Patient)?.clone();
    let mut errors = FieldErrors::default();
    let given = PersonName::parse(&form.given_name)
        .map_err(|e| errors.add("given_name", name_error_key(e)))
        .ok();
    let family = PersonName::parse(&form.family_name)
        .map_err(|e| errors.add("family_name", name_error_key(e)))
        .ok();
    let phone = match form.phone.trim() {
        "" => Some(None),
        p => tillit_domain::booking::MobileNumber::parse(p)
            .map(Some)
            .or_else(|| {
                errors.add("phone", "field.mobile");
                None
            }),
    };
    let email = match form.email.trim() {
        "" => Some(None),
        e => tillit_domain::people::EmailAddress::parse(e)
            .map(|e| Some(e.as_str().to_owned()))
            .or_else(|| {
                errors.add("email", "field.email");
                None
            }),
    };
    let (Some(given_name), Some(family_name), Some(phone), Some(email)) =
        (given, family, phone, email)
    else {
        return me_page(
            &state,
            &ctx,
            Some(&form),
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let contact = tillit_store::Contact {
        given_name,
        family_name,
        phone,
        email,
    };
    let store = state.store.tenant(ctx.tenant.id.clone());
    store
        .update_contact(&me.id, &contact, state.clock.now())
        .await?;
    log_access(&state, &ctx, &me, &me, AccessAction::Update, "contact").await?;
    Ok(see_other("/me?done=saved", None))
}

/// `YYYYMMDD-NNNN`, for showing a person their own number.
fn format_personnummer(p: &Personnummer) -> String {
    let s = p.as_str();
    format!("{}-{}", &s[..8], &s[8..])
}

fn person_row(p: &Person) -> Value {
    json!({
        "id": p.id,
        "name": p.full_name(),
        "personnummer": format_personnummer(&p.personnummer),
        "status": p.status,
        "status_key": format!("status.{}", p.status.as_str()),
        "role_key": format!("role.{}", p.role.as_str()),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct PeopleQuery {
    done: Option<String>,
}

/// "Användare": staff and patients, for administrators.
pub async fn admin_people(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PeopleQuery>,
) -> PageResult {
    let notice = match q.done.as_deref() {
        Some("created") => Some("admin.created"),
        Some("status") => Some("admin.status_changed"),
        _ => None,
    };
    people_page(
        &state,
        &ctx,
        &NewPersonForm::default(),
        &FieldErrors::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

async fn people_page(
    state: &AppState,
    ctx: &Ctx,
    form: &NewPersonForm,
    errors: &FieldErrors,
    notice: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let admin = ctx.require(Role::Administrator)?.clone();
    let store = state.store.tenant(ctx.tenant.id.clone());
    let mut staff = store.people(Role::Administrator).await?;
    staff.extend(store.people(Role::Clinician).await?);
    staff.sort_by(|a, b| {
        (a.family_name.as_str(), a.given_name.as_str())
            .cmp(&(b.family_name.as_str(), b.given_name.as_str()))
    });
    let patients = store.people(Role::Patient).await?;
    log_access_all(
        state,
        ctx,
        &admin,
        &patients,
        AccessAction::Read,
        "people.list",
    )
    .await?;
    let html = page(
        state,
        ctx,
        "admin_people",
        json!({
            "staff": staff.iter().map(|p| {
                let mut row = person_row(p);
                row["is_self"] = json!(p.id == admin.id);
                row
            }).collect::<Vec<_>>(),
            "patients": patients.iter().map(person_row).collect::<Vec<_>>(),
            "statuses": PersonStatus::ALL.iter().map(|s| json!({"value": s, "key": format!("status.{}", s.as_str())})).collect::<Vec<_>>(),
            "form": {
                "role": form.role,
                "personnummer": form.personnummer,
                "given_name": form.given_name,
                "family_name": form.family_name,
            },
            "errors": errors.to_json(),
            "notice": notice,
        }),
    )?;
    Ok((status, html).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct NewPersonForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    personnummer: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
}

pub fn name_error_key(e: tillit_domain::people::NameError) -> &'static str {
    match e {
        tillit_domain::people::NameError::Empty => "field.name.empty",
        tillit_domain::people::NameError::TooLong { .. } => "field.name.too_long",
        tillit_domain::people::NameError::BadCharacters => "field.name.characters",
    }
}

/// Creates a clinician or an administrator.
pub async fn admin_create_person(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<NewPersonForm>,
) -> PageResult {
    let admin = ctx.require(Role::Administrator)?.clone();
    let mut errors = FieldErrors::default();
    let role = match Role::parse(&form.role) {
        Some(r) if r.is_staff() => Some(r),
        _ => {
            errors.add("role", "field.role.staff");
            None
        }
    };
    let pnr = Personnummer::parse(&form.personnummer)
        .map_err(|e| errors.add("personnummer", personnummer_error_key(e)))
        .ok();
    let given = PersonName::parse(&form.given_name)
        .map_err(|e| errors.add("given_name", name_error_key(e)))
        .ok();
    let family = PersonName::parse(&form.family_name)
        .map_err(|e| errors.add("family_name", name_error_key(e)))
        .ok();
    let (Some(role), Some(personnummer), Some(given_name), Some(family_name)) =
        (role, pnr, given, family)
    else {
        return people_page(
            &state,
            &ctx,
            &form,
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let new = NewPerson {
        role,
        personnummer,
        given_name,
        family_name,
    };
    let id = PersonId::new(uuid::Uuid::new_v4().to_string());
    match state
        .store
        .tenant(ctx.tenant.id.clone())
        .create_person(&id, &new, state.clock.now())
        .await
    {
        Ok(p) => {
            tracing::info!(tenant = %ctx.tenant.id, by = %admin.id, person = %p.id, role = role.as_str(), "person created");
            Ok(see_other("/admin/people?done=created", None))
        }
        Err(StoreError::Conflict { .. }) => {
            errors.add("personnummer", "field.personnummer.taken");
            people_page(&state, &ctx, &form, &errors, None, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

/// Sets a person's status (Aktiv, Inaktiv, Borttagen).
pub async fn admin_set_status(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> PageResult {
    let admin = ctx.require(Role::Administrator)?.clone();
    let status = PersonStatus::parse(&form.status).ok_or(AppError::BadRequest("unknown status"))?;
    let id = PersonId::new(id);
    if id == admin.id {
        // An administrator locking themselves out helps nobody.
        return Err(AppError::BadRequest("cannot change own status"));
    }
    let store = state.store.tenant(ctx.tenant.id.clone());
    let person = store.person(&id).await?.ok_or(AppError::NotFound)?;
    if person.role == Role::Patient {
        log_access(
            &state,
            &ctx,
            &admin,
            &person,
            AccessAction::Update,
            "status",
        )
        .await?;
    }
    store
        .set_person_status(&id, status, state.clock.now())
        .await?;
    tracing::info!(tenant = %ctx.tenant.id, by = %admin.id, person = %id, status = status.as_str(), "status changed");
    Ok(see_other("/admin/people?done=status", None))
}
