//! `Encounter`: a visit once started, read and searched by `appointment`
//! or `patient` (and brought along by `_revinclude` on Appointment
//! searches). Read-only: the clinician starts and ends visits.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tillit_app::journal::{self, BookingQuery, VisitRecord};
use tillit_domain::PersonId;
use tillit_domain::booking::BookingStatus;
use tillit_fhir::FhirError;
use tillit_fhir::map::encounter::{self, EncounterOut};
use tillit_fhir::smart::Interaction;

use super::auth::Ehr;
use super::error::from_app;
use super::search::{Params, reference_id};
use super::{Answer, respond};
use crate::state::AppState;

/// The visit's Encounters, one per patient who did not decline (a group
/// visit's), as (full URL, JSON); only the `position`th patient's when
/// given.
pub(super) fn write_all(
    ehr: &Ehr,
    v: &VisitRecord,
    position: Option<usize>,
) -> Result<Vec<(String, String)>, FhirError> {
    let (patients, clinician, colleagues) = super::appointment::participants(&v.record);
    let mut out = Vec::new();
    for (n, (patient, seen)) in (1..).zip(patients) {
        if position.is_some_and(|p| p != n) || seen == BookingStatus::Cancelled {
            continue;
        }
        let id = encounter::id(&v.record.booking.id, n);
        let json = encounter::write(&EncounterOut {
            id: id.clone(),
            booking: &v.record.booking,
            version: None,
            patient,
            clinician: clinician.clone(),
            colleagues: colleagues.clone(),
            started: v.started,
            ended: v.ended,
        })?;
        out.push((format!("{}/Encounter/{id}", ehr.base), json));
    }
    Ok(out)
}

/// `GET /fhir/R4/Encounter/{id}`: the visit of booking `id` for its
/// patient, or `{booking}.{n}` for a group visit's `n`th patient.
pub async fn read(State(state): State<AppState>, ehr: Ehr, Path(id): Path<String>) -> Response {
    respond(
        async {
            ehr.may("Encounter", Interaction::Read)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let not_found = || FhirError::NotFound("Encounter: no such resource here.".into());
            let (booking, position) = encounter::parse_id(&id).ok_or_else(not_found)?;
            let v = journal::read_visit(env, &ehr.system, booking)
                .await
                .map_err(|e| from_app(e, "Encounter"))?;
            let (_, json) = write_all(&ehr, &v, Some(position))?
                .pop()
                .ok_or_else(not_found)?;
            Ok(Answer::ok(json))
        }
        .await,
    )
}

/// `GET /fhir/R4/Encounter?appointment=…` or `?patient=…`.
pub async fn search(
    State(state): State<AppState>,
    ehr: Ehr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Encounter", Interaction::Search)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let mut p = Params::new(query.as_deref(), &headers);
            let appointment = p
                .one("appointment")?
                .map(|v| reference_id(&v, "Appointment", "appointment"))
                .transpose()?;
            let patient = p
                .one("patient")?
                .or(p.one("subject")?)
                .map(|v| reference_id(&v, "Patient", "patient"))
                .transpose()?;
            let paging = p.paging()?;
            let records = match (&appointment, &patient) {
                (Some(id), _) => match journal::read_booking(env, &ehr.system, id).await {
                    Ok(r) => vec![r],
                    Err(tillit_app::Error::NotFound) => Vec::new(),
                    Err(e) => return Err(from_app(e, "Encounter")),
                },
                (None, Some(id)) => {
                    let q = BookingQuery {
                        patient: Some(PersonId::new(id.clone())),
                        ..BookingQuery::default()
                    };
                    journal::search_bookings(env, &ehr.system, &q)
                        .await
                        .map_err(|e| from_app(e, "Encounter"))?
                }
                (None, None) => {
                    return Err(FhirError::BadRequest(
                        "Search Encounters by appointment or patient.".into(),
                    ));
                }
            };
            let mut found = Vec::new();
            for r in records {
                let Some(v) = journal::visit_of(env, r)
                    .await
                    .map_err(|e| from_app(e, "Encounter"))?
                else {
                    continue;
                };
                for (n, p) in (1..).zip(v.record.patients()) {
                    if patient.as_ref().is_none_or(|want| p.id.as_str() == want) {
                        found.extend(write_all(&ehr, &v, Some(n))?);
                    }
                }
            }
            let search_url = format!("{}/Encounter", ehr.base);
            Ok(Answer::ok(
                paging.bundle(&search_url, &found, |e| Ok(e.clone()))?,
            ))
        }
        .await,
    )
}
