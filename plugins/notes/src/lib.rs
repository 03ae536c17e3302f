//! Private notes: during a video visit a clinician writes notes about the
//! patient in a tab of the room's side panel. Only that clinician ever sees
//! them: they are stored in the clinician's own storage scope
//! (`Scope::Caller`), which the host keys by the authenticated caller, so
//! not the patient, other clinicians, administrators or another tenant can
//! reach them. A note belongs to the (clinician, patient) pair, so it is
//! there at the next visit with the same patient, with a button to copy it
//! into the journal system.
//!
//! # Layout
//!
//! - this file: the hooks (routes and the panel), talking to the host;
//! - [`note`]: the rules (request parsing, validation, which patient,
//!   versions), with no host calls;
//! - [`texts`]: Swedish and English;
//! - [`time`]: "Sparad 10:42" in Swedish time.
//!
//! # Routes (below `/plugins/notes`)
//!
//! - `GET /note?patient=<ref>`: the caller's note about a patient
//!   (`patient` may be left out in a visit with one patient):
//!   `{patient, text, version, saved_at, saved_label}`, version 0 and
//!   empty text when there is none.
//! - `PUT /note` (or `POST`), JSON `{text, patient?, base_version}` or the
//!   same as a form: saves if the note is still at `base_version` and
//!   answers `{patient, version, saved_at, saved_label, status_text,
//!   fields: {base_version}}`; 409 `{error: "stale", message, current}` if
//!   it was saved elsewhere since, so two tabs never silently overwrite
//!   each other.
//!
//! Errors are JSON `{error, message}` with the message in the caller's
//! language: 403 for anyone but a clinician, 400 for a malformed request
//! or an unknown patient, 413 for a note over `max_note_chars`, 415 for a
//! body that is neither JSON nor a form.
//!
//! Saving is explicit: the browser keeps the draft until a save succeeds,
//! so a dropped connection loses nothing.

use serde::Deserialize;
use serde_json::json;
use tillit_plugin_sdk::context::Lang;
use tillit_plugin_sdk::storage::{self, Document};
use tillit_plugin_sdk::{
    Error, Method, Plugin, Request, Response, Result, Role, Scope, Slot, View, clock, context,
};

pub mod note;
pub mod texts;
pub mod time;

use note::{Rejection, Stored};
use texts::Texts;

/// The plugin.
#[derive(Debug)]
pub struct Notes;

tillit_plugin_sdk::register!(Notes);

/// The tenant's settings (manifest `[config]`).
#[derive(Debug, Deserialize)]
struct Config {
    #[serde(default = "default_max_chars")]
    max_note_chars: i64,
}

fn default_max_chars() -> i64 {
    note::DEFAULT_MAX_CHARS as i64
}

fn max_chars() -> Result<usize> {
    Ok(note::clamp_max_chars(
        context::config::<Config>()?.max_note_chars,
    ))
}

impl Plugin for Notes {
    fn on_request(request: Request) -> Result<Response> {
        if request.path != "/note" {
            return Ok(Response::not_found());
        }
        let caller = context::require_caller()?;
        let lang = caller.lang();
        if !caller.is(Role::Clinician) {
            return Ok(Rejection::clinicians_only(lang).response());
        }
        let outcome = match request.method {
            Method::Get => load_note(&request, lang),
            Method::Put | Method::Post => save_note(&request, lang),
            _ => {
                return Ok(Response::method_not_allowed(&[
                    Method::Get,
                    Method::Put,
                    Method::Post,
                ]));
            }
        };
        Ok(match outcome? {
            Ok(response) => response.with_header("cache-control", "no-store"),
            Err(rejection) => rejection.response(),
        })
    }

