//! Hostile: tries to read what is not its caller's: other people's private
//! documents, other tenants' data, other plugins' data, blobs by guessed
//! ids, and live messages to people outside the visit.
//!
//! - `PUT /secret`: stores the body as `secret` in the caller's scope and
//!   as `secret/<caller-ref>` in the tenant scope, and puts it in a blob;
//!   a test seeds it as one person in one tenant.
//! - `GET /snoop?key=..&ref=..&blob=..&to=..`: as someone else, reports
//!   everything it can reach: all keys and values in both scopes, the
//!   given and guessed keys (`note/<ref>`, `secret`, the notes plugin's
//!   `note/<ref>`), blobs by the given and guessed ids, and a live message
//!   to each `to`.
//!
//! A host test asserts that the seeded secret appears in no answer given to
//! another person, another tenant, or a plugin other than this one.

use serde_json::{Value, json};
use tillit_plugin_sdk::storage::{self, Condition};
use tillit_plugin_sdk::{
    Error, Method, Plugin, Request, Response, Result, Scope, blobs, context, live,
};

#[derive(Debug)]
pub struct Snoop;

tillit_plugin_sdk::register!(Snoop);

impl Plugin for Snoop {
    fn on_request(request: Request) -> Result<Response> {
        match (request.method, request.path.as_str()) {
            (Method::Put, "/secret") => seed(&request),
            (Method::Get, "/snoop") => Ok(Response::json(&snoop(&request))),
            _ => Ok(Response::not_found()),
        }
    }
}

fn seed(request: &Request) -> Result<Response> {
    let caller = context::require_caller()?;
    let secret = &request.body;
    storage::set(Scope::Caller, "secret", secret, Condition::Always)?;
    let shared = storage::key(&["secret", &caller.person])?;
    storage::set(Scope::Tenant, &shared, secret, Condition::Always)?;
    let blob = blobs::put(Scope::Caller, "text/plain", secret)?;
    Ok(Response::json(&json!({ "blob": blob.id })))
}

fn snoop(request: &Request) -> Value {
    let caller = context::caller().map(|c| c.person);
    let visit = context::visit();
    let mut refs: Vec<String> = request
        .query
        .iter()
        .filter(|(n, _)| n == "ref")
        .map(|(_, v)| v.clone())
        .collect();
    refs.extend(
        visit
            .iter()
            .flat_map(|v| v.participants.iter().map(|p| p.person.clone())),
    );
    // Guesses at what references look like.
    refs.extend(["p_0", "p_1", "0", "1", "admin", "root"].map(String::from));

    let mut keys: Vec<String> = request
        .query
        .iter()
        .filter(|(n, _)| n == "key")
        .map(|(_, v)| v.clone())
        .collect();
    keys.push("secret".into());
    for r in &refs {
        keys.push(format!("note/{r}"));
        keys.push(format!("secret/{r}"));
    }

    let mut found = json!({ "caller": caller, "visit": visit.map(|v| v.id) });
    for (scope, name) in [(Scope::Tenant, "tenant"), (Scope::Caller, "caller")] {
        let mut everything = serde_json::Map::new();
        for key in storage::keys(scope, "") {
            match key {
                Ok(key) => {
                    everything.insert(key.clone(), read(scope, &key));
                }
                Err(e) => {
                    everything.insert("(list failed)".into(), json!(format!("{e:?}")));
                    break;
                }
            }
        }
        let guessed: serde_json::Map<String, Value> =
            keys.iter().map(|k| (k.clone(), read(scope, k))).collect();
        let mut blob_ids: Vec<String> = request
            .query
            .iter()
            .filter(|(n, _)| n == "blob")
            .map(|(_, v)| v.clone())
            .collect();
        blob_ids.extend(["0", "1", "b1", "b2", "../b1"].map(String::from));
        let blobs: serde_json::Map<String, Value> = blob_ids
            .iter()
            .map(|id| {
                let v = match blobs::get(scope, id) {
                    Ok(b) => json!(String::from_utf8_lossy(&b.data)),
                    Err(e) => json!(format!("{e:?}")),
                };
                (id.clone(), v)
            })
            .collect();
        found[name] = json!({ "all": everything, "guessed": guessed, "blobs": blobs });
    }
    let live: serde_json::Map<String, Value> = request
        .query
        .iter()
        .filter(|(n, _)| n == "to")
        .map(|(_, to)| {
            let r = live::send(to, r#"{"snoop":"hello"}"#);
            (to.clone(), json!(format!("{r:?}")))
        })
        .collect();
    found["live"] = json!(live);
    found
}

fn read(scope: Scope, key: &str) -> Value {
    match storage::get(scope, key) {
        Ok(Some(e)) => json!(String::from_utf8_lossy(&e.value)),
        Ok(None) => Value::Null,
        Err(Error::Invalid(_)) => json!("invalid"),
        Err(e) => json!(format!("{e:?}")),
    }
}
