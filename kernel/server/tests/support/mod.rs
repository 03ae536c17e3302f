//! The harness shared by the in-process HTTP tests: a kernel on a fresh
//! database with a manual clock, and a `Browser` that keeps cookies and the
//! CSRF token of the last page.

// Not every test binary uses every helper.
#![allow(dead_code, clippy::unwrap_used)]

pub mod fhir_validators;
pub mod oidc;

pub use std::collections::HashMap;
pub use std::io::Write;
pub use std::sync::{Arc, Mutex, OnceLock};
pub use std::time::Duration;

pub use axum::Router;
pub use axum::body::Body;
pub use axum::http::{Request, StatusCode, header};
pub use tillit_domain::time::ManualClock;
pub use tillit_domain::{Personnummer, TenantId, Timestamp};
pub use tillit_kernel::app::{self, AppState};
pub use tillit_kernel::config::Config;
pub use tillit_store::Backend;
pub use tillit_store::testing::TestDb;
pub use tower::ServiceExt;

pub const ADA: &str = "19121212-1212"; // demo administrator
pub const KARIN: &str = "198112189876"; // demo clinician
pub const TOVE: &str = "20000229-2381"; // demo patient
pub const SAMI: &str = "19811278-9873"; // demo patient
pub const NILS: &str = "19550505-1234"; // norrland administrator
pub const HOUR: Duration = Duration::from_secs(3600);
pub const MINUTE: Duration = Duration::from_secs(60);

/// Every log line of this test binary, at every level, for the redaction test.
pub fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer_buf = Arc::clone(&buf);
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tillit_kernel::telemetry::safe_filter("trace"))
            .with_ansi(false)
            .with_writer(move || SharedWriter(Arc::clone(&writer_buf)))
            .try_init();
        buf
    })
}

pub struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
    pub _data: TempDir,
    pub config: Config,
    /// The outbox's delivery worker, when a test runs it.
    pub worker: Option<tokio::task::JoinHandle<()>>,
}

/// The time on this machine's wall clock.
pub fn wall_clock_now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Timestamp(i64::try_from(since_epoch.as_millis()).unwrap())
}

/// The manual clock following the wall clock ([`TestApp::follow_wall_clock`]);
/// it stops when dropped.
pub struct WallClock {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WallClock {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// A new, empty directory under the system's temporary directory.
    pub fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        Self::with(backend, |_| {}).await
    }

    pub async fn with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::with_clock_at(backend, Timestamp(1_800_000_000_000), tweak).await
    }

    /// A kernel whose manual clock starts at `start`, as [`TestApp::with`]
    /// otherwise makes it.
    pub async fn with_clock_at(
        backend: Backend,
        start: Timestamp,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        captured_logs();
        let db = TestDb::new(backend);
        let data = TempDir(
            std::env::temp_dir().join(format!("tillit-http-{}", uuid::Uuid::new_v4().simple())),
        );
        let mut config = Config {
            tenants_dir: repo("tenants"),
            themes_dir: repo("themes"),
            data_dir: data.0.clone(),
            ..Config::default()
        };
        config.database.url = db.url.clone();
        config.database.connect_timeout =
            tillit_kernel::values::ConfigDuration(tillit_store::testing::CONNECT_TIMEOUT);
        // The plugins `cargo xtask test` built, compiled once for all tests.
        config.plugins.dir = repo("plugins/target/dist");
        config.plugins.cache_dir = Some(repo("target/test-plugin-cache"));
        tweak(&mut config);
        let clock = Arc::new(ManualClock::new(start));
        let state = app::start(
            config.clone(),
            clock.clone(),
            tillit_kernel::telemetry::metrics_handle(),
        )
        .await
        .unwrap();
        let router = tillit_kernel::web::router(state.clone());
        Self {
            state,
            router,
            clock,
            db,
            _data: data,
            config,
            worker: None,
        }
    }

    /// Starts the outbox's delivery worker, as `serve` does.
    pub fn start_worker(&mut self) {
        self.worker = Some(tillit_kernel::outbox::spawn_worker(
            self.state.clone(),
            std::future::pending(),
        ));
    }

    /// A crash and a restart: the worker dies where it stands, and a new
    /// kernel starts on the same database, data directory and clock.
    pub async fn restart(&mut self) {
        if let Some(w) = self.worker.take() {
            w.abort();
            let _ = w.await;
        }
        self.state = app::start(
            self.config.clone(),
            self.clock.clone(),
            tillit_kernel::telemetry::metrics_handle(),
        )
        .await
        .unwrap();
        self.router = tillit_kernel::web::router(self.state.clone());
    }

    /// Keeps the manual clock `lead` ahead of the wall clock until the
    /// guard is dropped, for a test whose other party keeps real time (an
    /// EHR signing its client assertions with its own clock). Ahead, not
    /// level: the clock is set every few milliseconds, and the kernel must
    /// never be behind the other party's whole second (an assertion whose
    /// `exp` is over five minutes past the kernel's now is refused).
    pub fn follow_wall_clock(&self, lead: Duration) -> WallClock {
        use std::sync::atomic::{AtomicBool, Ordering};
        let (clock, stop) = (Arc::clone(&self.clock), Arc::new(AtomicBool::new(false)));
        clock.set(wall_clock_now().plus(lead));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                clock.set(wall_clock_now().plus(lead));
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        WallClock {
            stop,
            thread: Some(thread),
        }
    }

    pub fn browser(&self, host: &str) -> Browser<'_> {
        Browser {
            app: self,
            host: host.to_owned(),
            cookies: HashMap::new(),
            csrf: None,
        }
    }
}

