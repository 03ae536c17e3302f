//! Bookings in the portal: "Bjud in till besök" (invite a new patient, one of
//! the clinician's patients, or a colleague for a test visit), "Mina
//! bokningar", and the patient's side: seeing, confirming and cancelling.
//!
//! The rules live in the domain (`booking::transition`, the visit-type and
//! time checks); this module turns forms into domain values, domain answers
//! into field errors, and writes the access log for what it shows.

use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tillit_app::bookings as uc;
use tillit_app::{Actor, Conflict, Problem};
use tillit_domain::access::AccessAction;
use tillit_domain::booking::{
    Actor as BookingActor, Booking, BookingAction, BookingStatus, MobileNumber, VisitType,
    transition,
};
use tillit_domain::invitee::OnFileChoices;
use tillit_domain::people::NewPerson;
use tillit_domain::time::LocalTimeError;
use tillit_domain::{Person, PersonId, PersonName, Personnummer, Role, Timestamp};

use crate::http::error::AppError;
use crate::http::extract::{Clinician, Portal, User};
use crate::http::forms::personnummer_error_key;
use crate::http::forms::{FieldErrors, ProblemFields, log_access, log_access_all, log_subjects};
use crate::http::render::PageResult;

const MESSAGE_MAX: usize = uc::MESSAGE_MAX;

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    /// `new`, `existing` or `colleague`.
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
    #[serde(default)]
    colleague_id: String,
    #[serde(default)]
    visit_type_id: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    message: String,
    /// Present when "Boka nu" was pressed.
    book_now: Option<String>,
    /// Present when the clinician chose to make a removed patient active.
    reactivate: Option<String>,
    /// Present when the clinician chose to replace the number on file.
    replace_phone: Option<String>,
    /// Present when the clinician accepts a double booking.
    confirm_overlap: Option<String>,
}

/// The people the clinician can invite besides new patients: those who
/// can be booked, no one who would be refused.
pub(crate) struct Invitees {
    pub patients: Vec<Person>,
    pub colleagues: Vec<Person>,
}

pub(crate) async fn invitees(p: &Portal, me: &Actor) -> Result<Invitees, AppError> {
    let store = p.store();
    let env = p.env(&store);
    Ok(Invitees {
        patients: uc::bookable_patients(env, me).await?,
        colleagues: uc::other_clinicians(env, me).await?,
    })
}

pub(crate) async fn published(p: &Portal, me: &Actor) -> Result<bool, AppError> {
    let store = p.store();
    Ok(uc::is_published(p.env(&store), me).await?)
}

/// A visit type to choose in a booking form.
#[derive(Debug, Serialize)]
pub(crate) struct VisitTypeChoice<'a> {
    id: &'a str,
    title: &'a str,
    minutes: u32,
    kind_key: String,
    selected: bool,
}

impl<'a> VisitTypeChoice<'a> {
    /// `v`, selected if it is the form's `chosen` one.
    pub(crate) fn of(v: &'a VisitType, chosen: &str) -> Self {
        Self {
            id: &v.id,
            title: &v.spec.title,
            minutes: v.spec.minutes,
            kind_key: format!("visit_type.kind.{}", v.spec.kind.as_str()),
            selected: v.id == chosen,
        }
    }
}

/// A person to choose in a booking form (a patient or a colleague).
#[derive(Debug, Serialize)]
pub(crate) struct PersonChoice<'a> {
    id: &'a PersonId,
    name: String,
    selected: bool,
}

impl<'a> PersonChoice<'a> {
    /// `p`, selected if they are the form's `chosen` one.
    pub(crate) fn of(p: &'a Person, chosen: &str) -> Self {
        Self {
            id: &p.id,
            name: p.full_name(),
            selected: p.id.as_str() == chosen,
        }
    }
}

/// The invite page's data.
#[derive(Debug, Serialize)]
struct InvitePage<'a> {
    title: &'static str,
    published: bool,
    /// What keeps the clinician from booking (message keys), if anything.
    blockers: Vec<&'static str>,
    visit_types: Vec<VisitTypeChoice<'a>>,
    patients: Vec<PersonChoice<'a>>,
    colleagues: Vec<PersonChoice<'a>>,
    form: InviteFormView<'a>,
    errors: Value,
    asks: Asks,
    message_max: usize,
}

