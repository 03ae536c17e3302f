//! "Min profil" for clinicians: the profile text patients see, the bookable
//! visit types ("Bokningsbara besök"), a preview, how complete the profile
//! is, and "Aktivera bokningsfunktion", which publishes it.
//!
//! Every form is validated by the domain; on error the page comes back with
//! each field's message and what was typed, and nothing is saved.

use axum::Form;
use axum::extract::{Multipart, Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tillit_domain::booking::{
    FieldErrors as DomainErrors, ProfileFacts, ProfileText, PublishBlocker, Visibility, VisitKind,
    VisitTypeSpec,
};

use tillit_app::{Actor, profiles};

use crate::http::error::AppError;
use crate::http::extract::{Clinician, Portal, User};
use crate::http::forms::FieldErrors;
use crate::http::render::PageResult;
use crate::picture::{self, PictureError};
use crate::plugins::Section;

#[derive(Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    introduction: String,
    #[serde(default)]
    way_of_working: String,
    #[serde(default)]
    first_visit: String,
    #[serde(default)]
    visiting_address: String,
    #[serde(default)]
    unit: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct VisitTypeForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    kind: String,
}

impl VisitTypeForm {
    fn parse(&self) -> Result<VisitTypeSpec, DomainErrors> {
        VisitTypeSpec::parse(&self.title, &self.description, &self.minutes, &self.kind)
    }
}

/// What the page shows besides the stored data: a form that failed, and why.
#[derive(Debug, Default)]
struct Shown<'a> {
    profile_form: Option<&'a ProfileForm>,
    profile_errors: Option<&'a DomainErrors>,
    new_type: Option<&'a VisitTypeForm>,
    new_type_errors: Option<&'a DomainErrors>,
    edited: Option<(&'a str, &'a VisitTypeForm, &'a DomainErrors)>,
    blockers: Vec<PublishBlocker>,
    picture_error: Option<&'static str>,
    notice: Option<&'static str>,
}

impl Shown<'_> {
    /// The section of the form that was sent, or of the notice shown.
    fn section(&self) -> &'static str {
        if self.new_type.is_some() || self.edited.is_some() {
            "visit-types"
        } else if self.picture_error.is_some() {
            "pictures"
        } else if !self.blockers.is_empty() {
            "publish"
        } else {
            match self.notice {
                Some("visit_type.saved" | "visit_type.removed") => "visit-types",
                Some("picture.saved") => "pictures",
                Some("profile.published_notice" | "profile.unpublished_notice") => "publish",
                _ => "consultation",
            }
        }
    }
}

pub fn blocker_key(b: PublishBlocker) -> &'static str {
    match b {
        PublishBlocker::MissingTitle => "profile.blocker.title",
        PublishBlocker::NoVisitType => "profile.blocker.visit_type",
    }
}

/// The profile page's data.
#[derive(Debug, Serialize)]
struct ProfilePage<'a> {
    title: &'static str,
    /// How complete the profile is, in percent.
    completion: u8,
    plugin_sections: Vec<Section>,
    /// The menu of the page's sections, in the handbook's order, each with
    /// how far it is done.
    sections: Vec<SectionLink>,
    /// The section to show first (its id) when the page is shown one
    /// section at a time: the one a form was sent from, else the first.
    current: &'static str,
    /// The profile text as stored, or as typed if saving it failed.
    form: ProfileTextView<'a>,
    errors: Value,
    limits: Limits,
    visit_types: Vec<VisitTypeRow<'a>>,
    new_type: NewTypeView<'a>,
    new_type_errors: Value,
    /// Published, and with what publishing requires: visible and bookable.
    published: bool,
    /// Published, but something publishing requires was removed since: not
    /// visible, not bookable (`missing` says what).
    incomplete: bool,
    missing: Vec<&'static str>,
    /// What keeps the profile from being published (message keys).
    blockers: Vec<&'static str>,
    /// The profile as patients see it (as stored).
    preview: Preview<'a>,
    notice: Option<&'static str>,
    /// The picture's URL, if there is one.
    picture: Option<String>,
    picture_error: Option<&'static str>,
    /// The largest picture accepted, for the browser to check before sending.
    picture_max_bytes: usize,
}

/// A section of the page in its menu.
#[derive(Debug, Serialize)]
struct SectionLink {
    id: &'static str,
    key: &'static str,
    /// The steps of the section done, of `total` (none: nothing to do).
    done: usize,
    total: usize,
    /// One step: done or not, rather than a count.
    single: bool,
    complete: bool,
    /// A word on the section's state instead of a count (message key).
    state_key: Option<&'static str>,
}