pub struct Page {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A visitor: keeps cookies per host and the CSRF token of the last page.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub host: String,
    pub cookies: HashMap<String, String>,
    pub csrf: Option<String>,
}

impl Browser<'_> {
    pub async fn send(&mut self, req: Request<Body>) -> Page {
        let res = self.app.router.clone().oneshot(req).await.unwrap();
        for c in res.headers().get_all(header::SET_COOKIE) {
            let c = cookie::Cookie::parse(c.to_str().unwrap().to_owned()).unwrap();
            if c.max_age() == Some(cookie::time::Duration::ZERO) {
                self.cookies.remove(c.name());
            } else {
                self.cookies
                    .insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        // Pages are text; pictures are not, and are checked through the store.
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(i) = body.find("name=\"_csrf\" value=\"") {
            let rest = &body[i + 20..];
            self.csrf = Some(rest[..rest.find('"').unwrap()].to_owned());
        }
        Page {
            status,
            headers,
            body,
        }
    }

    pub fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let cookies: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host);
        if !cookies.is_empty() {
            b = b.header(header::COOKIE, cookies.join("; "));
        }
        b
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.request("GET", path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// Posts a form with the CSRF token of the last page.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        let token = self
            .csrf
            .clone()
            .expect("a page with a form was loaded first");
        fields.push(("_csrf", &token));
        self.post_raw(path, &fields, &[]).await
    }

    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut b = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    /// Logs in; a patient accepts the tenant's terms when asked, as a person would.
    pub async fn login(&mut self, pnr: &str) -> Page {
        self.get("/login").await;
        let page = self.post("/login/test", &[("personnummer", pnr)]).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "login as {pnr} failed: {}",
            page.body
        );
        let home = self.get("/").await;
        if home.location() == "/terms" {
            self.get("/terms").await;
            self.post("/terms", &[]).await;
            return self.get("/").await;
        }
        home
    }

    pub fn session_cookie(&self) -> Option<&String> {
        self.cookies.get("tillit_session")
    }
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// The kernel on a real port, as `serve` runs it, for a browser (once per
/// kernel: the first port is the public one its hosts answer on).
pub async fn serve(app: &TestApp) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = app.state.clone();
    tokio::spawn(async move {
        let _ = tillit_kernel::app::serve(listener, state, std::future::pending()).await;
    });
    port
}

pub async fn person_id(app: &TestApp, pnr: &str) -> tillit_domain::PersonId {
    person_id_in(app, "demo", pnr).await
}