/// What was typed in the invite form, to show it again.
#[derive(Debug, Serialize)]
struct InviteFormView<'a> {
    /// `new` (also when nothing was chosen), `existing` or `colleague`.
    who: &'a str,
    phone: &'a str,
    personnummer: &'a str,
    given_name: &'a str,
    family_name: &'a str,
    date: &'a str,
    time: &'a str,
    message: &'a str,
}

async fn render_invite(
    p: &Portal,
    me: &Actor,
    form: &InviteForm,
    errors: &FieldErrors,
    asks: Asks,
    status: StatusCode,
) -> PageResult {
    let store = p.store();
    let types = store.visit_types_of(&me.person.id).await?;
    let is_published = published(p, me).await?;
    let Invitees {
        patients,
        colleagues,
    } = invitees(p, me).await?;
    // Showing the clinician's patients by name is a read of their data.
    log_access_all(
        p,
        &me.person,
        &patients,
        AccessAction::Read,
        "invite.patients",
    )
    .await?;
    let blockers: Vec<&str> = if is_published {
        Vec::new()
    } else {
        let own = tillit_app::profiles::own(p.env(&store), me).await?;
        let mut b: Vec<&str> = own
            .facts()
            .publish_blockers()
            .into_iter()
            .map(crate::routes::profile::blocker_key)
            .collect();
        b.push("booking.unpublished");
        b
    };
    let who = if form.who.is_empty() {
        "new"
    } else {
        form.who.as_str()
    };
    let page = InvitePage {
        title: "booking.invite_title",
        published: is_published,
        blockers,
        visit_types: types
            .iter()
            .map(|v| VisitTypeChoice::of(v, &form.visit_type_id))
            .collect(),
        patients: patients
            .iter()
            .map(|p| PersonChoice::of(p, &form.patient_id))
            .collect(),
        colleagues: colleagues
            .iter()
            .map(|p| PersonChoice::of(p, &form.colleague_id))
            .collect(),
        form: InviteFormView {
            who,
            phone: &form.phone,
            personnummer: &form.personnummer,
            given_name: &form.given_name,
            family_name: &form.family_name,
            date: &form.date,
            time: &form.time,
            message: &form.message,
        },
        errors: errors.to_json(),
        asks,
        message_max: MESSAGE_MAX,
    };
    Ok((status, p.page("booking_new", page)?).into_response())
}

pub async fn new_form(p: Portal, Clinician(me): Clinician) -> PageResult {
    render_invite(
        &p,
        &me,
        &InviteForm::default(),
        &FieldErrors::default(),
        Asks::default(),
        StatusCode::OK,
    )
    .await
}

/// "Bjud in till besök".
pub async fn create(
    p: Portal,
    Clinician(me): Clinician,
    Form(form): Form<InviteForm>,
) -> PageResult {
    let mut errors = FieldErrors::default();
    let invitee = parse_who(
        WhoFields {
            who: &form.who,
            phone: &form.phone,
            personnummer: &form.personnummer,
            given_name: &form.given_name,
            family_name: &form.family_name,
            patient_id: &form.patient_id,
            colleague_id: &form.colleague_id,
        },
        p.state.clock.now(),
        &mut errors,
    );
    let start = if form.book_now.is_some() {
        Some(uc::Start::Now)
    } else {
        parse_start(&form.date, &form.time, &mut errors).map(uc::Start::At)
    };
    let cmd = uc::Book {
        visit_type_id: form.visit_type_id.clone(),
        title: uc::Title::VisitType,
        start,
        invitee,
        message: form.message.clone(),
        colleagues: Vec::new(),
        more_patients: Vec::new(),
        accept_overlap: form.confirm_overlap.is_some(),
        on_file: OnFileChoices {
            reactivate: form.reactivate.is_some(),
            replace_phone: form.replace_phone.is_some(),
        },
        external_ids: Vec::new(),
    };
    let store = p.store();
    let outcome = uc::book(p.env(&store), &me, cmd).await;
    let (status, asks) = match outcome {
        // "Boka nu" needs no confirmation: the clinician goes straight to
        // the visit, where it can be started at once.
        Ok(b) if form.book_now.is_some() => {
            return Ok(Redirect::to(&format!("/visits/{}", b.id)).into_response());
        }
        Ok(_) => return Ok(Redirect::to("/bookings?done=created").into_response()),
        Err(tillit_app::Error::Conflict(Conflict::NotPublished)) => {
            // The page says what is missing; the fields do not matter yet.
            errors = FieldErrors::default();
            (StatusCode::CONFLICT, Asks::default())
        }
        Err(tillit_app::Error::Conflict(c)) if Asks::of(c).is_some() => {
            (StatusCode::CONFLICT, Asks::of(c).unwrap_or_default())
        }
        Err(tillit_app::Error::Invalid(problems)) => {
            let existing = form.who == "existing";
            let patient = if existing {
                "patient_id"
            } else {
                "personnummer"
            };
            errors.add_problems(
                &problems,
                ProblemFields {
                    patient_unknown: patient,
                    patient_state: patient,
                    colleague: ("colleague_id", "field.required"),
                },
            );
            (invalid_status(&problems), Asks::default())
        }
        Err(e) => return Err(e.into()),
    };
    render_invite(&p, &me, &form, &errors, asks, status).await
}

