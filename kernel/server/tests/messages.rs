//! Messages to patients through real parts: SMS to a local server that
//! speaks 46elks' API (form-encoded POST, Basic auth, JSON reply, delivery
//! reports), e-mail to a real SMTP server (aiosmtpd) with a calendar entry,
//! reminders with a controlled clock across a restart, and the outbox
//! surviving a crash between the commit and the send.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use mail_parser::MimeHeaders;
use support::*;
use tillit_domain::Clock;
use tillit_domain::notify::{NoticeKind, NoticeStatus, Notification};

/// One SMS as 46elks received it.
#[derive(Debug, Clone)]
struct Sms {
    authorization: String,
    from: String,
    to: String,
    message: String,
    whendelivered: String,
}

/// A local server speaking 46elks' SMS API: `POST /a1/sms`, form-encoded,
/// HTTP Basic auth; replies with 46elks' JSON, or with its plain-text errors.
#[derive(Clone, Default)]
struct Elks {
    received: Arc<Mutex<Vec<Sms>>>,
    /// Answer the next this-many requests with 503.
    unavailable: Arc<Mutex<u32>>,
}

const ELKS_USER: &str = "u0123456789abcdef";
const ELKS_PASSWORD: &str = "not-a-real-46elks-password";
/// 46elks refuses this number.
const REFUSED: &str = "+46700000001";

async fn elks_sms(
    State(elks): State<Elks>,
    headers: HeaderMap,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Response {
    use axum::http::StatusCode;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ELKS_USER}:{ELKS_PASSWORD}"))
    );
    if auth != expected {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    {
        let mut down = elks.unavailable.lock().unwrap();
        if *down > 0 {
            *down -= 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable").into_response();
        }
    }
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("to") == REFUSED {
        return (StatusCode::BAD_REQUEST, "Invalid to number").into_response();
    }
    let mut received = elks.received.lock().unwrap();
    received.push(Sms {
        authorization: auth,
        from: get("from"),
        to: get("to"),
        message: get("message"),
        whendelivered: get("whendelivered"),
    });
    let id = format!("s{:032x}", received.len());
    axum::Json(serde_json::json!({
        "status": "created",
        "direction": "outgoing",
        "from": get("from"),
        "to": get("to"),
        "message": get("message"),
        "created": "2026-11-22T10:00:00.000000",
        "parts": 1,
        "cost": 3500,
        "id": id,
    }))
    .into_response()
}

async fn start_elks() -> (Elks, String) {
    let elks = Elks::default();
    let app = axum::Router::new()
        .route("/a1/sms", axum::routing::post(elks_sms))
        .with_state(elks.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/a1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (elks, url)
}

/// The repository's tenants in a temporary directory, with `extra` appended
/// to the demo tenant's file.
fn tenants_with(dir: &std::path::Path, extra: &str) {
    let src = repo("tenants");
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    for e in std::fs::read_dir(src.join("assets")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("assets").join(e.file_name())).unwrap();
    }
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "toml") {
            let mut text = std::fs::read_to_string(e.path()).unwrap();
            if e.file_name() == "demo.toml" {
                text.push_str(extra);
            }
            std::fs::write(dir.join(e.file_name()), text).unwrap();
        }
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tillit-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn demo() -> TenantId {
    TenantId::parse("demo").unwrap()
}

async fn messages_of(app: &TestApp, booking: &str) -> Vec<Notification> {
    app.state
        .store
        .tenant(demo())
        .notifications_of_booking(booking)
        .await
        .unwrap()
}

/// Waits until none of the booking's messages is queued any more.
async fn settled(app: &TestApp, booking: &str) -> Vec<Notification> {
    wait_for("the outbox to settle", async || {
        let ns = messages_of(app, booking).await;
        ns.iter()
            .all(|n| n.status != NoticeStatus::Queued)
            .then_some(ns)
    })
    .await
}

