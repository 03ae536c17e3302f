//! `Appointment`: a booking. Read (also as it was, by version), searched,
//! created (booked through the same use case as the portal's invite form)
//! and changed with an update (PUT) or a JSON Patch of `status` (cancel)
//! or `start` (move), with `If-Match` on the version changed.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tillit_app::bookings::{self, Book, Invitee, Start, Title};
use tillit_app::journal::{self, BookingQuery, BookingRecord};
use tillit_app::{Actor, Env};
use tillit_domain::booking::BookingStatus;
use tillit_domain::{HsaId, Person, PersonId, Timestamp};
use tillit_fhir::FhirError;
use tillit_fhir::identifiers::{self, System, Token};
use tillit_fhir::map::Target;
use tillit_fhir::map::appointment::{self, AppointmentIn, AppointmentOut, Participant};
use tillit_fhir::map::status::{appointment_code, requested_action_code};
use tillit_fhir::smart::Interaction;

use super::auth::Ehr;
use super::error::from_app;
use super::history::{self, HistoryQuery};
use super::search::{Params, date_range, if_none_exist, reference_id};
use super::{Answer, json_body, respond};
use crate::state::AppState;

const INCLUDES: [&str; 3] = [
    "Appointment:patient",
    "Appointment:practitioner",
    "Appointment:actor",
];

/// Someone a booking's resources name.
pub(super) fn participant(p: &Person) -> Participant {
    Participant {
        id: p.id.as_str().to_owned(),
        display: p.full_name(),
    }
}

/// The patients (each with the visit as they see it), the clinician and
/// the colleagues of a booking, as its resources name them.
#[allow(clippy::type_complexity)]
pub(super) fn participants(
    r: &BookingRecord,
) -> (
    Vec<(Participant, BookingStatus)>,
    Participant,
    Vec<Participant>,
) {
    let colleagues = r
        .colleagues
        .iter()
        .map(|c| Participant {
            id: c.id.as_str().to_owned(),
            display: c.name.clone(),
        })
        .collect();
    let patients = r
        .patients_seeing()
        .into_iter()
        .map(|(p, seen)| (participant(p), seen))
        .collect();
    (patients, participant(&r.clinician), colleagues)
}

pub(super) fn write(state: &AppState, ehr: &Ehr, r: &BookingRecord) -> Result<String, FhirError> {
    let visit_url = crate::outbox::visit_url(state, &ehr.tenant, &r.booking.id);
    let (patients, clinician, colleagues) = participants(r);
    appointment::write(&AppointmentOut {
        booking: &r.booking,
        version: Some(r.version),
        created: None,
        patients,
        clinician,
        colleagues,
        external_ids: &r.external_ids,
        visit_url: &visit_url,
        patient_waiting: r.patient_waiting,
    })
}

pub(super) fn url(ehr: &Ehr, id: &str) -> String {
    format!("{}/Appointment/{id}", ehr.base)
}

/// `GET /fhir/R4/Appointment/{id}`.
pub async fn read(State(state): State<AppState>, ehr: Ehr, Path(id): Path<String>) -> Response {
    respond(
        async {
            ehr.may("Appointment", Interaction::Read)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let r = journal::read_booking(env, &ehr.system, &id)
                .await
                .map_err(|e| from_app(e, "Appointment"))?;
            Ok(Answer::ok(write(&state, &ehr, &r)?).of_version(r.version))
        }
        .await,
    )
}

/// `GET /fhir/R4/Appointment/{id}/_history/{vid}`: the booking as it was.
pub async fn vread(
    State(state): State<AppState>,
    ehr: Ehr,
    Path((id, vid)): Path<(String, String)>,
) -> Response {
    respond(
        async {
            ehr.may("Appointment", Interaction::Read)?;
            let number = history::version_id(&vid)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let r = journal::booking_version(env, &ehr.system, &id, number)
                .await
                .map_err(|e| from_app(e, "Appointment"))?;
            Ok(Answer::ok(write(&state, &ehr, &r)?).of_version(r.version))
        }
        .await,
    )
}

