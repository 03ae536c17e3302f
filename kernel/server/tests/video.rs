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

/// The first promise: a clinician and a patient in a 1:1 visit
/// each decode the other's video, at the size the tile shows; a patient
/// from another tenant, and anyone once the visit has ended, is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_clinician_and_a_patient_see_each_other_in_real_browsers() {
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

    // Karin ends the visit from the room: it closes for Tove too, and
    // nobody can come back.
    ca.find(Id("end-visit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
async fn a_narrow_downlink_gets_a_smaller_layer_and_recovers() {
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
    let tove_receives = u16::try_from(routes["receivePort"].as_u64().unwrap()).unwrap();
    // 240 kbit/s: less than the middle layer and audio need.
    let narrow = Outage::throttle(tove_receives, 30_000);
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
