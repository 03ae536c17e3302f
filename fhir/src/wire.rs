//! JSON in and out of fhir-sdk's models. The only generic code over the
//! models is here, instantiated for the few resources Tillit reads and
//! writes, so their serde code is compiled once (see the crate docs).
//!
//! Reading is strict, as a server should be: the body must be JSON, of the
//! resource type the URL names, valid against the model (with the path of
//! the first problem), and without elements the model does not know: serde
//! would drop those silently, so the parsed resource is written back and
//! every key of the input that did not survive is reported.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::outcome::FhirError;

/// Parses `body` as a resource of `resource_type` into `T`.
pub(crate) fn parse<T: DeserializeOwned + Serialize>(
    body: &[u8],
    resource_type: &str,
) -> Result<T, FhirError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| FhirError::Structure {
        path: None,
        message: format!("The body is not valid JSON: {e}"),
    })?;
    parse_value(value, resource_type)
}

/// [`parse`] from JSON already read (a transaction Bundle's entry, say).
pub(crate) fn parse_value<T: DeserializeOwned + Serialize>(
    value: Value,
    resource_type: &str,
) -> Result<T, FhirError> {
    match value.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == resource_type => {}
        Some(t) => {
            return Err(FhirError::structure(
                format!("{resource_type}.resourceType"),
                format!("Expected a {resource_type}, got a {t}."),
            ));
        }
        None => {
            return Err(FhirError::structure(
                format!("{resource_type}.resourceType"),
                format!("resourceType is missing: expected \"{resource_type}\"."),
            ));
        }
    }
    let parsed: T = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        FhirError::Structure {
            path: Some(if path == "." {
                resource_type.to_owned()
            } else {
                format!("{resource_type}.{path}")
            }),
            message: e.inner().to_string(),
        }
    })?;
    let written = serde_json::to_value(&parsed).map_err(|_| FhirError::Internal)?;
    if let Some(path) = first_unknown(&value, &written, resource_type) {
        return Err(FhirError::structure(
            path.clone(),
            format!("Unknown element {path}: it is not part of a FHIR R4 {resource_type}."),
        ));
    }
    Ok(parsed)
}

/// The first element of `input` that is not in `written`, as a path.
fn first_unknown(input: &Value, written: &Value, path: &str) -> Option<String> {
    match (input, written) {
        (Value::Object(i), Value::Object(w)) => i.iter().find_map(|(k, v)| match w.get(k) {
            None => Some(format!("{path}.{k}")),
            Some(wv) => first_unknown(v, wv, &format!("{path}.{k}")),
        }),
        (Value::Array(i), Value::Array(w)) => i
            .iter()
            .zip(w.iter().chain(std::iter::repeat(&Value::Null)))
            .enumerate()
            .find_map(|(n, (iv, wv))| first_unknown(iv, wv, &format!("{path}[{n}]"))),
        (Value::Object(_) | Value::Array(_), _) => Some(path.to_owned()),
        _ => None,
    }
}

/// Writes a resource as JSON.
pub(crate) fn write<T: Serialize>(resource: &T) -> Result<String, FhirError> {
    serde_json::to_string(resource).map_err(|_| FhirError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fhir_sdk::r4b::resources::Patient;

    #[test]
    fn a_bad_body_is_refused_with_the_path_of_the_problem() {
        let e = parse::<Patient>(b"{", "Patient").unwrap_err();
        assert_eq!(e.status(), 400);
        let e = parse::<Patient>(br#"{"resourceType":"Appointment"}"#, "Patient").unwrap_err();
        assert!(e.to_string().contains("Expected a Patient"), "{e}");
        let e = parse::<Patient>(
            br#"{"resourceType":"Patient","birthDate":"2000-13-45"}"#,
            "Patient",
        )
        .unwrap_err();
        assert!(e.to_string().contains("Patient.birthDate"), "{e}");
        let e = parse::<Patient>(
            br#"{"resourceType":"Patient","name":[{"family":"Toll","nickname":"T"}]}"#,
            "Patient",
        )
        .unwrap_err();
        assert!(e.to_string().contains("Patient.name[0].nickname"), "{e}");
        let ok = parse::<Patient>(
            br#"{"resourceType":"Patient","name":[{"family":"Toll","given":["Tove"]}],"birthDate":"2000-02-29"}"#,
            "Patient",
        );
        assert!(ok.is_ok(), "{ok:?}");
    }
}
