//! `Encounter`: a visit once started, read and searched by `appointment`
//! or `patient` (and brought along by `_revinclude` on Appointment
//! searches). Read-only: the clinician starts and ends visits.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tillit_app::journal::{self, BookingQuery, VisitRecord};
use tillit_domain::PersonId;
use tillit_fhir::FhirError;
use tillit_fhir::map::encounter::{self, EncounterOut};
use tillit_fhir::smart::Interaction;

use super::auth::Ehr;
use super::error::from_app;
use super::search::{Params, reference_id};
use super::{Answer, respond};
use crate::state::AppState;

pub(super) fn write(v: &VisitRecord) -> Result<String, FhirError> {
    let (patient, clinician, colleagues) = super::appointment::participants(&v.record);
    encounter::write(&EncounterOut {
        booking: &v.record.booking,
        version: None,
        patient,
        clinician,
        colleagues,
        started: v.started,
        ended: v.ended,
    })
}

/// `GET /fhir/R4/Encounter/{id}`: the visit of booking `id`.
pub async fn read(State(state): State<AppState>, ehr: Ehr, Path(id): Path<String>) -> Response {
    respond(
        async {
            ehr.may("Encounter", Interaction::Read)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let v = journal::read_visit(env, &ehr.system, &id)
                .await
                .map_err(|e| from_app(e, "Encounter"))?;
            Ok(Answer::ok(write(&v)?))
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
                if patient.as_ref().is_some_and(|p| r.patient.id.as_str() != p) {
                    continue;
                }
                if let Some(v) = journal::visit_of(env, r)
                    .await
                    .map_err(|e| from_app(e, "Encounter"))?
                {
                    found.push(v);
                }
            }
            let search_url = format!("{}/Encounter", ehr.base);
            Ok(Answer::ok(paging.bundle(&search_url, &found, |v| {
                let url = format!("{}/Encounter/{}", ehr.base, v.record.booking.id);
                Ok((url, write(v)?))
            })?))
        }
        .await,
    )
}
