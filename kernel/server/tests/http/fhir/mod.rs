//! The FHIR API as a journal system uses it: SMART Backend Services
//! tokens (and every way a token request or a token is refused), patients
//! registered and found by personnummer, visits booked, read, searched,
//! moved and cancelled, on SQLite and PostgreSQL. A booking made over FHIR
//! is the portal's booking (same SMS, same list, same access log), and a
//! portal booking is readable over FHIR.
//!
//! - [`practitioners`]: clinicians named by HSA-id.
//! - [`schedules`]: clinicians' calendars and taken times.
//! - [`transactions`]: a patient and their visit in one Bundle.
//! - [`versions`]: versions of what changes, read back (`vread`,
//!   `_history`) and guarding updates (`If-Match`).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tillit_domain::{Clock, Personnummer, TenantId};

use crate::support::{
    BACKENDS, Browser, HOUR, KARIN, Page, TOVE, TestApp, person_id, publish_profile, repo,
};

mod groups;
mod practitioners;
mod schedules;
mod transactions;
mod versions;

const HOST: &str = "demo.localhost";
const BASE: &str = "http://demo.localhost/fhir/R4";
const CLIENT: &str = "demo-journal";
const ALL_SCOPES: &str = "system/Patient.cruds system/Practitioner.rs system/PractitionerRole.rs system/Appointment.cruds system/Encounter.rs system/Schedule.rs system/Slot.rs";

fn key(file: &str) -> Vec<u8> {
    std::fs::read(repo(&format!("fhir/tests/keys/{file}"))).unwrap()
}

/// A client assertion as an EHR signs it, with `claims` overriding the
/// defaults (iss = sub = the client, aud = the token URL, exp in 4 min).
fn assertion(app: &TestApp, alg: Algorithm, overrides: Value) -> String {
    let now = app.clock.now().0 / 1000;
    let mut claims = json!({
        "iss": CLIENT,
        "sub": CLIENT,
        "aud": format!("{BASE}/auth/token"),
        "exp": now + 240,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    for (k, v) in overrides.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let (kid, key) = match alg {
        Algorithm::ES384 => (
            "ec-1",
            EncodingKey::from_ec_pem(&key("ec-p384-registered.pem")).unwrap(),
        ),
        _ => (
            "rsa-1",
            EncodingKey::from_rsa_pem(&key("rsa-registered.pem")).unwrap(),
        ),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    encode(&header, &claims, &key).unwrap()
}

async fn token_request(b: &mut Browser<'_>, assertion: &str, scope: &str) -> Page {
    b.post_raw(
        "/fhir/R4/auth/token",
        &[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", scope),
        ],
        &[],
    )
    .await
}

/// An access token for `scope`, as the EHR gets one.
async fn token(app: &TestApp, scope: &str) -> String {
    let mut b = app.browser(HOST);
    let a = assertion(app, Algorithm::ES384, json!({}));
    let page = token_request(&mut b, &a, scope).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let v: Value = serde_json::from_str(&page.body).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// A FHIR request with a token and, if given, a JSON body.
async fn fhir(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut b = app.browser(HOST);
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/fhir/R4{path}"))
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header(header::CONTENT_TYPE, "application/fhir+json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(body.map_or(Body::empty(), |v| Body::from(v.to_string())))
        .unwrap();
    let page = b.send(req).await;
    let v = served(&page);
    (page.status, v, page.headers)
}

thread_local! {
    /// Every resource the FHIR API answered with in this test (resources,
    /// Bundles, OperationOutcomes, the CapabilityStatement), for the three
    /// validators when the test ends. Per thread: each `#[tokio::test]`
    /// runs on a thread of its own.
    static SERVED: std::cell::RefCell<Vec<Value>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The page's JSON, kept for the validators if it is a FHIR resource.
fn served(page: &Page) -> Value {
    let v: Value = serde_json::from_str(&page.body).unwrap_or(Value::Null);
    if v.get("resourceType").is_some() {
        SERVED.with_borrow_mut(|s| s.push(v.clone()));
    }
    v
}

/// Runs the three validators over everything served so far.
fn validate_served() {
    let all = SERVED.take();
    assert!(!all.is_empty(), "no FHIR resource was served");
    crate::support::fhir_validators::assert_valid(&all);
}

/// A personnummer nobody in the demo tenant has, valid by the Luhn rule.
fn new_personnummer(date: &str, serial: &str) -> String {
    let digits: Vec<u32> = format!("{}{serial}", &date[2..])
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    let check = tillit_domain::personnummer::luhn_check_digit(&digits);
    format!("{date}{serial}{check}")
}

fn patient_json(pnr: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.2.752.129.2.1.3.1", "value": pnr}],
        "name": [{"family": "Journalsson", "given": ["Jonna"]}],
        "telecom": [{"system": "phone", "use": "mobile", "value": "070-765 43 21"}]
    })
}

/// The ids of a searchset's entries.
fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .collect()
}

/// Karin publishes her profile with one visit type (15 minutes) in the
/// portal; its id.
async fn karin_bookable(app: &TestApp) -> String {
    let mut karin = app.browser(HOST);
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let store = app.state.store.tenant(TenantId::parse("demo").unwrap());
    let id = person_id(app, KARIN).await;
    store.visit_types_of(&id).await.unwrap().remove(0).id
}

/// Tomorrow at `hh:mm` in Stockholm, as an instant with its offset.
fn tomorrow_at(app: &TestApp, hhmm: &str) -> String {
    let day = app.clock.now().plus(24 * HOUR).to_stockholm().date();
    let t = tillit_domain::Timestamp::from_stockholm(&day.to_string(), hhmm).unwrap();
    jiff::Timestamp::from_millisecond(t.0).unwrap().to_string()
}

fn appointment_json(patient: &str, karin: &str, visit_type: &str, start: &str) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "identifier": [{"system": "urn:oid:1.2.752.99999.1", "value": "EHR-4711"}],
        "serviceType": [{"coding": [{"system": "https://tillit.se/fhir/CodeSystem/visit-type", "code": visit_type}]}],
        "start": start,
        "minutesDuration": 15,
        "patientInstruction": "Ha dina mediciner till hands.",
        "participant": [
            {"actor": {"reference": format!("Patient/{patient}")}, "status": "needs-action"},
            {"actor": {"reference": format!("Practitioner/{karin}")}, "status": "accepted"}
        ]
    })
}