/// The Stockholm date `days` after the test clock's now.
fn day(app: &TestApp, days: u64) -> String {
    app.clock
        .now()
        .plus(Duration::from_secs(days * 86_400))
        .to_stockholm()
        .date()
        .to_string()
}

/// Karin (published) invites a new patient; returns the booking's id.
async fn invite_new(
    app: &TestApp,
    b: &mut Browser<'_>,
    phone: &str,
    pnr: &str,
    date: &str,
    time: &str,
) -> String {
    let page = b.get("/bookings/new").await;
    let vt = visit_type_id(&page);
    let before = booking_ids_of(app, KARIN).await;
    // A patient on file is invited by the name on file.
    let (given, family) = if pnr == TOVE {
        ("Tove", "Toll")
    } else {
        ("Sara", "Svensson")
    };
    let page = b
        .post(
            "/bookings",
            &[
                ("who", "new"),
                ("phone", phone),
                ("personnummer", pnr),
                ("given_name", given),
                ("family_name", family),
                ("visit_type_id", &vt),
                ("date", date),
                ("time", time),
                ("message", "Ta med din medicinlista."),
            ],
        )
        .await;
    assert_eq!(page.location(), "/bookings?done=created", "{}", page.body);
    let after = booking_ids_of(app, KARIN).await;
    after.into_iter().find(|id| !before.contains(id)).unwrap()
}

async fn booking_ids_of(app: &TestApp, pnr: &str) -> Vec<String> {
    let id = person_id(app, pnr).await;
    app.state
        .store
        .tenant(demo())
        .bookings_of(&id, Timestamp(0))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.booking.id)
        .collect()
}

/// What an SMS must never say: the visit type, the message, the reason.
fn assert_no_health_information(text: &str) {
    for secret in ["Återbesök", "medicinlista", "Leg. psykolog"] {
        assert!(!text.contains(secret), "{secret:?} leaked into: {text}");
    }
}

