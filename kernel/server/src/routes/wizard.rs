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
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tillit_app::bookings as uc;
use tillit_app::{Actor, Conflict, Problem};
use tillit_domain::access::AccessAction;
use tillit_domain::booking::Colleague;
use tillit_domain::invitee::OnFileChoices;
use tillit_domain::{Person, PersonId, Timestamp};

use crate::http::extract::{Clinician, Portal};
use crate::http::forms::{FieldErrors, ProblemFields, log_access_all};
use crate::http::render::PageResult;

use crate::routes::bookings::{
    Asks, PersonChoice, VisitTypeChoice, WhoFields, invitees, parse_start, parse_who, published,
};

/// Every answer so far: each step posts them all back.
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
    /// A group visit's further patients' ids (of the clinician's own),
    /// comma-separated.
    #[serde(default)]
    patients: String,
    /// Search by name (any words), or by unit and job title.
    #[serde(default)]
    q: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    role: String,
    confirm_overlap: Option<String>,
    reactivate: Option<String>,
    replace_phone: Option<String>,
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
impl WizardForm {
    /// Where a problem with the patient is shown: on the list for one of
    /// the clinician's patients, on the personnummer for a new one.
    fn problem_fields(&self) -> ProblemFields {
        if self.who == "existing" {
            ProblemFields {
                patient_state: "patient_id",
                ..ProblemFields::WIZARD
            }
        } else {
            ProblemFields::WIZARD
        }
    }

    fn colleague_ids(&self) -> Vec<PersonId> {
        self.chosen().into_iter().map(PersonId::new).collect()
    }

