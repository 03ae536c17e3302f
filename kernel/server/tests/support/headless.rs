//! A real headless Chromium driven through chromedriver, as
//! `../shared/notes/toolchain.md` says works here; shared by the browser
//! tests (`#[path]`-included, so it has no dependencies on the harness).

#![allow(dead_code, clippy::unwrap_used)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The log of the server under test, for failure messages.
pub static SERVER_LOG: std::sync::OnceLock<Arc<Mutex<String>>> = std::sync::OnceLock::new();

/// A port no one listens on now (for a server whose address must be known
/// before it starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver driving Debian's headless Chromium, as `toolchain.md` says works here.
pub struct Headless {
    driver: Child,
    pub client: fantoccini::Client,
    _profile: Profile,
}

impl Headless {
    pub async fn start() -> Self {
        Self::with_args(&[]).await
    }

    /// With fake camera and microphone, allowed without asking, and WebRTC
    /// on loopback (`toolchain.md`).
    pub async fn with_fake_media() -> Self {
        Self::with_args(&[
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--autoplay-policy=no-user-gesture-required",
        ])
        .await
    }

    pub async fn with_args(extra: &[&str]) -> Self {
        // The WebDriver client speaks TLS-capable HTTP too.
        tillit_kernel::install_tls_provider();
        for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: `cargo xtask test` installs chromium and chromium-driver"
            );
        }
        let port = free_port();
        // Its own process group, so that ending it ends the Chromium it started.
        let driver = Command::new("/usr/bin/chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = Profile::new();
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(String::from)
        .collect();
        args.push(format!("--user-data-dir={}", profile.0.display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        Self::session(driver, port, caps, profile, "chromedriver").await
    }

    /// Firefox ESR through geckodriver, with a fake camera and microphone
    /// allowed without asking, and WebRTC on loopback.
    pub async fn firefox_with_fake_media() -> Self {
        tillit_kernel::install_tls_provider();
        let gecko = geckodriver();
        assert!(
            Path::new("/usr/bin/firefox-esr").exists() && gecko.exists(),
            "Firefox ESR or geckodriver is missing: `cargo xtask test` installs firefox-esr and geckodriver"
        );
        let port = free_port();
        let driver = Command::new(&gecko)
            .process_group(0)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = Profile::new();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "moz:firefoxOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/firefox-esr",
                "args": ["-headless", "-profile", profile.0.display().to_string()],
                "prefs": {
                    "media.navigator.streams.fake": true,
                    "media.navigator.permission.disabled": true,
                    "media.peerconnection.ice.loopback": true,
                    "media.peerconnection.ice.obfuscate_host_addresses": false,
                    "media.autoplay.default": 0,
                    "media.autoplay.blocking_policy": 0,
                },
            }),
        );
        Self::session(driver, port, caps, profile, "geckodriver").await
    }

    async fn session(
        driver: Child,
        port: u16,
        caps: serde_json::Map<String, serde_json::Value>,
        profile: Profile,
        name: &str,
    ) -> Self {
        let started = Instant::now();
        let client = loop {
            match fantoccini::ClientBuilder::rustls()
                .unwrap()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{name} did not start a session: {e}"),
            }
        };
        Self {
            driver,
            client,
            _profile: profile,
        }
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium process under it,
        // also when the test failed before closing the session.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

/// Logs `pnr` in to the demo tenant of the kernel on `port` with the test
/// login, as a person types it, and waits for the start page.
pub async fn login(c: &fantoccini::Client, port: u16, pnr: &str) {
    submit_login(c, &format!("http://demo.localhost:{port}"), pnr).await;
    wait_for_text(c, "#greeting", "").await;
}