#[tokio::test]
async fn sms_go_out_through_46elks_with_delivery_reports_and_no_health_information() {
    for backend in BACKENDS {
        let (elks, url) = start_elks().await;
        let tenants = scratch("tenants");
        std::fs::write(tenants.join("46elks.secret"), format!("{ELKS_PASSWORD}\n")).unwrap();
        tenants_with(
            &tenants,
            &format!(
                "\n[sms]\nprovider = \"46elks\"\napi_url = \"{url}\"\nusername = \"{ELKS_USER}\"\npassword_file = \"46elks.secret\"\n"
            ),
        );
        let tdir = tenants.clone();
        let mut app = TestApp::with(backend, move |c| {
            c.tenants_dir = tdir;
            c.outbox.backoff_min = tillit_kernel::values::ConfigDuration(Duration::from_millis(20));
            c.outbox.backoff_max = tillit_kernel::values::ConfigDuration(Duration::from_millis(50));
        })
        .await;
        app.start_worker();
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;

        // Invited: one SMS, in 46elks' format, saying when and where only.
        let tomorrow = day(&app, 1);
        let b1 = invite_new(
            &app,
            &mut karin,
            "070-123 45 67",
            "19850707-1119",
            &tomorrow,
            "10:00",
        )
        .await;
        let sms = wait_for("the invitation", async || {
            elks.received.lock().unwrap().first().cloned()
        })
        .await;
        assert!(sms.authorization.starts_with("Basic "), "{backend:?}");
        assert_eq!(
            (sms.from.as_str(), sms.to.as_str()),
            ("Demovarden", "+46701234567")
        );
        assert!(
            sms.message.contains("Demovården") && sms.message.contains("10:00"),
            "{}",
            sms.message
        );
        assert!(sms.message.contains(&tomorrow), "{}", sms.message);
        // The link is the visit's own page, kept through the login.
        assert!(
            sms.message
                .contains(&format!("http://demo.localhost:8080/visits/{b1}")),
            "{}",
            sms.message
        );
        assert_no_health_information(&sms.message);
        let sent = settled(&app, &b1).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].status, NoticeStatus::Sent);
        assert_eq!(sent[0].provider.as_deref(), Some("46elks"));

        // 46elks reports delivery to the URL it was given; a forged URL is refused.
        let path = sms
            .whendelivered
            .strip_prefix("http://demo.localhost:8080")
            .unwrap()
            .to_owned();
        let provider_id = sent[0].provider_id.clone().unwrap();
        let mut elks_client = app.browser("demo.localhost");
        // The token with its last digit changed (to another digit: one in
        // sixteen tokens already ends in 0).
        let last = if path.ends_with('0') { '1' } else { '0' };
        let forged = format!("{}{last}", &path[..path.len() - 1]);
        let page = elks_client
            .post_raw(
                &forged,
                &[("id", &provider_id), ("status", "delivered")],
                &[],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        let page = elks_client
            .post_raw(
                &path,
                &[
                    ("id", &provider_id),
                    ("status", "delivered"),
                    ("delivered", "2026-11-22T10:00:01"),
                ],
                &[],
            )
            .await;
        assert_eq!(page.status, StatusCode::NO_CONTENT, "{}", page.body);
        assert_eq!(
            messages_of(&app, &b1).await[0].delivery.as_deref(),
            Some("delivered")
        );
        // The report belongs to this tenant only.
        let page = app
            .browser("norrland.localhost")
            .post_raw(&path, &[("id", &provider_id), ("status", "failed")], &[])
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);

        // 46elks is briefly down: the message is retried and sent once.
        *elks.unavailable.lock().unwrap() = 2;
        let page = karin.get(&format!("/bookings/{b1}/time")).await;
        assert_eq!(page.status, StatusCode::OK);
        let page = karin
            .post(
                &format!("/bookings/{b1}/time"),
                &[("date", &tomorrow), ("time", "11:30")],
            )
            .await;
        assert_eq!(page.location(), "/bookings?done=moved", "{}", page.body);
        let ns = settled(&app, &b1).await;
        let moved: Vec<_> = ns.iter().filter(|n| n.kind == NoticeKind::Moved).collect();
        assert_eq!(moved.len(), 1);
        assert_eq!(
            (moved[0].status, moved[0].attempts),
            (NoticeStatus::Sent, 3),
            "{backend:?}"
        );
        {
            let received = elks.received.lock().unwrap();
            assert_eq!(received.len(), 2, "sent exactly once after the outage");
            assert!(received[1].message.contains("11:30"));
            assert_no_health_information(&received[1].message);
        }

        // Cancelled: told at once.
        karin.get("/bookings").await;
        let page = karin
            .post(&format!("/bookings/{b1}/cancel"), &[("confirmed", "1")])
            .await;
        assert_eq!(page.location(), "/bookings?done=cancelled");
        settled(&app, &b1).await;
        {
            let received = elks.received.lock().unwrap();
            assert_eq!(received.len(), 3);
            assert!(
                received[2].message.contains("avbokad"),
                "{}",
                received[2].message
            );
        }

        // A number 46elks refuses: given up at once, never retried.
        let b2 = invite_new(
            &app,
            &mut karin,
            REFUSED,
            "19900315-4565",
            &tomorrow,
            "13:00",
        )
        .await;
        let ns = settled(&app, &b2).await;
        assert_eq!(
            (ns[0].status, ns[0].attempts),
            (NoticeStatus::Failed, 1),
            "{backend:?}"
        );
        assert!(
            ns[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("Invalid to number")
        );
        assert_eq!(elks.received.lock().unwrap().len(), 3);

        // The development outbox page shows what left, and its delivery.
        let page = karin.get("/dev/outbox").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("+46701234567") && page.body.contains("delivered"));
        assert!(page.body.contains("Invalid to number"));
        drop(karin);
        drop(elks_client);
        if let Some(w) = app.worker.take() {
            w.abort();
        }
        let _ = std::fs::remove_dir_all(&tenants);
    }
}