    fn render(slot: Slot) -> Result<Option<View>> {
        if slot != Slot::VisitPanel {
            return Ok(None);
        }
        let (Some(caller), Some(visit)) = (context::caller(), context::visit()) else {
            return Ok(None);
        };
        if !caller.is(Role::Clinician) {
            return Ok(None);
        }
        let lang = caller.lang();
        let now = clock::now();
        let mut notes = Vec::new();
        for patient in visit.with_role(Role::Patient) {
            let stored = load(&patient.person)?;
            let mut shown = note_json(&patient.person, stored.as_ref(), now);
            shown["display_name"] = json!(patient.display_name);
            notes.push(shown);
        }
        View::new(
            "panel",
            &json!({
                "texts": Texts::of(lang),
                "max_chars": max_chars()?,
                "notes": notes,
            }),
        )
        .map(Some)
    }
}

/// `GET /note`.
fn load_note(request: &Request, lang: Lang) -> Result<core::result::Result<Response, Rejection>> {
    let patient =
        match note::resolve_patient(request.query("patient"), context::visit().as_ref(), lang) {
            Ok(p) => p,
            Err(rejection) => return Ok(Err(rejection)),
        };
    let stored = load(&patient)?;
    Ok(Ok(Response::json(&note_json(
        &patient,
        stored.as_ref(),
        clock::now(),
    ))))
}

