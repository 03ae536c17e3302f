//! "Mina uppgifter": the visitor's own data. Patients may change their name,
//! mobile number and e-mail here; never the personnummer.

use axum::Form;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tillit_app::people;
use tillit_domain::booking::MobileNumber;
use tillit_domain::people::EmailAddress;
use tillit_domain::{PersonName, Personnummer, Role};
use tillit_store::Contact;

use crate::http::extract::{Patient, Portal, User};
use crate::http::forms::{FieldErrors, name_error_key};
use crate::http::render::{PageResult, see_other};

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ContactForm {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct MeQuery {
    done: Option<String>,
}

/// The page's data.
#[derive(Debug, Serialize)]
struct MePage<'a> {
    title: &'static str,
    name: String,
    personnummer: String,
    role_key: String,
    editable: bool,
    form: ContactForm,
    errors: Value,
    notice: Option<&'a str>,
}

pub async fn show(p: Portal, User(me): User, Query(q): Query<MeQuery>) -> PageResult {
    let notice = (q.done.as_deref() == Some("saved")).then_some("me.saved");
    me_page(
        &p,
        &me,
        None,
        &FieldErrors::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

async fn me_page(
    p: &Portal,
    me: &tillit_app::Actor,
    typed: Option<ContactForm>,
    errors: &FieldErrors,
    notice: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let store = p.store();
    let (phone, email) = people::own_contact(p.env(&store), me).await?;
    let user = &me.person;
    let form = typed.unwrap_or_else(|| ContactForm {
        given_name: user.given_name.as_str().to_owned(),
        family_name: user.family_name.as_str().to_owned(),
        phone: phone.unwrap_or_default(),
        email: email.unwrap_or_default(),
    });
    let page = MePage {
        title: "me.title",
        name: user.full_name(),
        personnummer: format_personnummer(&user.personnummer),
        role_key: format!("role.{}", user.role.as_str()),
        editable: user.role == Role::Patient,
        form,
        errors: errors.to_json(),
        notice,
    };
    Ok((status, p.page("me", page)?).into_response())
}

pub async fn update(p: Portal, Patient(me): Patient, Form(form): Form<ContactForm>) -> PageResult {
    let mut errors = FieldErrors::default();
    let given = PersonName::parse(&form.given_name)
        .map_err(|e| errors.add("given_name", name_error_key(e)))
        .ok();
    let family = PersonName::parse(&form.family_name)
        .map_err(|e| errors.add("family_name", name_error_key(e)))
        .ok();
    let phone = match form.phone.trim() {
        "" => Some(None),
        ph => MobileNumber::parse(ph).map(Some).or_else(|| {
            errors.add("phone", "field.mobile");
            None
        }),
    };
    let email = match form.email.trim() {
        "" => Some(None),
        e => EmailAddress::parse(e)
            .map(|e| Some(e.as_str().to_owned()))
            .or_else(|| {
                errors.add("email", "field.email");
                None
            }),
    };
    let (Some(given_name), Some(family_name), Some(phone), Some(email)) =
        (given, family, phone, email)
    else {
        return me_page(
            &p,
            &me,
            Some(form),
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let contact = Contact {
        given_name,
        family_name,
        phone,
        email,
    };
    let store = p.store();
    people::update_contact(p.env(&store), &me, &contact).await?;
    Ok(see_other("/me?done=saved", None))
}

/// `YYYYMMDD-NNNN`, for showing a person their own number.
pub fn format_personnummer(p: &Personnummer) -> String {
    let s = p.as_str();
    format!("{}-{}", &s[..8], &s[8..])
}