/// The development outbox shows phone numbers and times: staff see every
/// message, their read logged as a read of each recipient's data; a
/// patient sees only their own; nobody logged out sees anything.
#[tokio::test]
async fn the_outbox_shows_staff_every_message_and_a_patient_only_their_own() {
    const SARA: &str = "19850707-1119";
    const OLLE: &str = "19900315-4565";
    for backend in BACKENDS {
        let mut app = TestApp::new(backend).await;
        app.start_worker();
        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        let tomorrow = day(&app, 1);
        let b1 = invite_new(&app, &mut karin, "070-123 45 67", SARA, &tomorrow, "10:00").await;
        let b2 = invite_new(&app, &mut karin, "070-765 43 21", OLLE, &tomorrow, "11:00").await;
        settled(&app, &b1).await;
        settled(&app, &b2).await;
        let (sara_phone, olle_phone) = ("+46701234567", "+46707654321");

        let mut anonymous = app.browser("demo.localhost");
        let page = anonymous.get("/dev/outbox").await;
        assert_eq!(
            (page.status, page.location()),
            (StatusCode::SEE_OTHER, "/login?next=%2Fdev%2Foutbox"),
            "{backend:?}"
        );
        assert!(!page.body.contains(sara_phone) && !page.body.contains(olle_phone));

        let mut ada = app.browser("demo.localhost");
        ada.login(ADA).await;
        for staff in [&mut karin, &mut ada] {
            let page = staff.get("/dev/outbox").await;
            assert_eq!(page.status, StatusCode::OK, "{backend:?}");
            assert!(page.body.contains(sara_phone) && page.body.contains(olle_phone));
        }

        let mut sara = app.browser("demo.localhost");
        sara.login(SARA).await;
        let page = sara.get("/dev/outbox").await;
        assert_eq!(page.status, StatusCode::OK, "{backend:?}");
        assert!(page.body.contains(sara_phone), "{}", page.body);
        assert!(!page.body.contains(olle_phone), "{}", page.body);
        assert_eq!(page.body.matches("<tr class=\"message\"").count(), 1);

        // Every read of a message is a read of its recipient's data.
        let demo = app.state.store.tenant(demo());
        let (karin_id, ada_id, sara_id) = (
            person_id(&app, KARIN).await,
            person_id(&app, ADA).await,
            person_id(&app, SARA).await,
        );
        for (pnr, expected) in [
            (SARA, vec![&karin_id, &ada_id, &sara_id]),
            (OLLE, vec![&karin_id, &ada_id]),
        ] {
            let log = demo
                .access_log_for(&Personnummer::parse(pnr).unwrap())
                .await
                .unwrap();
            let mut got: Vec<&str> = log
                .iter()
                .filter(|e| e.what == "outbox" && e.action == "read")
                .map(|e| e.actor_id.as_str())
                .collect();
            got.sort_unstable();
            let mut expected: Vec<&str> = expected.iter().map(|id| id.as_str()).collect();
            expected.sort_unstable();
            assert_eq!(got, expected, "{backend:?}: outbox reads of {pnr}");
        }
        if let Some(w) = app.worker.take() {
            w.abort();
        }
    }
}

/// An e-mail as its recipient's mail program reads it.
struct Mail {
    envelope_to: String,
    from: String,
    subject: String,
    text: String,
    calendar_type: String,
    calendar: String,
}

fn parse_mail(raw: &str) -> Mail {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a MIME message");
    let envelope_to = m
        .header_raw("X-Envelope-To")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let from = m
        .from()
        .and_then(|a| a.first())
        .map(|a| format!("{} <{}>", a.name().unwrap_or(""), a.address().unwrap_or("")))
        .unwrap_or_default();
    let ics = m.attachment(0).expect("a calendar attachment");
    let calendar_type = ics
        .content_type()
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
        .unwrap_or_default();
    Mail {
        envelope_to,
        from,
        subject: m.subject().unwrap_or_default().to_owned(),
        text: m.body_text(0).unwrap_or_default().into_owned(),
        calendar_type,
        calendar: String::from_utf8(ics.contents().to_vec()).unwrap(),
    }
}