/// What a booking form asks the clinician before it books: to accept an
/// overlap with their own time, to make a removed patient active again, to
/// replace the mobile number on file.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Asks {
    pub overlap: bool,
    pub removed: bool,
    pub other_phone: bool,
}

impl Asks {
    /// The question a conflict puts to the clinician, if it is one.
    pub(crate) fn of(c: Conflict) -> Option<Self> {
        match c {
            Conflict::Overlap => Some(Self {
                overlap: true,
                ..Self::default()
            }),
            Conflict::PatientOnFile {
                removed,
                other_phone,
            } => Some(Self {
                removed,
                other_phone,
                ..Self::default()
            }),
            _ => None,
        }
    }
}

/// A taken slot is a conflict with another booking; every other problem
/// is the form's.
fn invalid_status(problems: &[Problem]) -> StatusCode {
    if problems.contains(&Problem::SlotTaken) {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The person fields of a booking form (the invite form and the wizard).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WhoFields<'a> {
    /// `new`, `existing` or `colleague`.
    pub who: &'a str,
    pub phone: &'a str,
    pub personnummer: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub patient_id: &'a str,
    pub colleague_id: &'a str,
}

/// Who a booking is for, as far as the form says at `now`; what cannot be
/// read goes to `errors` by field. Whether the person may be invited is the
/// use case's to say.
pub(crate) fn parse_who(
    f: WhoFields<'_>,
    now: Timestamp,
    errors: &mut FieldErrors,
) -> Option<uc::Invitee> {
    match f.who {
        "new" => {
            let phone = MobileNumber::parse(f.phone).or_else(|| {
                errors.add("phone", "field.mobile");
                None
            });
            let pnr = Personnummer::parse_at(f.personnummer, now)
                .map_err(|e| errors.add("personnummer", personnummer_error_key(e)))
                .ok();
            let given = PersonName::parse(f.given_name)
                .map_err(|e| errors.add("given_name", crate::http::forms::name_error_key(e)))
                .ok();
            let family = PersonName::parse(f.family_name)
                .map_err(|e| errors.add("family_name", crate::http::forms::name_error_key(e)))
                .ok();
            match (phone, pnr, given, family) {
                (Some(phone), Some(personnummer), Some(given_name), Some(family_name)) => {
                    Some(uc::Invitee::New {
                        person: NewPerson {
                            role: Role::Patient,
                            personnummer,
                            given_name,
                            family_name,
                            hsa_id: None,
                        },
                        phone,
                    })
                }
                _ => None,
            }
        }
        "existing" if !f.patient_id.is_empty() => {
            Some(uc::Invitee::MyPatient(PersonId::new(f.patient_id)))
        }
        "existing" => {
            errors.add("patient_id", "field.required");
            None
        }
        "colleague" if !f.colleague_id.is_empty() => {
            Some(uc::Invitee::Colleague(PersonId::new(f.colleague_id)))
        }
        "colleague" => {
            errors.add("colleague_id", "field.required");
            None
        }
        _ => {
            errors.add("who", "field.required");
            None
        }
    }
}

/// A Stockholm date and time from a form; what cannot be read goes to
/// `errors` under `date` or `time`. (That it lies ahead is the use case's
/// rule.)
pub(crate) fn parse_start(date: &str, time: &str, errors: &mut FieldErrors) -> Option<Timestamp> {
    match Timestamp::from_stockholm(date, time) {
        Ok(t) => Some(t),
        Err(LocalTimeError::BadDate) => {
            errors.add("date", "field.date");
            None
        }
        Err(LocalTimeError::BadTime) => {
            errors.add("time", "field.time");
            None
        }
        Err(LocalTimeError::DoesNotExist) => {
            errors.add("time", "field.time_gap");
            None
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TimeForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    confirm_overlap: Option<String>,
}

/// The clinician's own booking that can still move, or 404 (409 if it
/// can no longer move).
async fn movable(p: &Portal, me: &Actor, id: &str) -> Result<Booking, AppError> {
    let store = p.store();
    Ok(uc::movable(p.env(&store), me, id).await?)
}

/// The "Ändra tid" page's data.
#[derive(Debug, Serialize)]
struct TimePage<'a> {
    title: &'static str,
    id: &'a str,
    /// The booking's current time.
    when: String,
    booking_title: &'a str,
    form: TimeFormView<'a>,
    errors: Value,
    overlap: bool,
}

/// What was typed in the time form, to show it again.
#[derive(Debug, Serialize)]
struct TimeFormView<'a> {
    date: &'a str,
    time: &'a str,
}

async fn render_time(
    p: &Portal,
    b: &Booking,
    form: &TimeForm,
    errors: &FieldErrors,
    overlap: bool,
    status: StatusCode,
) -> PageResult {
    let page = TimePage {
        title: "booking.change_time",
        id: &b.id,
        when: p
            .state
            .catalogs
            .format_span(p.ctx.lang, b.starts_at, b.ends_at()),
        booking_title: &b.title,
        form: TimeFormView {
            date: &form.date,
            time: &form.time,
        },
        errors: errors.to_json(),
        overlap,
    };
    Ok((status, p.page("booking_time", page)?).into_response())
}

/// "Ändra tid": the form, filled with the current time.
pub async fn time_form(p: Portal, Clinician(me): Clinician, Path(id): Path<String>) -> PageResult {
    let b = movable(&p, &me, &id).await?;
    let local = b.starts_at.to_stockholm();
    let form = TimeForm {
        date: local.date().to_string(),
        time: format!("{:02}:{:02}", local.hour(), local.minute()),
        confirm_overlap: None,
    };
    render_time(
        &p,
        &b,
        &form,
        &FieldErrors::default(),
        false,
        StatusCode::OK,
    )
    .await
}

pub async fn change_time(
    p: Portal,
    Clinician(me): Clinician,
    Path(id): Path<String>,
    Form(form): Form<TimeForm>,
) -> PageResult {
    let b = movable(&p, &me, &id).await?;
    let mut errors = FieldErrors::default();
    let start = parse_start(&form.date, &form.time, &mut errors);
    let store = p.store();
    let outcome = uc::move_booking(
        p.env(&store),
        &me,
        &id,
        start,
        form.confirm_overlap.is_some(),
    )
    .await;
    let (status, overlap) = match outcome {
        Ok(_) => return Ok(Redirect::to("/bookings?done=moved").into_response()),
        Err(tillit_app::Error::Conflict(Conflict::Overlap)) => (StatusCode::CONFLICT, true),
        Err(tillit_app::Error::Invalid(problems)) => {
            errors.add_problems(&problems, ProblemFields::WIZARD);
            (invalid_status(&problems), false)
        }
        Err(e) => return Err(e.into()),
    };
    render_time(&p, &b, &form, &errors, overlap, status).await
}

/// Logs, in one statement, that `me` was shown the patients of these rows
/// of the lists.
async fn log_listed_reads<'i>(
    p: &Portal,
    me: &Person,
    items: impl IntoIterator<Item = &'i uc::Listed>,
    what: &'static str,
) -> Result<(), AppError> {
    let subjects = items
        .into_iter()
        .map(|i| (&i.subject.0, &i.subject.1, i.subject.2));
    log_subjects(p, me, subjects, AccessAction::Read, what).await
}

