//! The rules of a note, apart from any host: what a save request looks
//! like, what text is accepted, which patient a note is about, and which
//! write condition keeps two tabs from overwriting each other.

use serde::{Deserialize, Serialize};
use tillit_plugin_sdk::context::Lang;
use tillit_plugin_sdk::http::parse_urlencoded;
use tillit_plugin_sdk::storage::Condition;
use tillit_plugin_sdk::{Response, Role, Visit};

use crate::texts::Texts;

/// The default and the bounds of the `max_note_chars` setting.
pub const DEFAULT_MAX_CHARS: usize = 20_000;
pub const MIN_MAX_CHARS: usize = 100;
pub const MAX_MAX_CHARS: usize = 100_000;

/// A note as stored, under `note/<patient>` in the clinician's own scope.
/// Its version is the storage revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    pub text: String,
    /// When it was saved, in Unix milliseconds.
    pub saved_at: i64,
}

/// A save, from a JSON body or a form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Save {
    pub text: String,
    /// The patient's reference; may be left out in a visit with one patient.
    #[serde(default)]
    pub patient: Option<String>,
    /// The version the text was based on, from the last load or save; 0
    /// for a patient with no note yet.
    pub base_version: u64,
}

/// A request refused with a 4xx status and a message for the clinician.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: u16,
    /// Stable, for scripts and tests.
    pub code: &'static str,
    /// In the caller's language, safe to show.
    pub message: String,
}

impl Rejection {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn clinicians_only(lang: Lang) -> Self {
        Rejection::new(403, "clinicians_only", Texts::of(lang).clinicians_only)
    }

    pub fn too_large(lang: Lang, max_chars: usize) -> Self {
        Rejection::new(413, "too_long", Texts::of(lang).too_long(max_chars))
    }

    /// The response the client gets: `{"error": code, "message": ...}`.
    pub fn response(&self) -> Response {
        Response::json_status(
            self.status,
            &serde_json::json!({ "error": self.code, "message": self.message }),
        )
        .with_header("cache-control", "no-store")
    }
}

/// The largest body worth reading for `max_chars` characters: four bytes a
/// character in JSON or a form, with room for the other fields.
pub fn body_limit(max_chars: usize) -> usize {
    max_chars * 12 + 1024
}

/// Reads a save from a JSON or form body.
pub fn parse_save(content_type: Option<&str>, body: &[u8], lang: Lang) -> Result<Save, Rejection> {
    let t = Texts::of(lang);
    let bad = |detail: String| {
        Rejection::new(400, "bad_request", format!("{} ({detail})", t.bad_request))
    };
    match content_type {
        Some("application/json") => serde_json::from_slice(body).map_err(|e| bad(e.to_string())),
        Some("application/x-www-form-urlencoded") => {
            let fields = parse_urlencoded(body).map_err(|e| bad(e.to_string()))?;
            let mut text = None;
            let mut patient = None;
            let mut base_version = None;
            for (name, value) in fields {
                let slot = match name.as_str() {
                    "text" => &mut text,
                    "patient" => &mut patient,
                    "base_version" => &mut base_version,
                    // The kernel has checked the CSRF token already.
                    "_csrf" => continue,
                    other => return Err(bad(format!("unknown field {other:?}"))),
                };
                if slot.replace(value).is_some() {
                    return Err(bad(format!("field {name:?} given twice")));
                }
            }
            let base_version = base_version
                .ok_or_else(|| bad("missing field `base_version`".into()))?
                .parse()
                .map_err(|_| bad("`base_version` is not a version".into()))?;
            Ok(Save {
                text: text.ok_or_else(|| bad("missing field `text`".into()))?,
                patient: patient.filter(|p| !p.is_empty()),
                base_version,
            })
        }
        _ => Err(Rejection::new(415, "unsupported_media_type", t.bad_request)),
    }
}

/// Accepts text of at most `max_chars` characters with no control
/// characters other than tab and line breaks (they would be invisible in
/// the text area and break the journal system the note is pasted into).
pub fn check_text(text: &str, max_chars: usize, lang: Lang) -> Result<(), Rejection> {
    if text.chars().count() > max_chars {
        return Err(Rejection::too_large(lang, max_chars));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Rejection::new(400, "bad_text", Texts::of(lang).bad_text));
    }
    Ok(())
}

/// Which patient a note is about: the one asked for (who must be a patient
/// of the current visit, if there is one), or else the visit's only
/// patient.
pub fn resolve_patient(
    requested: Option<&str>,
    visit: Option<&Visit>,
    lang: Lang,
) -> Result<String, Rejection> {
    let t = Texts::of(lang);
    let which = || Rejection::new(400, "patient_required", t.patient_required);
    match (requested, visit) {
        (Some(person), _) if !is_person_ref(person) => Err(which()),
        (Some(person), Some(visit)) => match visit.participant(person) {
            Some(p) if p.role == Role::Patient => Ok(person.to_owned()),
            _ => Err(Rejection::new(400, "not_a_patient", t.not_a_patient)),
        },
        (Some(person), None) => Ok(person.to_owned()),
        (None, Some(visit)) => {
            let mut patients = visit.with_role(Role::Patient);
            match (patients.next(), patients.next()) {
                (Some(only), None) => Ok(only.person.clone()),
                _ => Err(which()),
            }
        }
        (None, None) => Err(which()),
    }
}

