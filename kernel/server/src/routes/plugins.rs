//! The plugins' own routes: `/plugins/<id>/…` (a plugin's HTTP handlers,
//! behind the portal's session and CSRF checks, in a visit if the room
//! names one) and `/features/<id>` (a plugin's page between visits).
//!
//! Plugin errors become HTTP here and nowhere else ([`call_error`]).

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, RawQuery};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use tillit_domain::Person;
use tillit_domain::access::AccessAction;
use tillit_plugins::{CallContext, CallError, HttpRequest, Method, Slot};

mod answer;

use crate::http::error::AppError;
use crate::http::extract::Portal;
use crate::http::forms::log_access_all;

/// A plugin's page's data: the plugin's HTML, rendered with the kernel's
/// escaping, inside the theme's layout.
#[derive(Debug, Serialize)]
struct FeaturePage<'a> {
    title: &'static str,
    id: &'a str,
    name: String,
    html: String,
}

/// `/plugins/{id}/{*path}`: a request to one of a plugin's routes, as the
/// logged-in person, in the visit named by [`VISIT_HEADER`](crate::plugins::VISIT_HEADER) (or the
/// `visit` query parameter) if any.
pub async fn route(
    p: Portal,
    UrlPath((plugin, rest)): UrlPath<(String, String)>,
    method: HttpMethod,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (state, ctx) = (&p.state, &p.ctx);
    let me = ctx.user()?.clone();
    let query: Vec<(String, String)> = match query.as_deref() {
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|_| AppError::BadRequest("the query is not valid"))?,
        None => Vec::new(),
    };
    let visit_id = headers
        .get(crate::plugins::VISIT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "visit")
                .map(|(_, v)| v.clone())
        });
    let (visit, people) = match &visit_id {
        Some(id) => {
            let (booking, _) = crate::routes::visits::participation(&p, &me, id).await?;
            let (visit, people) = crate::plugins::visit_for(state, ctx, &me, &booking).await?;
            (Some(visit), people)
        }
        None => (None, Vec::new()),
    };
    let Some(method) = method_of(&method) else {
        return Ok(plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"));
    };
    let mut request = HttpRequest::new(method, format!("/{rest}"));
    request.query = query;
    for (name, value) in &headers {
        if let Ok(v) = value.to_str() {
            request = request.with_header(name.as_str(), v);
        }
    }
    request.body = body.to_vec();
    let call = CallContext {
        tenant: ctx.tenant.id.clone(),
        caller: Some(crate::plugins::caller(ctx, &me)),
        visit,
    };
    // Kept to learn whom a call outside a visit was about.
    let asked: Vec<Vec<u8>> = if visit_id.is_none() && me.role.is_staff() {
        asked_texts(&request)
    } else {
        Vec::new()
    };
    match state.plugins.handle_http(&call, &plugin, request).await {
        Ok(called) => {
            // Whatever a member of staff reads or changes through a plugin
            // is about patients: in a visit, its patients; elsewhere, the
            // patients the call names (by the plugin's reference for them,
            // in the request or the answer). Logged before the answer goes
            // out, whatever its status (a conflict can carry the data too).
            if me.role.is_staff() {
                let action = if method == Method::Get {
                    AccessAction::Read
                } else {
                    AccessAction::Update
                };
                let concerned = if visit_id.is_some() {
                    people
                } else {
                    let mut texts: Vec<&[u8]> = asked.iter().map(Vec::as_slice).collect();
                    texts.push(&called.value.body);
                    named_patients(&p, &me, &plugin, &texts).await?
                };
                log_access_all(&p, &me, &concerned, action, "plugin").await?;
            }
            if let Some(id) = &visit_id {
                let room = crate::routes::room::room_key(&ctx.tenant.id, id);
                state.live.deliver(&room, called.live);
            }
            let value = called.value;
            match answer::to_browser(value.status, &value.headers, value.body) {
                Ok(response) => Ok(response),
                Err(refused) => {
                    tracing::warn!(%plugin, error = %refused, "plugin answer not passed on");
                    Ok(plain(
                        StatusCode::BAD_GATEWAY,
                        "the feature answered with something the portal does not pass on",
                    ))
                }
            }
        }
        Err(e) => Ok(call_error(&e)),
    }
}

