//! The CapabilityStatement: what this server does, built from the same
//! table the kernel's FHIR router dispatches on, so it names exactly what
//! works.

use serde_json::{Value, json};

/// What the server does with one resource type.
#[derive(Debug, Clone, Copy)]
pub struct ResourceCapability {
    pub resource_type: &'static str,
    /// `read`, `vread`, `search-type`, `create`, `update`, `patch`, …
    pub interactions: &'static [&'static str],
    /// Search parameters: (name, type).
    pub search_params: &'static [(&'static str, &'static str)],
    pub conditional_create: bool,
    pub search_include: &'static [&'static str],
    pub search_rev_include: &'static [&'static str],
}

/// The CapabilityStatement for a server at `base` (`https://host/fhir/R4`),
/// as of `date` (an ISO date-time: when this software was started), as
/// JSON.
pub fn statement(
    base: &str,
    software_version: &str,
    date: &str,
    token_url: &str,
    resources: &[ResourceCapability],
    system_interactions: &[&str],
) -> String {
    let resource: Vec<Value> = resources
        .iter()
        .map(|r| {
            let has = |i: &str| r.interactions.contains(&i);
            // Versions are kept where vread is served, and updates check
            // them (If-Match) where update is.
            let versioning = match (has("vread"), has("update")) {
                (true, true) => "versioned-update",
                (true, false) => "versioned",
                _ => "no-version",
            };
            let mut v = json!({
                "type": r.resource_type,
                "interaction": r.interactions.iter().map(|i| json!({"code": i})).collect::<Vec<_>>(),
                "versioning": versioning,
                "readHistory": has("vread"),
                "updateCreate": false,
                "conditionalCreate": r.conditional_create,
            });
            if !r.search_params.is_empty() {
                v["searchParam"] = r
                    .search_params
                    .iter()
                    .map(|(name, ty)| json!({"name": name, "type": ty}))
                    .collect();
            }
            if !r.search_include.is_empty() {
                v["searchInclude"] = json!(r.search_include);
            }
            if !r.search_rev_include.is_empty() {
                v["searchRevInclude"] = json!(r.search_rev_include);
            }
            v
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Tillit",
        "kind": "instance",
        "software": {"name": "Tillit", "version": software_version},
        "implementation": {"description": "Tillit video visits", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR"
                }]}],
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [{"url": "token", "valueUri": token_url}]
                }]
            },
            "resource": resource,
            "interaction": system_interactions.iter().map(|i| json!({"code": i})).collect::<Vec<_>>(),
        }],
    })
    .to_string()
}
