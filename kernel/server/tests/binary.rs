//! The real `tillit` binary: its command line, its refusals, and one person
//! logging in and out through a real headless Chromium.

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/headless.rs"]
mod headless;
// Only the provider itself is used here.
#[allow(dead_code)]
#[path = "support/oidc.rs"]
mod oidc;
use headless::{
    Headless, SERVER_LOG, click_on, fill_in_and_publish_profile, open_account_menu,
    open_invite_form_for_new_patient, screenshot, wait_for_text,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p =
            std::env::temp_dir().join(format!("tillit-{tag}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tillit <args>` in an empty directory, with the repository's tenants and
/// themes and nothing else from the environment's `TILLIT_*`.
fn tillit(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tillit"));
    cmd.args(args).current_dir(&dir.0);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TILLIT_")) {
        cmd.env_remove(k);
    }
    // Tests run side by side: health and metrics on a free port each.
    cmd.env("TILLIT_TENANTS_DIR", repo().join("tenants"))
        .env("TILLIT_THEMES_DIR", repo().join("themes"))
        .env("TILLIT_DATA_DIR", dir.0.join("data"))
        .env("TILLIT_SERVER__OPS_LISTEN", "127.0.0.1:0")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_names_the_subcommands() {
    let dir = TempDir::new("help");
    let (code, out, _) = run(tillit(&dir, &["--help"], &[]));
    assert_eq!(code, 0);
    for word in ["serve", "migrate", "tenants", "TILLIT_DATABASE__URL"] {
        assert!(out.contains(word), "--help does not mention {word}:\n{out}");
    }
}

#[test]
fn tenants_check_reports_every_problem_without_starting() {
    let dir = TempDir::new("check");
    let (code, out, _) = run(tillit(&dir, &["tenants", "check"], &[]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 tenant(s), no problems"));

    let bad = repo().join("kernel/server/tests/config/everything-wrong/tenants");
    let (code, _, err) = run(tillit(
        &dir,
        &["tenants", "check"],
        &[("TILLIT_TENANTS_DIR", bad.to_str().unwrap())],
    ));
    assert_eq!(code, 1);
    assert!(
        err.contains("vardcentral.toml: brand.primary_color: expected a colour as #rrggbb"),
        "{err}"
    );
    assert!(err.contains("empty.toml: id: missing"));
    assert!(err.contains("problem(s) found"));
    assert!(!dir.0.join("data").exists(), "checking touched nothing");
}

#[test]
fn bad_configuration_is_refused_with_the_key_named() {
    let dir = TempDir::new("badconfig");
    let (code, _, err) = run(tillit(
        &dir,
        &["serve"],
        &[
            ("TILLIT_MODE", "production"),
            ("TILLIT_SERVER__BEHIND_TLS", "true"),
        ],
    ));
    assert_eq!(code, 2);
    assert!(
        err.contains("identity.dev_login is enabled but mode is production"),
        "{err}"
    );

    let (code, _, err) = run(tillit(&dir, &["serve"], &[("TILLIT_DATABASE__URLL", "x")]));
    assert_eq!(code, 2);
    assert!(
        err.contains("environment variable TILLIT_DATABASE__URLL: database.urll: unknown key"),
        "{err}"
    );

    std::fs::write(dir.0.join("tillit.toml"), "[server]\nlisten = 8080\n").unwrap();
    let (code, _, err) = run(tillit(&dir, &["serve"], &[]));
    assert_eq!(code, 2);
    assert!(
        err.contains("tillit.toml: server.listen: expected"),
        "{err}"
    );

    let (code, _, err) = run(tillit(&dir, &["--config", "nowhere.toml", "serve"], &[]));
    assert_eq!(code, 2);
    assert!(err.contains("nowhere.toml: file not found"), "{err}");
    assert!(!dir.0.join("data").exists(), "nothing was created");
}

#[test]
fn an_unreachable_database_is_a_clear_error_not_a_hang() {
    let dir = TempDir::new("nodb");
    let started = Instant::now();
    let (code, _, err) = run(tillit(
        &dir,
        &["serve"],
        &[
            (
                "TILLIT_DATABASE__URL",
                "postgres://tillit:hunter2@127.0.0.1:9/nowhere",
            ),
            ("TILLIT_DATABASE__CONNECT_TIMEOUT", "2s"),
        ],
    ));
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot use the database at postgres://tillit:***@127.0.0.1:9/nowhere"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the password is not printed");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn migrate_applies_the_schema_and_is_idempotent() {
    let db = tillit_store::testing::TestDb::new(tillit_store::Backend::Postgres);
    let dir = TempDir::new("migrate");
    for _ in 0..2 {
        let (code, out, err) = run(tillit(
            &dir,
            &["migrate"],
            &[("TILLIT_DATABASE__URL", &db.url)],
        ));
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("database is up to date"));
    }
}

/// A running `tillit serve` on a free port.
struct Server {
    child: Child,
    port: u16,
    stdout: String,
    stderr: Arc<Mutex<String>>,
    _dir: TempDir,
}

impl Server {
    fn start(env: &[(&str, &str)]) -> Self {
        let dir = TempDir::new("serve");
        let mut env = env.to_vec();
        if !env.iter().any(|(k, _)| *k == "TILLIT_SERVER__LISTEN") {
            env.push(("TILLIT_SERVER__LISTEN", "127.0.0.1:0"));
        }
        env.push(("TILLIT_LOG__FILTER", "debug"));
        let mut child = tillit(&dir, &["serve"], &env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        let _ = SERVER_LOG.set(Arc::clone(&stderr));
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        // The banner says where to go (and, in development, ends with how
        // to log in); read it whole.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stdout = String::new();
        let mut port = None;
        loop {
            let Some(Ok(line)) = lines.next() else {
                panic!(
                    "tillit exited before listening:\n{stdout}\n{}",
                    stderr.lock().unwrap()
                );
            };
            stdout.push_str(&line);
            stdout.push('\n');
            if let Some(rest) = line.split("http://demo.localhost:").nth(1) {
                port = Some(rest.trim_end_matches('/').parse::<u16>().unwrap());
            }
            if line.starts_with("Log in with") {
                break;
            }
        }
        let port = port.expect("the banner names the demo portal");
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            port,
            stdout,
            stderr,
            _dir: dir,
        }
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The README's promise, end to end: start the binary on its embedded
/// default, open the demo portal in a browser, log in with the test login,
/// switch to English, log out. Then: no personnummer in the server's log.
#[tokio::test(flavor = "multi_thread")]
async fn a_person_logs_in_and_out_in_a_real_browser() {
    let server = Server::start(&[]);
    assert!(
        server.stdout.contains("19121212-1212  Ada Administratör"),
        "the banner lists test identities"
    );
    let chrome = Headless::start().await;
    let c = &chrome.client;

    c.goto(&server.url("demo.localhost", "/")).await.unwrap();
    wait_for_text(c, ".product", "Demovården").await;
    screenshot(c, "01-demo-home").await;
    c.find(fantoccini::Locator::Id("login-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // A typo first: the field says what is wrong and keeps what was typed.
    let field = c
        .wait()
        .for_element(fantoccini::Locator::Id("personnummer"))
        .await
        .unwrap();
    field.send_keys("19121212-1213").await.unwrap();
    c.find(fantoccini::Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#personnummer-error", "Kontrollsiffran").await;
    screenshot(c, "02-login-error").await;
    let field = c
        .find(fantoccini::Locator::Id("personnummer"))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys("19121212-1212").await.unwrap();
    c.find(fantoccini::Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#greeting", "Välkommen, Ada").await;
    screenshot(c, "03-logged-in").await;

    // English on request, from the menu behind one's initials.
    open_account_menu(c).await;
    c.find(fantoccini::Locator::Css("form.lang button[value=en]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#greeting", "Welcome, Ada").await;

    open_account_menu(c).await;
    c.find(fantoccini::Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#notice", "logged out").await;
    c.goto(&server.url("demo.localhost", "/me")).await.unwrap();
    assert!(
        c.current_url().await.unwrap().path().ends_with("/login"),
        "logged out for real"
    );

    // The second tenant: its own brand and theme, and Ada does not exist there.
    c.goto(&server.url("norrland.localhost", "/login"))
        .await
        .unwrap();
    wait_for_text(c, ".product", "Vårdmöte Norr").await;
    screenshot(c, "04-norrland-login").await;
    c.find(fantoccini::Locator::Id("personnummer"))
        .await
        .unwrap()
        .send_keys("191212121212")
        .await
        .unwrap();
    c.find(fantoccini::Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#personnummer-error", "ingen aktiv användare").await;
    let _ = chrome.client.clone().close().await;

    let logs = server.stderr.lock().unwrap().clone();
    assert!(
        logs.contains("logged in"),
        "the server logged the login:\n{logs}"
    );
    for pnr in [
        "19121212-1212",
        "191212121212",
        "19121212-1213",
        "191212121213",
        "1212121212",
    ] {
        assert!(!logs.contains(pnr), "{pnr} reached the server log");
    }
}

/// The handbook's journey in a real browser: a clinician fills in "Min
/// profil" (an error first), creates a visit type, activates booking and
/// invites a new patient; the patient follows the link in the SMS (read
/// from the development outbox), logs in, accepts the terms, sees the visit
/// with the message, and confirms it.
#[tokio::test(flavor = "multi_thread")]
async fn a_clinician_invites_and_the_patient_confirms_in_a_real_browser() {
    use fantoccini::Locator::{Css, Id};
    let server = Server::start(&[]);
    let chrome = Headless::start().await;
    let c = &chrome.client;
    c.goto(&server.url("demo.localhost", "/login"))
        .await
        .unwrap();
    c.wait()
        .for_element(Id("personnummer"))
        .await
        .unwrap()
        .send_keys("19811218-9876")
        .await
        .unwrap();
    c.find(Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#greeting", "Välkommen, Karin").await;
    fill_in_and_publish_profile(c).await;
    screenshot(c, "05-profile-published").await;

    // "Bjud in till besök": a new patient, tomorrow at 10:00, with a message.
    open_invite_form_for_new_patient(c, "19850707-1119", "Sara", "Svensson").await;
    let tomorrow = (std::time::SystemTime::now() + Duration::from_secs(86_400))
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| {
            tillit_domain::Timestamp(d.as_millis() as i64)
                .to_stockholm()
                .date()
                .to_string()
        })
        .unwrap();
    // Date and time inputs take typed text in the browser's locale; set the values directly.
    c.execute(
        "document.getElementById('date').value = arguments[0]; document.getElementById('time').value = '10:00';",
        vec![serde_json::json!(tomorrow)],
    )
    .await
    .unwrap();
    c.find(Id("message"))
        .await
        .unwrap()
        .send_keys("Välkommen! Ta med din medicinlista.")
        .await
        .unwrap();
    screenshot(c, "06-invite").await;
    c.find(Id("send-invite"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#notice", "Inbjudan är skapad").await;
    wait_for_text(c, "#bookings", "Sara Svensson").await;
    wait_for_text(c, "#bookings", "Obekräftad").await;

    // The patient's SMS, as the development outbox shows what would have
    // been sent (to staff, and to each patient their own): the time and a
    // link, nothing about the visit's content.
    let started = Instant::now();
    let text = loop {
        c.goto(&server.url("demo.localhost", "/dev/outbox"))
            .await
            .unwrap();
        if let Ok(cell) = c
            .find(Css(
                "tr.message[data-kind='invited'][data-status='sent'] td.text",
            ))
            .await
        {
            break cell.text().await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the invitation was never sent"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        text.contains("10:00") && text.contains("Demovården"),
        "{text}"
    );
    assert!(
        !text.contains("medicinlista") && !text.contains("Återbesök"),
        "{text}"
    );
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    assert!(
        link.starts_with(&server.url("demo.localhost", "/visits/")),
        "the SMS links to the visit's page: {link}"
    );
    screenshot(c, "07-outbox").await;
    open_account_menu(c).await;
    c.find(Id("logout")).await.unwrap().click().await.unwrap();
    wait_for_text(c, "#notice", "utloggad").await;

    // The patient follows the link: log in, accept the terms, and land on
    // that visit, where she confirms it.
    c.goto(&link).await.unwrap();
    c.wait()
        .for_element(Id("personnummer"))
        .await
        .unwrap()
        .send_keys("19850707-1119")
        .await
        .unwrap();
    c.find(Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#terms", "Information och villkor").await;
    screenshot(c, "08-terms").await;
    c.find(Id("accept-terms"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#visit-clinician", "Karin Lindblad, Leg. psykolog").await;
    assert_eq!(
        c.current_url().await.unwrap().as_str(),
        link,
        "the link is kept through the login and the terms"
    );
    wait_for_text(c, "#visit", "Ta med din medicinlista.").await;
    c.find(Id("confirm-visit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#notice", "Besöket är bekräftat").await;
    wait_for_text(c, "#visit-status", "Bekräftad").await;
    screenshot(c, "09-confirmed").await;
    let _ = chrome.client.clone().close().await;
}

/// The repository's tenants, with `methods` (`[[login.methods]]` text)
/// added to the demo tenant's file and the secret they name.
fn tenants_with_demo_methods(methods: &str) -> TempDir {
    let tenants = TempDir::new("eid-tenants");
    for entry in std::fs::read_dir(repo().join("tenants")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), tenants.path().join(entry.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(tenants.path().join("assets")).unwrap();
    for entry in std::fs::read_dir(repo().join("tenants/assets")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            tenants.path().join("assets").join(entry.file_name()),
        )
        .unwrap();
    }
    std::fs::write(
        tenants.path().join("bankid.secret"),
        "browser-test-secret\n",
    )
    .unwrap();
    let demo = tenants.path().join("demo.toml");
    let text = std::fs::read_to_string(&demo).unwrap();
    std::fs::write(&demo, format!("{text}\n{methods}")).unwrap();
    tenants
}

/// A method `id` at `issuer` for everyone, asking for `scope`, with the
/// client of the e-ID tests.
fn bankid_method(id: &str, issuer: &str, scope: &str) -> String {
    format!(
        "[[login.methods]]\nid = \"{id}\"\nlabel = \"Mobilt BankID\"\nfor = \"everyone\"\n\
         issuer = \"{issuer}\"\nclient_id = \"demo-bankid\"\nclient_secret_file = \"bankid.secret\"\n\
         scopes = [\"openid\", \"{scope}\"]\nidentity = \"personnummer\"\nclaim = \"ssn\"\n\n"
    )
}

/// `tillit tenants check --online` reaches each e-ID provider: one that
/// answers and offers what the method asks passes, one that does not
/// answer and one that lacks a scope are named by file and key. Offline,
/// the same files pass.
#[test]
fn tenants_check_online_reaches_each_e_id_provider() {
    let idp = oidc::OidcProvider::start(&serde_json::json!({
        "clients": [{"client_id": "demo-bankid", "client_secret": "browser-test-secret",
                     "redirect_uris": ["http://demo.localhost:8080/login/oidc/callback"]}],
    }));
    let methods = [
        bankid_method("bankid", &idp.issuer, "ssn"),
        bankid_method("gone", "http://127.0.0.1:9", "ssn"),
        bankid_method("greedy", &idp.issuer, "nonexistent"),
    ]
    .concat();
    let tenants = tenants_with_demo_methods(&methods);
    let dir = TempDir::new("check-online");
    let env = [("TILLIT_TENANTS_DIR", tenants.path().to_str().unwrap())];
    let (code, out, err) = run(tillit(&dir, &["tenants", "check"], &env));
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run(tillit(&dir, &["tenants", "check", "--online"], &env));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("demo.toml: login.methods[1].issuer: provider: discovery"),
        "{err}"
    );
    assert!(
        err.contains(
            "demo.toml: login.methods[2].scopes: the provider does not offer \"nonexistent\""
        ),
        "{err}"
    );
    assert!(
        !err.contains("login.methods[0]"),
        "the provider that answers passes: {err}"
    );
    assert!(err.contains("2 problem(s) found"), "{err}");
}

/// The promise for e-ID, in a real browser: the demo tenant's
/// login page offers "Mobilt BankID" (a real OpenID provider here), one
/// click logs the person in (the provider's app confirms who they are)
/// and lands on their home page; logging out ends it here and at the
/// provider. No personnummer reaches the server's log.
#[tokio::test(flavor = "multi_thread")]
async fn a_person_logs_in_with_e_id_in_a_real_browser() {
    // The provider must know where to send people back before the server
    // starts.
    let port = headless::free_port();
    let callback = format!("http://demo.localhost:{port}/login/oidc/callback");
    let back = format!("http://demo.localhost:{port}/login?ended=logout");
    let idp = oidc::OidcProvider::start(&serde_json::json!({
        "clients": [{
            "client_id": "demo-bankid",
            "client_secret": "browser-test-secret",
            "token_endpoint_auth_method": "client_secret_basic",
            "redirect_uris": [callback],
            "post_logout_redirect_uris": [back],
        }],
        "claims_in": "id_token",
        "default_login_hint": "198112189876",
    }));
    let tenants = tenants_with_demo_methods(&bankid_method("bankid", &idp.issuer, "ssn"));
    let listen = format!("127.0.0.1:{port}");
    let server = Server::start(&[
        ("TILLIT_TENANTS_DIR", tenants.path().to_str().unwrap()),
        ("TILLIT_SERVER__LISTEN", &listen),
    ]);
    let chrome = Headless::start().await;
    let c = &chrome.client;
    c.goto(&server.url("demo.localhost", "/login"))
        .await
        .unwrap();
    wait_for_text(c, ".eid-methods", "Mobilt BankID").await;
    screenshot(c, "eid-01-login-page").await;
    click_on(c, ".eid-methods a.button").await;
    wait_for_text(c, "#greeting", "Välkommen, Karin").await;
    screenshot(c, "eid-02-logged-in").await;

    open_account_menu(c).await;
    click_on(c, "#logout").await;
    // The provider asks whether to log out there too; either way Tillit's
    // session has ended.
    c.goto(&server.url("demo.localhost", "/me")).await.unwrap();
    assert!(
        c.current_url().await.unwrap().path().ends_with("/login"),
        "logged out for real"
    );
    let _ = chrome.client.clone().close().await;
    let logs = server.stderr.lock().unwrap().clone();
    assert!(
        logs.contains("logged in"),
        "the server logged the login:\n{logs}"
    );
    for pnr in ["198112189876", "19811218-9876", "8112189876"] {
        assert!(!logs.contains(pnr), "{pnr} reached the server log");
    }
}