/// The patients `me` may reach whom `texts` name by `plugin`'s reference
/// for them: whom a call outside a visit was about.
async fn named_patients(
    p: &Portal,
    me: &Person,
    plugin: &str,
    texts: &[&[u8]],
) -> Result<Vec<Person>, AppError> {
    let store = p.store();
    let actor = tillit_app::Actor::portal(me.clone());
    let reachable = tillit_app::access::reachable_patients(p.env(&store), &actor).await?;
    let named = p.state.plugins.named_in(
        &p.ctx.tenant.id,
        plugin,
        reachable.iter().map(|r| &r.id),
        texts,
    );
    let named: Vec<tillit_domain::PersonId> = named.into_iter().cloned().collect();
    Ok(reachable
        .into_iter()
        .filter(|r| named.contains(&r.id))
        .collect())
}

/// What a request says, as a plugin may read it: the path, the query's
/// values (already decoded), the body as sent, and the body decoded as a
/// form and as JSON strings, so a reference written with escapes is still
/// seen.
fn asked_texts(request: &HttpRequest) -> Vec<Vec<u8>> {
    let mut texts = vec![request.path.clone().into_bytes(), request.body.clone()];
    texts.extend(request.query.iter().map(|(_, v)| v.clone().into_bytes()));
    if let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body) {
        texts.extend(form.into_iter().map(|(_, v)| v.into_bytes()));
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&request.body) {
        let mut strings = Vec::new();
        json_strings(&json, &mut strings);
        texts.push(strings.join(" ").into_bytes());
    }
    texts
}

fn json_strings<'v>(v: &'v serde_json::Value, out: &mut Vec<&'v str>) {
    match v {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, v)| {
            out.push(k);
            json_strings(v, out);
        }),
        _ => {}
    }
}

fn method_of(m: &HttpMethod) -> Option<Method> {
    Some(match *m {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        HttpMethod::PUT => Method::Put,
        HttpMethod::PATCH => Method::Patch,
        HttpMethod::DELETE => Method::Delete,
        _ => return None,
    })
}

fn plain(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

/// The one place plugin failures become HTTP answers. A plugin that
/// misbehaved (trap, time or memory limit) is logged with the details and
/// the person gets a short message without internals.
pub fn call_error(e: &CallError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        CallError::NotEnabled { .. } | CallError::NoRoute { .. } => plain(status, "not found"),
        CallError::MethodNotAllowed { allow, .. } => {
            let mut r = plain(status, "method not allowed");
            let allow: Vec<String> = allow
                .iter()
                .map(|m| format!("{m:?}").to_uppercase())
                .collect();
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            r
        }
        CallError::Returned { error, .. } => plain(status, &error.to_string()),
        CallError::BodyTooLarge { .. } => plain(status, &e.to_string()),
        _ => {
            tracing::error!(error = %e, "plugin call failed");
            plain(status, "the feature could not answer; try again")
        }
    }
}

/// `/features/{id}`: a plugin's page of its own, between visits (404 when
/// the tenant has not enabled it or it has no such page).
pub async fn feature_page(
    p: Portal,
    UrlPath(plugin): UrlPath<String>,
) -> Result<Response, AppError> {
    let (state, ctx) = (&p.state, &p.ctx);
    let me = ctx.user()?.clone();
    let call = CallContext {
        tenant: ctx.tenant.id.clone(),
        caller: Some(crate::plugins::caller(ctx, &me)),
        visit: None,
    };
    let view = match state
        .plugins
        .render_slot(&call, &plugin, &Slot::BetweenVisitsPage)
        .await
    {
        Ok(called) => called.value.ok_or(AppError::NotFound)?,
        Err(e) if e.status() == 404 => return Err(AppError::NotFound),
        Err(e) => return Ok(call_error(&e)),
    };
    let lang = ctx.lang.code();
    let html = view
        .render(&tillit_plugins::view::Page {
            csrf: &ctx.csrf,
            lang,
        })
        .map_err(|e| AppError::Internal(format!("plugin {plugin} page: {e}")))?;
    // A page that names patients is a read of their data.
    if me.role.is_staff() {
        let named = named_patients(&p, &me, &plugin, &[html.as_bytes()]).await?;
        log_access_all(&p, &me, &named, AccessAction::Read, "plugin").await?;
    }
    let name = state
        .plugins
        .plugin(&plugin)
        .map(|p| p.name(lang).to_owned())
        .unwrap_or_default();
    let page = FeaturePage {
        title: "plugin.title",
        id: &plugin,
        name,
        html,
    };
    Ok(p.page("plugin_page", page)?.into_response())
}