/// Types `pnr` into the test login of the portal at `base` (scheme, host
/// and port) and submits it; what comes next is the caller's to wait for.
pub async fn submit_login(c: &fantoccini::Client, base: &str, pnr: &str) {
    use fantoccini::Locator::Id;
    c.goto(&format!("{base}/login")).await.unwrap();
    c.wait()
        .for_element(Id("personnummer"))
        .await
        .unwrap()
        .send_keys(pnr)
        .await
        .unwrap();
    c.find(Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits for the element `css` matches and clicks it.
pub async fn click_on(c: &fantoccini::Client, css: &str) {
    c.wait()
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits for the field `css` matches and types `text` into it, after what
/// it holds.
pub async fn type_into(c: &fantoccini::Client, css: &str, text: &str) {
    c.wait()
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Fills in "Min profil" as the handbook tells a clinician to, from the
/// start page: publishing is refused first (no yrkestitel), then the
/// consultation section and a visit type (a too-short one refused first),
/// then publishing works. "Min profil" shows one section at a time, chosen
/// from its menu.
pub async fn fill_in_and_publish_profile(c: &fantoccini::Client) {
    let section = |id: &str| format!("#section-menu a[href='#{id}']");
    click_on(c, "a[href='/profile']").await;
    click_on(c, &section("publish")).await;
    click_on(c, "#publish-button").await;
    wait_for_text(c, "#blockers", "yrkestitel").await;

    click_on(c, &section("consultation")).await;
    type_into(c, "#title", "Leg. psykolog").await;
    type_into(
        c,
        "#introduction",
        "Jag tar emot vuxna med oro och nedstämdhet.",
    )
    .await;
    click_on(c, "#save-profile").await;
    wait_for_text(c, "#notice", "sparats").await;

    click_on(c, &section("visit-types")).await;
    type_into(c, "#new-title", "Återbesök").await;
    type_into(c, "#new-minutes", "3").await;
    click_on(c, "#save-visit-type").await;
    wait_for_text(c, "#new-minutes-error", "minst 5 minuter").await;
    let minutes = c
        .find(fantoccini::Locator::Id("new-minutes"))
        .await
        .unwrap();
    minutes.clear().await.unwrap();
    minutes.send_keys("15").await.unwrap();
    click_on(c, "#save-visit-type").await;
    wait_for_text(c, "#notice", "sparats").await;

    click_on(c, &section("publish")).await;
    click_on(c, "#publish-button").await;
    wait_for_text(c, "#published-state", "publicerad").await;
    wait_for_text(c, "#completion", "50%").await;
}

/// From any page: "Mina bokningar" → "Bjud in till besök", with a new
/// patient's personnummer, name and mobile number typed in; the time, the
/// message and the button are the caller's.
pub async fn open_invite_form_for_new_patient(
    c: &fantoccini::Client,
    pnr: &str,
    given: &str,
    family: &str,
) {
    click_on(c, "a[href='/bookings']").await;
    click_on(c, "#invite-link").await;
    type_into(c, "#phone", "070-123 45 67").await;
    type_into(c, "#personnummer", pnr).await;
    type_into(c, "#given_name", given).await;
    type_into(c, "#family_name", family).await;
}

/// Opens the menu behind the person's initials (their details, the
/// language, "Logga ut"), as a person clicks their letter.
pub async fn open_account_menu(c: &fantoccini::Client) {
    let menu = c.find(fantoccini::Locator::Id("account")).await.unwrap();
    if menu.attr("open").await.unwrap().is_none() {
        c.find(fantoccini::Locator::Id("account-toggle"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
}

/// Waits until an element matching `css` shows text containing `want`, and
/// returns that text. Polling for the expected text (not the first match)
/// is what makes this safe right after a click: the old page may still have
/// an element with the same selector, about to go stale. On failure it says
/// what the browser showed instead and saves a screenshot.
pub async fn wait_for_text(c: &fantoccini::Client, css: &str, want: &str) -> String {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(10) {
        if let Ok(el) = c.find(fantoccini::Locator::Css(css)).await
            && let Ok(text) = el.text().await
        {
            if text.contains(want) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    screenshot(c, "failure").await;
    let url = c
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    let source = c.source().await.unwrap_or_default();
    let log = SERVER_LOG
        .get()
        .map(|l| l.lock().unwrap().clone())
        .unwrap_or_default();
    panic!(
        "{css} never showed {want:?} (last: {last:?}) at {url}; the page was:\n{source}\n\nthe server logged:\n{log}"
    );
}

pub async fn screenshot(c: &fantoccini::Client, name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.png")),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
}

/// Where `cargo install geckodriver` put it (or the PATH's).
fn geckodriver() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    cargo_home
        .map(|h| h.join("bin/geckodriver"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/geckodriver"))
}

/// A fresh browser profile, removed afterwards.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        let p =
            std::env::temp_dir().join(format!("tillit-chrome-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