#[tokio::test]
async fn metadata_and_discovery_say_what_works_without_a_token() {
    let app = TestApp::new(BACKENDS[0]).await;
    let mut b = app.browser(HOST);
    let page = b.get("/fhir/R4/metadata").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.header("content-type")
            .starts_with("application/fhir+json")
    );
    let cs = served(&page);
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    let types: Vec<&str> = cs["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "Patient",
            "Practitioner",
            "PractitionerRole",
            "Appointment",
            "Encounter",
            "Schedule",
            "Slot"
        ]
    );
    // Versions where they are kept, and transactions at the base.
    let appointment = &cs["rest"][0]["resource"][3];
    assert_eq!(
        appointment["versioning"], "versioned-update",
        "{appointment}"
    );
    assert_eq!(appointment["readHistory"], true);
    assert_eq!(cs["rest"][0]["resource"][1]["versioning"], "no-version");
    assert_eq!(cs["rest"][0]["interaction"][0]["code"], "transaction");
    let page = b.get("/fhir/R4/.well-known/smart-configuration").await;
    let smart: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(smart["token_endpoint"], format!("{BASE}/auth/token"));
    assert_eq!(
        smart["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS384", "ES384"])
    );
    // Scopes for what is served, writable only where something is.
    let scopes = smart["scopes_supported"].to_string();
    for s in [
        "system/Appointment.cruds",
        "system/Slot.rs",
        "system/Schedule.rs",
    ] {
        assert!(scopes.contains(&format!("\"{s}\"")), "{s}: {scopes}");
    }
    assert!(!scopes.contains("Slot.cruds"), "{scopes}");
    // An unknown FHIR path answers in FHIR, not with a portal page.
    let page = b.get("/fhir/R4/Observation").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(served(&page)["resourceType"], "OperationOutcome");
    validate_served();
}