    /// The further patients chosen, in the order chosen.
    fn more_patients(&self) -> Vec<String> {
        self.patients
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The booking the form describes so far, read at `now`; what cannot be
    /// read goes to `errors`. Step 1 asks only for the details (no one
    /// invited yet).
    fn command(&self, with_people: bool, now: Timestamp, errors: &mut FieldErrors) -> uc::Book {
        uc::Book {
            visit_type_id: self.visit_type_id.clone(),
            title: uc::Title::Reason(self.reason.clone()),
            start: parse_start(&self.date, &self.time, errors).map(uc::Start::At),
            invitee: if with_people {
                parse_who(self.who_fields(), now, errors)
            } else {
                None
            },
            message: String::new(),
            colleagues: if with_people {
                self.colleague_ids()
            } else {
                Vec::new()
            },
            more_patients: if with_people {
                self.more_patients()
                    .into_iter()
                    .map(PersonId::new)
                    .collect()
            } else {
                Vec::new()
            },
            accept_overlap: self.confirm_overlap.is_some(),
            on_file: OnFileChoices {
                reactivate: self.reactivate.is_some(),
                replace_phone: self.replace_phone.is_some(),
            },
            external_ids: Vec::new(),
        }
    }
}

pub async fn start(p: Portal, Clinician(me): Clinician) -> PageResult {
    let form = WizardForm {
        step: 1,
        ..WizardForm::default()
    };
    render(
        &p,
        &me,
        &form,
        1,
        &FieldErrors::default(),
        Asks::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn post(
    p: Portal,
    Clinician(me): Clinician,
    Form(mut form): Form<WizardForm>,
) -> PageResult {
    if !published(&p, &me).await? {
        return render(
            &p,
            &me,
            &form,
            1,
            &FieldErrors::default(),
            Asks::default(),
            StatusCode::CONFLICT,
        )
        .await;
    }
    let mut errors = FieldErrors::default();
    let store = p.store();
    let env = p.env(&store);
    let (verb, target) = form
        .action
        .split_once(':')
        .map_or((form.action.clone(), String::new()), |(v, t)| {
            (v.to_owned(), t.to_owned())
        });
    match (form.step, verb.as_str()) {
        (2 | 3, "back") => {
            let to = form.step - 1;
            return render(&p, &me, &form, to, &errors, Asks::default(), StatusCode::OK).await;
        }
        (2, "search") => {
            return render(&p, &me, &form, 2, &errors, Asks::default(), StatusCode::OK).await;
        }
        (2, "add") => {
            let mut chosen = form.chosen();
            if !chosen.contains(&target) && !target.is_empty() {
                chosen.push(target);
            }
            form.colleagues = chosen.join(",");
            let (_, problems) = uc::choose_colleagues(env, &me, &form.colleague_ids()).await?;
            errors.add_problems(&problems, ProblemFields::WIZARD);
            let status = if errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return render(&p, &me, &form, 2, &errors, Asks::default(), status).await;
        }
        (2, "addpatient") => {
            let mut chosen = form.more_patients();
            if !chosen.contains(&target) && !target.is_empty() {
                chosen.push(target);
            }
            form.patients = chosen.join(",");
            return render(&p, &me, &form, 2, &errors, Asks::default(), StatusCode::OK).await;
        }
        (2, "removepatient") => {
            let chosen: Vec<String> = form
                .more_patients()
                .into_iter()
                .filter(|c| *c != target)
                .collect();
            form.patients = chosen.join(",");
            return render(&p, &me, &form, 2, &errors, Asks::default(), StatusCode::OK).await;
        }
        (2, "remove") => {
            let chosen: Vec<String> = form.chosen().into_iter().filter(|c| *c != target).collect();
            form.colleagues = chosen.join(",");
            return render(&p, &me, &form, 2, &errors, Asks::default(), StatusCode::OK).await;
        }
        _ => {}
    }
    // Step 1's details, checked again at every later step.
    let details = form.command(false, p.state.clock.now(), &mut errors);
    let (_, problems) = uc::check(env, &me, &details).await?;
    errors.add_problems(&problems, ProblemFields::WIZARD);
    if !errors.is_empty() {
        return render(
            &p,
            &me,
            &form,
            1,
            &errors,
            Asks::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if form.step == 1 {
        return render(&p, &me, &form, 2, &errors, Asks::default(), StatusCode::OK).await;
    }
    let cmd = form.command(true, p.state.clock.now(), &mut errors);
    let (_, problems) = uc::check(env, &me, &cmd).await?;
    errors.add_problems(&problems, form.problem_fields());
    if cmd.invitee.is_none() || !errors.is_empty() {
        return render(
            &p,
            &me,
            &form,
            2,
            &errors,
            Asks::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if form.step == 2 || form.action != "send" {
        return render(&p, &me, &form, 3, &errors, Asks::default(), StatusCode::OK).await;
    }
    let none = Asks::default();
    let (step, status, asks) = match uc::book(env, &me, cmd).await {
        Ok(_) => return Ok(Redirect::to("/bookings?done=created").into_response()),
        Err(tillit_app::Error::Conflict(c)) if Asks::of(c).is_some() => {
            (3, StatusCode::CONFLICT, Asks::of(c).unwrap_or_default())
        }
        Err(tillit_app::Error::Conflict(Conflict::NotPublished)) => (1, StatusCode::CONFLICT, none),
        Err(tillit_app::Error::Invalid(problems)) => {
            errors.add_problems(&problems, form.problem_fields());
            if problems.contains(&Problem::SlotTaken) {
                (1, StatusCode::CONFLICT, none)
            } else {
                (2, StatusCode::UNPROCESSABLE_ENTITY, none)
            }
        }
        Err(e) => return Err(e.into()),
    };
    render(&p, &me, &form, step, &errors, asks, status).await
}

/// A colleague, found or chosen.
#[derive(Debug, Serialize)]
struct ColleagueView<'a> {
    id: &'a PersonId,
    name: &'a str,
    title: &'a str,
    unit: &'a str,
}

impl<'a> ColleagueView<'a> {
    fn of(c: &'a Colleague) -> Self {
        Self {
            id: &c.id,
            name: &c.name,
            title: &c.title,
            unit: &c.unit,
        }
    }
}

/// One of the clinician's patients, to add to a group visit or chosen.
#[derive(Debug, Serialize)]
struct MorePatient<'a> {
    id: &'a PersonId,
    name: String,
    chosen: bool,
}

/// A unit or job title to search by.
#[derive(Debug, Serialize)]
struct NameChoice<'a> {
    name: &'a str,
    selected: bool,
}

/// The responsible clinician: the one who books.
#[derive(Debug, Serialize)]
struct Responsible<'a> {
    name: String,
    title: &'a str,
}

/// The wizard page's data.
#[derive(Debug, Serialize)]
struct WizardPage<'a> {
    title: &'static str,
    published: bool,
    step: u8,
    step1: bool,
    step2: bool,
    step3: bool,
    visit_types: Vec<VisitTypeChoice<'a>>,
    /// The tenant's predefined reasons (sökorsaker).
    reasons: &'a [String],
    units: Vec<NameChoice<'a>>,
    roles: Vec<NameChoice<'a>>,
    /// The colleagues a search found (step 2 only).
    found: Vec<ColleagueView<'a>>,
    searching: bool,
    chosen: Vec<ColleagueView<'a>>,
    /// The clinician's own patients who can be booked (step 2 only).
    patients: Vec<PersonChoice<'a>>,
    /// The clinician's patients as further patients of a group visit: at
    /// step 2 everyone but the first patient (chosen or not), at step 3
    /// the chosen.
    more_patients: Vec<MorePatient<'a>>,
    /// The chosen visit type, for the summary.
    visit_type: Option<VisitTypeChoice<'a>>,
    me: Responsible<'a>,
    patient_name: String,
    when: String,
    form: WizardFormView<'a>,
    errors: Value,
    asks: Asks,
}

/// The answers so far, to show again and to post back.
#[derive(Debug, Serialize)]
struct WizardFormView<'a> {
    visit_type_id: &'a str,
    reason: &'a str,
    date: &'a str,
    time: &'a str,
    /// `new` (also when nothing was chosen) or `existing`.
    who: &'a str,
    phone: &'a str,
    personnummer: &'a str,
    given_name: &'a str,
    family_name: &'a str,
    patient_id: &'a str,
    colleagues: &'a str,
    patients: &'a str,
    q: &'a str,
}

impl<'a> WizardFormView<'a> {
    fn of(form: &'a WizardForm) -> Self {
        Self {
            visit_type_id: &form.visit_type_id,
            reason: &form.reason,
            date: &form.date,
            time: &form.time,
            who: if form.who.is_empty() {
                "new"
            } else {
                form.who.as_str()
            },
            phone: &form.phone,
            personnummer: &form.personnummer,
            given_name: &form.given_name,
            family_name: &form.family_name,
            patient_id: &form.patient_id,
            colleagues: &form.colleagues,
            patients: &form.patients,
            q: &form.q,
        }
    }
}

async fn render(
    p: &Portal,
    actor: &Actor,
    form: &WizardForm,
    step: u8,
    errors: &FieldErrors,
    asks: Asks,
    status: StatusCode,
) -> PageResult {
    let me = &actor.person;
    let store = p.store();
    let is_published = published(p, actor).await?;
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
    let found: Vec<ColleagueView> = if step == 2 && searching {
        others
            .iter()
            .filter(|c| form.q.trim().is_empty() || c.matches(&form.q))
            .filter(|c| form.unit.is_empty() || c.unit == form.unit)
            .filter(|c| form.role.is_empty() || c.title == form.role)
            .filter(|c| !chosen_ids.iter().any(|id| id == c.id.as_str()))
            .map(|c| ColleagueView::of(c))
            .collect()
    } else {
        Vec::new()
    };
    // The clinician's own patients who can be booked, for "existing
    // patient" at step 2; at step 3, the one chosen, for the summary.
    // Showing them is a read of their data.
    let patients = if step == 2 {
        let inv = invitees(p, actor).await?;
        log_access_all(p, me, &inv.patients, AccessAction::Read, "wizard.patients").await?;
        inv.patients
    } else if step == 3 {
        let env = p.env(&store);
        let more = form.more_patients();
        let chosen: Vec<Person> = uc::bookable_patients(env, actor)
            .await?
            .into_iter()
            .filter(|p| {
                (form.who == "existing" && p.id.as_str() == form.patient_id)
                    || more.iter().any(|m| m == p.id.as_str())
            })
            .collect();
        log_access_all(p, me, &chosen, AccessAction::Read, "wizard.summary").await?;
        chosen
    } else {
        Vec::new()
    };
    let patient_name = match form.who.as_str() {
        "existing" => patients
            .iter()
            .find(|p| p.id.as_str() == form.patient_id)
            .map(Person::full_name)
            .unwrap_or_default(),
        _ => format!("{} {}", form.given_name.trim(), form.family_name.trim()),
    };
    let visit_type = types
        .iter()
        .find(|v| v.id == form.visit_type_id)
        .map(|v| VisitTypeChoice::of(v, &form.visit_type_id));
    let profile = store.profile(&me.id).await?.unwrap_or_default();
    let when = Timestamp::from_stockholm(&form.date, &form.time)
        .ok()
        .map(|t| {
            let minutes = types
                .iter()
                .find(|v| v.id == form.visit_type_id)
                .map_or(0, |v| v.spec.minutes);
            p.state.catalogs.format_span(
                p.ctx.lang,
                t,
                t.plus(std::time::Duration::from_secs(u64::from(minutes) * 60)),
            )
        })
        .unwrap_or_default();
    let page = WizardPage {
        title: "wizard.title",
        published: is_published,
        step,
        step1: step == 1,
        step2: step == 2,
        step3: step == 3,
        visit_types: types
            .iter()
            .map(|v| VisitTypeChoice::of(v, &form.visit_type_id))
            .collect(),
        reasons: &p.ctx.tenant.booking.reasons,
        units: units
            .iter()
            .map(|u| NameChoice {
                name: u,
                selected: *u == form.unit,
            })
            .collect(),
        roles: roles
            .iter()
            .map(|r| NameChoice {
                name: r,
                selected: *r == form.role,
            })
            .collect(),
        found,
        searching,
        chosen: chosen.iter().map(|c| ColleagueView::of(c)).collect(),
        patients: if step == 2 {
            patients
                .iter()
                .map(|p| PersonChoice::of(p, &form.patient_id))
                .collect()
        } else {
            Vec::new()
        },
        more_patients: {
            let more = form.more_patients();
            let first = (form.who == "existing").then_some(form.patient_id.as_str());
            patients
                .iter()
                .filter(|p| Some(p.id.as_str()) != first)
                .map(|p| MorePatient {
                    id: &p.id,
                    name: p.full_name(),
                    chosen: more.iter().any(|m| m == p.id.as_str()),
                })
                .filter(|m| step == 2 || m.chosen)
                .collect()
        },
        visit_type,
        me: Responsible {
            name: me.full_name(),
            title: &profile.text.title,
        },
        patient_name,
        when,
        form: WizardFormView::of(form),
        errors: errors.to_json(),
        asks,
    };
    Ok((status, p.page("booking_group", page)?).into_response())
}
