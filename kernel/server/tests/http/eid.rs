//! Logging in with e-ID through a real, certified OpenID provider
//! (oidc-provider, `tests/support/oidc/`), set up as each Swedish broker
//! style: Idura (`ssn` in the ID token), Signicat (`nin` only at UserInfo,
//! with `private_key_jwt`), the Swedish OIDC profile (its own claim name)
//! and Inera's IdP for SITHS (`employeeHsaId`, staff only). Each refusal
//! is tried as an attacker or a broken setup would make it, and leaves no
//! session. The ID token checks against forged tokens (wrong `iss`, `aud`,
//! `nonce`, signature, `alg: none`, HS256) are unit tests in
//! `src/eid/flow.rs`; the provider never signs such tokens.

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use openidconnect::url::Url;
use serde_json::{Value, json};
use tillit_kernel::config::{Config, Mode};

use crate::support::oidc::OidcProvider;
use crate::support::{BACKENDS, Backend, Browser, Page, TempDir, TestApp, repo};

const TOVE: &str = "200002292381";
const SAMI: &str = "198112789873";
const KARIN: &str = "198112189876";
const KARIN_HSA: &str = "SE2321000016-D001";
const SECRET: &str = "the-client-secret-of-the-tests";
const LOA3: &str = "http://id.elegnamnden.se/loa/1.0/loa3";
const LOA2: &str = "http://id.elegnamnden.se/loa/1.0/loa2";
/// The kernel's manual clock at the start of every test app.
const KERNEL_START_MS: i64 = 1_800_000_000_000;

fn callback(host: &str) -> String {
    let port = Config::default().server.listen.port();
    format!("http://{host}:{port}/login/oidc/callback")
}

/// A client of the provider, for a method of the demo (and norrland)
/// tenant.
fn client(id: &str) -> Value {
    json!({
        "client_id": id,
        "client_secret": SECRET,
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uris": [callback("demo.localhost"), callback("norrland.localhost")],
    })
}

/// A client that authenticates with `private_key_jwt`, with the test RSA
/// key (`fhir/tests/keys/`), RS256.
fn key_client(id: &str) -> Value {
    let jwks: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("fhir/tests/keys/registered.jwks.json")).unwrap(),
    )
    .unwrap();
    let mut rsa = jwks["keys"][0].clone();
    rsa["alg"] = json!("RS256");
    json!({
        "client_id": id,
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [rsa]},
        "redirect_uris": [callback("demo.localhost"), callback("norrland.localhost")],
    })
}

/// A provider on the kernel's clock, with these clients and claims.
fn provider(clients: Vec<Value>, claims_in: &str, now_ms: i64) -> OidcProvider {
    OidcProvider::start(&json!({
        "clients": clients,
        "claims_in": claims_in,
        "now_ms": now_ms,
    }))
}

/// One `[[login.methods]]` block.
#[allow(clippy::too_many_arguments)]
fn method(
    id: &str,
    label: &str,
    serves: &str,
    issuer: &str,
    auth: &str,
    scopes: &[&str],
    identity: &str,
    claim: &str,
) -> String {
    format!(
        "\n[[login.methods]]\nid = \"{id}\"\nlabel = \"{label}\"\nfor = \"{serves}\"\nissuer = \"{issuer}\"\n\
         client_id = \"{id}\"\n{auth}\nscopes = {scopes:?}\nacr_values = [\"{LOA3}\"]\n\
         identity = \"{identity}\"\nclaim = \"{claim}\"\n"
    )
}

const SECRET_AUTH: &str = "client_secret_file = \"secrets/client.txt\"";
const KEY_AUTH: &str = "private_key_file = \"secrets/client.pem\"\nkey_id = \"rsa-1\"";