#[tokio::test]
async fn every_bad_token_request_and_every_bad_token_is_refused() {
    let app = TestApp::new(BACKENDS[0]).await;
    let mut b = app.browser(HOST);
    let token_url = format!("{BASE}/auth/token");
    let refused = |alg, claims: Value, why: &'static str| (alg, claims, why);
    let past = app.clock.now().0 / 1000 - 10;
    let far = app.clock.now().0 / 1000 + 3600;
    for (alg, claims, why) in [
        refused(Algorithm::ES384, json!({"exp": past}), "expired"),
        refused(
            Algorithm::ES384,
            json!({"exp": far}),
            "exp over 5 minutes ahead",
        ),
        refused(
            Algorithm::ES384,
            json!({"aud": "http://norrland.localhost/fhir/R4/auth/token"}),
            "wrong aud",
        ),
        refused(
            Algorithm::ES384,
            json!({"iss": "someone", "sub": "someone"}),
            "unknown client",
        ),
        refused(Algorithm::RS256, json!({}), "RS256"),
    ] {
        let page = token_request(&mut b, &assertion(&app, alg, claims), ALL_SCOPES).await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "{why}: {}",
            page.body
        );
        assert!(page.body.contains("invalid_client"), "{why}: {}", page.body);
    }
    // HS256 with the public key as the secret, and no signature at all.
    let claims =
        json!({"iss": CLIENT, "sub": CLIENT, "aud": token_url, "exp": far - 3500, "jti": "x1"});
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&key("rsa-registered.pub.pem")).unwrap(),
    )
    .unwrap();
    let parts: Vec<&str> = hs.split('.').collect();
    let none = format!(
        "{}.{}.",
        base64_url(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let unregistered = encode(
        &{
            let mut h = Header::new(Algorithm::RS384);
            h.kid = Some("rsa-1".into());
            h
        },
        &claims,
        &EncodingKey::from_rsa_pem(&key("rsa-unregistered.pem")).unwrap(),
    )
    .unwrap();
    for (a, why) in [
        (hs, "HS256"),
        (none, "alg none"),
        (unregistered, "unregistered key"),
    ] {
        let page = token_request(&mut b, &a, ALL_SCOPES).await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "{why}: {}",
            page.body
        );
    }
    // A replayed assertion buys nothing.
    let a = assertion(&app, Algorithm::RS384, json!({}));
    assert_eq!(
        token_request(&mut b, &a, ALL_SCOPES).await.status,
        StatusCode::OK
    );
    let page = token_request(&mut b, &a, ALL_SCOPES).await;
    assert_eq!(
        page.status,
        StatusCode::UNAUTHORIZED,
        "replay: {}",
        page.body
    );
    // A scope the client is not registered for.
    let a = assertion(&app, Algorithm::ES384, json!({}));
    let page = token_request(&mut b, &a, "system/Observation.rs").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("invalid_scope"), "{}", page.body);

    // Tokens: none, garbage, another tenant's host, expired, too narrow.
    let (status, outcome, headers) = fhir(&app, "", "GET", "/Patient", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(headers.get(header::WWW_AUTHENTICATE).is_some());
    let (status, ..) = fhir(&app, "abc.def.ghi", "GET", "/Patient", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let demo_token = token(&app, ALL_SCOPES).await;
    let mut norrland = app.browser("norrland.localhost");
    let req = Request::builder()
        .uri("/fhir/R4/Patient")
        .header(header::HOST, "norrland.localhost")
        .header(header::AUTHORIZATION, format!("Bearer {demo_token}"))
        .body(Body::empty())
        .unwrap();
    let page = norrland.send(req).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    let narrow = token(&app, "system/Patient.rs").await;
    let (status, outcome, _) = fhir(
        &app,
        &narrow,
        "POST",
        "/Patient",
        Some(patient_json(TOVE)),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{outcome}");
    assert!(
        outcome.to_string().contains("system/Patient.c"),
        "{outcome}"
    );
    app.clock.advance(std::time::Duration::from_secs(301));
    let (status, ..) = fhir(&app, &demo_token, "GET", "/Patient", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an expired token");
    validate_served();
}

#[tokio::test]
async fn an_assertion_buys_one_token_also_across_a_restart() {
    for backend in BACKENDS {
        let mut app = TestApp::new(backend).await;
        let a = assertion(&app, Algorithm::ES384, json!({}));
        let first = token_request(&mut app.browser(HOST), &a, ALL_SCOPES).await;
        assert_eq!(first.status, StatusCode::OK, "{backend:?}: {}", first.body);
        app.restart().await;
        let again = token_request(&mut app.browser(HOST), &a, ALL_SCOPES).await;
        assert_eq!(
            again.status,
            StatusCode::UNAUTHORIZED,
            "{backend:?}: {}",
            again.body
        );
        assert!(again.body.contains("used before"), "{}", again.body);
        // A new assertion, once the old one has expired too, is fine.
        app.clock.advance(std::time::Duration::from_secs(600));
        let fresh = assertion(&app, Algorithm::ES384, json!({}));
        let page = token_request(&mut app.browser(HOST), &fresh, ALL_SCOPES).await;
        assert_eq!(page.status, StatusCode::OK, "{backend:?}: {}", page.body);
    }
}

#[tokio::test]
async fn a_visit_held_in_the_portal_is_an_encounter_with_its_real_period() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        karin_bookable(&app).await;
        let booked_for = app.clock.now().plus(5 * crate::support::MINUTE);
        crate::support::book_visit(&app, "v1", booked_for, Vec::new()).await;
        let ehr = Ehr {
            app: &app,
            token: token(&app, ALL_SCOPES).await,
        };
        // Not started: no Encounter.
        let (status, _) = ehr.get("/Encounter/v1").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend:?}");
        let (_, none) = ehr.get("/Encounter?appointment=Appointment/v1").await;
        assert_eq!(none["total"], 0, "{none}");

        // Tove waits on the visit's page: the EHR sees her arrived, and
        // booked again once she has left it a while.
        app.clock.advance(2 * crate::support::MINUTE);
        let (_, a) = ehr.get("/Appointment/v1").await;
        assert_eq!(a["status"], "booked", "{backend:?}: {a}");
        let mut tove_b = app.browser(HOST);
        tove_b.login(TOVE).await;
        let page = tove_b.get("/visits/v1/status").await;
        assert!(page.body.contains("waiting"), "{}", page.body);
        let (_, a) = ehr.get("/Appointment/v1").await;
        assert_eq!(a["status"], "arrived", "{backend:?}: {a}");
        let (_, found) = ehr.get("/Appointment?status=arrived").await;
        assert_eq!(found["total"], 1, "{found}");
        app.clock.advance(std::time::Duration::from_secs(11));
        let (_, a) = ehr.get("/Appointment/v1").await;
        assert_eq!(a["status"], "booked", "{backend:?}: {a}");
        tove_b.get("/visits/v1").await;
        let (_, a) = ehr.get("/Appointment/v1").await;
        assert_eq!(a["status"], "arrived", "the page itself counts too: {a}");

        // Karin starts it two minutes early and ends it 20 minutes later.
        app.clock.advance(std::time::Duration::from_secs(49));
        let started = app.clock.now();
        let mut karin = app.browser(HOST);
        karin.login(KARIN).await;
        karin.get("/visits/v1").await;
        let page = karin.post("/visits/v1/start", &[]).await;
        assert!(page.status.is_redirection(), "{}", page.body);
        let (_, e) = ehr.get("/Encounter/v1").await;
        assert_eq!(e["status"], "in-progress", "{backend:?}: {e}");
        assert_eq!(e["class"]["code"], "VR");
        let at = |t: tillit_domain::Timestamp| jiff::Timestamp::from_millisecond(t.0).unwrap();
        let start = e["period"]["start"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap();
        assert_eq!(start, at(started), "{e}");
        assert!(e["period"].get("end").is_none(), "{e}");
        let (_, a) = ehr.get("/Appointment/v1").await;
        assert_eq!(a["status"], "arrived", "{a}");

        app.clock.advance(20 * crate::support::MINUTE);
        let ended = app.clock.now();
        karin.get("/visits/v1/end").await;
        let page = karin.post("/visits/v1/end", &[("confirmed", "1")]).await;
        assert!(page.status.is_redirection(), "{}", page.body);
        // Tokens last five minutes: the EHR gets a new one.
        let ehr = Ehr {
            app: &app,
            token: token(&app, ALL_SCOPES).await,
        };
        let tove = person_id(&app, TOVE).await;
        let search = format!(
            "/Appointment?patient=Patient/{}&_revinclude=Encounter:appointment",
            tove.as_str()
        );
        let (status, bundle) = ehr.get(&search).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        let entries = bundle["entry"].as_array().unwrap();
        assert_eq!(entries[0]["resource"]["status"], "fulfilled", "{bundle}");
        let e = &entries[1]["resource"];
        assert_eq!(
            (
                &e["resourceType"],
                &e["status"],
                &entries[1]["search"]["mode"]
            ),
            (&json!("Encounter"), &json!("finished"), &json!("include")),
            "{bundle}"
        );
        let end = e["period"]["end"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap();
        assert_eq!(end, at(ended), "{e}");
        assert_eq!(e["appointment"][0]["reference"], "Appointment/v1");
    }
    validate_served();
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An EHR with an access token: what it sends and what it gets back.
struct Ehr<'a> {
    app: &'a TestApp,
    token: String,
}

impl Ehr<'_> {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, v, _) = fhir(self.app, &self.token, "GET", path, None, &[]).await;
        (status, v)
    }

    async fn post(
        &self,
        path: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        fhir(self.app, &self.token, "POST", path, Some(body), headers).await
    }

    /// Sets the Appointment's status with a JSON Patch.
    async fn set_status(&self, id: &str, status: &str) -> (StatusCode, Value) {
        let patch = json!([{"op": "replace", "path": "/status", "value": status}]);
        let ct = [("content-type", "application/json-patch+json")];
        let path = format!("/Appointment/{id}");
        let (status, v, _) = fhir(self.app, &self.token, "PATCH", &path, Some(patch), &ct).await;
        (status, v)
    }
}

