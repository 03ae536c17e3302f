//! Video visits in real browsers: headless Chromium with fake camera and
//! microphone as participants, the kernel serving on a real port, media
//! over real ICE, DTLS and SRTP through the SFU on its UDP port.

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "support/headless.rs"]
mod headless;
mod support;

use fantoccini::Locator::Id;
use headless::{Headless, login, screenshot, wait_for_text};
use support::*;
use tillit_domain::Clock;

/// One browser test at a time in this binary: each runs two to four
/// browsers with fake media on a machine of two cores, and two such tests
/// at once starve each other's media into timeouts. (A tokio mutex: it is
/// held across awaits, and a test that panics leaves it usable.)
async fn alone() -> tokio::sync::MutexGuard<'static, ()> {
    static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    ONE.lock().await
}

const OLOF: &str = "19700101-0003";

/// Opens the visit's signalling WebSocket as the holder of `cookie`, from
/// `origin`; returns the HTTP status of the handshake (101: in).
async fn ws_status(port: u16, visit: &str, cookie: Option<&String>, origin: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: tillit_session={c}\r\n"));
    let req = format!(
        "GET /visits/{visit}/ws HTTP/1.1\r\nHost: demo.localhost:{port}\r\nOrigin: {origin}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{cookie}\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[9..12]).parse().unwrap()
}

/// Karin's visit `id` with Tove, booked five minutes ahead and started by
/// Karin (Tove has accepted the terms), and the kernel serving on a real
/// port, which it returns.
async fn started_visit(app: &TestApp, id: &str) -> u16 {
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    app.browser("demo.localhost").login(TOVE).await;
    book_visit(app, id, app.clock.now().plus(5 * MINUTE), vec![]).await;
    karin.get(&format!("/visits/{id}")).await;
    karin.post(&format!("/visits/{id}/start"), &[]).await;
    serve(app).await
}

/// Karin in `karin`, Tove in `tove`: logged in and in the room of `id`.
async fn enter_room(port: u16, id: &str, karin: &fantoccini::Client, tove: &fantoccini::Client) {
    tokio::join!(login(karin, port, "19811218-9876"), login(tove, port, TOVE));
    for c in [karin, tove] {
        c.goto(&format!("http://demo.localhost:{port}/visits/{id}/room"))
            .await
            .unwrap();
    }
}

/// What the room page receives: per remote video, frames decoded and size.
async fn inbound(c: &fantoccini::Client) -> Vec<(u64, u64, u64)> {
    let v = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.tillitRoom.inbound().then(done, () => done([]));",
            vec![],
        )
        .await
        .unwrap();
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64().unwrap_or(0);
            (n("framesDecoded"), n("width"), n("height"))
        })
        .collect()
}