/// The id of the person with `pnr` in `tenant`.
pub async fn person_id_in(app: &TestApp, tenant: &str, pnr: &str) -> tillit_domain::PersonId {
    let store = app.state.store.tenant(TenantId::parse(tenant).unwrap());
    store
        .person_by_personnummer(&Personnummer::parse(pnr).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

pub async fn publish_profile(b: &mut Browser<'_>) {
    b.get("/profile").await;
    b.post("/profile", &[("title", "Leg. psykolog")]).await;
    b.post(
        "/profile/visit-types",
        &[("title", "Återbesök"), ("minutes", "15"), ("kind", "video")],
    )
    .await;
    let page = b.post("/profile/publish", &[]).await;
    assert_eq!(page.location(), "/profile?done=published", "{}", page.body);
}

pub fn visit_type_id(page: &Page) -> String {
    let i = page.body.find("name=\"visit_type_id\"").unwrap();
    let j = i + page.body[i..].find("<option value=\"").unwrap() + "<option value=\"".len();
    page.body[j..j + page.body[j..].find('"').unwrap()].to_owned()
}

/// Tomorrow's date in Stockholm by the app's clock, as a date field takes it.
pub fn tomorrow(app: &TestApp) -> String {
    use tillit_domain::Clock;
    app.clock
        .now()
        .plus(24 * HOUR)
        .to_stockholm()
        .date()
        .to_string()
}

pub fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Books `id` for Tove with Karin at `starts_at`, confirmed, with these
/// colleagues as participants (straight in the store: the booking flows
/// have their own tests).
pub async fn book_visit(
    app: &TestApp,
    id: &str,
    starts_at: Timestamp,
    participants: Vec<tillit_domain::PersonId>,
) {
    book_visit_in(app, ("demo", KARIN, TOVE), id, starts_at, participants).await;
}

/// Books `id` in `tenant` for `patient` with `clinician` (personnummer) at
/// `starts_at`, confirmed, as [`book_visit`] does.
pub async fn book_visit_in(
    app: &TestApp,
    people: (&str, &str, &str),
    id: &str,
    starts_at: Timestamp,
    participants: Vec<tillit_domain::PersonId>,
) {
    let confirmed = tillit_domain::booking::BookingStatus::Confirmed;
    let visit = (id, starts_at, confirmed, "");
    book_in_store(app, people, visit, participants).await;
}

/// Books `(id, starts_at, status, message)` in `tenant` for `patient` with
/// `clinician` (personnummer), 15 minutes of their first visit type, with
/// these colleagues invited: straight in the store, for tests whose subject
/// is not the booking flow.
pub async fn book_in_store(
    app: &TestApp,
    (tenant, clinician, patient): (&str, &str, &str),
    (id, starts_at, status, message): (
        &str,
        Timestamp,
        tillit_domain::booking::BookingStatus,
        &str,
    ),
    participants: Vec<tillit_domain::PersonId>,
) {
    use tillit_domain::Clock;
    use tillit_domain::booking::{Booking, BookingFor};
    let store = app.state.store.tenant(TenantId::parse(tenant).unwrap());
    let (clinician_id, patient_id) = (
        person_id_in(app, tenant, clinician).await,
        person_id_in(app, tenant, patient).await,
    );
    let vt = store.visit_types_of(&clinician_id).await.unwrap().remove(0);
    let outcome = store
        .create_booking(
            tillit_store::NewBooking {
                patient: &BookingFor::Existing(patient_id),
                booking: Booking {
                    id: id.into(),
                    clinician: clinician_id.clone(),
                    patient: tillit_domain::PersonId::new(""),
                    visit_type_id: vt.id.clone(),
                    title: "Uppföljning".into(),
                    minutes: 15,
                    kind: vt.spec.kind,
                    starts_at,
                    status,
                    message: message.into(),
                },
                created_by: &clinician_id,
                logged_as: tillit_domain::access::Accessor::Person {
                    id: clinician_id.clone(),
                    role: tillit_domain::Role::Clinician,
                },
                new_patient_id: tillit_domain::PersonId::new("unused"),
                event_id: format!("{id}-created"),
                reminder_lead: 30 * MINUTE,
                choices: Default::default(),
                external_ids: Vec::new(),
                participants,
                more_patients: Vec::new(),
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, tillit_store::BookOutcome::Booked(_)),
        "{outcome:?}"
    );
}

/// The patient `pnr` (named `given family`) gives their mobile number on
/// "Mina uppgifter", as a patient reached by SMS has.
pub async fn patient_gives_phone(
    app: &TestApp,
    pnr: &str,
    (given, family): (&str, &str),
    phone: &str,
) {
    let mut b = app.browser("demo.localhost");
    b.login(pnr).await;
    b.get("/me").await;
    let page = b
        .post(
            "/me",
            &[
                ("given_name", given),
                ("family_name", family),
                ("phone", phone),
            ],
        )
        .await;
    assert!(page.status.is_redirection(), "{}", page.body);
}

/// Karin (logged in as `karin`) adds a group visit type, "Gruppträff", 60
/// minutes; its id.
pub async fn add_group_visit_type(app: &TestApp, karin: &mut Browser<'_>) -> String {
    let page = karin
        .post(
            "/profile/visit-types",
            &[
                ("title", "Gruppträff"),
                ("minutes", "60"),
                ("kind", "group_video"),
            ],
        )
        .await;
    assert!(page.status.is_redirection(), "{}", page.body);
    let store = app.state.store.tenant(TenantId::parse("demo").unwrap());
    let id = person_id(app, KARIN).await;
    store
        .visit_types_of(&id)
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.spec.title == "Gruppträff")
        .unwrap()
        .id
}