fn status_key(s: BookingStatus) -> String {
    format!("booking.status.{}", s.as_str())
}

/// A booking in a list, from the point of view of one of its people.
#[derive(Debug, Serialize)]
pub(crate) struct BookingRow {
    id: String,
    when: String,
    title: String,
    kind_key: String,
    status: BookingStatus,
    status_key: String,
    /// The other side: the clinician for the patient, the patient for
    /// the clinician (empty when the patient was removed).
    contact: String,
    /// The patient was removed: shown as such, never by name.
    contact_removed: bool,
    /// A group visit's further patients, for the clinician.
    more_patients: usize,
    clinician: String,
    clinician_title: String,
    message: String,
    can_confirm: bool,
    can_cancel: bool,
}

impl BookingRow {
    /// `item` as its patient or responsible clinician sees it (which the
    /// use case decided).
    fn of(p: &Portal, item: uc::Listed) -> Self {
        let uc::Listed {
            booking: b,
            as_patient,
            patient,
            clinician_name,
            clinician_title,
            more_patients,
            ..
        } = item;
        let actor = if as_patient {
            BookingActor::Patient
        } else {
            BookingActor::Clinician
        };
        let (contact, contact_removed) = match (as_patient, patient) {
            (true, _) => (clinician_name.clone(), false),
            (false, uc::ListedPatient::Name(name)) => (name, false),
            (false, uc::ListedPatient::Removed) => (String::new(), true),
        };
        Self {
            when: p
                .state
                .catalogs
                .format_span(p.ctx.lang, b.starts_at, b.ends_at()),
            kind_key: format!("visit_type.kind.{}", b.kind.as_str()),
            status: b.status,
            status_key: status_key(b.status),
            contact,
            contact_removed,
            more_patients,
            clinician: clinician_name,
            clinician_title,
            can_confirm: transition(b.status, BookingAction::Confirm, actor).is_ok(),
            can_cancel: transition(b.status, BookingAction::Cancel, actor).is_ok(),
            id: b.id,
            title: b.title,
            message: if as_patient { b.message } else { String::new() },
        }
    }

