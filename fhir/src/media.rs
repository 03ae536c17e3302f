//! Formats: Tillit reads and writes FHIR JSON only. A client says what it
//! accepts with `Accept` or `_format` (which wins, as the spec says), and
//! what it sends with `Content-Type`.

use crate::outcome::FhirError;

/// The media type of every FHIR answer.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// Whether a media type (without parameters) or `_format` value means FHIR
/// JSON. `*/*`, `application/*` and plain JSON are taken as JSON too.
fn is_json(mime: &str) -> bool {
    let base = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        base.as_str(),
        "application/fhir+json"
            | "application/json"
            | "application/json+fhir"
            | "json"
            | "*/*"
            | "application/*"
    )
}

/// Checks that the client can take JSON: `_format` if given, else any of
/// the `Accept` header's types (none given means anything).
pub fn negotiate(accept: Option<&str>, format_param: Option<&str>) -> Result<(), FhirError> {
    if let Some(f) = format_param {
        return if is_json(f) {
            Ok(())
        } else {
            Err(FhirError::NotAcceptable(format!(
                "_format={f} is not supported: this server writes application/fhir+json only"
            )))
        };
    }
    match accept {
        None => Ok(()),
        Some(a) if a.trim().is_empty() || a.split(',').any(is_json) => Ok(()),
        Some(a) => Err(FhirError::NotAcceptable(format!(
            "Accept: {a} is not supported: this server writes application/fhir+json only"
        ))),
    }
}

/// Checks that a request body is FHIR JSON.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), FhirError> {
    match content_type {
        Some(ct) if is_json(ct) && !ct.trim_start().starts_with('*') => Ok(()),
        Some(ct) => Err(FhirError::UnsupportedMediaType(format!(
            "Content-Type: {ct} is not supported: send application/fhir+json"
        ))),
        None => Err(FhirError::UnsupportedMediaType(
            "Content-Type is missing: send application/fhir+json".to_owned(),
        )),
    }
}

/// Checks the body of a JSON Patch request.
pub fn check_patch_content_type(content_type: Option<&str>) -> Result<(), FhirError> {
    let base = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    match base.as_deref() {
        Some("application/json-patch+json") => Ok(()),
        _ => Err(FhirError::UnsupportedMediaType(format!(
            "Content-Type: {} is not supported for PATCH: send application/json-patch+json",
            content_type.unwrap_or("(none)")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_accepted_in_every_spelling_and_xml_is_refused() {
        for ok in [
            None,
            Some("application/fhir+json"),
            Some("application/fhir+json; fhirVersion=4.0"),
            Some("text/html, application/json;q=0.9"),
            Some("*/*"),
        ] {
            assert!(negotiate(ok, None).is_ok(), "{ok:?}");
        }
        assert_eq!(
            negotiate(Some("application/fhir+xml"), None)
                .unwrap_err()
                .status(),
            406
        );
        assert!(negotiate(Some("application/fhir+xml"), Some("json")).is_ok());
        assert_eq!(negotiate(None, Some("xml")).unwrap_err().status(), 406);
        assert!(check_content_type(Some("application/fhir+json;charset=utf-8")).is_ok());
        assert_eq!(
            check_content_type(Some("application/xml"))
                .unwrap_err()
                .status(),
            415
        );
        assert_eq!(check_content_type(None).unwrap_err().status(), 415);
    }
}
