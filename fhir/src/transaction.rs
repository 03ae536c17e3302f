//! Transaction Bundles an EHR sends (`POST [base]` with a Bundle of type
//! `transaction`): read into their entries, each resource left as JSON for
//! its own strict reader, and the `transaction-response` written back.
//! What a transaction may hold, and doing it all or nothing, is the
//! kernel's (`routes/fhir/transaction.rs`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::map::{Version, etag, instant};
use crate::outcome::FhirError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InBundle {
    resource_type: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    meta: Option<Value>,
    r#type: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    entry: Vec<InEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InEntry {
    #[serde(default)]
    full_url: Option<String>,
    #[serde(default)]
    resource: Option<Value>,
    request: InRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InRequest {
    method: String,
    url: String,
    #[serde(default)]
    if_none_exist: Option<String>,
    #[serde(default)]
    if_match: Option<String>,
}

/// One entry of a transaction: what to do, to what, with which resource.
#[derive(Debug, Clone, PartialEq)]
pub struct TxEntry {
    /// `urn:uuid:…` by which other entries refer to this one's resource.
    pub full_url: Option<String>,
    pub method: String,
    /// `Patient`, `Appointment/1`, … (relative to the base).
    pub url: String,
    pub if_none_exist: Option<String>,
    pub if_match: Option<String>,
    /// The resource, as JSON, for its type's own reader.
    pub resource: Option<Vec<u8>>,
}

/// Reads a transaction Bundle. Malformed: 400 with the path; a `batch`
/// (or any other type): 422, since only transactions are processed.
pub fn read(body: &[u8]) -> Result<Vec<TxEntry>, FhirError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| FhirError::Structure {
        path: None,
        message: format!("The body is not valid JSON: {e}"),
    })?;
    if value.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(FhirError::structure(
            "Bundle.resourceType",
            "POST to the base takes a Bundle of type transaction.",
        ));
    }
    let b: InBundle =
        serde_path_to_error::deserialize(&value).map_err(|e| FhirError::Structure {
            path: Some(format!("Bundle.{}", e.path())),
            message: e.inner().to_string(),
        })?;
    let _ = (&b.resource_type, &b.id, &b.meta, &b.timestamp);
    if b.r#type != "transaction" {
        return Err(FhirError::rule(
            "Bundle.type",
            format!(
                "A Bundle of type {} is not processed here; send a transaction.",
                b.r#type
            ),
        ));
    }
    b.entry
        .into_iter()
        .map(|e| {
            Ok(TxEntry {
                full_url: e.full_url,
                method: e.request.method,
                url: e.request.url,
                if_none_exist: e.request.if_none_exist,
                if_match: e.request.if_match,
                resource: e
                    .resource
                    .map(|r| serde_json::to_vec(&r).map_err(|_| FhirError::Internal))
                    .transpose()?,
            })
        })
        .collect()
}

/// What one entry came to.
#[derive(Debug, Clone)]
pub struct TxResult {
    /// Where the resource lives now (`https://…/Patient/1`).
    pub full_url: String,
    /// `201 Created`, or `200 OK` for a conditional create that found it.
    pub status: &'static str,
    /// `Patient/1/_history/1`.
    pub location: String,
    pub resource: String,
    pub version: Version,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutResponse<'a> {
    status: &'static str,
    location: &'a str,
    etag: String,
    last_modified: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutEntry<'a> {
    full_url: &'a str,
    resource: &'a RawValue,
    response: OutResponse<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutBundle<'a> {
    resource_type: &'static str,
    r#type: &'static str,
    entry: Vec<OutEntry<'a>>,
}

/// The `transaction-response` Bundle, one entry per entry sent, in order.
pub fn response(results: &[TxResult]) -> Result<String, FhirError> {
    let raws = results
        .iter()
        .map(|r| RawValue::from_string(r.resource.clone()).map_err(|_| FhirError::Internal))
        .collect::<Result<Vec<_>, _>>()?;
    let mut entry = Vec::with_capacity(results.len());
    for (r, raw) in results.iter().zip(&raws) {
        entry.push(OutEntry {
            full_url: &r.full_url,
            resource: raw,
            response: OutResponse {
                status: r.status,
                location: &r.location,
                etag: etag(r.version),
                last_modified: serde_json::to_value(instant(r.version.last_updated)?)
                    .map_err(|_| FhirError::Internal)?,
            },
        });
    }
    serde_json::to_string(&OutBundle {
        resource_type: "Bundle",
        r#type: "transaction-response",
        entry,
    })
    .map_err(|_| FhirError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_is_read_into_its_entries_and_anything_else_is_refused() {
        let body = serde_json::json!({
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{
                "fullUrl": "urn:uuid:1",
                "resource": {"resourceType": "Patient"},
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=x|1"}
            }]
        });
        let entries = read(body.to_string().as_bytes()).unwrap();
        assert_eq!(entries[0].full_url.as_deref(), Some("urn:uuid:1"));
        assert_eq!(entries[0].if_none_exist.as_deref(), Some("identifier=x|1"));
        assert_eq!(
            entries[0].resource.as_deref(),
            Some(&br#"{"resourceType":"Patient"}"#[..])
        );

        let batch = serde_json::json!({"resourceType": "Bundle", "type": "batch", "entry": []});
        assert_eq!(
            read(batch.to_string().as_bytes()).unwrap_err().status(),
            422
        );
        let unknown = serde_json::json!({
            "resourceType": "Bundle", "type": "transaction",
            "entry": [{"request": {"method": "POST", "url": "Patient", "verb": "x"}}]
        });
        let e = read(unknown.to_string().as_bytes()).unwrap_err();
        assert!(
            matches!(&e, FhirError::Structure { path: Some(p), .. } if p.starts_with("Bundle.entry[0].request")),
            "{e:?}"
        );
        assert_eq!(read(b"{}").unwrap_err().status(), 400);
    }
}
