//! "Skapa ett nytt videobesök": the booking wizard for a visit with several
//! participants, as the Vård och hälsa guide describes it.
//!
//! 1. Besöksdetaljer: the visit type, the reason (sökorsak) from the
//!    tenant's predefined list (it becomes the visit's heading for the
//!    patient), date and time.
//! 2. Deltagare: the patient, and colleagues found by name or by unit and
//!    job title.
//! 3. Bekräfta och skicka: a summary; only "Skapa och skicka inbjudningar"
//!    saves anything and sends the invitations.
//!
//! The wizard keeps no state on the server: every step posts all earlier
//! answers back as hidden fields and checks them again, so going back and
//! forth, or abandoning the wizard, leaves nothing behind.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::{Value, json};
use tillit_domain::access::AccessAction;
use tillit_domain::booking::{Booking, BookingFor, BookingStatus, Colleague, VisitType};
use tillit_domain::{PersonId, Role, Timestamp};
use tillit_store::{BookOutcome, NewBooking};

use crate::app::AppState;
use crate::bookings::{WhoFields, invitees, parse_start, parse_who, published};
use crate::forms::{FieldErrors, log_access_all};
use crate::pages::{PageResult, page};
use crate::session::Ctx;

/// How many colleagues one visit may have besides the responsible clinician.
const MAX_COLLEAGUES: usize = 49;

#[derive(Debug, Default, Deserialize)]
pub struct WizardForm {
    /// The step the form was shown at: 1, 2 or 3.
    #[serde(default)]
    step: u8,
    /// `next`, `back`, `search`, `add:<id>`, `remove:<id>` or `send`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    visit_type_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    personnummer: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    patient_id: String,
    /// The chosen colleagues' ids, comma-separated.
    #[serde(default)]
    colleagues: String,
    /// Search by name (any words), or by unit and job title.
    #[serde(default)]
    q: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    role: String,
    confirm_overlap: Option<String>,
}

impl WizardForm {
    fn chosen(&self) -> Vec<String> {
        self.colleagues
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn who_fields(&self) -> WhoFields<'_> {
        WhoFields {
            who: if self.who.is_empty() {
                "new"
            } else {
                &self.who
            },
            phone: &self.phone,
            personnummer: &self.personnummer,
            given_name: &self.given_name,
            family_name: &self.family_name,
            patient_id: &self.patient_id,
            colleague_id: "",
        }
    }
}

/// What steps 1 and 2 came to, once both check out.
struct Checked {
    visit_type: VisitType,
    reason: String,
    starts_at: Timestamp,
    who: BookingFor,
    colleagues: Vec<Colleague>,
}

/// Step 1's answers, or the errors on its fields.
async fn check_details(
    state: &AppState,
    ctx: &Ctx,
    me: &tillit_domain::Person,
    form: &WizardForm,
    errors: &mut FieldErrors,
) -> Result<Option<(VisitType, String, Timestamp)>, crate::error::AppError> {
    let types = state
        .store
        .tenant(ctx.tenant.id.clone())
        .visit_types_of(&me.id)
        .await?;
    let visit_type = types.into_iter().find(|v| v.id == form.visit_type_id);
    if visit_type.is_none() {
        errors.add("visit_type_id", "field.required");
    }
    let reason = form.reason.trim();
    let reason = ctx
        .tenant
        .booking
        .reasons
        .iter()
        .find(|r| r.as_str() == reason)
        .cloned();
    if reason.is_none() {
        errors.add(
            "reason",
            if form.reason.trim().is_empty() {
                "field.required"
            } else {
                "wizard.reason_unknown"
            },
        );
    }
    let starts_at = parse_start(&form.date, &form.time, state.clock.now(), errors);
    Ok(match (visit_type, reason, starts_at) {
        (Some(v), Some(r), Some(t)) => Some((v, r, t)),
        _ => None,
    })
}

