//! `Patient`: read, vread, history, search (`identifier`, `name`,
//! `birthdate`) and create (with `If-None-Exist` on the personnummer).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tillit_app::journal::{self, PatientQuery, PatientRecord, RegisterPatient, Registered};
use tillit_domain::booking::MobileNumber;
use tillit_domain::people::{EmailAddress, NewPerson};
use tillit_domain::{PersonId, PersonName, Personnummer, Role};
use tillit_fhir::FhirError;
use tillit_fhir::identifiers::{self, System, Token};
use tillit_fhir::map::patient::{self, PatientOut};
use tillit_fhir::smart::Interaction;

use super::auth::Ehr;
use super::error::from_app;
use super::history::{self, HistoryQuery};
use super::search::{Params, if_none_exist};
use super::{Answer, json_body, respond};
use crate::state::AppState;

pub(super) fn write(r: &PatientRecord) -> Result<String, FhirError> {
    patient::write(PatientOut {
        person: &r.person,
        version: Some(r.version),
        phone: r.phone.as_deref(),
        email: r.email.as_deref(),
    })
}

pub(super) fn url(ehr: &Ehr, id: &PersonId) -> String {
    format!("{}/Patient/{}", ehr.base, id.as_str())
}

/// `GET /fhir/R4/Patient/{id}`.
pub async fn read(State(state): State<AppState>, ehr: Ehr, Path(id): Path<String>) -> Response {
    respond(
        async {
            ehr.may("Patient", Interaction::Read)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let r = journal::read_patient(env, &ehr.system, &PersonId::new(id))
                .await
                .map_err(|e| from_app(e, "Patient"))?;
            Ok(Answer::ok(write(&r)?).of_version(r.version))
        }
        .await,
    )
}

/// `GET /fhir/R4/Patient/{id}/_history/{vid}`: the record as it was.
pub async fn vread(
    State(state): State<AppState>,
    ehr: Ehr,
    Path((id, vid)): Path<(String, String)>,
) -> Response {
    respond(
        async {
            ehr.may("Patient", Interaction::Read)?;
            let number = history::version_id(&vid)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let r = journal::patient_version(env, &ehr.system, &PersonId::new(id), number)
                .await
                .map_err(|e| from_app(e, "Patient"))?;
            Ok(Answer::ok(write(&r)?).of_version(r.version))
        }
        .await,
    )
}

fn versioned(r: &PatientRecord) -> Result<history::Versioned, FhirError> {
    Ok((
        format!("Patient/{}", r.person.id.as_str()),
        write(r)?,
        r.version,
    ))
}

/// `GET /fhir/R4/Patient/{id}/_history`: every version, newest first.
pub async fn history(
    State(state): State<AppState>,
    ehr: Ehr,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Patient", Interaction::Read)?;
            let q = HistoryQuery::new(query.as_deref(), &headers)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let all = journal::patient_versions(env, &ehr.system, &PersonId::new(id.clone()))
                .await
                .map_err(|e| from_app(e, "Patient"))?;
            let (total, shown) = history::page(&q, all, |r| r.version);
            let path = format!("Patient/{id}/_history");
            history::answer(&ehr, &path, &q, total, &shown, versioned)
        }
        .await,
    )
}

/// `GET /fhir/R4/Patient/_history`: every patient's versions, newest first.
pub async fn type_history(
    State(state): State<AppState>,
    ehr: Ehr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Patient", Interaction::Read)?;
            let q = HistoryQuery::new(query.as_deref(), &headers)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let page = journal::patients_history(env, &ehr.system, q.since, q.page)
                .await
                .map_err(|e| from_app(e, "Patient"))?;
            let total = usize::try_from(page.total).unwrap_or(usize::MAX);
            history::answer(
                &ehr,
                "Patient/_history",
                &q,
                total,
                &page.versions,
                versioned,
            )
        }
        .await,
    )
}

/// A personnummer from a token or identifier, by the kernel's rules.
fn personnummer(
    value: &str,
    now: tillit_domain::Timestamp,
    path: &str,
) -> Result<Personnummer, FhirError> {
    Personnummer::parse_at(value, now).map_err(|e| {
        FhirError::rule(
            path.to_owned(),
            format!("Not a valid personnummer or samordningsnummer: {e}."),
        )
    })
}

/// `identifier=system|value` as a patient query: Swedish personal identity
/// numbers only. `None` when the system is another one (nothing matches).
fn identifier_query(
    value: &str,
    now: tillit_domain::Timestamp,
) -> Result<Option<Personnummer>, FhirError> {
    let token = Token::parse(value);
    let ours = match token.system.as_deref() {
        None | Some("") => true,
        Some(s) => identifiers::system_kind(s) == Some(System::PersonalIdentity),
    };
    if !ours {
        return Ok(None);
    }
    Personnummer::parse_at(&token.value, now)
        .map(Some)
        .map_err(|e| FhirError::BadRequest(format!("identifier={value}: {e}.")))
}