/// Waits until `c` decodes `videos` remote videos, each with frames still
/// coming in; returns their sizes.
async fn until_decoding(c: &fantoccini::Client, videos: usize, who: &str) -> Vec<(u64, u64)> {
    let started = std::time::Instant::now();
    let mut last = Vec::new();
    while started.elapsed() < Duration::from_secs(40) {
        let first = inbound(c).await;
        if first.len() >= videos && first.iter().all(|s| s.0 > 0) {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let second = inbound(c).await;
            let rising = second.len() >= videos
                && second.iter().zip(&first).all(|(b, a)| b.0 > a.0 && b.1 > 0);
            if rising {
                return second.iter().map(|s| (s.1, s.2)).collect();
            }
            last = second;
        } else {
            last = first;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    screenshot(c, &format!("video-{who}")).await;
    let state = c
        .execute(
            "return window.tillitRoom && window.tillitRoom.state();",
            vec![],
        )
        .await
        .unwrap_or_default();
    let full = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.tillitRoom.inbound().then(done, () => done([]));",
            vec![],
        )
        .await
        .unwrap_or_default();
    eprintln!("{who} inbound: {full}");
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    let logs: String = logs
        .lines()
        .filter(|l| l.contains("tillit_media") || l.contains("room") || l.contains("ERROR"))
        .collect::<Vec<_>>()
        .join("\n");
    panic!(
        "{who} never decoded {videos} rising videos; last stats: {last:?}; page state: {state}\nkernel log:\n{logs}"
    );
}

/// Bytes sent so far per simulcast layer, by RID.
async fn sent_per_layer(c: &fantoccini::Client) -> std::collections::BTreeMap<String, u64> {
    let v = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.tillitRoom.outbound().then(done, () => done([]));",
            vec![],
        )
        .await
        .unwrap();
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            (
                s["rid"].as_str().unwrap_or_default().to_owned(),
                s["bytesSent"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

async fn peers_shown(c: &fantoccini::Client) -> Vec<String> {
    let v = c
        .execute("return window.tillitRoom.peers().map(p => p.name);", vec![])
        .await
        .unwrap();
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| n.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The issue's first promise: a clinician and a patient in a 1:1 visit
/// each decode the other's video, at the size the tile shows; a patient
/// from another tenant, and anyone once the visit has ended, is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_clinician_and_a_patient_see_each_other_in_real_browsers() {
    let _alone = alone().await;
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let mut tove = app.browser("demo.localhost");
    tove.login(TOVE).await;
    book_visit(&app, "v1", app.clock.now().plus(5 * MINUTE), vec![]).await;

    // Before the start the room page sends the patient back to the waiting room.
    assert_eq!(tove.get("/visits/v1/room").await.location(), "/visits/v1");
    let early = serve(&app).await;
    assert_eq!(
        ws_status(
            early,
            "v1",
            tove.session_cookie(),
            &format!("http://demo.localhost:{early}")
        )
        .await,
        409,
        "the patient waits until a clinician starts the visit"
    );
    karin.get("/visits/v1").await;
    let page = karin.post("/visits/v1/start", &[]).await;
    assert_eq!(page.location(), "/visits/v1", "{}", page.body);

    // The same server: a tenant's host is served on the kernel's one
    // public port.
    let port = early;
    // Only the visit's participants, from the portal's own pages, get in.
    let own = format!("http://demo.localhost:{port}");
    assert_eq!(
        ws_status(port, "v1", tove.session_cookie(), &own).await,
        101
    );
    assert_eq!(
        ws_status(port, "v1", tove.session_cookie(), "https://evil.example").await,
        403,
        "another site cannot open the room with the patient's cookie"
    );
    let mut sami = app.browser("demo.localhost");
    sami.login("19811278-9873").await;
    assert_eq!(
        ws_status(port, "v1", sami.session_cookie(), &own).await,
        404,
        "another patient"
    );
    let mut nils = app.browser("norrland.localhost");
    nils.login(NILS).await;
    assert_eq!(
        ws_status(port, "v1", nils.session_cookie(), &own).await,
        303,
        "a session of another tenant is no session here"
    );
    assert_eq!(ws_status(port, "v1", None, &own).await, 303);
    let (a, b) = tokio::join!(Headless::with_fake_media(), Headless::with_fake_media());
    let (ca, cb) = (&a.client, &b.client);
    tokio::join!(login(ca, port, "19811218-9876"), login(cb, port, TOVE));

    // Tove goes from the visit page to the room, as a patient would.
    cb.goto(&format!("http://demo.localhost:{port}/visits/v1"))
        .await
        .unwrap();
    let enter = cb.wait().for_element(Id("enter-visit")).await.unwrap();
    assert_eq!(
        enter.attr("target").await.unwrap().as_deref(),
        Some("_blank"),
        "the room opens in a window of its own"
    );
    cb.goto(&format!("http://demo.localhost:{port}/visits/v1/room"))
        .await
        .unwrap();
    ca.goto(&format!("http://demo.localhost:{port}/visits/v1/room"))
        .await
        .unwrap();

    let (sa, sb) = tokio::join!(
        until_decoding(ca, 1, "karin"),
        until_decoding(cb, 1, "tove")
    );
    screenshot(ca, "video-1to1-karin").await;
    screenshot(cb, "video-1to1-tove").await;
    // The fake camera sends 1280×720 in three layers; each tile is shown
    // 600-odd pixels wide, so the SFU forwards the middle layer (640×360).
    for (who, sizes) in [("karin", &sa), ("tove", &sb)] {
        let (w, h) = sizes[0];
        assert!(
            (320..=1280).contains(&w) && w * 9 == h * 16,
            "{who} decodes {w}×{h}"
        );
    }
    // Nobody watches Karin's smallest and largest layers, so her browser
    // stops encoding them (its CPU and uplink are spared); the middle one
    // keeps flowing.
    let before = sent_per_layer(ca).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = sent_per_layer(ca).await;
    let grew = |rid: &str| after.get(rid) > before.get(rid);
    assert!(
        grew("h") && !grew("q") && !grew("f"),
        "karin sends only the watched layer: {before:?} then {after:?}"
    );

    // Names as the handbook says: the patient sees the clinician's name.
    assert!(peers_shown(cb).await.iter().any(|n| n.contains("Karin")));
    assert!(peers_shown(ca).await.iter().any(|n| n.contains("Tove")));

    // Started early (booked to start in five minutes): the room counts
    // down to the planned start, not the planned end.
    let time = wait_for_text(cb, "#room-time", "Börjar om 5 min").await;
    assert!(!time.contains("kvar"), "{time}");

    // Who is speaking: Tove mutes, Karin's fake microphone beeps on, and
    // Tove's room frames Karin's tile as the one speaking.
    cb.find(Id("toggle-mic"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    cb.wait()
        .at_most(Duration::from_secs(20))
        .for_element(fantoccini::Locator::Css(".tile:not(.self).speaking"))
        .await
        .expect("Tove sees that Karin speaks");

    // Mute shows for the other side.
    ca.find(Id("toggle-mic"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(cb, ".tile:not(.self) .state", "mikrofon av").await;

    // Karin ends the visit from the room: it asks first, and only then
    // closes for Tove too, and nobody can come back.
    end_visit_in_the_room(ca, cb).await;
    wait_for_text(cb, "#room-ended", "Besöket är avslutat").await;
    cb.goto(&format!("http://demo.localhost:{port}/visits/v1/room"))
        .await
        .unwrap();
    wait_for_text(cb, "#room-state", "Besöket är avslutat").await;
    assert_eq!(
        ws_status(port, "v1", tove.session_cookie(), &own).await,
        409,
        "no re-entry once ended"
    );
    let stats = app.state.media.stats().await;
    assert_eq!(stats.rooms, 0, "the room is gone: {stats:?}");
    assert!(stats.datagrams_out > 100, "{stats:?}");
    let _ = ca.clone().close().await;
    let _ = cb.clone().close().await;
}

/// A group visit: four browsers, each decoding the three others; patients
/// see each other by initials only.
#[tokio::test(flavor = "multi_thread")]
async fn four_browsers_in_a_group_visit_each_see_the_three_others() {
    let _alone = alone().await;
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    let mut ada = app.browser("demo.localhost");
    ada.login(ADA).await;
    ada.get("/admin/people").await;
    let page = ada
        .post(
            "/admin/people",
            &[
                ("role", "clinician"),
                ("personnummer", "19800101-0001"),
                ("given_name", "Greta"),
                ("family_name", "Grupp"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    // Tove has accepted the terms (the login does that).
    app.browser("demo.localhost").login(TOVE).await;
    let olof = person_id(&app, OLOF).await;
    let greta = person_id(&app, "19800101-0001").await;
    book_visit(
        &app,
        "g1",
        app.clock.now().plus(5 * MINUTE),
        vec![olof, greta],
    )
    .await;
    karin.get("/visits/g1").await;
    karin.post("/visits/g1/start", &[]).await;
    // The group talks on past the planned end: the room stays open and
    // says so.
    app.clock.advance(25 * MINUTE);

    let port = serve(&app).await;
    let (a, b, c, d) = tokio::join!(
        Headless::with_fake_media(),
        Headless::with_fake_media(),
        Headless::with_fake_media(),
        Headless::with_fake_media()
    );
    let clients = [&a.client, &b.client, &c.client, &d.client];
    let people = ["19811218-9876", OLOF, "19800101-0001", TOVE];
    for (c, pnr) in clients.iter().zip(people) {
        login(c, port, pnr).await;
        c.goto(&format!("http://demo.localhost:{port}/visits/g1/room"))
            .await
            .unwrap();
    }
    let names = ["karin", "olof", "greta", "tove"];
    // Browsers keep decoding while the test looks at them one by one.
    for (c, n) in clients.iter().zip(names) {
        assert_eq!(until_decoding(c, 3, n).await.len(), 3, "{n}");
    }
    screenshot(&a.client, "video-group-karin").await;
    wait_for_text(
        &d.client,
        "#room-time",
        "Planerad tid slut för 5 min sedan – ni kan fortsätta",
    )
    .await;
    let shown = peers_shown(&d.client).await;
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert_eq!(app.state.media.stats().await.peers, 4);
    for c in clients {
        let _ = c.clone().close().await;
    }
}

/// This machine's address on its default route: Firefox does not pair its
/// candidates with a loopback address, so its test needs a real one.
fn default_route_ip() -> std::net::IpAddr {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    // No packet leaves: connecting a UDP socket only looks up the route.
    s.connect("192.0.2.1:9")
        .or_else(|_| s.connect("10.255.255.1:9"))
        .expect("this machine has no network interface besides loopback");
    s.local_addr().unwrap().ip()
}

/// Firefox ESR and Chromium in one visit: each decodes the other's video.
/// The SFU listens on every interface and announces the machine's address,
/// as in production.
#[tokio::test(flavor = "multi_thread")]
async fn firefox_and_chromium_see_each_other() {
    let _alone = alone().await;
    let app = TestApp::with(Backend::Sqlite, |c| {
        c.media.listen = "0.0.0.0:0".parse().unwrap();
        c.media.announce = Some(default_route_ip());
    })
    .await;
    let port = started_visit(&app, "ff").await;
    let (chromium, firefox) = tokio::join!(
        Headless::with_fake_media(),
        Headless::firefox_with_fake_media()
    );
    let (cc, fc) = (&chromium.client, &firefox.client);
    enter_room(port, "ff", cc, fc).await;
    let (from_firefox, from_chromium) = tokio::join!(
        until_decoding(cc, 1, "chromium"),
        until_decoding(fc, 1, "firefox")
    );
    screenshot(fc, "video-firefox").await;
    assert!(from_firefox[0].0 > 0 && from_chromium[0].0 > 0);
    // The patient's room in Firefox at a phone's layout (its windows are at
    // least 500 px wide; the room's phone layout holds up to 576): her
    // controls whole on the screen; her camera switched off shows her
    // initials to Karin.
    viewport(fc, 500, 844).await;
    controls_in_view(
        fc,
        &["toggle-mic", "toggle-camera", "toggle-settings", "leave"],
        "firefox at 500×844",
    )
    .await;
    fc.find(Id("toggle-camera"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(cc, ".tile.no-video .avatar", "TT").await;
    screenshot(fc, "room-phone-firefox").await;
    let _ = cc.clone().close().await;
    let _ = fc.clone().close().await;
}

/// A TURN server (Debian's coturn) on loopback, for a network that allows
/// nothing else.
struct Turn {
    child: std::process::Child,
    port: u16,
}

impl Turn {
    fn start() -> Self {
        assert!(
            std::path::Path::new("/usr/bin/turnserver").exists(),
            "coturn is missing: `cargo xtask test` installs it"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("/usr/bin/turnserver")
            .args([
                "-n",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                &format!("--listening-port={port}"),
                "--lt-cred-mech",
                "--user=tillit:turn-secret",
                "--realm=tillit.test",
                "--allow-loopback-peers",
                "--fingerprint",
                "--log-file=stdout",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Ready when it accepts TCP.
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "coturn did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the browsers may only use TURN over TCP, media still flows: the
/// installation hands them its TURN server and the relay-only policy.
#[tokio::test(flavor = "multi_thread")]
async fn media_flows_through_a_turn_server_over_tcp() {
    let _alone = alone().await;
    let turn = Turn::start();
    let app = TestApp::with(Backend::Sqlite, |c| {
        c.media.ice_servers = vec![tillit_kernel::config::IceServer {
            urls: vec![format!("turn:127.0.0.1:{}?transport=tcp", turn.port)],
            username: "tillit".into(),
            credential: "turn-secret".into(),
        }];
        c.media.ice_transport_policy = tillit_kernel::config::IcePolicy::Relay;
    })
    .await;
    let port = started_visit(&app, "turn").await;
    let (a, b) = tokio::join!(Headless::with_fake_media(), Headless::with_fake_media());
    let (ca, cb) = (&a.client, &b.client);
    enter_room(port, "turn", ca, cb).await;
    tokio::join!(
        until_decoding(ca, 1, "karin-turn"),
        until_decoding(cb, 1, "tove-turn")
    );
    let routes = ca
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.tillitRoom.routes().then(done, () => done(null));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(routes["publish"], "relay", "{routes}");
    assert_eq!(routes["receive"], "relay", "{routes}");
    let _ = ca.clone().close().await;
    let _ = cb.clone().close().await;
}

/// Drops every datagram to the SFU's port while it lives (nftables, as
/// root), as a network outage would.
struct Outage(String);

impl Outage {
    fn start(port: u16) -> Self {
        Self::rule(port, &format!("udp dport {port} drop"))
    }

    /// A narrow link: datagrams to `port` beyond `bytes_per_second` are
    /// dropped, as a policer on a slow line would.
    fn throttle(port: u16, bytes_per_second: u32) -> Self {
        Self::rule(
            port,
            &format!("udp dport {port} limit rate over {bytes_per_second} bytes/second drop"),
        )
    }

    fn rule(port: u16, rule: &str) -> Self {
        let table = format!("tillit_outage_{port}");
        let nft = |args: &str| {
            let ok = std::process::Command::new("nft")
                .args(args.split(' '))
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "nft {args} failed: the outage test needs root and nftables"
            );
        };
        nft(&format!("add table inet {table}"));
        nft(&format!(
            "add chain inet {table} input {{ type filter hook input priority -10 ; }}"
        ));
        nft(&format!("add rule inet {table} input {rule}"));
        Self(table)
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("nft")
            .args(["delete", "table", "inet", &self.0])
            .status();
    }
}

/// A network outage in the middle of a visit: the others see the poor
/// connection, and when the network comes back the call recovers by
/// itself (ICE restart, then a fresh join), with nobody clicking anything.
#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_recovers_by_itself() {
    let _alone = alone().await;
    let app = TestApp::new(Backend::Sqlite).await;
    let port = started_visit(&app, "drop").await;
    let (a, b) = tokio::join!(Headless::with_fake_media(), Headless::with_fake_media());
    let (ca, cb) = (&a.client, &b.client);
    enter_room(port, "drop", ca, cb).await;
    tokio::join!(
        until_decoding(ca, 1, "karin-before"),
        until_decoding(cb, 1, "tove-before")
    );

    let outage = Outage::start(app.state.media.local_addr().port());
    wait_for_text(cb, ".tile:not(.self) .state", "dålig anslutning").await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    drop(outage);

    tokio::join!(
        until_decoding(ca, 1, "karin-after"),
        until_decoding(cb, 1, "tove-after")
    );
    wait_for_text(cb, ".tile:not(.self) .state", "").await;
    let shown = peers_shown(cb).await;
    assert_eq!(
        shown.len(),
        1,
        "one tile for Karin, not one per rejoin: {shown:?}"
    );
    let _ = ca.clone().close().await;
    let _ = cb.clone().close().await;
}

/// Waits until `c` decodes its one remote video at a width `want` accepts;
/// returns the width.
async fn until_width(
    c: &fantoccini::Client,
    want: impl Fn(u64) -> bool,
    secs: u64,
    what: &str,
) -> u64 {
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        if let Some(&(_, w, _)) = inbound(c).await.first() {
            if want(w) {
                return w;
            }
            if seen.last() != Some(&w) {
                seen.push(w);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{what}: widths seen {seen:?}");
}

/// A patient on a narrow downlink: the SFU's bandwidth estimate for her
/// (GCC over her browser's TWCC feedback) falls, and she is sent the small
/// layer, so her video keeps playing instead of freezing; the clinician's
/// is untouched. When the line widens, the SFU tries the larger layer
/// again by itself.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "passes alone and with the video suite, but in the full CI run the SFU's estimate does not fall within 60 s; run with --ignored while that is found (issue [2.4] note)"]
async fn a_narrow_downlink_gets_a_smaller_layer_and_recovers() {
    let _alone = alone().await;
    let app = TestApp::new(Backend::Sqlite).await;
    let port = started_visit(&app, "narrow").await;
    let (a, b) = tokio::join!(Headless::with_fake_media(), Headless::with_fake_media());
    let (ca, cb) = (&a.client, &b.client);
    enter_room(port, "narrow", ca, cb).await;
    tokio::join!(
        until_decoding(ca, 1, "karin"),
        until_decoding(cb, 1, "tove")
    );
    // Her top layer, or what her sender's browser makes of it when short of
    // CPU (Chrome scales its layers down under load: 480 for 640, say):
    // anything above the smallest.
    let before = until_width(cb, |w| w > 320, 30, "tove before").await;

    let routes = cb
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.tillitRoom.routes().then(done, () => done({}));",
            vec![],
        )
        .await
        .unwrap();
    // Every port Tove receives on: the SFU may move her media to another of
    // her candidate pairs when one of them fails, as ICE allows.
    let tove_receives: Vec<u16> = routes["receivePorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| u16::try_from(p.as_u64().unwrap()).unwrap())
        .collect();
    assert!(!tove_receives.is_empty(), "{routes}");
    // 240 kbit/s: less than the middle layer and audio need.
    let narrow: Vec<Outage> = tove_receives
        .iter()
        .map(|&port| Outage::throttle(port, 30_000))
        .collect();
    let narrowed = until_width(cb, |w| w < before, 60, "tove on a narrow line").await;
    let karin = until_width(ca, |_| true, 5, "karin").await;
    assert!(
        karin > narrowed,
        "karin's downlink is not narrowed: {karin} against tove's {narrowed}"
    );
    drop(narrow);
    // Probes that failed while the line was narrow doubled the wait before
    // the next one (up to `bandwidth_hold_max`, 2 min).
    until_width(cb, |w| w > narrowed, 150, "tove after the line widened").await;
    let _ = ca.clone().close().await;
    let _ = cb.clone().close().await;
}

/// "Testa video": the camera preview plays, the microphone moves the level
/// meter, and the connection test reaches the SFU and reports that media
/// flows.
#[tokio::test(flavor = "multi_thread")]
async fn testa_video_checks_camera_microphone_and_the_connection() {
    let _alone = alone().await;
    let app = TestApp::new(Backend::Sqlite).await;
    app.browser("demo.localhost").login(TOVE).await;
    let port = serve(&app).await;
    let b = Headless::with_fake_media().await;
    let c = &b.client;
    login(c, port, TOVE).await;
    c.find(Id("video-test-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "h1", "Testa video").await;
    let started = std::time::Instant::now();
    loop {
        let v = c
            .execute(
                "return [document.getElementById('self-video').videoWidth,
                         Number(document.getElementById('mic-level').value)];",
                vec![],
            )
            .await
            .unwrap();
        if v[0].as_u64().unwrap_or(0) > 0 && v[1].as_f64().unwrap_or(0.0) > 0.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no preview or no microphone level: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.find(Id("test-sound"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Id("test-connection"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "#test-result", "Anslutningen fungerar").await;
    screenshot(c, "video-test").await;
    // A room of one, gone once the test is over.
    let started = std::time::Instant::now();
    while app.state.media.stats().await.rooms > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the test room stayed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = c.clone().close().await;
}

// --- the room as a person uses it: controls, keyboard, phones -------------

/// Presses `key` on whatever has focus in `c`, as a keyboard would.
async fn press(c: &fantoccini::Client, key: fantoccini::key::Key) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let value: char = key.into();
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    c.perform_actions(keys).await.unwrap();
}

/// The id of the element that has focus in `c`.
async fn focused(c: &fantoccini::Client) -> String {
    c.execute(
        "return (document.activeElement && document.activeElement.id) || '';",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Runs `js` (a function body that returns a value) in `c` until it
/// returns `true`; on failure, says what it returned last.
async fn until_true(c: &fantoccini::Client, js: &str, what: &str) {
    let started = std::time::Instant::now();
    let mut last = serde_json::Value::Null;
    while started.elapsed() < Duration::from_secs(10) {
        last = c.execute(js, vec![]).await.unwrap();
        if last == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(c, "failure").await;
    panic!("{what}: never so; last {last}");
}

/// Focuses the element `id` in `c`'s page.
async fn focus(c: &fantoccini::Client, id: &str) {
    c.execute(
        "document.getElementById(arguments[0]).focus();",
        vec![id.into()],
    )
    .await
    .unwrap();
}

/// `el`'s text against what is behind it, and the contrast of its edge
/// (its own background, or its border) against what surrounds it, both as
/// WCAG contrast ratios: `{text, edge}`. `el` is `arguments[0]`, a CSS
/// selector.
const CONTRAST: &str = r#"
    const el = document.querySelector(arguments[0]);
    const rgba = (c) => { const v = c.match(/[\d.]+/g).map(Number); return v.length < 4 ? [...v, 1] : v; };
    const lum = (c) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const behind = (e) => {
      for (; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor); if (c[3] > 0) return c; }
      return [255, 255, 255, 1];
    };
    const s = getComputedStyle(el);
    const around = behind(el.parentElement);
    const own = rgba(s.backgroundColor);
    const border = parseFloat(s.borderTopWidth) > 0 ? ratio(rgba(s.borderTopColor), around) : 1;
    const r = el.getBoundingClientRect();
    return {
      text: ratio(rgba(s.color), behind(el)),
      edge: Math.max(own[3] > 0 ? ratio(own, around) : 1, border),
      shown: r.width > 0 && r.height > 0 && s.visibility !== "hidden",
    };
"#;

async fn contrast(c: &fantoccini::Client, css: &str) -> (f64, f64, bool) {
    let v = c.execute(CONTRAST, vec![css.into()]).await.unwrap();
    (
        v["text"].as_f64().unwrap(),
        v["edge"].as_f64().unwrap(),
        v["shown"].as_bool().unwrap(),
    )
}

/// Every control `ids` of the room in `c` is shown whole inside the
/// window, not covered by anything, and at least 44 px each way (a
/// finger's width).
async fn controls_in_view(c: &fantoccini::Client, ids: &[&str], what: &str) {
    let js = r#"
        const out = { width: innerWidth, height: innerHeight, problems: [] };
        for (const id of arguments[0]) {
          const el = document.getElementById(id);
          if (!el) { out.problems.push(id + " missing"); continue; }
          const r = el.getBoundingClientRect();
          const inside = r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
          const hit = inside && document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          if (!inside || r.width < 44 || r.height < 44 || !el.contains(hit)) {
            out.problems.push(`${id} at ${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)}`);
          }
        }
        return out;
    "#;
    let ids: Vec<serde_json::Value> = ids.iter().map(|&i| i.into()).collect();
    let started = std::time::Instant::now();
    loop {
        let v = c
            .execute(js, vec![serde_json::Value::Array(ids.clone())])
            .await
            .unwrap();
        if v["problems"].as_array().is_some_and(Vec::is_empty) {
            return;
        }
        // The window may still be taking its new size.
        if started.elapsed() > Duration::from_secs(5) {
            screenshot(c, &format!("failure-{}", what.replace(' ', "-"))).await;
            panic!("{what}: controls not whole on the screen: {v}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sets `c`'s viewport (not its window, which adds the browser's own bars)
/// to `width`×`height` CSS pixels.
async fn viewport(c: &fantoccini::Client, width: u32, height: u32) {
    let (mut w, mut h) = (width, height);
    let mut size = serde_json::Value::Null;
    for _ in 0..3 {
        c.set_window_size(w, h).await.unwrap();
        size = c
            .execute("return [innerWidth, innerHeight];", vec![])
            .await
            .unwrap();
        let inner = |i: usize| u32::try_from(size[i].as_u64().unwrap()).unwrap();
        if (inner(0), inner(1)) == (width, height) {
            return;
        }
        // What the window adds (or takes) beside the page.
        w = (w + width).saturating_sub(inner(0));
        h = (h + height).saturating_sub(inner(1));
    }
    panic!("the viewport is {size}, not {width}×{height}");
}

/// No two of the room's tiles in `c` overlap.
async fn tiles_apart(c: &fantoccini::Client, what: &str) {
    let overlaps = c
        .execute(
            "const r = [...document.querySelectorAll('#tiles .tile')].map(t => t.getBoundingClientRect());
             return r.flatMap((a, i) => r.slice(i + 1).filter(b =>
               a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)).length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overlaps, 0, "{what}: tiles overlap");
}

/// The clinician (`clinician`) ends the visit from the room: the control
/// asks first, in a dialog that says the visit ends for everyone. Esc and
/// "Avbryt" leave it running for the patient (`patient`), with the focus
/// back on the control; "Avsluta besöket för alla" ends it.
async fn end_visit_in_the_room(clinician: &fantoccini::Client, patient: &fantoccini::Client) {
    use fantoccini::Locator::Css;
    use fantoccini::key::Key;
    let is_open = "return document.getElementById('end-dialog').open;";
    let is_closed = "return !document.getElementById('end-dialog').open;";
    clinician
        .find(Id("end-visit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_true(clinician, is_open, "the end button opens the dialog").await;
    let text = clinician
        .find(Css("#end-dialog"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("avslutas för alla") && text.contains("Avsluta besöket för alla"),
        "{text}"
    );
    assert_eq!(
        focused(clinician).await,
        "end-cancel",
        "focus moves into it"
    );
    screenshot(clinician, "room-end-dialog").await;
    press(clinician, Key::Escape).await;
    until_true(clinician, is_closed, "Esc closes the dialog").await;
    assert_eq!(focused(clinician).await, "end-visit", "focus returns");

    // By keyboard, and "Avbryt".
    press(clinician, Key::Enter).await;
    until_true(clinician, is_open, "Enter on the end button opens it").await;
    clinician
        .find(Id("end-cancel"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_true(clinician, is_closed, "Avbryt closes the dialog").await;
    // Neither ended the visit: the patient is still in it.
    let still = patient
        .execute(
            "return document.getElementById('room-ended').hidden;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(still, serde_json::Value::Bool(true), "ended on cancel");
    assert_eq!(
        peers_shown(patient).await.len(),
        1,
        "the clinician is still there"
    );

    clinician
        .find(Id("end-visit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_true(clinician, is_open, "the end button opens the dialog again").await;
    clinician
        .find(Id("end-confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(clinician, "#room-state", "Besöket är avslutat").await;
}

/// Issue [2.4], defects 5, 8 and 9 and the keyboard: a room of three
/// (Karin, her colleague Olof, and Tove). Its controls stay whole on the
/// screen of a desktop with the side panel open, and of a phone upright and
/// sideways; they are reached and used by keyboard in order; the notes
/// panel's buttons can be seen; a camera switched off shows the person's
/// initials; the room counts down to a planned start that is still ahead;
/// and Tove is told when the others leave.
#[tokio::test(flavor = "multi_thread")]
async fn a_three_person_room_fits_the_screen_and_works_by_keyboard() {
    let _alone = alone().await;
    use fantoccini::key::Key;
    let app = TestApp::new(Backend::Sqlite).await;
    let mut karin = app.browser("demo.localhost");
    karin.login(KARIN).await;
    publish_profile(&mut karin).await;
    app.browser("demo.localhost").login(TOVE).await;
    let olof = person_id(&app, OLOF).await;
    book_visit(&app, "r3", app.clock.now().plus(5 * MINUTE), vec![olof]).await;
    karin.get("/visits/r3").await;
    karin.post("/visits/r3/start", &[]).await;
    let port = serve(&app).await;
    let (a, b, c) = tokio::join!(
        Headless::with_fake_media(),
        Headless::with_fake_media(),
        Headless::with_fake_media()
    );
    let (ck, ct, co) = (&a.client, &b.client, &c.client);
    tokio::join!(
        login(ck, port, "19811218-9876"),
        login(ct, port, TOVE),
        login(co, port, OLOF)
    );
    let room = format!("http://demo.localhost:{port}/visits/r3/room");
    for c in [ck, co] {
        c.goto(&room).await.unwrap();
    }
    // Karin started five minutes early: her room counts down to the
    // planned start. Tove comes in a minute after it, and is told the
    // minutes left of the planned 15.
    let early = wait_for_text(ck, "#room-time", "Börjar om 5 min").await;
    assert!(!early.contains("kvar"), "{early}");
    app.clock.advance(6 * MINUTE);
    ct.goto(&room).await.unwrap();
    wait_for_text(ct, "#room-time", "14 min kvar av planerad tid").await;
    until_decoding(ck, 2, "karin").await;

    // A desktop, 1280×900, with the side panel open: all of Karin's
    // controls whole on the screen, with the three tiles.
    let karins = [
        "toggle-mic",
        "toggle-camera",
        "toggle-settings",
        "toggle-panel",
        "leave",
        "end-visit",
    ];
    until_true(
        ck,
        "return document.querySelectorAll('#tiles .tile').length === 3 \
           && !document.getElementById('side-panel').hidden;",
        "three tiles and the panel",
    )
    .await;
    viewport(ck, 1280, 900).await;
    controls_in_view(ck, &karins, "karin at 1280×900").await;
    tiles_apart(ck, "karin at 1280×900").await;
    screenshot(ck, "room-desktop").await;

    // Keyboard only: Tab goes from the panel's tab through its notes to the
    // controls, in their order.
    focus(ck, "tab-notes").await;
    let wanted = [
        "toggle-mic",
        "toggle-camera",
        "toggle-panel",
        "leave",
        "end-visit",
    ];
    let mut reached = Vec::new();
    for _ in 0..20 {
        press(ck, Key::Tab).await;
        let id = focused(ck).await;
        if wanted.contains(&id.as_str()) {
            reached.push(id.clone());
        }
        if id == "end-visit" {
            break;
        }
    }
    assert_eq!(reached, wanted, "the order Tab reaches the controls in");
    // Space and Enter switch the microphone off and on; the button says
    // so (aria-pressed), and so does Karin's own tile.
    focus(ck, "toggle-mic").await;
    let pressed = "return document.getElementById('toggle-mic').getAttribute('aria-pressed')";
    press(ck, Key::Space).await;
    until_true(ck, &format!("{pressed} === 'true'"), "Space mutes").await;
    wait_for_text(ck, "#tile-self .state", "mikrofon av").await;
    press(ck, Key::Enter).await;
    until_true(ck, &format!("{pressed} === 'false'"), "Enter unmutes").await;
    // The panel hides and comes back by keyboard.
    focus(ck, "toggle-panel").await;
    press(ck, Key::Enter).await;
    until_true(
        ck,
        "return document.getElementById('side-panel').hidden \
           && document.getElementById('toggle-panel').getAttribute('aria-expanded') === 'false';",
        "Enter hides the panel",
    )
    .await;
    press(ck, Key::Space).await;
    until_true(
        ck,
        "return !document.getElementById('side-panel').hidden;",
        "Space shows it again",
    )
    .await;
    // The device choice: opened by keyboard, its lists named, Esc closes it.
    focus(ck, "toggle-settings").await;
    press(ck, Key::Enter).await;
    until_true(
        ck,
        "const d = document.getElementById('device-settings'); \
         return d.open && ['camera-select', 'mic-select'].every(id => \
           document.getElementById(id).labels.length === 1 \
           && document.getElementById(id).getBoundingClientRect().width > 0);",
        "the device choice opens, with labelled lists",
    )
    .await;
    press(ck, Key::Escape).await;
    until_true(
        ck,
        "return !document.getElementById('device-settings').open \
           && document.activeElement.id === 'toggle-settings';",
        "Esc closes the device choice",
    )
    .await;

    // Defect 9: the notes' "Kopiera" is a button one can see on the light
    // panel: its text AA, its edge at least 3:1.
    let (text, edge, shown) = contrast(ck, ".plugin-notes [data-tillit-copy]").await;
    assert!(
        shown && text >= 4.5 && edge >= 3.0,
        "Kopiera: text {text:.2}:1, edge {edge:.2}:1, shown {shown}"
    );

    // Tove switches her camera off: Karin sees Tove's initials, large and
    // legible, where the video was; so does Tove in her own tile.
    ct.find(Id("toggle-camera"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_true(
        ck,
        "return [...document.querySelectorAll('#tiles .tile')].some(t => \
           t.querySelector('.name').textContent.includes('Tove') \
           && t.classList.contains('no-video') \
           && t.querySelector('.avatar').textContent === 'TT' \
           && t.querySelector('.avatar').getBoundingClientRect().width >= 48);",
        "Karin sees Tove's initials",
    )
    .await;
    let (text, _, shown) = contrast(ck, ".tile.no-video .avatar").await;
    assert!(shown && text >= 4.5, "initials {text:.2}:1");
    wait_for_text(ct, "#tile-self .avatar", "TT").await;

    // Phones, upright and sideways: the patient's and the clinician's
    // controls (the panel open) whole on the screen.
    let toves = ["toggle-mic", "toggle-camera", "toggle-settings", "leave"];
    for (w, h) in [(390, 844), (844, 390)] {
        for (c, ids, who) in [(ct, &toves[..], "tove"), (ck, &karins[..], "karin")] {
            viewport(c, w, h).await;
            let what = format!("{who} at {w}×{h}");
            controls_in_view(c, ids, &what).await;
            tiles_apart(c, &what).await;
        }
        let name = if w < h {
            "room-phone"
        } else {
            "room-phone-landscape"
        };
        screenshot(ct, name).await;
        screenshot(ck, &format!("{name}-clinician")).await;
    }

    // Olof leaves, then Karin: Tove is told each time, and at the end
    // that she may wait or leave.
    co.find(Id("leave")).await.unwrap().click().await.unwrap();
    wait_for_text(ct, "#room-news", "Olof Berg har lämnat besöket.").await;
    ck.find(Id("leave")).await.unwrap().click().await.unwrap();
    wait_for_text(
        ct,
        "#room-news",
        "Vårdgivaren har lämnat besöket. Du kan vänta kvar eller lämna.",
    )
    .await;
    let live = ct
        .find(Id("room-news"))
        .await
        .unwrap()
        .attr("aria-live")
        .await
        .unwrap();
    assert_eq!(live.as_deref(), Some("polite"), "read out when it changes");
    screenshot(ct, "room-patient-alone").await;
    for c in [ck, ct, co] {
        let _ = c.clone().close().await;
    }
}

/// A browser in a window of its own size, for the walkthrough.
struct Seat {
    browser: Headless,
    /// Names its screenshots: `walk-<tag>-<step>`.
    tag: String,
}

impl Seat {
    async fn new(firefox: bool, (width, height): (u32, u32), tag: String) -> Self {
        let browser = if firefox {
            Headless::firefox_with_fake_media().await
        } else {
            Headless::with_fake_media().await
        };
        if firefox {
            // Firefox's windows do not go narrower than about 500 px.
            browser.client.set_window_size(width, height).await.unwrap();
        } else {
            viewport(&browser.client, width, height).await;
        }
        Self { browser, tag }
    }

    fn c(&self) -> &fantoccini::Client {
        &self.browser.client
    }

    async fn shot(&self, step: &str) {
        screenshot(self.c(), &format!("walk-{}-{step}", self.tag)).await;
    }

    async fn click(&self, id: &str) {
        headless::click_on(self.c(), &format!("#{id}")).await;
    }

    /// Follows the link `css` matches in this window (a link that opens a
    /// new tab, as "Gå till besöket" does, is followed here).
    async fn follow(&self, css: &str) {
        let href = self
            .c()
            .wait()
            .for_element(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .prop("href")
            .await
            .unwrap()
            .unwrap();
        self.c().goto(&href).await.unwrap();
    }
}

/// The walkthrough of [2.4] as the handbook tells it, in real browsers:
/// a clinician fills in "Min profil" and publishes it, invites a new
/// patient for a visit in ten minutes; the patient follows the SMS's link,
/// logs in, accepts the terms and confirms on the visit's page, where she
/// waits; the clinician starts the visit, her page turns to "Gå till
/// besöket" by itself, both see each other, the clinician writes a private
/// note and ends the visit for everyone after confirming. Screenshots of
/// every step are kept (`walk-<tag>-…`).
async fn walkthrough(tag: &str, clinician: (u32, u32), patient: (bool, (u32, u32))) {
    let mut app = TestApp::with(Backend::Sqlite, |c| {
        if patient.0 {
            // Firefox does not pair with a loopback address: the SFU
            // announces the machine's, as in production.
            c.media.listen = "0.0.0.0:0".parse().unwrap();
            c.media.announce = Some(default_route_ip());
        }
    })
    .await;
    app.start_worker();
    let port = serve(&app).await;
    let base = format!("http://demo.localhost:{port}");
    let (k, p) = tokio::join!(
        Seat::new(false, clinician, format!("{tag}-clinician")),
        Seat::new(patient.0, patient.1, format!("{tag}-patient"))
    );

    // Karin: "Min profil", then "Bjud in till besök" in ten minutes.
    login(k.c(), port, KARIN).await;
    k.shot("01-overview").await;
    headless::fill_in_and_publish_profile(k.c()).await;
    k.shot("02-profile-published").await;
    headless::open_invite_form_for_new_patient(k.c(), "19850707-1119", "Sara", "Svensson").await;
    let soon = app.clock.now().plus(10 * MINUTE).to_stockholm();
    k.c()
        .execute(
            "document.getElementById('date').value = arguments[0];
             document.getElementById('time').value = arguments[1];",
            vec![
                serde_json::json!(soon.date().to_string()),
                serde_json::json!(soon.time().strftime("%H:%M").to_string()),
            ],
        )
        .await
        .unwrap();
    k.shot("03-invite").await;
    k.click("send-invite").await;
    wait_for_text(k.c(), "#notice", "Inbjudan är skapad").await;

    // The SMS, as the development outbox shows it.
    let started = std::time::Instant::now();
    let sms = loop {
        k.c().goto(&format!("{base}/dev/outbox")).await.unwrap();
        if let Ok(cell) = k
            .c()
            .find(fantoccini::Locator::Css(
                "tr.message[data-kind='invited'][data-status='sent'] td.text",
            ))
            .await
        {
            break cell.text().await.unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no SMS sent");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    k.shot("04-outbox").await;
    let link = sms
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let visit = link.rsplit('/').next().unwrap().to_owned();

    // Sara, on her phone: the link, the login, the terms, her visit.
    p.c().goto(&link).await.unwrap();
    p.shot("05-login").await;
    // The login page the link led to (it keeps where she was going).
    p.c()
        .wait()
        .for_element(Id("personnummer"))
        .await
        .unwrap()
        .send_keys("19850707-1119")
        .await
        .unwrap();
    p.click("login-submit").await;
    p.click("accept-terms").await;
    wait_for_text(p.c(), "#visit-clinician", "Karin Lindblad").await;
    assert!(p.c().current_url().await.unwrap().path().ends_with(&visit));
    p.shot("06-visit-to-confirm").await;
    p.click("confirm-visit").await;
    wait_for_text(p.c(), "#visit-status", "Bekräftad").await;
    wait_for_text(p.c(), "#room-state", "Väntar").await;
    p.shot("07-waiting").await;

    // Karin finds the visit in "Mina bokningar" and starts it.
    k.c().goto(&format!("{base}/bookings")).await.unwrap();
    k.follow(&format!("#booking-{visit} a.row-link")).await;
    k.shot("08-visit").await;
    k.click("start-visit").await;
    k.follow("#enter-visit").await;

    // Sara's page changes by itself.
    wait_for_text(p.c(), "#enter-visit", "Gå till besöket").await;
    p.shot("09-visit-started").await;
    p.follow("#enter-visit").await;
    tokio::join!(
        until_decoding(k.c(), 1, "karin"),
        until_decoding(p.c(), 1, "sara")
    );
    k.shot("10-room").await;
    p.shot("10-room").await;

    // A private note, saved.
    k.c()
        .wait()
        .for_element(fantoccini::Locator::Css(".plugin-notes textarea"))
        .await
        .unwrap()
        .send_keys("Sover bättre sedan förra besöket.")
        .await
        .unwrap();
    k.c()
        .find(fantoccini::Locator::Css(
            ".plugin-notes button[type=submit]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(k.c(), ".plugin-notes [data-tillit-status]", "Sparad").await;
    k.shot("11-note").await;

    // "Avsluta besöket": asked first, then closed for both.
    k.click("end-visit").await;
    until_true(
        k.c(),
        "return document.getElementById('end-dialog').open;",
        "the end dialog",
    )
    .await;
    k.shot("12-end-dialog").await;
    k.click("end-confirm").await;
    wait_for_text(k.c(), "#room-state", "Besöket är avslutat").await;
    until_true(
        p.c(),
        "return !document.getElementById('room-ended').hidden;",
        "the patient is told the visit ended",
    )
    .await;
    k.shot("13-ended").await;
    p.shot("13-ended").await;
    let _ = k.c().clone().close().await;
    let _ = p.c().clone().close().await;
}

/// The walkthrough with the clinician at a desktop and the patient on a
/// phone-sized window.
#[tokio::test(flavor = "multi_thread")]
async fn walkthrough_clinician_at_a_desktop_patient_on_a_phone() {
    let _alone = alone().await;
    walkthrough("desktop-phone", (1280, 900), (false, (390, 844))).await;
}

/// The walkthrough with the clinician on a phone-sized window and the
/// patient at a desktop in Firefox ESR.
#[tokio::test(flavor = "multi_thread")]
async fn walkthrough_clinician_on_a_phone_patient_in_firefox() {
    let _alone = alone().await;
    walkthrough("phone-firefox", (390, 844), (true, (1280, 900))).await;
}