/// The WIT format of a person reference: 1 to 64 of `a-z 0-9 _ -`.
pub fn is_person_ref(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The write condition for a save based on `base_version`: a new note
/// only if there is none, else only over the version the text came from.
pub fn condition_for(base_version: u64) -> Condition {
    match base_version {
        0 => Condition::IfAbsent,
        v => Condition::IfRevision(v),
    }
}

/// The `max_note_chars` setting, kept within sane bounds.
pub fn clamp_max_chars(configured: i64) -> usize {
    usize::try_from(configured)
        .unwrap_or(0)
        .clamp(MIN_MAX_CHARS, MAX_MAX_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillit_plugin_sdk::testing::{participant, visit};

    const JSON: Option<&str> = Some("application/json");
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn saves_come_as_json_or_forms() {
        let json = parse_save(
            JSON,
            br#"{"text":"Hej","patient":"p_1","base_version":3}"#,
            Lang::Sv,
        );
        let form = parse_save(
            FORM,
            b"_csrf=x&text=Hej&patient=p_1&base_version=3",
            Lang::Sv,
        );
        let expected = Save {
            text: "Hej".into(),
            patient: Some("p_1".into()),
            base_version: 3,
        };
        assert_eq!(json, Ok(expected.clone()));
        assert_eq!(form, Ok(expected));
        let no_patient = parse_save(FORM, b"text=&patient=&base_version=0", Lang::Sv);
        assert_eq!(no_patient.map(|s| s.patient), Ok(None));
    }

    #[test]
    fn malformed_saves_are_400_and_say_what() {
        for (ct, body, detail) in [
            (JSON, &b"{"[..], "EOF"),
            (JSON, br#"{"text":"x"}"#, "base_version"),
            (JSON, br#"{"text":"x","base_version":-1}"#, "invalid value"),
            (
                JSON,
                br#"{"text":"x","base_version":1,"owner":"p_2"}"#,
                "unknown field",
            ),
            (FORM, b"text=x", "base_version"),
            (FORM, b"text=x&base_version=one", "base_version"),
            (FORM, b"text=x&text=y&base_version=1", "twice"),
            (FORM, b"text=%zz&base_version=1", "escape"),
        ] {
            let r = parse_save(ct, body, Lang::En).err();
            assert_eq!(
                r.as_ref().map(|r| (r.status, r.code)),
                Some((400, "bad_request"))
            );
            let message = r.map(|r| r.message).unwrap_or_default();
            assert!(message.contains(detail), "{message}");
        }
        let r = parse_save(Some("text/plain"), b"x", Lang::Sv).err();
        assert_eq!(r.map(|r| r.status), Some(415));
    }

    #[test]
    fn text_has_a_length_limit_in_characters() {
        let max = 100;
        assert_eq!(check_text(&"å".repeat(max), max, Lang::Sv), Ok(()));
        let r = check_text(&"å".repeat(max + 1), max, Lang::Sv).err();
        assert_eq!(
            r.as_ref().map(|r| (r.status, r.code)),
            Some((413, "too_long"))
        );
        assert!(r.map(|r| r.message).unwrap_or_default().contains("100"));
    }

    #[test]
    fn text_keeps_line_breaks_and_refuses_other_control_characters() {
        assert_eq!(
            check_text("Rad 1\r\nRad 2\n\tindrag", 100, Lang::Sv),
            Ok(())
        );
        for bad in [
            "nul\0",
            "bell\u{7}",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            let r = check_text(bad, 100, Lang::Sv).err();
            assert_eq!(r.map(|r| r.code), Some("bad_text"), "{bad:?}");
        }
    }

    #[test]
    fn the_patient_comes_from_the_visit_or_must_be_in_it() {
        let one = visit(
            "v1",
            vec![
                participant("p_doc", Role::Clinician, "Karin"),
                participant("p_tove", Role::Patient, "Tove"),
            ],
        );
        assert_eq!(
            resolve_patient(None, Some(&one), Lang::Sv),
            Ok("p_tove".into())
        );
        assert_eq!(
            resolve_patient(Some("p_tove"), Some(&one), Lang::Sv),
            Ok("p_tove".into())
        );
        let code = |r: Result<String, Rejection>| r.err().map(|r| (r.status, r.code));
        // A clinician is not a patient to keep notes about.
        assert_eq!(
            code(resolve_patient(Some("p_doc"), Some(&one), Lang::Sv)),
            Some((400, "not_a_patient"))
        );
        assert_eq!(
            code(resolve_patient(Some("p_other"), Some(&one), Lang::Sv)),
            Some((400, "not_a_patient"))
        );
        let group = visit(
            "v2",
            vec![
                participant("p_a", Role::Patient, "A. A."),
                participant("p_b", Role::Patient, "B. B."),
            ],
        );
        assert_eq!(
            code(resolve_patient(None, Some(&group), Lang::Sv)),
            Some((400, "patient_required"))
        );
        assert_eq!(
            resolve_patient(Some("p_b"), Some(&group), Lang::Sv),
            Ok("p_b".into())
        );
        // Outside a visit: the clinician's own note about anyone they name.
        assert_eq!(
            resolve_patient(Some("p_b"), None, Lang::Sv),
            Ok("p_b".into())
        );
        assert_eq!(
            code(resolve_patient(None, None, Lang::Sv)),
            Some((400, "patient_required"))
        );
        for bad in ["", "../p_b", "P_B", "p b", &"p".repeat(65)] {
            assert_eq!(
                code(resolve_patient(Some(bad), None, Lang::Sv)),
                Some((400, "patient_required")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn versions_become_write_conditions() {
        assert_eq!(condition_for(0), Condition::IfAbsent);
        assert_eq!(condition_for(7), Condition::IfRevision(7));
    }

    #[test]
    fn the_setting_is_clamped() {
        assert_eq!(clamp_max_chars(-5), MIN_MAX_CHARS);
        assert_eq!(clamp_max_chars(5000), 5000);
        assert_eq!(clamp_max_chars(i64::MAX), MAX_MAX_CHARS);
    }
}