#[tokio::test]
async fn an_ehr_registers_a_patient_and_books_a_visit_the_portal_shows() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        let visit_type = karin_bookable(&app).await;
        let karin = person_id(&app, KARIN).await;
        let ehr = Ehr {
            app: &app,
            token: token(&app, ALL_SCOPES).await,
        };
        let pnr = new_personnummer("19900101", "238");

        // Find or create, twice: one patient.
        let cond = format!("identifier=http://electronichealth.se/identifier/personnummer|{pnr}");
        let find_or_create = [("if-none-exist", cond.as_str())];
        let (status, p1, headers) = ehr
            .post("/Patient", patient_json(&pnr), &find_or_create)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?}: {p1}");
        let patient = p1["id"].as_str().unwrap().to_owned();
        let location = format!("{BASE}/Patient/{patient}/_history/1");
        assert_eq!(headers.get(header::LOCATION).unwrap(), &location);
        assert_eq!(
            p1["identifier"][0]["system"],
            "http://electronichealth.se/identifier/personnummer"
        );
        assert_eq!(p1["telecom"][0]["value"], "+46707654321");
        let (status, p2, _) = ehr
            .post("/Patient", patient_json(&pnr), &find_or_create)
            .await;
        assert_eq!(
            (status, &p2["id"]),
            (StatusCode::OK, &p1["id"]),
            "{backend:?}"
        );
        let (status, dup, _) = ehr.post("/Patient", patient_json(&pnr), &[]).await;
        assert_eq!(status, StatusCode::CONFLICT, "{dup}");
        let by_oid = format!("/Patient?identifier=urn:oid:1.2.752.129.2.1.3.1|{pnr}");
        let (status, found) = ehr.get(&by_oid).await;
        assert_eq!(
            (status, &found["total"]),
            (StatusCode::OK, &json!(1)),
            "{found}"
        );
        assert_eq!(found["entry"][0]["resource"]["id"], patient.as_str());

        // Karin's role, as her published profile gives it.
        let (status, roles) = ehr
            .get(&format!(
                "/PractitionerRole?practitioner=Practitioner/{}",
                karin.as_str()
            ))
            .await;
        assert_eq!(
            (status, &roles["total"]),
            (StatusCode::OK, &json!(1)),
            "{roles}"
        );
        let role = &roles["entry"][0]["resource"];
        assert_eq!(role["code"][0]["text"], "Leg. psykolog", "{role}");
        assert_eq!(role["active"], true, "{role}");

        // The visit, booked as the invite form books it.
        let start = tomorrow_at(&app, "10:00");
        let visit = |start: &str| appointment_json(&patient, karin.as_str(), &visit_type, start);
        let (status, a, headers) = ehr.post("/Appointment", visit(&start), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?}: {a}");
        let id = a["id"].as_str().unwrap().to_owned();
        let location = format!("{BASE}/Appointment/{id}/_history/1");
        assert_eq!(headers.get(header::LOCATION).unwrap(), &location);
        // The demo tenant asks patients to confirm.
        assert_eq!(a["status"], "pending");
        assert_eq!(a["participant"][0]["status"], "needs-action");
        assert_eq!(a["patientInstruction"], "Ha dina mediciner till hands.");
        let link = &a["extension"][0];
        assert_eq!(
            link["url"],
            "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService"
        );
        let address = link["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["url"] == "address")
            .unwrap();
        let url = address["valueUrl"].as_str().unwrap();
        assert!(url.ends_with(&format!("/visits/{id}")), "{link}");
        // Karin sees it among her bookings; the patient got the SMS.
        let mut karin_b = app.browser(HOST);
        karin_b.login(KARIN).await;
        let list = karin_b.get("/bookings").await;
        assert!(list.body.contains("Jonna Journalsson"), "{backend:?}");
        let store = app.state.store.tenant(TenantId::parse("demo").unwrap());
        let sent = |kind: &'static str| {
            let (store, id) = (&store, &id);
            async move {
                let all = store.notifications_of_booking(id).await.unwrap();
                all.iter().filter(|n| n.kind.as_str() == kind).count()
            }
        };
        assert_eq!(sent("invited").await, 1, "{backend:?}");
        // The access log names the journal system.
        let log = store
            .access_log_for(&Personnummer::parse(&pnr).unwrap())
            .await
            .unwrap();
        let by_ehr = |action: &str, what: &str| {
            log.iter().any(|e| {
                e.actor_id == format!("journal-system:{CLIENT}")
                    && e.actor_role == "journal_system"
                    && e.action == action
                    && e.what == what
            })
        };
        assert!(by_ehr("create", "fhir.patient"), "{backend:?}: {log:?}");
        assert!(by_ehr("create", "booking"), "{backend:?}: {log:?}");
        assert!(
            by_ehr("read", "fhir.patient.search"),
            "{backend:?}: {log:?}"
        );

        // The EHR's own id finds it, and sending it again books nothing.
        assert_eq!(a["identifier"][0]["value"], "EHR-4711", "{a}");
        let (_, by_id) = ehr
            .get("/Appointment?identifier=urn:oid:1.2.752.99999.1|EHR-4711")
            .await;
        assert_eq!(by_id["total"], 1, "{by_id}");
        let cond = [(
            "if-none-exist",
            "identifier=urn:oid:1.2.752.99999.1|EHR-4711",
        )];
        let later = tomorrow_at(&app, "11:00");
        let (status, again, _) = ehr.post("/Appointment", visit(&later), &cond).await;
        assert_eq!(
            (status, &again["id"]),
            (StatusCode::OK, &a["id"]),
            "{again}"
        );
        let (status, o, _) = ehr.post("/Appointment", visit(&later), &[]).await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend:?}: {o}");

        // The same slot again is taken; a start in the past is refused.
        let (status, o, _) = ehr.post("/Appointment", visit(&start), &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
        assert_eq!(o["issue"][0]["expression"][0], "Appointment.start", "{o}");
        let an_hour_ago = app.clock.now().0 - 3_600_000;
        let past = jiff::Timestamp::from_millisecond(an_hour_ago)
            .unwrap()
            .to_string();
        let (status, o, _) = ehr.post("/Appointment", visit(&past), &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
        assert!(o.to_string().contains("in the past"), "{o}");

        // Read back, and searched with the patient included.
        let (status, read) = ehr.get(&format!("/Appointment/{id}")).await;
        assert_eq!((status, &read["id"]), (StatusCode::OK, &a["id"]));
        let day = &start[..10];
        let search = format!(
            "/Appointment?patient=Patient/{patient}&date=ge{day}&_include=Appointment:patient"
        );
        let (status, bundle) = ehr.get(&search).await;
        assert_eq!(
            (status, &bundle["total"]),
            (StatusCode::OK, &json!(1)),
            "{bundle}"
        );
        let modes: Vec<(&str, &str)> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["resource"]["resourceType"].as_str().unwrap(),
                    e["search"]["mode"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(modes, [("Appointment", "match"), ("Patient", "include")]);

        // Cancelled by the EHR: the patient is told, as from the portal,
        // and it cannot be brought back.
        let (status, c) = ehr.set_status(&id, "cancelled").await;
        assert_eq!(
            (status, &c["status"]),
            (StatusCode::OK, &json!("cancelled")),
            "{c}"
        );
        assert_eq!(sent("cancelled").await, 1, "{backend:?}");
        let (status, o) = ehr.set_status(&id, "booked").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
    }
    validate_served();
}

#[tokio::test]
async fn a_portal_booking_is_read_over_fhir_and_its_cancellation_is_seen() {
    for backend in BACKENDS {
        let app = TestApp::new(backend).await;
        karin_bookable(&app).await;
        let start = app.clock.now().plus(26 * HOUR);
        crate::support::book_visit(&app, "p1", start, Vec::new()).await;
        let tove = person_id(&app, TOVE).await;
        let t = token(&app, ALL_SCOPES).await;
        let (status, bundle, _) = fhir(
            &app,
            &t,
            "GET",
            &format!("/Appointment?actor=Patient/{}&status=booked", tove.as_str()),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {bundle}");
        assert_eq!(bundle["total"], 1, "{bundle}");
        assert_eq!(bundle["entry"][0]["resource"]["id"], "p1");
        // Tove cancels in the portal; the EHR sees it.
        let mut b = app.browser(HOST);
        b.login(TOVE).await;
        b.get("/bookings/p1/cancel").await;
        let page = b.post("/bookings/p1/cancel", &[("confirmed", "1")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let (_, a, _) = fhir(&app, &t, "GET", "/Appointment/p1", None, &[]).await;
        assert_eq!(a["status"], "cancelled", "{backend:?}: {a}");
        assert_eq!(a["participant"][0]["status"], "declined");
    }
    validate_served();
}

#[tokio::test]
async fn bad_requests_get_a_precise_operation_outcome_and_change_nothing() {
    let app = TestApp::new(BACKENDS[0]).await;
    let t = token(&app, ALL_SCOPES).await;
    let mut b = app.browser(HOST);
    let send = |method: &str, path: &str, ct: &str, body: &str| {
        Request::builder()
            .method(method)
            .uri(format!("/fhir/R4{path}"))
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let json = "application/fhir+json";
    for (req, status, says) in [
        (
            send("POST", "/Patient", json, "{\"resourceType\":"),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            send(
                "POST",
                "/Patient",
                json,
                r#"{"resourceType":"Patient","birthDate":"2000-13-01"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "Patient.birthDate",
        ),
        (
            send(
                "POST",
                "/Patient",
                json,
                r#"{"resourceType":"Patient","favouriteColour":"blue"}"#,
            ),
            StatusCode::BAD_REQUEST,
            "Patient.favouriteColour",
        ),
        (
            send("POST", "/Patient", "text/plain", "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/fhir+json",
        ),
        (
            send(
                "POST",
                "/Patient",
                json,
                r#"{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.752.129.2.1.3.1","value":"19900101-2385"}],"name":[{"family":"X","given":["Y"]}]}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "mobile number",
        ),
        (
            send("GET", "/Patient?foo=bar", json, ""),
            StatusCode::OK,
            "searchset",
        ),
        (
            send("GET", "/Appointment?date=tomorrow", json, ""),
            StatusCode::BAD_REQUEST,
            "date=tomorrow",
        ),
        (
            send("GET", "/Patient/nobody", json, ""),
            StatusCode::NOT_FOUND,
            "OperationOutcome",
        ),
        (
            send("DELETE", "/Patient/nobody", json, ""),
            StatusCode::METHOD_NOT_ALLOWED,
            "DELETE is not supported",
        ),
        // A patient's own details are not a journal system's to overwrite.
        (
            send(
                "PUT",
                "/Patient/nobody",
                json,
                "{\"resourceType\":\"Patient\"}",
            ),
            StatusCode::METHOD_NOT_ALLOWED,
            "PUT is not supported",
        ),
    ] {
        let page = b.send(req).await;
        served(&page);
        assert_eq!(page.status, status, "{says}: {}", page.body);
        assert!(page.body.contains(says), "{says}: {}", page.body);
    }
    let strict = Request::builder()
        .uri("/fhir/R4/Patient?foo=bar")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .header("prefer", "handling=strict")
        .body(Body::empty())
        .unwrap();
    let page = b.send(strict).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("foo"), "{}", page.body);
    let xml = Request::builder()
        .uri("/fhir/R4/metadata")
        .header(header::HOST, HOST)
        .header(header::ACCEPT, "application/fhir+xml")
        .body(Body::empty())
        .unwrap();
    // metadata is public; a resource read negotiates the format.
    let _ = b.send(xml).await;
    let (status, _, _) = fhir(
        &app,
        &t,
        "GET",
        "/Patient",
        None,
        &[("accept", "application/fhir+xml")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    // Nothing was registered by any of it.
    let store = app.state.store.tenant(TenantId::parse("demo").unwrap());
    assert!(
        store
            .person_by_personnummer(&Personnummer::parse("19900101-2385").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    validate_served();
}
