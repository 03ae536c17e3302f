//! `Schedule` and `Slot`: each clinician's calendar (bookable or not, and
//! for which visit types: the codes an Appointment names in `serviceType`)
//! and the times their active bookings take, so an EHR sees when a
//! clinician is taken before it books. A Schedule's id is the clinician's;
//! a Slot's is the booking's. Staff data naming no patient: not
//! access-logged.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tillit_app::schedules::{self, Schedule};
use tillit_domain::booking::BusyTime;
use tillit_domain::{PersonId, Timestamp};
use tillit_fhir::FhirError;
use tillit_fhir::map::schedule::{self as map, ScheduleOut, SlotOut, VisitTypeOut};
use tillit_fhir::smart::Interaction;

use super::auth::Ehr;
use super::error::from_app;
use super::search::{Params, date_range, reference_id};
use super::{Answer, respond};
use crate::state::AppState;

fn write_schedule(s: &Schedule) -> Result<String, FhirError> {
    let types: Vec<VisitTypeOut<'_>> = s
        .visit_types
        .iter()
        .map(|t| VisitTypeOut {
            id: &t.id,
            title: &t.spec.title,
            minutes: t.spec.minutes,
        })
        .collect();
    map::write_schedule(ScheduleOut {
        clinician: &s.clinician,
        published: s.published,
        visit_types: &types,
    })
}

fn write_slot(b: &BusyTime) -> Result<String, FhirError> {
    map::write_slot(SlotOut {
        id: &b.booking,
        schedule: b.clinician.as_str(),
        start: b.start,
        end: b.end,
    })
}

/// `GET /fhir/R4/Schedule/{id}`: clinician `id`'s calendar.
pub async fn read(State(state): State<AppState>, ehr: Ehr, Path(id): Path<String>) -> Response {
    respond(
        async {
            ehr.may("Schedule", Interaction::Read)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let s = schedules::schedule(env, &PersonId::new(id))
                .await
                .map_err(|e| from_app(e, "Schedule"))?;
            Ok(Answer::ok(write_schedule(&s)?))
        }
        .await,
    )
}

/// `GET /fhir/R4/Schedule?actor=Practitioner/…`: one clinician's
/// calendar, or every clinician's.
pub async fn search(
    State(state): State<AppState>,
    ehr: Ehr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Schedule", Interaction::Search)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let mut p = Params::new(query.as_deref(), &headers);
            let actor = p
                .one("actor")?
                .map(|v| reference_id(&v, "Practitioner", "actor"))
                .transpose()?;
            let paging = p.paging()?;
            let found = match actor {
                Some(id) => match schedules::schedule(env, &PersonId::new(id)).await {
                    Ok(s) => vec![s],
                    Err(tillit_app::Error::NotFound) => Vec::new(),
                    Err(e) => return Err(from_app(e, "Schedule")),
                },
                None => schedules::schedules(env)
                    .await
                    .map_err(|e| from_app(e, "Schedule"))?,
            };
            let search_url = format!("{}/Schedule", ehr.base);
            Ok(Answer::ok(paging.bundle(&search_url, &found, |s| {
                let url = format!("{}/Schedule/{}", ehr.base, s.clinician.id.as_str());
                Ok((url, write_schedule(s)?))
            })?))
        }
        .await,
    )
}

/// `GET /fhir/R4/Slot/{id}`: the time booking `id` takes, while active.
pub async fn read_slot(
    State(state): State<AppState>,
    ehr: Ehr,
    Path(id): Path<String>,
) -> Response {
    respond(
        async {
            ehr.may("Slot", Interaction::Read)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let b = schedules::busy_time(env, &id)
                .await
                .map_err(|e| from_app(e, "Slot"))?;
            Ok(Answer::ok(write_slot(&b)?))
        }
        .await,
    )
}

/// `GET /fhir/R4/Slot?schedule=Schedule/…&start=ge…&status=busy`: the
/// times taken, earliest first. Every Slot is `busy`: Tillit keeps no
/// opening hours, so it has no free ones to show.
pub async fn search_slots(
    State(state): State<AppState>,
    ehr: Ehr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Slot", Interaction::Search)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let mut p = Params::new(query.as_deref(), &headers);
            let schedule = p
                .one("schedule")?
                .map(|v| reference_id(&v, "Schedule", "schedule"))
                .transpose()?
                .map(PersonId::new);
            let (from, to) = date_range(&p.take("start"))?;
            let busy_only = p
                .take("status")
                .iter()
                .flat_map(|s| s.split(','))
                .all(|s| s == "busy");
            let paging = p.paging()?;
            let found = if busy_only {
                schedules::busy_times(
                    env,
                    schedule.as_ref(),
                    from.unwrap_or(Timestamp(i64::MIN)),
                    to.unwrap_or(Timestamp(i64::MAX)),
                )
                .await
                .map_err(|e| from_app(e, "Slot"))?
                .into_iter()
                // `start` is about when a Slot starts, not when it overlaps.
                .filter(|b| from.is_none_or(|t| b.start >= t))
                .collect()
            } else {
                Vec::new()
            };
            let search_url = format!("{}/Slot", ehr.base);
            Ok(Answer::ok(paging.bundle(&search_url, &found, |b| {
                let url = format!("{}/Slot/{}", ehr.base, b.booking);
                Ok((url, write_slot(b)?))
            })?))
        }
        .await,
    )
}