    /// In the history: a booking that was neither held nor cancelled says
    /// so, rather than "Bekräftad" in the past.
    fn in_history(mut self) -> Self {
        if !self.status.is_terminal() {
            self.status_key = "bookings_page.not_held".to_owned();
        }
        self.can_confirm = false;
        self.can_cancel = false;
        self
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn notice(q: &DoneQuery) -> Option<&'static str> {
    match q.done.as_deref() {
        Some("created") => Some("booking.created"),
        Some("cancelled") => Some("booking.cancelled_notice"),
        Some("confirmed") => Some("booking.confirmed_notice"),
        Some("moved") => Some("booking.moved_notice"),
        _ => None,
    }
}

/// What "Mina bokningar" shows: `?view=history` ("Tidigare besök", `page`
/// 0 the newest), else the coming bookings.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    done: Option<String>,
    view: Option<String>,
    page: Option<u32>,
}

/// The "Mina bokningar" page's data.
#[derive(Debug, Serialize)]
struct BookingsPage {
    title: &'static str,
    /// `coming` or `history`.
    view: &'static str,
    bookings: Vec<BookingRow>,
    /// Coming visits colleagues invited the clinician to (coming view).
    guest_visits: Vec<GuestVisitRow>,
    notice: Option<&'static str>,
    /// The history's page (1-based, as shown) and where its neighbours
    /// are (none at either end).
    page_number: u32,
    newer: Option<String>,
    older: Option<String>,
}

/// Where page `index` (0: the newest) of the history is.
fn history_href(index: u32) -> String {
    match index {
        0 => "/bookings?view=history".to_owned(),
        n => format!("/bookings?view=history&page={n}"),
    }
}

/// "Mina bokningar": the clinician's coming bookings (unconfirmed,
/// confirmed, in progress), each leading to its visit page, with the
/// visits colleagues invited them to; or, `?view=history`, the bookings
/// behind them, newest first, a page at a time.
pub async fn list(p: Portal, Clinician(me): Clinician, Query(q): Query<ListQuery>) -> PageResult {
    let store = p.store();
    let env = p.env(&store);
    let history = q.view.as_deref() == Some("history");
    let page_index = q.page.unwrap_or(0);
    let (items, more, guest_visits) = if history {
        let h = uc::history(env, &me, page_index).await?;
        (h.items, h.more, Vec::new())
    } else {
        (
            uc::coming(env, &me).await?,
            false,
            guest_visits(&p, &me).await?,
        )
    };
    log_listed_reads(
        &p,
        &me.person,
        &items,
        if history {
            "bookings.history"
        } else {
            "bookings.list"
        },
    )
    .await?;
    let rows = items.into_iter().map(|i| BookingRow::of(&p, i));
    let page = BookingsPage {
        title: if history {
            "bookings_page.history"
        } else {
            "booking.list_title"
        },
        view: if history { "history" } else { "coming" },
        bookings: if history {
            rows.map(BookingRow::in_history).collect()
        } else {
            rows.collect()
        },
        guest_visits,
        notice: notice(&DoneQuery { done: q.done }),
        page_number: page_index.saturating_add(1),
        newer: page_index
            .checked_sub(1)
            .filter(|_| history)
            .map(history_href),
        older: page_index
            .checked_add(1)
            .filter(|_| history && more)
            .map(history_href),
    };
    Ok(p.page("bookings", page)?.into_response())
}

