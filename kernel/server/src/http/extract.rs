//! What a portal handler takes instead of repeating lookups and checks: the
//! request's [`Portal`] (state, visitor, the tenant's store and the use
//! cases' environment) and the visitor in a required role ([`User`],
//! [`Clinician`], [`Patient`], [`Administrator`]), as the use cases' actor.
//! A visitor who is not logged in is sent to the login page; one in
//! another role gets 403.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Html;
use serde::Serialize;
use tillit_app::{Actor, Env};
use tillit_domain::Role;
use tillit_store::TenantStore;

use crate::http::error::AppError;
use crate::http::session::Ctx;
use crate::state::AppState;

/// A request to the tenant's portal.
#[derive(Debug, Clone)]
pub struct Portal {
    pub state: AppState,
    pub ctx: Ctx,
}

impl Portal {
    /// The request's tenant's data.
    pub fn store(&self) -> TenantStore<'_> {
        self.state.store.tenant(self.ctx.tenant.id.clone())
    }

    /// What the use cases work in for this request: `store` (from
    /// [`Portal::store`]), the tenant's rules and the time now.
    pub fn env<'a>(&'a self, store: &'a TenantStore<'a>) -> Env<'a> {
        self.state.env(&self.ctx, store)
    }

    /// Renders `template` for this visitor (see `http::render::page`).
    pub fn page<P: Serialize>(&self, template: &str, page: P) -> Result<Html<String>, AppError> {
        crate::http::render::page(&self.state, &self.ctx, template, page)
    }
}

fn ctx_of(parts: &Parts) -> Result<&Ctx, AppError> {
    parts.extensions.get::<Ctx>().ok_or_else(|| {
        AppError::Internal("portal handler mounted outside the session layer".into())
    })
}

impl FromRequestParts<AppState> for Portal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(Self {
            state: state.clone(),
            ctx: ctx_of(parts)?.clone(),
        })
    }
}

/// The logged-in visitor, in a role (`None`: any role).
fn actor(parts: &Parts, role: Option<Role>) -> Result<Actor, AppError> {
    let ctx = ctx_of(parts)?;
    let person = match role {
        Some(r) => ctx.require(r)?,
        None => ctx.user()?,
    };
    Ok(Actor::portal(person.clone()))
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Actor);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
                actor(parts, $role).map($name)
            }
        }
    };
}

role_extractor!(
    /// Anyone logged in.
    User,
    None
);
role_extractor!(
    /// A logged-in clinician.
    Clinician,
    Some(Role::Clinician)
);
role_extractor!(
    /// A logged-in patient.
    Patient,
    Some(Role::Patient)
);
role_extractor!(
    /// A logged-in administrator.
    Administrator,
    Some(Role::Administrator)
);