/// The repository's tenants, with `demo` and `norrland` text appended to
/// their files, and the secrets the methods name.
fn tenants_with(demo: &str, norrland: &str) -> TempDir {
    let dir = TempDir::new("tillit-eid-tenants");
    copy_dir(&repo("tenants"), dir.path());
    let secrets = dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("client.txt"), format!("{SECRET}\n")).unwrap();
    std::fs::copy(
        repo("fhir/tests/keys/rsa-registered.pem"),
        secrets.join("client.pem"),
    )
    .unwrap();
    for (file, extra) in [("demo.toml", demo), ("norrland.toml", norrland)] {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

async fn app_with(backend: Backend, tenants: &TempDir) -> TestApp {
    let dir = tenants.path().to_owned();
    TestApp::with(backend, move |c| c.tenants_dir = dir).await
}

/// The browser's way through an e-ID login with `method`: the portal's
/// redirect, then the provider's (with `login_hint` = `who`, and `tweak`
/// applied to the authorisation request as a tampering browser might),
/// and back to the portal's callback. Returns the authorisation URL the
/// portal made and the callback's page.
async fn eid_login(
    b: &mut Browser<'_>,
    method: &str,
    who: &str,
    tweak: impl Fn(&mut Url),
) -> (Url, Page) {
    let callback_url = eid_callback_url(b, method, who, tweak).await;
    let page = follow_callback(b, &callback_url.1).await;
    (callback_url.0, page)
}

/// The first half of [`eid_login`]: the authorisation URL and where the
/// provider sends the browser back (not yet followed).
async fn eid_callback_url(
    b: &mut Browser<'_>,
    method: &str,
    who: &str,
    tweak: impl Fn(&mut Url),
) -> (Url, String) {
    let start = b.get(&format!("/login/oidc/{method}")).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let auth = Url::parse(start.location()).unwrap();
    let mut asked = auth.clone();
    asked.query_pairs_mut().append_pair("login_hint", who);
    tweak(&mut asked);
    let back = chain(asked.as_str(), &b.host).await;
    (auth, back)
}

async fn follow_callback(b: &mut Browser<'_>, url: &str) -> Page {
    let url = Url::parse(url).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    b.get(&path).await
}

/// Whether the browser is logged in: `/me` answers (or, for a patient
/// who has not yet accepted the tenant's terms, asks for them first).
async fn logged_in(b: &mut Browser<'_>) -> bool {
    let me = b.get("/me").await;
    me.status == StatusCode::OK || me.location().starts_with("/terms")
}

#[tokio::test]
async fn each_brokers_style_logs_its_people_in_by_personnummer_or_hsa_id() {
    let in_token = provider(
        vec![client("bankid"), client("oidcse"), client("siths")],
        "id_token",
        KERNEL_START_MS,
    );
    let at_userinfo = provider(vec![key_client("freja")], "userinfo", KERNEL_START_MS);
    let demo = [
        method(
            "bankid",
            "Mobilt BankID",
            "patients",
            &in_token.issuer,
            SECRET_AUTH,
            &["openid", "ssn"],
            "personnummer",
            "ssn",
        ),
        method(
            "oidcse",
            "BankID (Sveriges OIDC-profil)",
            "patients",
            &in_token.issuer,
            SECRET_AUTH,
            &["openid", "https://id.oidc.se/scope/naturalPersonNumber"],
            "personnummer",
            "https://id.oidc.se/claim/personalIdentityNumber",
        ),
        method(
            "siths",
            "SITHS-kort",
            "staff",
            &in_token.issuer,
            SECRET_AUTH,
            &["openid", "siths"],
            "hsa_id",
            "employeeHsaId",
        ),
        method(
            "freja",
            "Freja eID",
            "everyone",
            &at_userinfo.issuer,
            KEY_AUTH,
            &["openid", "nin"],
            "personnummer",
            "nin",
        ),
    ]
    .concat();
    let tenants = tenants_with(&demo, "");
    for backend in BACKENDS {
        let app = app_with(backend, &tenants).await;
        let login = app.browser("demo.localhost").get("/login").await;
        for label in [
            "Mobilt BankID",
            "Freja eID",
            "SITHS-kort",
            "/login/oidc/bankid",
        ] {
            assert!(login.body.contains(label), "the login page lacks {label}");
        }
        for (method, who, what) in [
            ("bankid", TOVE, "Idura style: ssn in the ID token"),
            ("oidcse", SAMI, "the Swedish OIDC profile's claim"),
            ("siths", KARIN_HSA, "SITHS: staff by HSA-id"),
            (
                "freja",
                KARIN,
                "Signicat style: nin only at UserInfo, private_key_jwt",
            ),
        ] {
            let mut b = app.browser("demo.localhost");
            // The session a visitor had before logging in is replaced.
            b.get("/login").await;
            let before = b.session_cookie().cloned();
            let (auth, page) = eid_login(&mut b, method, who, |_| {}).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{what}: {}", page.body);
            assert_eq!(page.location(), "/", "{what}");
            assert!(
                b.session_cookie().is_some() && b.session_cookie() != before.as_ref(),
                "{what}"
            );
            assert!(logged_in(&mut b).await, "{what}: not logged in");
            let q: std::collections::HashMap<_, _> = auth.query_pairs().into_owned().collect();
            assert_eq!(
                q.get("code_challenge_method").map(String::as_str),
                Some("S256"),
                "{what}"
            );
            assert!(q.contains_key("state") && q.contains_key("nonce"), "{what}");
            assert_eq!(
                q.get("acr_values").map(String::as_str),
                Some(LOA3),
                "{what}"
            );
            // The login cookie is used once.
            assert!(!b.cookies.contains_key("tillit_eid"), "{what}");
        }
        // A deep link survives the login.
        let mut b = app.browser("demo.localhost");
        let login_page = b.get("/login?next=/me").await;
        assert!(
            login_page
                .body
                .contains("/login/oidc/bankid?next&#x3D;%2Fme"),
            "{}",
            login_page.body
        );
        let start = b.get("/login/oidc/bankid?next=/me").await;
        let mut asked = Url::parse(start.location()).unwrap();
        asked.query_pairs_mut().append_pair("login_hint", TOVE);
        let back = chain(asked.as_str(), "demo.localhost").await;
        let page = follow_callback(&mut b, &back).await;
        assert_eq!(page.location(), "/me");
    }
}

/// Follows the provider's redirects from `at` until it sends the browser
/// back to `host`'s callback.
async fn chain(at: &str, host: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut at = at.to_owned();
    for _ in 0..8 {
        if at.starts_with(&callback(host)) {
            return at;
        }
        let res = http.get(&at).send().await.unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let Some(location) = location else {
            panic!(
                "the provider answered {status} with no redirect: {}",
                res.text().await.unwrap()
            );
        };
        at = location;
    }
    panic!("the provider never sent the browser back: last at {at}");
}

/// Asserts that the callback's page refused the login with `text` and that
/// the browser has no session.
async fn refused(b: &mut Browser<'_>, page: &Page, status: StatusCode, text: &str, what: &str) {
    assert_eq!(page.status, status, "{what}: {}", page.body);
    assert!(
        page.body.contains(text),
        "{what}: the page lacks {text:?}: {}",
        page.body
    );
    assert!(!logged_in(b).await, "{what}: logged in anyway");
}

#[tokio::test]
async fn every_login_that_is_not_right_is_refused_and_creates_no_session() {
    let idp = provider(
        vec![client("bankid"), client("siths")],
        "id_token",
        KERNEL_START_MS,
    );
    // A provider whose clock is two hours behind the kernel's: its tokens
    // have expired when they arrive.
    let stale = provider(
        vec![client("stale")],
        "id_token",
        KERNEL_START_MS - 2 * 3_600_000,
    );
    let demo = [
        method(
            "bankid",
            "Mobilt BankID",
            "patients",
            &idp.issuer,
            SECRET_AUTH,
            &["openid", "ssn"],
            "personnummer",
            "ssn",
        ),
        method(
            "siths",
            "SITHS-kort",
            "staff",
            &idp.issuer,
            SECRET_AUTH,
            &["openid", "siths"],
            "hsa_id",
            "employeeHsaId",
        ),
        method(
            "stale",
            "Gammal",
            "everyone",
            &stale.issuer,
            SECRET_AUTH,
            &["openid", "ssn"],
            "personnummer",
            "ssn",
        ),
    ]
    .concat();
    let norrland = method(
        "bankid",
        "Mobilt BankID",
        "everyone",
        &idp.issuer,
        SECRET_AUTH,
        &["openid", "ssn"],
        "personnummer",
        "ssn",
    );
    let tenants = tenants_with(&demo, &norrland);
    let app = app_with(Backend::Sqlite, &tenants).await;
    const FAILED: &str = "Inloggningen kunde inte genomföras";
    const CANCELLED: &str = "Inloggningen avbröts";
    const NO_ACCOUNT: &str = "Du har inget konto hos Demovården";

    // Another `state` than the login this browser started.
    let mut b = app.browser("demo.localhost");
    let (_, back) = eid_callback_url(&mut b, "bankid", TOVE, |_| {}).await;
    let page = follow_callback(&mut b, &back.replace("state=", "state=x")).await;
    refused(
        &mut b,
        &page,
        StatusCode::BAD_REQUEST,
        FAILED,
        "wrong state",
    )
    .await;

    // An answer that names another provider than the method's (mix-up).
    let mut b = app.browser("demo.localhost");
    let (_, back) = eid_callback_url(&mut b, "bankid", TOVE, |_| {}).await;
    let mixed = back.replace("iss=", "iss=https%3A%2F%2Fevil.example&was=");
    assert_ne!(mixed, back, "the provider names itself (RFC 9207)");
    let page = follow_callback(&mut b, &mixed).await;
    refused(
        &mut b,
        &page,
        StatusCode::BAD_REQUEST,
        FAILED,
        "another iss",
    )
    .await;

    // The provider's answer in a browser that did not start the login
    // (login CSRF: an attacker's code in a victim's browser).
    let mut attacker = app.browser("demo.localhost");
    let (_, back) = eid_callback_url(&mut attacker, "bankid", TOVE, |_| {}).await;
    let mut victim = app.browser("demo.localhost");
    let page = follow_callback(&mut victim, &back).await;
    refused(
        &mut victim,
        &page,
        StatusCode::BAD_REQUEST,
        FAILED,
        "no login under way",
    )
    .await;

    // Tenant A's login (its cookie and code) brought to tenant B.
    let mut b = app.browser("demo.localhost");
    let (_, back) = eid_callback_url(&mut b, "bankid", TOVE, |_| {}).await;
    let mut other = app.browser("norrland.localhost");
    other.cookies = b.cookies.clone();
    let url = Url::parse(&back).unwrap();
    let page = other
        .get(&format!("{}?{}", url.path(), url.query().unwrap()))
        .await;
    refused(
        &mut other,
        &page,
        StatusCode::BAD_REQUEST,
        "",
        "demo's login on norrland",
    )
    .await;

    // A code used twice: the second time, even with the login's cookie
    // put back, the provider refuses it.
    let mut b = app.browser("demo.localhost");
    let (_, back) = eid_callback_url(&mut b, "bankid", TOVE, |_| {}).await;
    let kept = b.cookies.clone();
    let first = follow_callback(&mut b, &back).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let mut again = app.browser("demo.localhost");
    again.cookies = kept
        .into_iter()
        .filter(|(k, _)| k == "tillit_eid")
        .collect();
    let page = follow_callback(&mut again, &back).await;
    refused(
        &mut again,
        &page,
        StatusCode::UNAUTHORIZED,
        FAILED,
        "a code used twice",
    )
    .await;

    // A request stripped of PKCE: the provider refuses it.
    let mut b = app.browser("demo.localhost");
    let (_, page) = eid_login(&mut b, "bankid", TOVE, |u| {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| !k.starts_with("code_challenge"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        u.query_pairs_mut().clear().extend_pairs(kept);
    })
    .await;
    refused(
        &mut b,
        &page,
        StatusCode::UNAUTHORIZED,
        CANCELLED,
        "no PKCE",
    )
    .await;

    // A lower level of assurance asked for than the tenant accepts.
    let mut b = app.browser("demo.localhost");
    let (_, page) = eid_login(&mut b, "bankid", TOVE, |u| {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "acr_values" {
                    LOA2.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(kept);
    })
    .await;
    refused(
        &mut b,
        &page,
        StatusCode::UNAUTHORIZED,
        FAILED,
        "acr below the tenant's",
    )
    .await;

    // An expired ID token; someone the tenant does not know (a valid
    // personnummer); a patient's method for a clinician; a clinician's
    // HSA-id where no such clinician is.
    for (what, method, who, status, text) in [
        (
            "expired ID token",
            "stale",
            TOVE,
            StatusCode::UNAUTHORIZED,
            FAILED,
        ),
        (
            "unknown person",
            "bankid",
            "194910209214",
            StatusCode::FORBIDDEN,
            NO_ACCOUNT,
        ),
        (
            "a patient method for staff",
            "bankid",
            KARIN,
            StatusCode::FORBIDDEN,
            "Det här inloggningssättet gäller inte ditt konto",
        ),
        (
            "unknown HSA-id",
            "siths",
            "SE2321000016-X999",
            StatusCode::FORBIDDEN,
            NO_ACCOUNT,
        ),
    ] {
        let mut b = app.browser("demo.localhost");
        let (_, page) = eid_login(&mut b, method, who, |_| {}).await;
        refused(&mut b, &page, status, text, what).await;
    }

    // A person whose access an administrator ended.
    let mut ada = app.browser("demo.localhost");
    ada.login("19121212-1212").await;
    ada.get("/admin/people").await;
    let tove = crate::support::person_id(&app, "20000229-2381").await;
    let page = ada
        .post(
            &format!("/admin/people/{tove}/status"),
            &[("status", "inactive")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let mut b = app.browser("demo.localhost");
    let (_, page) = eid_login(&mut b, "bankid", TOVE, |_| {}).await;
    refused(
        &mut b,
        &page,
        StatusCode::FORBIDDEN,
        NO_ACCOUNT,
        "inactive person",
    )
    .await;

    // A method that is not the tenant's.
    let mut b = app.browser("norrland.localhost");
    assert_eq!(
        b.get("/login/oidc/siths").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn production_starts_only_when_every_tenant_has_e_id_for_patients_and_staff() {
    let production = |tenants: &Path| {
        let mut c = Config {
            tenants_dir: tenants.to_owned(),
            themes_dir: repo("themes"),
            ..Config::default()
        };
        c.mode = Mode::Production;
        c.identity.dev_login = false;
        c.server.behind_tls = true;
        c
    };
    let catalogs = Arc::new(tillit_kernel::i18n::Catalogs::builtin());
    // The repository's tenants have only the test login.
    let err =
        tillit_kernel::app::load_tenants(&production(&repo("tenants")), Arc::clone(&catalogs))
            .unwrap_err()
            .to_string();
    for said in [
        "demo.toml",
        "norrland.toml",
        "login.methods",
        "for patients",
        "for staff",
    ] {
        assert!(err.contains(said), "the error lacks {said:?}: {err}");
    }
    // A patients' method alone, or one over plain HTTP, is not enough.
    let patients_only = method(
        "bankid",
        "BankID",
        "patients",
        "https://idp.example.se",
        SECRET_AUTH,
        &["openid"],
        "personnummer",
        "ssn",
    );
    let tenants = tenants_with(&patients_only, &patients_only);
    let err = tillit_kernel::app::load_tenants(&production(tenants.path()), Arc::clone(&catalogs))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("for staff") && !err.contains("for patients"),
        "{err}"
    );
    let plain = method(
        "bankid",
        "BankID",
        "everyone",
        "http://127.0.0.1:9",
        SECRET_AUTH,
        &["openid"],
        "personnummer",
        "ssn",
    );
    let tenants = tenants_with(&plain, &plain);
    let err = tillit_kernel::app::load_tenants(&production(tenants.path()), Arc::clone(&catalogs))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("login.methods[0].issuer") && err.contains("https"),
        "{err}"
    );
    // Both kinds of people served over https: it starts.
    let both = [
        patients_only.clone(),
        method(
            "siths",
            "SITHS-kort",
            "staff",
            "https://siths.example.se",
            SECRET_AUTH,
            &["openid"],
            "hsa_id",
            "employeeHsaId",
        ),
    ]
    .concat();
    let tenants = tenants_with(&both, &both);
    tillit_kernel::app::load_tenants(&production(tenants.path()), catalogs).unwrap();
}

#[tokio::test]
async fn a_tenant_file_with_a_bad_method_names_the_key() {
    let bad = "\n[[login.methods]]\nid = \"BankID\"\nlabel = \"BankID\"\nfor = \"doctors\"\nissuer = \"http://idp.example.se\"\n\
               client_id = \"x\"\nscopes = [\"openid ssn\"]\nidentity = \"hsa_id\"\nclaim = \"ssn\"\nextra = 1\n";
    let tenants = tenants_with(bad, "");
    let config = Config {
        tenants_dir: tenants.path().to_owned(),
        themes_dir: repo("themes"),
        ..Config::default()
    };
    let catalogs = Arc::new(tillit_kernel::i18n::Catalogs::builtin());
    let err = tillit_kernel::app::load_tenants(&config, catalogs)
        .unwrap_err()
        .to_string();
    for said in [
        "login.methods[0].id",
        "login.methods[0].for",
        "login.methods[0].issuer",
        "login.methods[0].scopes",
        "login.methods[0].extra: unknown key",
        "login.methods[0]: expected exactly one of `client_secret_file`",
        "demo.toml",
    ] {
        assert!(err.contains(said), "the error lacks {said:?}: {err}");
    }
}

/// A listener the provider can reach for back-channel logout: keeps each
/// logout token it is sent. (The provider cannot resolve the portal's
/// `*.localhost` names, so the test hands each token on to the portal as
/// the provider would have.)
async fn logout_token_catcher() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use axum::routing::post;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/oidc/backchannel-logout",
        post(
            move |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(f.get("logout_token").cloned().unwrap_or_default());
                    StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (
        format!("http://127.0.0.1:{port}/oidc/backchannel-logout"),
        rx,
    )
}

async fn post_logout_token(b: &mut Browser<'_>, token: &str) -> Page {
    b.post_raw("/oidc/backchannel-logout", &[("logout_token", token)], &[])
        .await
}

#[tokio::test]
async fn the_provider_ends_sessions_by_back_channel_and_logging_out_ends_the_providers() {
    let (catcher, mut tokens) = logout_token_catcher().await;
    let port = Config::default().server.listen.port();
    let mut bankid = client("bankid");
    bankid["backchannel_logout_uri"] = json!(catcher);
    bankid["post_logout_redirect_uris"] =
        json!([format!("http://demo.localhost:{port}/login?ended=logout")]);
    let idp = provider(vec![bankid], "id_token", KERNEL_START_MS);
    let demo = method(
        "bankid",
        "Mobilt BankID",
        "everyone",
        &idp.issuer,
        SECRET_AUTH,
        &["openid", "ssn"],
        "personnummer",
        "ssn",
    );
    let tenants = tenants_with(&demo, "");
    for backend in BACKENDS {
        let app = app_with(backend, &tenants).await;
        // Tove on her phone and her computer; Karin on hers.
        let mut phone = app.browser("demo.localhost");
        let mut computer = app.browser("demo.localhost");
        let mut karin = app.browser("demo.localhost");
        for (b, who) in [
            (&mut phone, TOVE),
            (&mut computer, TOVE),
            (&mut karin, KARIN),
        ] {
            let (_, page) = eid_login(b, "bankid", who, |_| {}).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
            assert!(logged_in(b).await);
        }
        // The provider ends Tove's sessions there (say, she logged out of
        // her e-ID app): a logout token per session.
        let ended = reqwest::Client::new()
            .post(format!("{}/test/backchannel?account={TOVE}", idp.issuer))
            .send()
            .await
            .unwrap();
        assert!(
            ended.status().is_success(),
            "{}",
            ended.text().await.unwrap()
        );
        let mut sent = Vec::new();
        while let Ok(Some(t)) =
            tokio::time::timeout(std::time::Duration::from_millis(500), tokens.recv()).await
        {
            sent.push(t);
        }
        assert_eq!(sent.len(), 2, "one logout token per provider session");
        // Another tenant has no method at that provider: refused there.
        let mut norrland = app.browser("norrland.localhost");
        let page = post_logout_token(&mut norrland, &sent[0]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
        assert!(
            logged_in(&mut phone).await,
            "a token refused ended a session"
        );
        let mut provider_side = app.browser("demo.localhost");
        for token in &sent {
            let page = post_logout_token(&mut provider_side, token).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            assert_eq!(page.header("cache-control"), "no-store");
        }
        assert!(!logged_in(&mut phone).await, "the phone's session lives on");
        assert!(
            !logged_in(&mut computer).await,
            "the computer's session lives on"
        );
        assert!(
            logged_in(&mut karin).await,
            "another person's session ended"
        );
        // A token used again is refused (and ends nothing more).
        let page = post_logout_token(&mut provider_side, &sent[0]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("used before"), "{}", page.body);
        for junk in ["", "not-a-token", "a.b.c"] {
            let page = post_logout_token(&mut provider_side, junk).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{junk:?}");
        }

        // Karin logs out here: the session ends, and she is sent to end
        // the provider's too, which comes back to the login page.
        karin.get("/me").await;
        let out = karin.post("/logout", &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        let to = Url::parse(out.location()).unwrap();
        assert!(
            out.location().starts_with(&idp.issuer),
            "{}",
            out.location()
        );
        let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
        assert_eq!(q.get("client_id").map(String::as_str), Some("bankid"));
        assert_eq!(
            q.get("post_logout_redirect_uri").cloned(),
            Some(format!("http://demo.localhost:{port}/login?ended=logout"))
        );
        assert!(!logged_in(&mut karin).await);
        // The provider accepts the request (its confirmation page).
        let at_provider = reqwest::get(out.location()).await.unwrap();
        assert_eq!(at_provider.status(), reqwest::StatusCode::OK);
        // A test-login session logs out here only.
        let mut ada = app.browser("demo.localhost");
        ada.login("19121212-1212").await;
        ada.get("/me").await;
        let out = ada.post("/logout", &[]).await;
        assert_eq!(out.location(), "/login?ended=logout");
    }
}