fn versioned(
    state: &AppState,
    ehr: &Ehr,
    r: &BookingRecord,
) -> Result<history::Versioned, FhirError> {
    Ok((
        format!("Appointment/{}", r.booking.id),
        write(state, ehr, r)?,
        r.version,
    ))
}

/// `GET /fhir/R4/Appointment/{id}/_history`: every version, newest first.
pub async fn history(
    State(state): State<AppState>,
    ehr: Ehr,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Appointment", Interaction::Read)?;
            let q = HistoryQuery::new(query.as_deref(), &headers)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let all = journal::booking_versions(env, &ehr.system, &id)
                .await
                .map_err(|e| from_app(e, "Appointment"))?;
            let (total, shown) = history::page(&q, all, |r| r.version);
            let path = format!("Appointment/{id}/_history");
            history::answer(&ehr, &path, &q, total, &shown, |r| {
                versioned(&state, &ehr, r)
            })
        }
        .await,
    )
}

/// `GET /fhir/R4/Appointment/_history`: every booking's versions, newest
/// first.
pub async fn type_history(
    State(state): State<AppState>,
    ehr: Ehr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Appointment", Interaction::Read)?;
            let q = HistoryQuery::new(query.as_deref(), &headers)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let page = journal::bookings_history(env, &ehr.system, q.since, q.page)
                .await
                .map_err(|e| from_app(e, "Appointment"))?;
            let total = usize::try_from(page.total).unwrap_or(usize::MAX);
            history::answer(
                &ehr,
                "Appointment/_history",
                &q,
                total,
                &page.versions,
                |r| versioned(&state, &ehr, r),
            )
        }
        .await,
    )
}

/// `GET /fhir/R4/Appointment?patient=…&practitioner=…&actor=…&date=…&status=…`,
/// with `_include` of the patient and practitioners.
pub async fn search(
    State(state): State<AppState>,
    ehr: Ehr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(
        async {
            ehr.may("Appointment", Interaction::Search)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let mut p = Params::new(query.as_deref(), &headers);
            let mut q = BookingQuery::default();
            if let Some(v) = p.one("patient")? {
                q.patient = Some(PersonId::new(reference_id(&v, "Patient", "patient")?));
            }
            if let Some(v) = p.one("practitioner")? {
                q.practitioner = Some(PersonId::new(reference_id(
                    &v,
                    "Practitioner",
                    "practitioner",
                )?));
            }
            if let Some(v) = p.one("actor")? {
                match v.rsplit('/').nth(1) {
                    Some("Practitioner") => {
                        q.practitioner =
                            Some(PersonId::new(reference_id(&v, "Practitioner", "actor")?))
                    }
                    _ => q.patient = Some(PersonId::new(reference_id(&v, "Patient", "actor")?)),
                }
            }
            let identifier = p.one("identifier")?;
            let id = p.one("_id")?;
            let (from, to) = date_range(&p.take("date"))?;
            q.from = from;
            q.to = to;
            let (updated_from, updated_to) = date_range(&p.take("_lastUpdated"))?;
            let statuses: Vec<String> = p
                .take("status")
                .iter()
                .flat_map(|s| s.split(','))
                .map(str::to_owned)
                .collect();
            let includes = p.take("_include");
            let revincludes = p.take("_revinclude");
            for r in &revincludes {
                if r != "Encounter:appointment" {
                    return Err(FhirError::BadRequest(format!(
                        "_revinclude={r} is not supported; Encounter:appointment is."
                    )));
                }
            }
            for i in &includes {
                if !INCLUDES.contains(&i.as_str()) {
                    return Err(FhirError::BadRequest(format!(
                        "_include={i} is not supported; supported: {}.",
                        INCLUDES.join(", ")
                    )));
                }
            }
            let page = p.page()?;
            let only_count = p.summary_count()?;
            let query = p.finish()?;
            let candidates = match &identifier {
                Some(v) => {
                    let (system, value) = system_and_value(v, "identifier")?;
                    journal::booking_by_external_id(env, &ehr.system, (&system, &value))
                        .await
                        .map_err(|e| from_app(e, "Appointment"))?
                        .into_iter()
                        .filter(|r| {
                            q.patient.as_ref().is_none_or(|p| r.has_patient(p))
                                && q.from.is_none_or(|t| r.booking.starts_at >= t)
                                && q.to.is_none_or(|t| r.booking.starts_at < t)
                        })
                        .collect()
                }
                None => journal::search_bookings(env, &ehr.system, &q)
                    .await
                    .map_err(|e| from_app(e, "Appointment"))?,
            };
            let found: Vec<BookingRecord> = candidates
                .into_iter()
                .filter(|r| {
                    statuses.is_empty()
                        || statuses.contains(&appointment_code(r.booking.status, r.patient_waiting))
                })
                .filter(|r| id.as_deref().is_none_or(|i| r.booking.id == i))
                .filter(|r| {
                    updated_from.is_none_or(|t| r.version.last_updated >= t)
                        && updated_to.is_none_or(|t| r.version.last_updated < t)
                })
                .collect();
            let total = found.len();
            let shown: Vec<&BookingRecord> = if only_count {
                Vec::new()
            } else {
                found.iter().skip(page.1).take(page.0).collect()
            };
            let matches = shown
                .iter()
                .map(|r| Ok((url(&ehr, &r.booking.id), write(&state, &ehr, r)?)))
                .collect::<Result<Vec<_>, FhirError>>()?;
            let mut included = included(&ehr, env, &includes, &shown).await?;
            if !revincludes.is_empty() {
                ehr.may("Encounter", Interaction::Search)?;
                for r in &shown {
                    if let Some(v) = journal::visit_of(env, (*r).clone())
                        .await
                        .map_err(|e| from_app(e, "Encounter"))?
                    {
                        included.extend(super::encounter::write_all(&ehr, &v, None)?);
                    }
                }
            }
            Ok(Answer::ok(super::search::searchset(
                format!("{}/Appointment?{query}", ehr.base),
                page,
                total,
                matches,
                included,
            )?))
        }
        .await,
    )
}