impl SectionLink {
    fn new(id: &'static str, key: &'static str, steps: &[bool]) -> Self {
        let done = steps.iter().filter(|d| **d).count();
        Self {
            id,
            key,
            done,
            total: steps.len(),
            single: steps.len() == 1,
            complete: !steps.is_empty() && done == steps.len(),
            state_key: None,
        }
    }
}

/// The sections of the page, in the handbook's left menu's order.
fn sections(facts: &ProfileFacts, visibility: &Visibility) -> Vec<SectionLink> {
    let mut publish = SectionLink::new(
        "publish",
        "profile.publish_heading",
        &[*visibility == Visibility::Published],
    );
    publish.state_key = Some(match visibility {
        Visibility::Published => "forms.profile.state.published",
        Visibility::Incomplete(_) => "forms.profile.state.hidden",
        Visibility::NotPublished => "forms.profile.state.not_published",
    });
    vec![
        SectionLink::new(
            "consultation",
            "profile.consultation",
            &[
                facts.has_title,
                facts.has_introduction,
                facts.has_way_of_working,
                facts.has_first_visit,
                facts.has_visiting_address,
            ],
        ),
        SectionLink::new("pictures", "picture.heading", &[facts.has_picture]),
        SectionLink::new(
            "visit-types",
            "visit_type.heading",
            &[facts.visit_types > 0],
        ),
        SectionLink::new("preview", "profile.preview", &[]),
        publish,
    ]
}

#[derive(Debug, Serialize)]
struct ProfileTextView<'a> {
    title: &'a str,
    introduction: &'a str,
    way_of_working: &'a str,
    first_visit: &'a str,
    visiting_address: &'a str,
    unit: &'a str,
}

/// The longest texts (and the shortest visit) the forms take.
#[derive(Debug, Serialize)]
struct Limits {
    title: usize,
    introduction: usize,
    long: usize,
    address: usize,
    visit_title: usize,
    min_minutes: u32,
}

impl Limits {
    const ALL: Limits = Limits {
        title: ProfileText::TITLE_MAX,
        introduction: ProfileText::INTRODUCTION_MAX,
        long: ProfileText::LONG_TEXT_MAX,
        address: ProfileText::ADDRESS_MAX,
        visit_title: VisitTypeSpec::TITLE_MAX,
        min_minutes: VisitTypeSpec::MIN_MINUTES,
    };
}

/// A bookable visit type, as stored or, if saving it failed, as typed.
#[derive(Debug, Serialize)]
struct VisitTypeRow<'a> {
    id: &'a str,
    title: &'a str,
    description: &'a str,
    minutes: Minutes<'a>,
    kind: VisitKind,
    kind_key: String,
    errors: Value,
}

/// A visit type's length: the stored number, or what was typed.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Minutes<'a> {
    Stored(u32),
    Typed(&'a str),
}

/// The new-visit-type form: empty but for the kind (video), or as typed if
/// saving it failed.
#[derive(Debug, Serialize)]
struct NewTypeView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    minutes: Option<&'a str>,
    kind: &'a str,
}

#[derive(Debug, Serialize)]
struct Preview<'a> {
    name: String,
    title: &'a str,
    introduction: &'a str,
    way_of_working: &'a str,
    first_visit: &'a str,
    visiting_address: &'a str,
}

/// Field errors as the page shows them (none: `{}`).
fn errors_json(errors: Option<&DomainErrors>) -> Value {
    errors.map_or_else(
        || FieldErrors::default().to_json(),
        |e| FieldErrors::from_domain(e).to_json(),
    )
}

