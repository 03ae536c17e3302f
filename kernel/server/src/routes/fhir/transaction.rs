//! `POST /fhir/R4` with a transaction Bundle: patients registered (or
//! found, with `ifNoneExist`) and one visit booked for them, the visit
//! naming a patient of the same Bundle by its `urn:uuid:` fullUrl. All or
//! nothing: if any entry fails, the patients the transaction registered
//! are taken back and the answer is that entry's error, naming it. One
//! Appointment per transaction, processed last: a booking sends its SMS
//! at once, and no second booking could then be undone unseen.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use tillit_app::journal;
use tillit_fhir::FhirError;
use tillit_fhir::map::Target;
use tillit_fhir::map::appointment;
use tillit_fhir::smart::Interaction;
use tillit_fhir::transaction::{self, TxEntry, TxResult};

use super::auth::Ehr;
use super::search::none_exist_identifier;
use super::{Answer, json_body, respond};
use crate::state::AppState;

/// What an entry does: only creates of these two types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Patient,
    Appointment,
}

fn kind(n: usize, e: &TxEntry) -> Result<Kind, FhirError> {
    let k = match (e.method.as_str(), e.url.trim_end_matches('/')) {
        ("POST", "Patient") => Kind::Patient,
        ("POST", "Appointment") => Kind::Appointment,
        (method, url) => {
            return Err(FhirError::rule(
                format!("Bundle.entry[{n}].request"),
                format!(
                    "{method} {url} is not done in a transaction here; a transaction creates Patients (POST Patient) and one Appointment (POST Appointment)."
                ),
            ));
        }
    };
    if e.resource.is_none() {
        return Err(FhirError::structure(
            format!("Bundle.entry[{n}].resource"),
            "A create needs its resource.",
        ));
    }
    Ok(k)
}

/// `POST /fhir/R4`: a transaction.
pub async fn transaction(
    State(state): State<AppState>,
    ehr: Ehr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            json_body(&headers)?;
            let entries = transaction::read(&body)?;
            let kinds = entries
                .iter()
                .enumerate()
                .map(|(n, e)| kind(n, e))
                .collect::<Result<Vec<_>, _>>()?;
            for (n, k) in kinds.iter().enumerate() {
                let ty = match k {
                    Kind::Patient => "Patient",
                    Kind::Appointment => "Appointment",
                };
                ehr.may(ty, Interaction::Create).map_err(|e| e.within(n))?;
            }
            if kinds.iter().filter(|k| **k == Kind::Appointment).count() > 1 {
                return Err(FhirError::rule(
                    "Bundle.entry",
                    "A transaction books one Appointment; send each visit in its own.",
                ));
            }
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let mut results: Vec<Option<TxResult>> = vec![None; entries.len()];
            let mut placeholders: HashMap<String, String> = HashMap::new();
            let mut registered = Vec::new();
            let outcome: Result<(), FhirError> = async {
                for (n, e) in entries.iter().enumerate() {
                    if kinds[n] != Kind::Patient {
                        continue;
                    }
                    let cond = e
                        .if_none_exist
                        .as_deref()
                        .map(none_exist_identifier)
                        .transpose()
                        .map_err(|err| err.within(n))?;
                    let resource = e.resource.as_deref().unwrap_or_default();
                    let (r, created) = super::patient::register(env, &ehr, cond.as_deref(), resource)
                        .await
                        .map_err(|err| err.within(n))?;
                    let id = r.person.id.as_str().to_owned();
                    if created {
                        registered.push(r.person.id.clone());
                    }
                    if let Some(u) = &e.full_url {
                        placeholders.insert(u.clone(), id.clone());
                    }
                    results[n] = Some(TxResult {
                        full_url: super::patient::url(&ehr, &r.person.id),
                        status: if created { "201 Created" } else { "200 OK" },
                        location: format!("Patient/{id}/_history/{}", r.version.number),
                        resource: super::patient::write(&r)?,
                        version: r.version,
                    });
                }
                for (n, e) in entries.iter().enumerate() {
                    if kinds[n] != Kind::Appointment {
                        continue;
                    }
                    let resource = e.resource.as_deref().unwrap_or_default();
                    let mut a = appointment::read(resource).map_err(|err| err.within(n))?;
                    for (i, t) in a.patients.iter_mut().enumerate() {
                        if let Target::Placeholder(u) = t {
                            let id = placeholders.get(u.as_str()).ok_or_else(|| {
                                FhirError::rule(
                                    format!("Bundle.entry[{n}].resource.participant"),
                                    format!("Patient {i}: {u} is the fullUrl of no Patient in this transaction."),
                                )
                            })?;
                            *t = Target::Id(id.clone());
                        }
                    }
                    let cond = e
                        .if_none_exist
                        .as_deref()
                        .map(none_exist_identifier)
                        .transpose()
                        .map_err(|err| err.within(n))?;
                    let (r, created) = super::appointment::book(env, &ehr, cond.as_deref(), &a)
                        .await
                        .map_err(|err| err.within(n))?;
                    results[n] = Some(TxResult {
                        full_url: super::appointment::url(&ehr, &r.booking.id),
                        status: if created { "201 Created" } else { "200 OK" },
                        location: format!(
                            "Appointment/{}/_history/{}",
                            r.booking.id, r.version.number
                        ),
                        resource: super::appointment::write(&state, &ehr, &r)?,
                        version: r.version,
                    });
                }
                Ok(())
            }
            .await;
            if let Err(e) = outcome {
                for id in &registered {
                    // Best effort: a failure here leaves a patient, logged.
                    let _ = journal::withdraw_registration(env, &ehr.system, id).await;
                }
                return Err(e);
            }
            let results: Vec<TxResult> = results.into_iter().flatten().collect();
            Ok(Answer::ok(transaction::response(&results)?))
        }
        .await,
    )
}