/// A `system|value` token with both parts, as identifiers of bookings
/// are matched.
fn system_and_value(v: &str, param: &str) -> Result<(String, String), FhirError> {
    match Token::parse(v) {
        Token {
            system: Some(system),
            value,
        } if !system.is_empty() && !value.is_empty() => Ok((system, value)),
        _ => Err(FhirError::BadRequest(format!(
            "{param}={v}: expected <system>|<value>."
        ))),
    }
}

/// The Patients and Practitioners `_include` asks for, each once.
async fn included(
    ehr: &Ehr,
    env: Env<'_>,
    includes: &[String],
    shown: &[&BookingRecord],
) -> Result<Vec<(String, String)>, FhirError> {
    let patients = includes
        .iter()
        .any(|i| i == "Appointment:patient" || i == "Appointment:actor");
    let practitioners = includes
        .iter()
        .any(|i| i == "Appointment:practitioner" || i == "Appointment:actor");
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in shown {
        for patient in r.patients() {
            if patients && seen.insert(("Patient", patient.id.clone())) {
                // The patients' reads were logged with the search.
                let rec = journal::patient_record(env, patient.clone())
                    .await
                    .map_err(|e| from_app(e, "Patient"))?;
                out.push((
                    format!("{}/Patient/{}", ehr.base, patient.id.as_str()),
                    super::patient::write(&rec)?,
                ));
            }
        }
        if practitioners {
            let mut people: Vec<Person> = vec![r.clinician.clone()];
            for c in &r.colleagues {
                if let Ok(p) = journal::read_clinician(env, &c.id).await {
                    people.push(p);
                }
            }
            for p in people {
                if seen.insert(("Practitioner", p.id.clone())) {
                    out.push((
                        format!("{}/Practitioner/{}", ehr.base, p.id.as_str()),
                        super::practitioner::write(&p)?,
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The clinician a Practitioner reference names.
async fn clinician(env: Env<'_>, t: &Target, path: &str) -> Result<Person, FhirError> {
    let id = match t {
        Target::Id(id) => id.clone(),
        Target::Identifier { system, value }
            if identifiers::system_kind(system) == Some(System::TillitId) =>
        {
            value.clone()
        }
        Target::Identifier { system, value }
            if identifiers::system_kind(system) == Some(System::HsaId) =>
        {
            let unknown = || {
                FhirError::rule(
                    path.to_owned(),
                    "No clinician of this care provider has that HSA-id.",
                )
            };
            let hsa = HsaId::parse(value).map_err(|_| unknown())?;
            return match journal::clinician_by_hsa_id(env, &hsa).await {
                Err(tillit_app::Error::NotFound) => Err(unknown()),
                other => other.map_err(|e| from_app(e, "Practitioner")),
            };
        }
        Target::Identifier { system, .. } => {
            return Err(FhirError::rule(
                path.to_owned(),
                format!(
                    "Practitioners are named by HSA-id ({}) or Tillit id ({}) here, not by {system}.",
                    identifiers::HSA_ID,
                    identifiers::TILLIT_ID
                ),
            ));
        }
        Target::Placeholder(p) => {
            return Err(FhirError::rule(
                path.to_owned(),
                format!("{p} refers to nothing outside a transaction."),
            ));
        }
    };
    journal::read_clinician(env, &PersonId::new(id))
        .await
        .map_err(|_| FhirError::rule(path.to_owned(), "Not a clinician of this care provider."))
}

/// The command to book what an EHR sent, for `clinician`.
async fn command(env: Env<'_>, a: &AppointmentIn, me: &Person) -> Result<Book, FhirError> {
    if !matches!(a.status.as_str(), "proposed" | "pending" | "booked") {
        return Err(FhirError::rule(
            "Appointment.status",
            "A new Appointment must be proposed, pending or booked.",
        ));
    }
    // A group visit's patients in the order given; the first is the
    // booking's patient.
    let mut patients = Vec::with_capacity(a.patients.len());
    for t in &a.patients {
        match t {
            Target::Id(id) => patients.push(PersonId::new(id.clone())),
            _ => {
                return Err(FhirError::rule(
                    "Appointment.participant",
                    "Name each Patient by reference (Patient/[id]); find or create it first, by personnummer.",
                ));
            }
        }
    }
    if patients.is_empty() {
        return Err(FhirError::rule(
            "Appointment.participant",
            "A Patient participant is required.",
        ));
    }
    let patient = patients.remove(0);
    let start = a.start.ok_or_else(|| {
        FhirError::rule("Appointment.start", "The start of the visit is required.")
    })?;
    let types = env
        .store
        .visit_types_of(&me.id)
        .await
        .map_err(|e| from_app(e.into(), "Appointment"))?;
    let visit_type = match &a.visit_type {
        Some(id) => types.iter().find(|t| t.id == *id),
        None if types.len() == 1 => types.first(),
        None => None,
    }
    .ok_or_else(|| {
        let known: Vec<String> = types
            .iter()
            .map(|t| format!("{} ({})", t.id, t.spec.title))
            .collect();
        FhirError::rule(
            "Appointment.serviceType",
            format!(
                "Name one of the clinician's visit types as a serviceType coding of {}: {}.",
                identifiers::VISIT_TYPE,
                if known.is_empty() {
                    "they have none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        )
    })?;
    let minutes = a.minutes.or_else(|| {
        a.end
            .map(|e| u32::try_from((e.0 - start.0) / 60_000).unwrap_or(0))
    });
    if let Some(m) = minutes
        && m != visit_type.spec.minutes
    {
        return Err(FhirError::rule(
            "Appointment.end",
            format!(
                "The visit type {} lasts {} minutes, not {m}.",
                visit_type.id, visit_type.spec.minutes
            ),
        ));
    }
    let mut colleagues = Vec::new();
    for (n, t) in a.practitioners.iter().enumerate().skip(1) {
        let c = clinician(env, t, &format!("Appointment.participant[{n}]")).await?;
        colleagues.push(c.id);
    }
    Ok(Book {
        visit_type_id: visit_type.id.clone(),
        title: Title::VisitType,
        start: Some(Start::At(start)),
        invitee: Some(Invitee::OnRecord(patient)),
        message: a.patient_instruction.clone().unwrap_or_default(),
        colleagues,
        more_patients: patients,
        accept_overlap: false,
        on_file: Default::default(),
        external_ids: a.external_ids.clone(),
    })
}

/// Books the visit an EHR sent, for the Practitioner it names first (the
/// responsible one) with the Patient; with `If-None-Exist` criteria
/// (`conditional`, an identifier of the EHR's) the booking it made before
/// is found instead. Returns the booking and whether it was made now.
pub(super) async fn book(
    env: Env<'_>,
    ehr: &Ehr,
    conditional: Option<&str>,
    a: &AppointmentIn,
) -> Result<(BookingRecord, bool), FhirError> {
    if let Some(v) = conditional {
        let (system, value) = system_and_value(v, "If-None-Exist identifier")?;
        if let Some(r) = journal::booking_by_external_id(env, &ehr.system, (&system, &value))
            .await
            .map_err(|e| from_app(e, "Appointment"))?
        {
            return Ok((r, false));
        }
    }
    let first = a.practitioners.first().ok_or_else(|| {
        FhirError::rule(
            "Appointment.participant",
            "A Practitioner participant (the clinician holding the visit) is required.",
        )
    })?;
    let me = clinician(env, first, "Appointment.participant").await?;
    let cmd = command(env, a, &me).await?;
    let actor = Actor::journal_system(me, &ehr.system.client);
    let booked = bookings::book(env, &actor, cmd)
        .await
        .map_err(|e| from_app(e, "Appointment"))?;
    let r = journal::read_booking(env, &ehr.system, &booked.id)
        .await
        .map_err(|e| from_app(e, "Appointment"))?;
    Ok((r, true))
}

/// `POST /fhir/R4/Appointment`: books a visit (see [`book`]).
pub async fn create(
    State(state): State<AppState>,
    ehr: Ehr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            ehr.may("Appointment", Interaction::Create)?;
            json_body(&headers)?;
            let store = state.store.tenant(ehr.tenant.id.clone());
            let env = state.env_for(&ehr.tenant, &store);
            let a = appointment::read(&body)?;
            let conditional = if_none_exist(&headers)?;
            let (r, created) = book(env, &ehr, conditional.as_deref(), &a).await?;
            Ok(if created {
                Answer::created(
                    write(&state, &ehr, &r)?,
                    url(&ehr, &r.booking.id),
                    r.version,
                )
            } else {
                Answer::ok(write(&state, &ehr, &r)?).of_version(r.version)
            })
        }
        .await,
    )
}

/// What an EHR asks to change of a booking: its status (a FHIR code) and
/// its start.
#[derive(Debug, Default)]
struct Change {
    status: Option<String>,
    start: Option<Timestamp>,
}

/// A change of start or length keeps the visit type's length: the length
/// of a booking is its visit type's, and does not change.
fn same_length(
    current: &BookingRecord,
    start: Timestamp,
    end: Option<Timestamp>,
    minutes: Option<u32>,
) -> Result<(), FhirError> {
    let from_end = end.map(|e| (e.0 - start.0) / 60_000);
    for (given, path) in [
        (from_end, "Appointment.end"),
        (minutes.map(i64::from), "Appointment.minutesDuration"),
    ] {
        if let Some(m) = given
            && m != i64::from(current.booking.minutes)
        {
            return Err(FhirError::rule(
                path,
                format!(
                    "The visit lasts {} minutes, as its visit type does, not {m}; its length cannot change.",
                    current.booking.minutes
                ),
            ));
        }
    }
    Ok(())
}

/// An instant in a JSON Patch value.
fn patch_instant(v: &str, path: &str) -> Result<Timestamp, FhirError> {
    let t: jiff::Timestamp = v
        .parse()
        .map_err(|_| FhirError::structure(path, format!("\"{v}\" is not an instant.")))?;
    Ok(Timestamp(t.as_millisecond()))
}

/// What a JSON Patch (RFC 6902) asks of `current`: `test` of `/status` or
/// `/start` (a failed test changes nothing: 409), `replace` of `/status`
/// or `/start`, and of `/end` or `/minutesDuration` only as the length
/// the visit already has.
fn patched(current: &BookingRecord, ops: &[PatchOp]) -> Result<Change, FhirError> {
    let mut change = Change::default();
    let (mut end, mut minutes) = (None, None);
    for (n, op) in ops.iter().enumerate() {
        let at = format!("Appointment (patch operation {n})");
        let value = op.value.as_ref();
        let text = value.and_then(|v| v.as_str());
        match (op.op.as_str(), op.path.as_str()) {
            ("test", "/status") => {
                let now = appointment_code(current.booking.status, current.patient_waiting);
                if text != Some(now.as_str()) {
                    return Err(FhirError::Conflict(format!(
                        "Patch operation {n}: test of /status failed; the Appointment is {now}. Nothing was changed."
                    )));
                }
            }
            ("test", "/start") => {
                let wanted = patch_instant(text.unwrap_or(""), "Appointment.start")?;
                if wanted != current.booking.starts_at {
                    return Err(FhirError::Conflict(format!(
                        "Patch operation {n}: test of /start failed; the visit starts at another time. Nothing was changed."
                    )));
                }
            }
            ("replace" | "add", "/status") if text.is_some() => {
                change.status = text.map(str::to_owned);
            }
            ("replace" | "add", "/start") if text.is_some() => {
                change.start = Some(patch_instant(text.unwrap_or(""), "Appointment.start")?);
            }
            ("replace" | "add", "/end") if text.is_some() => {
                end = Some(patch_instant(text.unwrap_or(""), "Appointment.end")?);
            }
            ("replace" | "add", "/minutesDuration") => {
                let m = value.and_then(serde_json::Value::as_u64).ok_or_else(|| {
                    FhirError::structure(
                        "Appointment.minutesDuration",
                        "Expected a whole number of minutes.",
                    )
                })?;
                minutes = Some(u32::try_from(m).unwrap_or(u32::MAX));
            }
            _ => {
                return Err(FhirError::rule(
                    at,
                    format!(
                        "Only test and replace of /status or /start (with /end or /minutesDuration of the same length) can be patched; not {} {}.",
                        op.op, op.path
                    ),
                ));
            }
        }
    }
    same_length(
        current,
        change.start.unwrap_or(current.booking.starts_at),
        end,
        minutes,
    )?;
    Ok(change)
}

/// The version `If-Match` names, if the request has one.
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, FhirError> {
    headers
        .get(axum::http::header::IF_MATCH)
        .map(|v| tillit_fhir::map::if_match(v.to_str().unwrap_or("")))
        .transpose()
}

/// Makes `change` to booking `id` through the use cases the portal calls
/// (the patient gets the same SMS), if the booking is still at the version
/// `If-Match` names; answers the booking as it is after.
async fn apply(
    state: &AppState,
    ehr: &Ehr,
    id: &str,
    headers: &HeaderMap,
    change: impl FnOnce(&BookingRecord) -> Result<Change, FhirError>,
) -> super::FhirResult {
    let store = state.store.tenant(ehr.tenant.id.clone());
    let env = state.env_for(&ehr.tenant, &store);
    let current = journal::read_booking(env, &ehr.system, id)
        .await
        .map_err(|e| from_app(e, "Appointment"))?;
    let expected = if_match(headers)?;
    let stale = |at: u64, n: u64| {
        FhirError::PreconditionFailed(format!(
            "Appointment/{id} is at version {at}, not {n}: read it again and repeat the change."
        ))
    };
    if let Some(n) = expected
        && n != current.version.number
    {
        return Err(stale(current.version.number, n));
    }
    // The version is checked again in each change's own transaction: a
    // change made meanwhile through any door makes this one stale.
    let at_version = |done: u64| expected.map(|n| n + done);
    let stale_meanwhile = |e: tillit_app::Error| match (e, expected) {
        (tillit_app::Error::Conflict(tillit_app::Conflict::ChangedMeanwhile), Some(n)) => {
            FhirError::PreconditionFailed(format!(
                "Appointment/{id} changed meanwhile and is no longer at version {n}: read it again and repeat the change."
            ))
        }
        (e, _) => from_app(e, "Appointment"),
    };
    let change = change(&current)?;
    let actor = Actor::journal_system(current.clinician.clone(), &ehr.system.client);
    let action = change
        .status
        .map(|s| requested_action_code(current.booking.status, &s))
        .transpose()
        .map_err(|m| FhirError::rule("Appointment.status", m))?
        .flatten();
    let mut done = 0;
    if let Some(action) = action {
        bookings::change_status_at(env, &actor, id, action, at_version(done))
            .await
            .map_err(stale_meanwhile)?;
        done += 1;
    }
    if let Some(t) = change.start
        && t != current.booking.starts_at
    {
        bookings::move_booking_at(env, &actor, id, Some(t), false, at_version(done))
            .await
            .map_err(stale_meanwhile)?;
    }
    let r = journal::read_booking(env, &ehr.system, id)
        .await
        .map_err(|e| from_app(e, "Appointment"))?;
    Ok(Answer::ok(write(state, ehr, &r)?).of_version(r.version))
}

/// `PUT /fhir/R4/Appointment/{id}`: the Appointment as the EHR wants it.
/// Only its status (cancel, confirm) and its time (a move) can differ from
/// what Tillit has; the patient, the clinician and the visit type cannot.
pub async fn update(
    State(state): State<AppState>,
    ehr: Ehr,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            ehr.may("Appointment", Interaction::Update)?;
            json_body(&headers)?;
            let sent = appointment::read(&body)?;
            if sent.id.as_deref() != Some(id.as_str()) {
                return Err(FhirError::BadRequest(format!(
                    "The Appointment's id must be {id}, as in the URL."
                )));
            }
            apply(&state, &ehr, &id, &headers, |current| {
                let same = |t: &Target, want: &PersonId| matches!(t, Target::Id(i) if i == want.as_str());
                let now = current.patients();
                if sent.patients.len() != now.len()
                    || !sent.patients.iter().zip(&now).all(|(t, p)| same(t, &p.id))
                {
                    return Err(FhirError::rule(
                        "Appointment.participant",
                        "The patients of a booking cannot change; cancel it and book again. A patient of a group visit declines their own place in the portal.",
                    ));
                }
                if !sent
                    .practitioners
                    .first()
                    .is_some_and(|p| same(p, &current.clinician.id))
                {
                    return Err(FhirError::rule(
                        "Appointment.participant",
                        "The responsible clinician cannot change over FHIR; cancel and book again.",
                    ));
                }
                if sent
                    .visit_type
                    .as_ref()
                    .is_some_and(|v| *v != current.booking.visit_type_id)
                {
                    return Err(FhirError::rule(
                        "Appointment.serviceType",
                        "The visit type of a booking cannot change; cancel it and book again.",
                    ));
                }
                let start = sent.start.ok_or_else(|| {
                    FhirError::rule("Appointment.start", "The start of the visit is required.")
                })?;
                same_length(current, start, sent.end, sent.minutes)?;
                if sent
                    .patient_instruction
                    .as_ref()
                    .is_some_and(|m| *m != current.booking.message)
                {
                    return Err(FhirError::rule(
                        "Appointment.patientInstruction",
                        "The message to the patient cannot change once booked.",
                    ));
                }
                Ok(Change {
                    status: Some(sent.status.clone()),
                    start: Some(start),
                })
            })
            .await
        }
        .await,
    )
}

/// One JSON Patch operation (RFC 6902).
#[derive(Debug, serde::Deserialize)]
struct PatchOp {
    op: String,
    path: String,
    value: Option<serde_json::Value>,
}

/// `PATCH /fhir/R4/Appointment/{id}` with a JSON Patch: `replace` of
/// `/status` (`cancelled`, or `booked` to confirm) or of `/start` (a move;
/// `/end` may follow it). The patient gets the same SMS as when a
/// clinician does it in the portal.
pub async fn patch(
    State(state): State<AppState>,
    ehr: Ehr,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        async {
            ehr.may("Appointment", Interaction::Update)?;
            tillit_fhir::media::check_patch_content_type(
                headers
                    .get(axum::http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
            )?;
            let ops: Vec<PatchOp> =
                serde_json::from_slice(&body).map_err(|e| FhirError::Structure {
                    path: None,
                    message: format!("Not a JSON Patch document: {e}"),
                })?;
            apply(&state, &ehr, &id, &headers, |current| {
                patched(current, &ops)
            })
            .await
        }
        .await,
    )
}