async fn render_profile(
    p: &Portal,
    actor: &Actor,
    shown: Shown<'_>,
    status: StatusCode,
) -> PageResult {
    let me = &actor.person;
    let store = p.store();
    let own = profiles::own(p.env(&store), actor).await?;
    let facts = own.facts();
    let visibility = facts.visibility();
    let profiles::Own {
        profile,
        visit_types: types,
        picture,
    } = own;
    let plugin_sections = crate::plugins::profile_sections(&p.state, &p.ctx, me).await;
    let t = &profile.text;
    let current = shown.section();
    let form = match shown.profile_form {
        Some(f) => ProfileTextView {
            title: &f.title,
            introduction: &f.introduction,
            way_of_working: &f.way_of_working,
            first_visit: &f.first_visit,
            visiting_address: &f.visiting_address,
            unit: &f.unit,
        },
        None => ProfileTextView {
            title: &t.title,
            introduction: &t.introduction,
            way_of_working: &t.way_of_working,
            first_visit: &t.first_visit,
            visiting_address: &t.visiting_address,
            unit: &t.unit,
        },
    };
    let visit_types = types
        .iter()
        .map(|v| {
            let mut row = VisitTypeRow {
                id: &v.id,
                title: &v.spec.title,
                description: &v.spec.description,
                minutes: Minutes::Stored(v.spec.minutes),
                kind: v.spec.kind,
                kind_key: format!("visit_type.kind.{}", v.spec.kind.as_str()),
                errors: errors_json(None),
            };
            if let Some((id, f, errors)) = shown.edited
                && id == v.id
            {
                row.title = &f.title;
                row.description = &f.description;
                row.minutes = Minutes::Typed(&f.minutes);
                row.errors = errors_json(Some(errors));
            }
            row
        })
        .collect();
    let new_type = match shown.new_type {
        Some(f) => NewTypeView {
            title: Some(&f.title),
            description: Some(&f.description),
            minutes: Some(&f.minutes),
            kind: &f.kind,
        },
        None => NewTypeView {
            title: None,
            description: None,
            minutes: None,
            kind: "video",
        },
    };
    let page = ProfilePage {
        title: "profile.title",
        completion: facts.completion_percent(),
        plugin_sections,
        sections: sections(&facts, &visibility),
        current,
        form,
        errors: errors_json(shown.profile_errors),
        limits: Limits::ALL,
        visit_types,
        new_type,
        new_type_errors: errors_json(shown.new_type_errors),
        published: visibility == Visibility::Published,
        incomplete: matches!(visibility, Visibility::Incomplete(_)),
        missing: match &visibility {
            Visibility::Incomplete(missing) => missing.iter().map(|b| blocker_key(*b)).collect(),
            _ => Vec::new(),
        },
        blockers: shown.blockers.iter().map(|b| blocker_key(*b)).collect(),
        preview: Preview {
            name: me.full_name(),
            title: &t.title,
            introduction: &t.introduction,
            way_of_working: &t.way_of_working,
            first_visit: &t.first_visit,
            visiting_address: &t.visiting_address,
        },
        notice: shown.notice,
        picture: picture.map(|h| format!("/people/{}/picture/{h}", me.id)),
        picture_error: shown.picture_error,
        picture_max_bytes: picture::MAX_BYTES,
    };
    Ok((status, p.page("profile", page)?).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ProfileQuery {
    done: Option<String>,
    /// Why an upload was refused (see `picture_refused`).
    picture: Option<String>,
}

pub async fn show(
    p: Portal,
    Clinician(me): Clinician,
    Query(q): Query<ProfileQuery>,
) -> PageResult {
    let notice = match q.done.as_deref() {
        Some("saved") => Some("profile.saved"),
        Some("published") => Some("profile.published_notice"),
        Some("unpublished") => Some("profile.unpublished_notice"),
        Some("type_saved") => Some("visit_type.saved"),
        Some("type_removed") => Some("visit_type.removed"),
        Some("picture") => Some("picture.saved"),
        _ => None,
    };
    let shown = Shown {
        notice,
        picture_error: q.picture.as_deref().and_then(picture_refusal),
        ..Shown::default()
    };
    render_profile(&p, &me, shown, StatusCode::OK).await
}

fn done(what: &str) -> Response {
    Redirect::to(&format!("/profile?done={what}")).into_response()
}

pub async fn save(
    p: Portal,
    Clinician(me): Clinician,
    Form(form): Form<ProfileForm>,
) -> PageResult {
    match ProfileText::parse(
        &form.title,
        &form.introduction,
        &form.way_of_working,
        &form.first_visit,
        &form.visiting_address,
        &form.unit,
    ) {
        Ok(text) => {
            let store = p.store();
            profiles::save_text(p.env(&store), &me, &text).await?;
            Ok(done("saved"))
        }
        Err(errors) => {
            let shown = Shown {
                profile_form: Some(&form),
                profile_errors: Some(&errors),
                ..Shown::default()
            };
            render_profile(&p, &me, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// "Aktivera bokningsfunktion": publishes the profile if nothing blocks it.
pub async fn publish(p: Portal, Clinician(me): Clinician) -> PageResult {
    let store = p.store();
    match profiles::publish(p.env(&store), &me).await? {
        profiles::Publish::Published => Ok(done("published")),
        profiles::Publish::Blocked(blockers) => {
            let shown = Shown {
                blockers,
                ..Shown::default()
            };
            render_profile(&p, &me, shown, StatusCode::CONFLICT).await
        }
    }
}

pub async fn unpublish(p: Portal, Clinician(me): Clinician) -> PageResult {
    let store = p.store();
    profiles::unpublish(p.env(&store), &me).await?;
    Ok(done("unpublished"))
}

pub async fn create_visit_type(
    p: Portal,
    Clinician(me): Clinician,
    Form(form): Form<VisitTypeForm>,
) -> PageResult {
    match form.parse() {
        Ok(spec) => {
            let store = p.store();
            profiles::create_visit_type(p.env(&store), &me, &spec).await?;
            Ok(done("type_saved"))
        }
        Err(errors) => {
            let shown = Shown {
                new_type: Some(&form),
                new_type_errors: Some(&errors),
                ..Shown::default()
            };
            render_profile(&p, &me, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

pub async fn update_visit_type(
    p: Portal,
    Clinician(me): Clinician,
    Path(id): Path<String>,
    Form(form): Form<VisitTypeForm>,
) -> PageResult {
    match form.parse() {
        Ok(spec) => {
            let store = p.store();
            profiles::update_visit_type(p.env(&store), &me, &id, &spec).await?;
            Ok(done("type_saved"))
        }
        Err(errors) => {
            let shown = Shown {
                edited: Some((&id, &form, &errors)),
                ..Shown::default()
            };
            render_profile(&p, &me, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

pub async fn archive_visit_type(
    p: Portal,
    Clinician(me): Clinician,
    Path(id): Path<String>,
) -> PageResult {
    let store = p.store();
    profiles::archive_visit_type(p.env(&store), &me, &id).await?;
    Ok(done("type_removed"))
}

/// Every way an upload is refused, each shown on the picture's field.
const PICTURE_ERRORS: [PictureError; 5] = [
    PictureError::Empty,
    PictureError::TooLarge,
    PictureError::NotAnImage,
    PictureError::Unreadable,
    PictureError::TooManyPixels,
];

/// A refused upload goes back to the profile page, whose URL says why
/// (`/profile?picture=not_an_image#pictures`), so the address bar shows
/// the profile page and reloading it sends nothing again.
fn picture_refused(e: PictureError) -> Response {
    let code = e.message_key().trim_start_matches("picture.");
    Redirect::to(&format!("/profile?picture={code}#pictures")).into_response()
}

/// The message of a refusal named in the profile page's URL.
fn picture_refusal(code: &str) -> Option<&'static str> {
    PICTURE_ERRORS
        .iter()
        .map(|e| e.message_key())
        .find(|key| key.strip_prefix("picture.") == Some(code))
}

/// Uploads a profile picture (multipart field `picture`).
pub async fn upload_picture(
    p: Portal,
    Clinician(me): Clinician,
    mut multipart: Multipart,
) -> PageResult {
    // The route's body limit surfaces as an error from the multipart reader:
    // too large a picture, told on its field like any other refusal.
    let mut bytes = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Ok(picture_refused(PictureError::TooLarge));
            }
            Err(_) => return Err(AppError::BadRequest("malformed upload")),
        };
        if field.name() == Some("picture") {
            match field.bytes().await {
                Ok(b) => bytes = Some(b),
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Ok(picture_refused(PictureError::TooLarge));
                }
                Err(_) => return Err(AppError::BadRequest("malformed upload")),
            }
        }
    }
    let bytes = bytes.unwrap_or_default();
    let result = p
        .state
        .cpu
        .run(move || picture::process(&bytes))
        .await
        .map_err(|e| match e {
            crate::cpu::CpuError::Busy => {
                AppError::Unavailable("picture processing is busy".into())
            }
            crate::cpu::CpuError::Panicked => AppError::Internal("picture job panicked".into()),
        })?;
    match result {
        Ok(jpeg) => {
            let hash = crate::theme::content_hash(&jpeg);
            let store = p.store();
            profiles::save_picture(p.env(&store), &me, "image/jpeg", &hash, &jpeg).await?;
            Ok(done("picture"))
        }
        Err(e) => Ok(picture_refused(e)),
    }
}

/// A clinician's picture, for anyone logged in to the same tenant. The hash
/// in the path changes with the picture, so it may be cached for long.
pub async fn serve_picture(
    p: Portal,
    _: User,
    Path((id, hash)): Path<(String, String)>,
) -> PageResult {
    let store = p.store();
    let person = tillit_domain::PersonId::new(id);
    let (content_type, current, bytes) = profiles::picture(p.env(&store), &person).await?;
    let cache = if hash == current {
        "private, max-age=31536000, immutable"
    } else {
        "private, no-cache"
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CACHE_CONTROL, cache.to_owned()),
        ],
        bytes,
    )
        .into_response())
}