/// The chosen colleagues, checked against the tenant's active clinicians.
fn chosen_colleagues(
    all: &[Colleague],
    form: &WizardForm,
    me: &PersonId,
    errors: &mut FieldErrors,
) -> Vec<Colleague> {
    let mut out: Vec<Colleague> = Vec::new();
    for id in form.chosen() {
        match all.iter().find(|c| c.id.as_str() == id && c.id != *me) {
            Some(c) if !out.iter().any(|o| o.id == c.id) => out.push(c.clone()),
            Some(_) => {}
            None => errors.add("colleagues", "wizard.colleague_unknown"),
        }
    }
    if out.len() > MAX_COLLEAGUES {
        errors.add_max("colleagues", "wizard.too_many", MAX_COLLEAGUES);
    }
    out
}

pub async fn start(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let form = WizardForm {
        step: 1,
        ..WizardForm::default()
    };
    render(
        &state,
        &ctx,
        &form,
        1,
        &FieldErrors::default(),
        false,
        StatusCode::OK,
    )
    .await
}

pub async fn post(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(mut form): Form<WizardForm>,
) -> PageResult {
    let me = ctx.require(Role::Clinician)?.clone();
    if !published(&state, &ctx, &me).await? {
        return render(
            &state,
            &ctx,
            &form,
            1,
            &FieldErrors::default(),
            false,
            StatusCode::CONFLICT,
        )
        .await;
    }
    let mut errors = FieldErrors::default();
    let store = state.store.tenant(ctx.tenant.id.clone());
    let (verb, target) = form
        .action
        .split_once(':')
        .map_or((form.action.clone(), String::new()), |(v, t)| {
            (v.to_owned(), t.to_owned())
        });
    match (form.step, verb.as_str()) {
        (2 | 3, "back") => {
            let to = form.step - 1;
            return render(&state, &ctx, &form, to, &errors, false, StatusCode::OK).await;
        }
        (2, "search") => {
            return render(&state, &ctx, &form, 2, &errors, false, StatusCode::OK).await;
        }
        (2, "add") => {
            let mut chosen = form.chosen();
            if !chosen.contains(&target) && !target.is_empty() {
                chosen.push(target);
            }
            form.colleagues = chosen.join(",");
            let all = store.colleagues().await?;
            chosen_colleagues(&all, &form, &me.id, &mut errors);
            let status = if errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return render(&state, &ctx, &form, 2, &errors, false, status).await;
        }
        (2, "remove") => {
            let chosen: Vec<String> = form.chosen().into_iter().filter(|c| *c != target).collect();
            form.colleagues = chosen.join(",");
            return render(&state, &ctx, &form, 2, &errors, false, StatusCode::OK).await;
        }
        _ => {}
    }
    // "next" and "send": every step up to this one must check out.
    let details = check_details(&state, &ctx, &me, &form, &mut errors).await?;
    if details.is_none() {
        return render(
            &state,
            &ctx,
            &form,
            1,
            &errors,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if form.step == 1 {
        return render(&state, &ctx, &form, 2, &errors, false, StatusCode::OK).await;
    }
    let inv = if form.who == "existing" {
        Some(invitees(&state, &ctx, &me).await?)
    } else {
        None
    };
    let who = parse_who(form.who_fields(), inv.as_ref(), &me, &mut errors);
    let all = store.colleagues().await?;
    let colleagues = chosen_colleagues(&all, &form, &me.id, &mut errors);
    let (Some((visit_type, reason, starts_at)), Some(who), true) =
        (details, who, errors.is_empty())
    else {
        return render(
            &state,
            &ctx,
            &form,
            2,
            &errors,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let checked = Checked {
        visit_type,
        reason,
        starts_at,
        who,
        colleagues,
    };
    if form.step == 2 || form.action != "send" {
        return render(&state, &ctx, &form, 3, &errors, false, StatusCode::OK).await;
    }
    send(&state, &ctx, &me, &form, checked).await
}

/// Step 3's "Skapa och skicka inbjudningar": one transaction makes the
/// booking, adds the colleagues and queues the patient's messages.
async fn send(
    state: &AppState,
    ctx: &Ctx,
    me: &tillit_domain::Person,
    form: &WizardForm,
    c: Checked,
) -> PageResult {
    let store = state.store.tenant(ctx.tenant.id.clone());
    let booking = Booking {
        id: uuid::Uuid::new_v4().to_string(),
        clinician: me.id.clone(),
        patient: PersonId::new(""),
        visit_type_id: c.visit_type.id.clone(),
        // The reason is the visit's heading for the patient.
        title: c.reason.clone(),
        minutes: c.visit_type.spec.minutes,
        kind: c.visit_type.spec.kind,
        starts_at: c.starts_at,
        status: BookingStatus::initial(false, ctx.tenant.booking.require_confirmation),
        message: String::new(),
    };
    let mut errors = FieldErrors::default();
    if form.confirm_overlap.is_none()
        && store
            .overlapping_bookings(&me.id, c.starts_at, booking.ends_at(), "")
            .await?
            > 0
    {
        return render(state, ctx, form, 3, &errors, true, StatusCode::CONFLICT).await;
    }
    let outcome = store
        .create_booking(
            NewBooking {
                patient: &c.who,
                booking,
                created_by: &me.id,
                created_by_role: me.role,
                new_patient_id: PersonId::new(uuid::Uuid::new_v4().to_string()),
                event_id: uuid::Uuid::new_v4().to_string(),
                reminder_lead: ctx.tenant.booking.reminder_lead.0,
                participants: c.colleagues.iter().map(|c| c.id.clone()).collect(),
            },
            state.clock.now(),
        )
        .await?;
    let (status, field, key) = match outcome {
        BookOutcome::Booked(b) => {
            tracing::info!(tenant = %ctx.tenant.id, by = %me.id, booking = %b.id, colleagues = c.colleagues.len(), "group visit booked");
            crate::plugins::dispatch(
                state,
                &ctx.tenant.id,
                &b,
                tillit_plugins::Event::BookingCreated,
            );
            return Ok(Redirect::to("/bookings?done=created").into_response());
        }
        BookOutcome::PatientInactive => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "personnummer",
            "booking.patient_inactive",
        ),
        BookOutcome::NotAPatient => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "personnummer",
            "booking.not_a_patient",
        ),
        BookOutcome::NoSuchPerson => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "patient_id",
            "field.required",
        ),
        BookOutcome::SlotTaken => (StatusCode::CONFLICT, "time", "booking.slot_taken"),
    };
    errors.add(field, key);
    let step = if field == "time" { 1 } else { 2 };
    render(state, ctx, form, step, &errors, false, status).await
}

fn colleague_json(c: &Colleague) -> Value {
    json!({"id": c.id, "name": c.name, "title": c.title, "unit": c.unit})
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    ctx: &Ctx,
    form: &WizardForm,
    step: u8,
    errors: &FieldErrors,
    overlap: bool,
    status: StatusCode,
) -> PageResult {
    let me = ctx.require(Role::Clinician)?.clone();
    let store = state.store.tenant(ctx.tenant.id.clone());
    let is_published = published(state, ctx, &me).await?;
    let types = store.visit_types_of(&me.id).await?;
    let all = store.colleagues().await?;
    let others: Vec<&Colleague> = all.iter().filter(|c| c.id != me.id).collect();
    let chosen_ids = form.chosen();
    let chosen: Vec<&Colleague> = chosen_ids
        .iter()
        .filter_map(|id| others.iter().copied().find(|c| c.id.as_str() == id))
        .collect();
    // The tree: units, and the job titles within the chosen unit.
    let mut units: Vec<&str> = others
        .iter()
        .map(|c| c.unit.as_str())
        .filter(|u| !u.is_empty())
        .collect();
    units.dedup();
    let mut roles: Vec<&str> = others
        .iter()
        .filter(|c| form.unit.is_empty() || c.unit == form.unit)
        .map(|c| c.title.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    roles.sort_unstable();
    roles.dedup();
    let searching = !form.q.trim().is_empty() || !form.unit.is_empty() || !form.role.is_empty();
    let found: Vec<Value> = if step == 2 && searching {
        others
            .iter()
            .filter(|c| form.q.trim().is_empty() || c.matches(&form.q))
            .filter(|c| form.unit.is_empty() || c.unit == form.unit)
            .filter(|c| form.role.is_empty() || c.title == form.role)
            .filter(|c| !chosen_ids.iter().any(|id| id == c.id.as_str()))
            .map(|c| colleague_json(c))
            .collect()
    } else {
        Vec::new()
    };
    // The clinician's own patients, for "existing patient" (a read of their data).
    let patients = if step == 2 {
        let inv = invitees(state, ctx, &me).await?;
        log_access_all(
            state,
            ctx,
            &me,
            &inv.patients,
            AccessAction::Read,
            "wizard.patients",
        )
        .await?;
        inv.patients
    } else {
        Vec::new()
    };
    let patient_name = match form.who.as_str() {
        "existing" => patients
            .iter()
            .find(|p| p.id.as_str() == form.patient_id)
            .map(|p| p.full_name())
            .unwrap_or_default(),
        _ => format!("{} {}", form.given_name.trim(), form.family_name.trim()),
    };
    let profile = store.profile(&me.id).await?.unwrap_or_default();
    let when = Timestamp::from_stockholm(&form.date, &form.time)
        .ok()
        .map(|t| {
            let minutes = types
                .iter()
                .find(|v| v.id == form.visit_type_id)
                .map_or(0, |v| v.spec.minutes);
            state.catalogs.format_span(
                ctx.lang,
                t,
                t.plus(std::time::Duration::from_secs(u64::from(minutes) * 60)),
            )
        })
        .unwrap_or_default();
    let html = page(
        state,
        ctx,
        "booking_group",
        json!({
            "title": "wizard.title",
            "published": is_published,
            "step": step,
            "step1": step == 1, "step2": step == 2, "step3": step == 3,
            "visit_types": types.iter().map(|v| json!({
                "id": v.id, "title": v.spec.title, "minutes": v.spec.minutes,
                "kind_key": format!("visit_type.kind.{}", v.spec.kind.as_str()),
                "selected": v.id == form.visit_type_id,
            })).collect::<Vec<_>>(),
            "reasons": ctx.tenant.booking.reasons,
            "units": units.iter().map(|u| json!({"name": u, "selected": *u == form.unit})).collect::<Vec<_>>(),
            "roles": roles.iter().map(|r| json!({"name": r, "selected": *r == form.role})).collect::<Vec<_>>(),
            "found": found,
            "searching": searching,
            "chosen": chosen.iter().map(|c| colleague_json(c)).collect::<Vec<_>>(),
            "patients": patients.iter().map(|p| json!({"id": p.id, "name": p.full_name(), "selected": p.id.as_str() == form.patient_id})).collect::<Vec<_>>(),
            "me": {"name": me.full_name(), "title": profile.text.title},
            "patient_name": patient_name,
            "when": when,
            "form": {
                "visit_type_id": form.visit_type_id, "reason": form.reason, "date": form.date, "time": form.time,
                "who": if form.who.is_empty() { "new" } else { form.who.as_str() },
                "phone": form.phone, "personnummer": form.personnummer,
                "given_name": form.given_name, "family_name": form.family_name,
                "patient_id": form.patient_id, "colleagues": form.colleagues,
                "q": form.q,
            },
            "errors": errors.to_json(),
            "overlap": overlap,
        }),
    )?;
    Ok((status, html).into_response())
}