/// `GET /fhir/R4/Patient?…`.
pub async fn search(
    State(state): State<AppState>,
    ehr: Ehr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Patient", Interaction::Search)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let mut p = Params::new(query.as_deref(), &headers);
            let mut q = PatientQuery::default();
            let mut nothing = false;
            if let Some(v) = p.one("identifier")? {
                match identifier_query(&v, env.now)? {
                    Some(pnr) => q.personnummer = Some(pnr),
                    None => nothing = true,
                }
            }
            let id = p.one("_id")?;
            q.name = p.one("name")?;
            if let Some(d) = p.one("birthdate")? {
                let date = d.strip_prefix("eq").unwrap_or(&d);
                let parsed: jiff::civil::Date = date.parse().map_err(|_| {
                    FhirError::BadRequest(format!("birthdate={d}: expected a date, 2000-02-29."))
                })?;
                q.birthdate = Some((
                    i32::from(parsed.year()),
                    i32::from(parsed.month()),
                    i32::from(parsed.day()),
                ));
            }
            let paging = p.paging()?;
            let found = if nothing {
                Vec::new()
            } else {
                journal::find_patients(env, &ehr.system, &q)
                    .await
                    .map_err(|e| from_app(e, "Patient"))?
                    .into_iter()
                    .filter(|r| id.as_deref().is_none_or(|i| r.person.id.as_str() == i))
                    .collect()
            };
            let search_url = format!("{}/Patient", ehr.base);
            Ok(Answer::ok(paging.bundle(&search_url, &found, |r| {
                Ok((url(&ehr, &r.person.id), write(r)?))
            })?))
        }
        .await,
    )
}

/// Registers the Patient in `body`, or with `If-None-Exist` criteria
/// (`conditional`) finds the one on file with that personnummer. Returns
/// the patient and whether they were created now.
pub(super) async fn register(
    env: tillit_app::Env<'_>,
    ehr: &Ehr,
    conditional: Option<&str>,
    body: &[u8],
) -> Result<(PatientRecord, bool), FhirError> {
    let sent = patient::read(body)?;
    let pnr = personnummer(&sent.personal_identity, env.now, "Patient.identifier")?;
    let conditional = conditional
        .map(|value| identifier_query(value, env.now))
        .transpose()?;
    if let Some(Some(c)) = &conditional
        && *c != pnr
    {
        return Err(FhirError::BadRequest(
            "If-None-Exist names another personnummer than the Patient's identifier.".into(),
        ));
    }
    let name = |s: &str, path: &str| {
        PersonName::parse(s.trim())
            .map_err(|_| FhirError::rule(path.to_owned(), "A name of 1–100 letters is required."))
    };
    let phone = sent
        .phone
        .as_deref()
        .and_then(MobileNumber::parse)
        .ok_or_else(|| {
            FhirError::rule(
                "Patient.telecom",
                "A Swedish mobile number (telecom system phone, use mobile) is required: Tillit reaches patients by SMS.",
            )
        })?;
    let email = match sent.email.as_deref() {
        None => None,
        Some(e) => Some(
            EmailAddress::parse(e)
                .ok_or_else(|| {
                    FhirError::rule("Patient.telecom", "The e-mail address is not valid.")
                })?
                .as_str()
                .to_owned(),
        ),
    };
    let cmd = RegisterPatient {
        person: NewPerson {
            role: Role::Patient,
            personnummer: pnr,
            given_name: name(&sent.given_name, "Patient.name.given")?,
            family_name: name(&sent.family_name, "Patient.name.family")?,
            hsa_id: None,
        },
        phone,
        email,
    };
    let (r, how) = journal::register_patient(env, &ehr.system, cmd)
        .await
        .map_err(|e| from_app(e, "Patient"))?;
    match (how, conditional.is_some()) {
        (Registered::Created, _) => Ok((r, true)),
        (Registered::OnFile, true) => Ok((r, false)),
        (Registered::OnFile, false) => Err(FhirError::Conflict(format!(
            "A patient with this personnummer is already registered (Patient/{}); use If-None-Exist to find or create.",
            r.person.id.as_str()
        ))),
    }
}

/// `POST /fhir/R4/Patient`: registers a patient. With `If-None-Exist:
/// identifier=…` an existing patient with that personnummer is returned
/// (200) instead; without it, an existing one is a conflict (409).
pub async fn create(
    State(state): State<AppState>,
    ehr: Ehr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            ehr.may("Patient", Interaction::Create)?;
            json_body(&headers)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let conditional = if_none_exist(&headers)?;
            let (r, created) = register(env, &ehr, conditional.as_deref(), &body).await?;
            Ok(if created {
                Answer::created(write(&r)?, url(&ehr, &r.person.id), r.version)
            } else {
                Answer::ok(write(&r)?).of_version(r.version)
            })
        }
        .await,
    )
}