struct SmtpCatcher {
    child: std::process::Child,
    dir: std::path::PathBuf,
    url: String,
}

impl Drop for SmtpCatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl SmtpCatcher {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = scratch("smtp");
        let child = std::process::Command::new("python3")
            .arg(repo("kernel/server/tests/support/smtp_catcher.py"))
            .arg(port.to_string())
            .arg(&dir)
            .spawn()
            .expect("python3 runs the SMTP catcher (cargo xtask test installs aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !dir.join("ready").exists() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start; is it installed?"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            dir,
            url: format!("smtp://127.0.0.1:{port}"),
        }
    }

    fn mails(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn e_mail_carries_a_calendar_entry_and_no_health_information() {
    for backend in BACKENDS {
        let smtp = SmtpCatcher::start();
        let url = smtp.url.clone();
        let mut app = TestApp::with(backend, move |c| {
            c.mail.smtp_url = url;
            c.mail.from = "no-reply@demo.example.se".into();
        })
        .await;
        app.start_worker();

        // Tove gives her e-mail address.
        let mut tove = app.browser("demo.localhost");
        tove.login(TOVE).await;
        tove.get("/me").await;
        let page = tove
            .post(
                "/me",
                &[
                    ("given_name", "Tove"),
                    ("family_name", "Toll"),
                    ("phone", "070-765 43 21"),
                    ("email", "tove@example.se"),
                ],
            )
            .await;
        assert!(page.status.is_redirection(), "{}", page.body);

        let mut karin = app.browser("demo.localhost");
        karin.login(KARIN).await;
        publish_profile(&mut karin).await;
        // Tove is matched by her personnummer, not created again.
        let date = day(&app, 2);
        let booking = invite_new(&app, &mut karin, "070-765 43 21", TOVE, &date, "09:15").await;
        let ns = settled(&app, &booking).await;
        // SMS (to the local outbox in this tenant) and e-mail (over SMTP).
        assert_eq!(ns.len(), 2, "{backend:?}");
        assert!(ns.iter().all(|n| n.status == NoticeStatus::Sent), "{ns:?}");

        let mails = wait_for("the e-mail", async || {
            let m = smtp.mails();
            (!m.is_empty()).then_some(m)
        })
        .await;
        let mail = parse_mail(&mails[0]);
        assert_eq!(mail.envelope_to, "tove@example.se");
        assert_eq!(mail.from, "Demovården <no-reply@demo.example.se>");
        assert_eq!(mail.subject, "Du har fått en tid hos Demovården");
        assert!(
            mail.text.contains("09:15") && mail.text.contains(&date),
            "{}",
            mail.text
        );
        assert_no_health_information(&mail.text);
        assert_eq!(mail.calendar_type, "text/calendar");
        let ics = mail.calendar;
        assert_no_health_information(&ics);
        let start = Timestamp::from_stockholm(&date, "09:15").unwrap();
        // The same instant as the domain writes it, in UTC.
        let expected = tillit_domain::notify::ics(&tillit_domain::notify::CalendarEntry {
            uid: "x",
            sequence: 0,
            cancelled: false,
            summary: "",
            starts_at: start,
            ends_at: start,
            link: "",
            organizer: "",
            stamp: start,
        });
        let dtstart = expected
            .lines()
            .find(|l| l.starts_with("DTSTART:"))
            .unwrap();
        assert!(dtstart.ends_with('Z') && ics.contains(dtstart), "{ics}");
        assert!(
            ics.contains("METHOD:REQUEST")
                && ics.contains(&format!("UID:{booking}@demo.localhost"))
        );

        // Cancelled: a calendar cancellation for the same entry.
        karin.get("/bookings").await;
        karin
            .post(
                &format!("/bookings/{booking}/cancel"),
                &[("confirmed", "1")],
            )
            .await;
        settled(&app, &booking).await;
        let mails = wait_for("the cancellation", async || {
            let m = smtp.mails();
            (m.len() >= 2).then_some(m)
        })
        .await;
        let ics = parse_mail(&mails[1]).calendar;
        assert!(
            ics.contains("METHOD:CANCEL") && ics.contains("STATUS:CANCELLED"),
            "{ics}"
        );
        assert!(ics.contains(&format!("UID:{booking}@demo.localhost")));
        if let Some(w) = app.worker.take() {
            w.abort();
        }
    }
}

/// Reminders follow the visit: scheduled when it is confirmed, moved with
/// it, withdrawn when it is cancelled, and still sent after a restart;
/// the time is the test's clock, not the wall clock.
#[tokio::test]
async fn reminders_follow_the_visit_across_a_restart() {
    for backend in BACKENDS {
        // A short heartbeat: jobs the killed worker held come back sooner.
        let mut app = TestApp::with(backend, |c| {
            c.outbox.heartbeat = tillit_kernel::values::ConfigDuration(Duration::from_secs(1));
        })
        .await;
        app.start_worker();
        let date = day(&app, 1);
        let (b1, b2) = {
            let mut karin = app.browser("demo.localhost");
            karin.login(KARIN).await;
            publish_profile(&mut karin).await;
            let b1 = invite_new(
                &app,
                &mut karin,
                "070-123 45 67",
                "19850707-1119",
                &date,
                "10:00",
            )
            .await;
            let b2 = invite_new(
                &app,
                &mut karin,
                "070-111 22 33",
                "19900315-4565",
                &date,
                "14:00",
            )
            .await;
            (b1, b2)
        };
        // The patients confirm.
        for (pnr, b) in [("19850707-1119", &b1), ("19900315-4565", &b2)] {
            let mut p = app.browser("demo.localhost");
            p.login(pnr).await;
            let page = p.post(&format!("/bookings/{b}/confirm"), &[]).await;
            assert!(page.location().contains("done=confirmed"), "{}", page.body);
        }
        let reminder = |ns: &[Notification]| -> Vec<(NoticeStatus, Timestamp)> {
            ns.iter()
                .filter(|n| n.kind == NoticeKind::Reminder)
                .map(|n| (n.status, n.due_at))
                .collect()
        };
        let ten = Timestamp::from_stockholm(&date, "10:00").unwrap();
        let half_past = Duration::from_secs(30 * 60);
        assert_eq!(
            reminder(&messages_of(&app, &b1).await),
            [(NoticeStatus::Scheduled, ten.minus(half_past))],
            "{backend:?}"
        );

        // Moved to 11:00 before its reminder was due: the reminder moves too.
        {
            let mut karin = app.browser("demo.localhost");
            karin.login(KARIN).await;
            karin.get(&format!("/bookings/{b1}/time")).await;
            let page = karin
                .post(
                    &format!("/bookings/{b1}/time"),
                    &[("date", &date), ("time", "11:00")],
                )
                .await;
            assert_eq!(page.location(), "/bookings?done=moved");
            // The other visit is cancelled: its reminder is withdrawn.
            karin.get("/bookings").await;
            karin
                .post(&format!("/bookings/{b2}/cancel"), &[("confirmed", "1")])
                .await;
        }
        let eleven = Timestamp::from_stockholm(&date, "11:00").unwrap();
        assert_eq!(
            reminder(&messages_of(&app, &b1).await),
            [
                (NoticeStatus::Cancelled, ten.minus(half_past)),
                (NoticeStatus::Scheduled, eleven.minus(half_past))
            ]
        );

        // At the old reminder's time nothing goes out.
        app.clock.set(ten.minus(half_past));
        assert_eq!(
            tillit_kernel::outbox::queue_due_reminders(&app.state).await,
            0
        );

        // The kernel crashes and starts again; the reminder is still there.
        app.restart().await;
        app.start_worker();
        app.clock
            .set(eleven.minus(half_past).minus(Duration::from_secs(1)));
        assert_eq!(
            tillit_kernel::outbox::queue_due_reminders(&app.state).await,
            0
        );
        app.clock.set(eleven.minus(half_past));
        assert_eq!(
            tillit_kernel::outbox::queue_due_reminders(&app.state).await,
            1
        );
        let ns = settled(&app, &b1).await;
        let sent: Vec<_> = ns
            .iter()
            .filter(|n| n.kind == NoticeKind::Reminder && n.status == NoticeStatus::Sent)
            .collect();
        assert_eq!(sent.len(), 1, "{backend:?}: {ns:?}");
        let body = sent[0].body.as_deref().unwrap();
        assert!(
            body.contains("11:00") && body.starts_with("Påminnelse"),
            "{body}"
        );
        assert_no_health_information(body);
        // Later ticks send nothing more; the cancelled visit never reminds.
        app.clock.set(eleven);
        assert_eq!(
            tillit_kernel::outbox::queue_due_reminders(&app.state).await,
            0
        );
        let ns2 = settled(&app, &b2).await;
        assert!(
            reminder(&ns2)
                .iter()
                .all(|(s, _)| *s == NoticeStatus::Cancelled)
        );
        assert!(
            ns2.iter()
                .any(|n| n.kind == NoticeKind::Cancelled && n.status == NoticeStatus::Sent)
        );
        if let Some(w) = app.worker.take() {
            w.abort();
        }
    }
}

/// The kernel dies after a booking is committed and before its SMS leaves:
/// after the restart the SMS is sent, once.
#[tokio::test]
async fn a_crash_between_commit_and_send_loses_and_doubles_nothing() {
    for backend in BACKENDS {
        let (elks, url) = start_elks().await;
        let tenants = scratch("tenants");
        std::fs::write(tenants.join("46elks.secret"), ELKS_PASSWORD).unwrap();
        tenants_with(
            &tenants,
            &format!(
                "\n[sms]\nprovider = \"46elks\"\napi_url = \"{url}\"\nusername = \"{ELKS_USER}\"\npassword_file = \"46elks.secret\"\n"
            ),
        );
        let tdir = tenants.clone();
        let mut app = TestApp::with(backend, move |c| {
            c.tenants_dir = tdir;
            c.outbox.heartbeat = tillit_kernel::values::ConfigDuration(Duration::from_secs(1));
        })
        .await;
        // No worker yet: the booking commits, its SMS waits in the outbox.
        let date = day(&app, 1);
        let booking = {
            let mut karin = app.browser("demo.localhost");
            karin.login(KARIN).await;
            publish_profile(&mut karin).await;
            invite_new(
                &app,
                &mut karin,
                "070-123 45 67",
                "19850707-1119",
                &date,
                "10:00",
            )
            .await
        };
        let ns = messages_of(&app, &booking).await;
        assert_eq!(ns.len(), 1);
        assert_eq!(ns[0].status, NoticeStatus::Queued);
        assert!(elks.received.lock().unwrap().is_empty());

        // Crash; a new process starts and its worker delivers.
        app.restart().await;
        app.start_worker();
        let ns = settled(&app, &booking).await;
        assert_eq!(ns[0].status, NoticeStatus::Sent, "{backend:?}");
        // Restart again: nothing is sent twice.
        app.restart().await;
        app.start_worker();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(elks.received.lock().unwrap().len(), 1, "{backend:?}");
        if let Some(w) = app.worker.take() {
            w.abort();
        }
        let _ = std::fs::remove_dir_all(&tenants);
    }
}