/// `PUT /note`, `POST /note`.
fn save_note(request: &Request, lang: Lang) -> Result<core::result::Result<Response, Rejection>> {
    let max = max_chars()?;
    if request.body.len() > note::body_limit(max) {
        return Ok(Err(Rejection::too_large(lang, max)));
    }
    let checked = note::parse_save(request.content_type().as_deref(), &request.body, lang)
        .and_then(|save| note::check_text(&save.text, max, lang).map(|()| save))
        .and_then(|save| {
            note::resolve_patient(save.patient.as_deref(), context::visit().as_ref(), lang)
                .map(|patient| (patient, save))
        });
    let (patient, save) = match checked {
        Ok(ok) => ok,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let now = clock::now();
    let stored = Stored {
        text: save.text,
        saved_at: now,
    };
    match storage::set_json(
        Scope::Caller,
        &key(&patient)?,
        &stored,
        note::condition_for(save.base_version),
    ) {
        Ok(version) => {
            let label = time::saved_label(now, now);
            Ok(Ok(Response::json(&json!({
                "patient": patient,
                "version": version,
                "saved_at": now,
                "saved_label": label,
                "status_text": format!("{} {label}", Texts::of(lang).saved),
                "fields": { "base_version": version },
            }))))
        }
        Err(Error::Conflict) => {
            let current = load(&patient)?;
            Ok(Ok(Response::json_status(
                409,
                &json!({
                    "error": "stale",
                    "message": Texts::of(lang).stale,
                    "current": note_json(&patient, current.as_ref(), now),
                }),
            )))
        }
        Err(e) => Err(e),
    }
}

/// Where the caller's note about `patient` is kept (in `Scope::Caller`).
fn key(patient: &str) -> Result<String> {
    storage::key(&["note", patient])
}

fn load(patient: &str) -> Result<Option<Document<Stored>>> {
    storage::get_json(Scope::Caller, &key(patient)?)
}

/// A note as the API and the panel show it.
fn note_json(patient: &str, stored: Option<&Document<Stored>>, now: i64) -> serde_json::Value {
    match stored {
        Some(doc) => json!({
            "patient": patient,
            "text": doc.value.text,
            "version": doc.revision,
            "saved_at": doc.value.saved_at,
            "saved_label": time::saved_label(doc.value.saved_at, now),
        }),
        None => json!({
            "patient": patient,
            "text": "",
            "version": 0,
            "saved_at": null,
            "saved_label": null,
        }),
    }
}

#[cfg(test)]
mod tests {
    //! The hooks against the SDK's test host: what a clinician and the
    //! others in a visit would see.

    use super::*;
    use tillit_plugin_sdk::testing::{self, Owner, caller, participant, visit};

    fn in_visit_as(person: &str, role: Role) {
        testing::reset();
        testing::set_caller(Some(caller(person, role, "Someone")));
        testing::set_visit(Some(visit(
            "v1",
            vec![
                participant("p_karin", Role::Clinician, "Karin Lindblad"),
                participant("p_olof", Role::Clinician, "Olof Berg"),
                participant("p_tove", Role::Patient, "Tove Toll"),
            ],
        )));
        testing::set_config(json!({ "max_note_chars": 500 }));
    }

    fn put(body: serde_json::Value) -> Response {
        Notes::on_request(Request::new(Method::Put, "/note").with_json(&body))
            .unwrap_or_else(|e| Response::status(e.status()))
    }

    fn get() -> Response {
        Notes::on_request(Request::new(Method::Get, "/note"))
            .unwrap_or_else(|e| Response::status(e.status()))
    }

    fn body(r: &Response) -> serde_json::Value {
        r.body_json().unwrap_or_default()
    }

    #[test]
    fn a_saved_note_is_there_at_the_next_visit() {
        in_visit_as("p_karin", Role::Clinician);
        let saved = put(json!({ "text": "Sover bättre.", "base_version": 0 }));
        assert_eq!(saved.status, 200);
        assert_eq!(saved.header("cache-control"), Some("no-store"));
        let version = body(&saved)["version"].as_u64().unwrap_or_default();
        assert!(version > 0);
        // 09:00 UTC in January is 10:00 in Sweden.
        assert_eq!(body(&saved)["status_text"], "Sparad 10:00");
        assert_eq!(body(&saved)["fields"]["base_version"], version);

        // A week later, another visit with the same patient.
        testing::advance(7 * 24 * 3600 * 1000);
        let loaded = get();
        assert_eq!(loaded.status, 200);
        assert_eq!(body(&loaded)["text"], "Sover bättre.");
        assert_eq!(body(&loaded)["version"], version);
        assert_eq!(body(&loaded)["saved_label"], "2026-01-15 10:00");
    }

    #[test]
    fn only_the_writing_clinician_sees_the_note() {
        in_visit_as("p_karin", Role::Clinician);
        assert_eq!(
            put(json!({ "text": "Privat.", "base_version": 0 })).status,
            200
        );
        assert_eq!(
            testing::keys_of(&Owner::Person("p_karin".into())),
            ["note/p_tove"]
        );
        assert!(testing::keys_of(&Owner::Tenant).is_empty());

        // Another clinician in the same visit sees an empty note of their own.
        testing::set_caller(Some(caller("p_olof", Role::Clinician, "Olof")));
        assert_eq!(body(&get())["text"], "");
        assert_eq!(body(&get())["version"], 0);

        for role in [Role::Patient, Role::Guest, Role::Administrator] {
            testing::set_caller(Some(caller("p_tove", role, "Tove")));
            let r = get();
            assert_eq!(
                (r.status, body(&r)["error"].clone()),
                (403, json!("clinicians_only"))
            );
            let r = put(json!({ "text": "x", "base_version": 0 }));
            assert_eq!(r.status, 403);
            assert_eq!(Notes::render(Slot::VisitPanel), Ok(None));
        }
        testing::set_caller(None);
        assert_eq!(get().status, 403);
    }

    #[test]
    fn a_stale_tab_gets_409_and_overwrites_nothing() {
        in_visit_as("p_karin", Role::Clinician);
        let first = body(&put(json!({ "text": "Flik A", "base_version": 0 })));
        let v1 = first["version"].as_u64().unwrap_or_default();
        let second = put(json!({ "text": "Flik A igen", "base_version": v1 }));
        assert_eq!(second.status, 200);
        // Tab B still thinks the note is at v1.
        let stale = put(json!({ "text": "Flik B", "base_version": v1 }));
        assert_eq!(stale.status, 409);
        assert_eq!(body(&stale)["error"], "stale");
        assert_eq!(body(&stale)["current"]["text"], "Flik A igen");
        // Creating over an existing note is stale too.
        assert_eq!(put(json!({ "text": "Ny", "base_version": 0 })).status, 409);
        assert_eq!(body(&get())["text"], "Flik A igen");
    }

    #[test]
    fn bad_input_gets_a_precise_status_and_changes_nothing() {
        in_visit_as("p_karin", Role::Clinician);
        let too_long = put(json!({ "text": "x".repeat(501), "base_version": 0 }));
        assert_eq!(
            (too_long.status, body(&too_long)["error"].clone()),
            (413, json!("too_long"))
        );
        let huge = Request::new(Method::Put, "/note")
            .with_body("application/json", vec![b' '; note::body_limit(500) + 1]);
        assert_eq!(Notes::on_request(huge).map(|r| r.status), Ok(413));
        assert_eq!(put(json!({ "text": 1, "base_version": 0 })).status, 400);
        assert_eq!(
            put(json!({ "text": "x", "patient": "p_olof", "base_version": 0 })).status,
            400
        );
        let text = Request::new(Method::Put, "/note").with_body("text/plain", "x");
        assert_eq!(Notes::on_request(text).map(|r| r.status), Ok(415));
        let delete = Notes::on_request(Request::new(Method::Delete, "/note"));
        assert_eq!(delete.map(|r| r.status), Ok(405));
        let elsewhere = Notes::on_request(Request::new(Method::Get, "/notes"));
        assert_eq!(elsewhere.map(|r| r.status), Ok(404));
        assert!(testing::keys_of(&Owner::Person("p_karin".into())).is_empty());
    }

    #[test]
    fn english_callers_get_english() {
        in_visit_as("p_karin", Role::Clinician);
        let mut english = caller("p_karin", Role::Clinician, "Karin");
        english.language = "en-GB".into();
        testing::set_caller(Some(english));
        let r = put(json!({ "text": "Better sleep.", "base_version": 0 }));
        assert_eq!(body(&r)["status_text"], "Saved 10:00");
        let view = Notes::render(Slot::VisitPanel).ok().flatten();
        let data = view.and_then(|v| v.data_json().ok()).unwrap_or_default();
        assert_eq!(data["texts"]["save"], "Save");
    }

    #[test]
    fn the_panel_shows_a_note_per_patient_of_the_visit() {
        in_visit_as("p_karin", Role::Clinician);
        put(json!({ "text": "Om Tove", "base_version": 0 }));
        let view = Notes::render(Slot::VisitPanel).ok().flatten();
        assert_eq!(view.as_ref().map(|v| v.template.as_str()), Some("panel"));
        let data = view.and_then(|v| v.data_json().ok()).unwrap_or_default();
        assert_eq!(data["max_chars"], 500);
        assert_eq!(data["texts"]["save"], "Spara");
        assert_eq!(data["notes"][0]["patient"], "p_tove");
        assert_eq!(data["notes"][0]["display_name"], "Tove Toll");
        assert_eq!(data["notes"][0]["text"], "Om Tove");
        assert_eq!(data["notes"][0]["saved_label"], "10:00");
        assert_eq!(data["notes"].as_array().map(Vec::len), Some(1));
        // Nothing outside a visit's panel.
        assert_eq!(Notes::render(Slot::BetweenVisitsPage), Ok(None));
        testing::set_visit(None);
        assert_eq!(Notes::render(Slot::VisitPanel), Ok(None));
    }

    #[test]
    fn a_form_post_saves_like_put() {
        in_visit_as("p_karin", Role::Clinician);
        let form = Request::new(Method::Post, "/note").with_body(
            "application/x-www-form-urlencoded",
            "_csrf=t&patient=p_tove&base_version=0&text=Rad+1%0ARad+2",
        );
        assert_eq!(Notes::on_request(form).map(|r| r.status), Ok(200));
        assert_eq!(body(&get())["text"], "Rad 1\nRad 2");
    }
}