/// The patient's coming visits, for their start page.
pub async fn for_patient_home(p: &Portal, me: &Actor) -> Result<Vec<BookingRow>, AppError> {
    let store = p.store();
    let items = uc::coming(p.env(&store), me).await?;
    if !items.is_empty() {
        log_access(p, &me.person, &me.person, AccessAction::Read, "bookings").await?;
    }
    Ok(items.into_iter().map(|i| BookingRow::of(p, i)).collect())
}

/// "Översikt" for a clinician: every coming visit, unconfirmed ones too, so
/// that each has a way in.
pub async fn for_clinician_home(p: &Portal, me: &Actor) -> Result<Vec<BookingRow>, AppError> {
    let store = p.store();
    let items = uc::coming(p.env(&store), me).await?;
    log_listed_reads(p, &me.person, &items, "overview").await?;
    Ok(items.into_iter().map(|i| BookingRow::of(p, i)).collect())
}

/// A visit a colleague invited the clinician to: never the patient.
#[derive(Debug, Serialize)]
pub(crate) struct GuestVisitRow {
    id: String,
    when: String,
    title: String,
    kind_key: String,
    /// The responsible clinician.
    clinician: String,
    clinician_title: String,
    status: BookingStatus,
    status_key: String,
}

/// "Besök som gäst": visits colleagues invited `me` to. They show the
/// heading, the time and the responsible clinician, never the patient
/// (the use case gives nothing else).
pub async fn guest_visits(p: &Portal, me: &Actor) -> Result<Vec<GuestVisitRow>, AppError> {
    let store = p.store();
    let visits = uc::as_guest(p.env(&store), me).await?;
    Ok(visits
        .into_iter()
        .map(|v| GuestVisitRow {
            when: p
                .state
                .catalogs
                .format_span(p.ctx.lang, v.starts_at, v.ends_at),
            kind_key: format!("visit_type.kind.{}", v.kind.as_str()),
            clinician: v.clinician_name,
            clinician_title: v.clinician_title,
            status: v.status,
            status_key: status_key(v.status),
            id: v.id,
            title: v.title,
        })
        .collect())
}

pub fn home_notice(q: &DoneQuery) -> Option<&'static str> {
    notice(q)
}

/// Where a confirmation or cancellation was asked from: `visit` is the
/// visit page (the answer goes back there); anything else is the list.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    from: String,
    /// `1` from the cancellation's confirmation page.
    #[serde(default)]
    confirmed: String,
}

async fn change(p: &Portal, me: &Actor, id: &str, action: BookingAction, from: &str) -> PageResult {
    let store = p.store();
    let changed = uc::change_status(p.env(&store), me, id, action).await?;
    let done = if changed.to == BookingStatus::Cancelled {
        "cancelled"
    } else {
        "confirmed"
    };
    // The id named a booking the use case just changed: one of ours, safe
    // in a header.
    if from == "visit" && changed.to == BookingStatus::Confirmed {
        return Ok(Redirect::to(&format!("/visits/{id}?done={done}")).into_response());
    }
    let back = if changed.by_patient { "/" } else { "/bookings" };
    Ok(Redirect::to(&format!("{back}?done={done}")).into_response())
}

