//! `Practitioner` and `PractitionerRole`: the tenant's clinicians, read
//! and searched by `identifier` (HSA-id or Tillit's id) and `name`, and each one's
//! role as their profile gives it (title, unit, bookable or not; the
//! role's id is the clinician's). Staff data: not access-logged as patient
//! data is.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tillit_app::journal;
use tillit_domain::{HsaId, Person, PersonId};
use tillit_fhir::FhirError;
use tillit_fhir::identifiers::{self, System, Token};
use tillit_fhir::map::practitioner::{self, PractitionerOut, RoleOut};
use tillit_fhir::smart::Interaction;

use super::auth::Ehr;
use super::error::from_app;
use super::search::Params;
use super::{Answer, respond};
use crate::state::AppState;

pub(super) fn write(p: &Person) -> Result<String, FhirError> {
    practitioner::write(PractitionerOut {
        person: p,
        version: None,
        hsa_id: p.hsa_id.as_ref().map(HsaId::as_str),
    })
}

/// `GET /fhir/R4/Practitioner/{id}`.
pub async fn read(State(state): State<AppState>, ehr: Ehr, Path(id): Path<String>) -> Response {
    respond(
        async {
            ehr.may("Practitioner", Interaction::Read)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let p = journal::read_clinician(env, &PersonId::new(id))
                .await
                .map_err(|e| from_app(e, "Practitioner"))?;
            Ok(Answer::ok(write(&p)?))
        }
        .await,
    )
}

/// `GET /fhir/R4/Practitioner?identifier=…&name=…`.
pub async fn search(
    State(state): State<AppState>,
    ehr: Ehr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Practitioner", Interaction::Search)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let mut p = Params::new(query.as_deref(), &headers);
            let identifier = p.one("identifier")?.map(|v| Named::from(&Token::parse(&v)));
            let name = p.one("name")?.map(|n| n.to_lowercase());
            let paging = p.paging()?;
            let found: Vec<Person> = journal::clinicians(env)
                .await
                .map_err(|e| from_app(e, "Practitioner"))?
                .into_iter()
                .filter(|c| identifier.as_ref().is_none_or(|t| names(t, c)))
                .filter(|c| {
                    name.as_ref()
                        .is_none_or(|n| c.full_name().to_lowercase().contains(n.as_str()))
                })
                .collect();
            let search_url = format!("{}/Practitioner", ehr.base);
            Ok(Answer::ok(paging.bundle(&search_url, &found, |c| {
                let url = format!("{}/Practitioner/{}", ehr.base, c.id.as_str());
                Ok((url, write(c)?))
            })?))
        }
        .await,
    )
}

/// Whom an `identifier` token names: by Tillit's id, by HSA-id (either
/// spelling, any case), or with no system by either. Read once per search.
struct Named {
    id: Option<String>,
    hsa: Option<HsaId>,
}

impl Named {
    fn from(t: &Token) -> Self {
        let (by_id, by_hsa) = match t.system.as_deref() {
            None | Some("") => (true, true),
            Some(s) => match identifiers::system_kind(s) {
                Some(System::TillitId) => (true, false),
                Some(System::HsaId) => (false, true),
                _ => (false, false),
            },
        };
        Self {
            id: by_id.then(|| t.value.clone()),
            hsa: by_hsa.then(|| HsaId::parse(&t.value).ok()).flatten(),
        }
    }
}

/// Whether `n` names clinician `c`.
fn names(n: &Named, c: &Person) -> bool {
    n.id.as_deref() == Some(c.id.as_str()) || (n.hsa.is_some() && n.hsa == c.hsa_id)
}

fn write_role(p: &Person, profile: &tillit_domain::booking::Profile) -> Result<String, FhirError> {
    practitioner::write_role(RoleOut {
        person: p,
        version: None,
        title: &profile.text.title,
        unit: &profile.text.unit,
        published: profile.published_at.is_some(),
    })
}

/// `GET /fhir/R4/PractitionerRole/{id}`: the clinician `id`'s role.
pub async fn read_role(
    State(state): State<AppState>,
    ehr: Ehr,
    Path(id): Path<String>,
) -> Response {
    respond(
        async {
            ehr.may("PractitionerRole", Interaction::Read)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let (p, profile) = journal::clinician_role(env, &PersonId::new(id))
                .await
                .map_err(|e| from_app(e, "PractitionerRole"))?;
            Ok(Answer::ok(write_role(&p, &profile)?))
        }
        .await,
    )
}

/// `GET /fhir/R4/PractitionerRole?practitioner=…`: the roles of one
/// clinician, or of all.
pub async fn search_roles(
    State(state): State<AppState>,
    ehr: Ehr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("PractitionerRole", Interaction::Search)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let mut p = Params::new(query.as_deref(), &headers);
            let practitioner = p
                .one("practitioner")?
                .map(|v| super::search::reference_id(&v, "Practitioner", "practitioner"))
                .transpose()?;
            let paging = p.paging()?;
            let ids: Vec<PersonId> = match practitioner {
                Some(id) => vec![PersonId::new(id)],
                None => journal::clinicians(env)
                    .await
                    .map_err(|e| from_app(e, "PractitionerRole"))?
                    .into_iter()
                    .map(|c| c.id)
                    .collect(),
            };
            let mut found = Vec::new();
            for id in &ids {
                match journal::clinician_role(env, id).await {
                    Ok(r) => found.push(r),
                    Err(tillit_app::Error::NotFound) => {}
                    Err(e) => return Err(from_app(e, "PractitionerRole")),
                }
            }
            let search_url = format!("{}/PractitionerRole", ehr.base);
            Ok(Answer::ok(paging.bundle(
                &search_url,
                &found,
                |(c, profile)| {
                    let url = format!("{}/PractitionerRole/{}", ehr.base, c.id.as_str());
                    Ok((url, write_role(c, profile)?))
                },
            )?))
        }
        .await,
    )
}
