//! "Användare": staff and patients, for administrators: creating clinicians
//! and administrators, and setting anyone's status.

use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tillit_app::{Actor, Error, Problem, people};
use tillit_domain::people::{HsaId, NewPerson};
use tillit_domain::{Person, PersonId, PersonName, PersonStatus, Personnummer, Role};

use crate::http::error::AppError;
use crate::http::extract::{Administrator, Portal};
use crate::http::forms::{
    FieldErrors, ProblemFields, hsa_id_error_key, name_error_key, personnummer_error_key,
};
use crate::http::render::{PageResult, see_other};
use crate::routes::me::format_personnummer;

#[derive(Debug, Default, Deserialize)]
pub struct PeopleQuery {
    done: Option<String>,
}

/// One person in a list.
#[derive(Debug, Serialize)]
struct PersonRow<'a> {
    id: &'a str,
    name: String,
    personnummer: String,
    hsa_id: Option<&'a str>,
    status: PersonStatus,
    status_key: String,
    role_key: String,
    is_self: bool,
}

impl<'a> PersonRow<'a> {
    fn of(p: &'a Person, me: &PersonId) -> Self {
        Self {
            id: p.id.as_str(),
            name: p.full_name(),
            personnummer: format_personnummer(&p.personnummer),
            hsa_id: p.hsa_id.as_ref().map(HsaId::as_str),
            status: p.status,
            status_key: format!("status.{}", p.status.as_str()),
            role_key: format!("role.{}", p.role.as_str()),
            is_self: p.id == *me,
        }
    }
}

#[derive(Debug, Serialize)]
struct StatusChoice {
    value: PersonStatus,
    key: String,
}

/// The page's data.
#[derive(Debug, Serialize)]
struct PeoplePage<'a> {
    staff: Vec<PersonRow<'a>>,
    patients: Vec<PersonRow<'a>>,
    statuses: Vec<StatusChoice>,
    form: &'a NewPersonForm,
    errors: Value,
    notice: Option<&'static str>,
}

pub async fn people(
    p: Portal,
    Administrator(admin): Administrator,
    Query(q): Query<PeopleQuery>,
) -> PageResult {
    let notice = match q.done.as_deref() {
        Some("created") => Some("admin.created"),
        Some("status") => Some("admin.status_changed"),
        _ => None,
    };
    let form = NewPersonForm::default();
    people_page(
        &p,
        &admin,
        &form,
        &FieldErrors::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

async fn people_page(
    p: &Portal,
    admin: &Actor,
    form: &NewPersonForm,
    errors: &FieldErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> PageResult {
    let store = p.store();
    let (staff, patients) = people::everyone(p.env(&store), admin).await?;
    let me = &admin.person.id;
    let page = PeoplePage {
        staff: staff.iter().map(|s| PersonRow::of(s, me)).collect(),
        patients: patients.iter().map(|s| PersonRow::of(s, me)).collect(),
        statuses: PersonStatus::ALL
            .iter()
            .map(|s| StatusChoice {
                value: *s,
                key: format!("status.{}", s.as_str()),
            })
            .collect(),
        form,
        errors: errors.to_json(),
        notice,
    };
    Ok((status, p.page("admin_people", page)?).into_response())
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct NewPersonForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    personnummer: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    hsa_id: String,
}

/// Creates a clinician or an administrator.
pub async fn create_person(
    p: Portal,
    Administrator(admin): Administrator,
    Form(form): Form<NewPersonForm>,
) -> PageResult {
    let mut errors = FieldErrors::default();
    let role = match Role::parse(&form.role) {
        Some(r) if r.is_staff() => Some(r),
        _ => {
            errors.add("role", "field.role.staff");
            None
        }
    };
    let pnr = Personnummer::parse_at(&form.personnummer, p.state.clock.now())
        .map_err(|e| errors.add("personnummer", personnummer_error_key(e)))
        .ok();
    let given = PersonName::parse(&form.given_name)
        .map_err(|e| errors.add("given_name", name_error_key(e)))
        .ok();
    let family = PersonName::parse(&form.family_name)
        .map_err(|e| errors.add("family_name", name_error_key(e)))
        .ok();
    let hsa_id = match form.hsa_id.trim() {
        "" => Ok(None),
        h => HsaId::parse(h)
            .map(Some)
            .map_err(|e| errors.add("hsa_id", hsa_id_error_key(e))),
    };
    let (Some(role), Some(personnummer), Some(given_name), Some(family_name), Ok(hsa_id)) =
        (role, pnr, given, family, hsa_id)
    else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return people_page(&p, &admin, &form, &errors, None, status).await;
    };
    let new = NewPerson {
        role,
        personnummer,
        given_name,
        family_name,
        hsa_id,
    };
    let store = p.store();
    match people::create_staff(p.env(&store), &admin, &new).await {
        Ok(_) => Ok(see_other("/admin/people?done=created", None)),
        Err(Error::Invalid(problems)) => {
            errors.add_problems(&problems, ProblemFields::WIZARD);
            let status = if problems.contains(&Problem::PersonnummerTaken)
                || problems.contains(&Problem::HsaIdTaken)
            {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            people_page(&p, &admin, &form, &errors, None, status).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

/// Sets a person's status (Aktiv, Inaktiv, Borttagen).
pub async fn set_status(
    p: Portal,
    Administrator(admin): Administrator,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> PageResult {
    let status = PersonStatus::parse(&form.status).ok_or(AppError::BadRequest("unknown status"))?;
    let store = p.store();
    match people::set_status(p.env(&store), &admin, &PersonId::new(id), status).await {
        Ok(()) => Ok(see_other("/admin/people?done=status", None)),
        Err(Error::Invalid(_)) => Err(AppError::BadRequest("cannot change own status")),
        Err(e) => Err(e.into()),
    }
}