/// The cancellation's confirmation page's data.
#[derive(Debug, Serialize)]
struct CancelPage {
    title: &'static str,
    id: String,
    heading: String,
    when: String,
    by_patient: bool,
    patient: Option<String>,
    patient_removed: bool,
    clinician: Option<String>,
    /// How the patient is told: by SMS, else by e-mail, else not at all.
    told_by_sms: bool,
    told_by_email: bool,
    /// Where "Tillbaka" goes: the visit page or the list it came from.
    back: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct CancelQuery {
    from: Option<String>,
}

/// "Avboka": who and when, and that the patient is sent an SMS, before
/// anything changes. For the booking's patient and responsible clinician
/// while it can be cancelled.
pub async fn cancel_form(
    p: Portal,
    User(me): User,
    Path(id): Path<String>,
    Query(q): Query<CancelQuery>,
) -> PageResult {
    let store = p.store();
    let c = uc::cancellation(p.env(&store), &me, &id).await?;
    if let Some(patient) = &c.subject {
        log_access(
            &p,
            &me.person,
            patient,
            AccessAction::Read,
            "booking.cancel",
        )
        .await?;
    }
    let b = &c.booking;
    let back = if q.from.as_deref() == Some("visit") {
        format!("/visits/{}", b.id)
    } else if c.by_patient {
        "/".to_owned()
    } else {
        "/bookings".to_owned()
    };
    let page = CancelPage {
        title: "booking_cancel.title",
        id: b.id.clone(),
        heading: b.title.clone(),
        when: p
            .state
            .catalogs
            .format_span(p.ctx.lang, b.starts_at, b.ends_at()),
        by_patient: c.by_patient,
        patient: match &c.patient {
            Some(uc::ListedPatient::Name(n)) => Some(n.clone()),
            _ => None,
        },
        patient_removed: c.patient == Some(uc::ListedPatient::Removed),
        clinician: c.clinician.as_ref().map(Person::full_name),
        told_by_sms: c.patient_told_by_sms,
        told_by_email: c.patient_told_by_email,
        back,
    };
    Ok(p.page("booking_cancel", page)?.into_response())
}

/// Cancels the booking once confirmed on [`cancel_form`]'s page; without
/// `confirmed=1` nothing changes and the person is sent there (if the
/// booking is theirs to cancel: else 404, or 409 once it cannot be).
pub async fn cancel(
    p: Portal,
    User(me): User,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> PageResult {
    if form.confirmed != "1" {
        let store = p.store();
        let c = uc::cancellation(p.env(&store), &me, &id).await?;
        return Ok(Redirect::to(&format!("/bookings/{}/cancel", c.booking.id)).into_response());
    }
    change(&p, &me, &id, BookingAction::Cancel, &form.from).await
}

pub async fn confirm(
    p: Portal,
    User(me): User,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> PageResult {
    change(&p, &me, &id, BookingAction::Confirm, &form.from).await
}

/// The "Mina kontakter" page's data.
#[derive(Debug, Serialize)]
struct ContactsPage<'a> {
    title: &'static str,
    contacts: Vec<ContactRow<'a>>,
}

/// A patient, with their bookings with the clinician.
#[derive(Debug, Serialize)]
struct ContactRow<'a> {
    name: &'a str,
    bookings: Vec<ContactBooking<'a>>,
}

#[derive(Debug, Serialize)]
struct ContactBooking<'a> {
    when: String,
    title: &'a str,
    status_key: String,
    status: BookingStatus,
}

/// "Mina kontakter": the patients the clinician has booked, each with their
/// booking history, newest first (`bookings::contacts`).
pub async fn contacts(p: Portal, Clinician(me): Clinician) -> PageResult {
    let store = p.store();
    let found = uc::contacts(p.env(&store), &me).await?;
    let shown: Vec<&Person> = found.iter().map(|c| &c.patient).collect();
    log_access_all(&p, &me.person, shown, AccessAction::Read, "contacts").await?;
    let names: Vec<String> = found.iter().map(|c| c.patient.full_name()).collect();
    let contacts = found
        .iter()
        .zip(&names)
        .map(|(c, name)| ContactRow {
            name,
            bookings: c
                .bookings
                .iter()
                .map(|b| ContactBooking {
                    when: p
                        .state
                        .catalogs
                        .format_span(p.ctx.lang, b.starts_at, b.ends_at()),
                    title: &b.title,
                    status_key: status_key(b.status),
                    status: b.status,
                })
                .collect(),
        })
        .collect();
    let page = ContactsPage {
        title: "contacts.title",
        contacts,
    };
    Ok(p.page("contacts", page)?.into_response())
}
