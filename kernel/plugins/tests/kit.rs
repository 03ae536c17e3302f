//! The test kit every plugin-host test uses: the packaged plugins
//! (`cargo xtask plugins`), a host over the real SQL store (SQLite or
//! PostgreSQL), a frozen clock, the people of two tenants, and the host's
//! log captured.

// Each test file takes the parts it needs.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tillit_domain::time::ManualClock;
use tillit_domain::{PersonId, TenantId, Timestamp};
use tillit_plugins::{
    CallContext, Caller, Grant, HostConfig, Participant, PluginHost, RefKey, Role, SqlStorage,
    Visit, VisitStatus,
};
use tillit_store::testing::TestDb;
use tillit_store::{Backend, Store};

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// 2026-01-15 09:00 UTC, 10:00 in Sweden.
pub const NOW: Timestamp = Timestamp(1_768_467_600_000);

/// `plugins/target/<name>`: where `cargo xtask plugins` puts the packages.
fn packages(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/target")
        .join(name);
    assert!(
        dir.is_dir(),
        "{} is missing: build the plugins first with `cargo xtask plugins`",
        dir.display()
    );
    dir
}

/// The first-party plugins.
pub fn dist() -> PathBuf {
    packages("dist")
}

/// One packaged plugin, first-party or hostile: `notes`, `hostile-spin`...
pub fn package(id: &str) -> PathBuf {
    let root = if id.starts_with("hostile-") {
        packages("dist-hostile")
    } else {
        dist()
    };
    let found = std::fs::read_dir(&root).ok().and_then(|entries| {
        entries.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.rsplit_once('-'))
                .is_some_and(|(name, _)| name == id)
        })
    });
    found.unwrap_or_else(|| {
        panic!(
            "no package of {id} in {}: build the plugins first with `cargo xtask plugins`",
            root.display()
        )
    })
}

pub fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

/// The same people exist in both tenants (the same person ids), so a test
/// can show that a tenant boundary, not an id, keeps data apart.
pub fn karin() -> PersonId {
    PersonId::new("11111111-1111-4111-8111-111111111111")
}
pub fn olof() -> PersonId {
    PersonId::new("22222222-2222-4222-8222-222222222222")
}
pub fn tove() -> PersonId {
    PersonId::new("33333333-3333-4333-8333-333333333333")
}
pub fn ada() -> PersonId {
    PersonId::new("44444444-4444-4444-8444-444444444444")
}

/// A visit of Karin and Olof (clinicians) with Tove (patient).
pub fn visit() -> Visit {
    Visit {
        id: "booking-1".into(),
        status: VisitStatus::InProgress,
        starts_at: NOW,
        ends_at: Timestamp(NOW.0 + 30 * 60 * 1000),
        participants: vec![
            Participant {
                person: karin(),
                role: Role::Clinician,
                display_name: "Karin Lindblad".into(),
            },
            Participant {
                person: olof(),
                role: Role::Clinician,
                display_name: "Olof Berg".into(),
            },
            Participant {
                person: tove(),
                role: Role::Patient,
                display_name: "Tove Toll".into(),
            },
        ],
    }
}

/// A call by `person` in `role`, in the visit.
pub fn as_in_visit(tenant_id: &str, person: PersonId, role: Role) -> CallContext {
    CallContext {
        tenant: tenant(tenant_id),
        caller: Some(Caller {
            person,
            role,
            display_name: "Someone".into(),
            language: "sv".into(),
        }),
        visit: Some(visit()),
    }
}

/// A call by `person` outside any visit.
pub fn as_person(tenant_id: &str, person: PersonId, role: Role) -> CallContext {
    CallContext {
        visit: None,
        ..as_in_visit(tenant_id, person, role)
    }
}

pub fn key() -> RefKey {
    RefKey::new(b"tests: not a secret, 32+ bytes long".to_vec()).unwrap()
}

/// A host over a fresh database with tenants `alfa` and `beta`.
#[derive(Debug)]
pub struct Kit {
    pub host: Arc<PluginHost>,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
    pub cache: tempdir::TempDir,
}

impl Kit {
    pub async fn new(backend: Backend) -> Self {
        Self::with_config(backend, |_| {}).await
    }

    pub async fn with_config(backend: Backend, adjust: impl FnOnce(&mut HostConfig)) -> Self {
        let db = TestDb::new(backend);
        let store = db.store().await;
        for t in ["alfa", "beta"] {
            store.register_tenant(&tenant(t), NOW).await.unwrap();
        }
        let cache = tempdir::TempDir::new("plugin-cache");
        let mut config = HostConfig::new(key());
        config.cache_dir = Some(cache.path().to_owned());
        adjust(&mut config);
        let clock = Arc::new(ManualClock::new(NOW));
        let host = PluginHost::new(
            config,
            Arc::new(SqlStorage::new(store.clone())),
            clock.clone(),
        )
        .unwrap();
        Self {
            host: Arc::new(host),
            store,
            clock,
            db,
            cache,
        }
    }

    /// Loads a packaged plugin and enables it for the tenants with what
    /// its manifest asks for.
    pub fn enable(&self, id: &str, tenants: &[&str]) {
        let info = self
            .host
            .load(&package(id))
            .unwrap_or_else(|e| panic!("{e}"));
        for t in tenants {
            self.host
                .enable(&tenant(t), id, Grant::requested(&info))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// A temporary directory, removed on drop (std only).
pub mod tempdir {
    use std::path::{Path, PathBuf};

    #[derive(Debug)]
    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(prefix: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("tillit-{prefix}-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Copies a directory tree (a plugin package), for tests that change one.
pub fn copy_dir(from: &Path, to: &Path) {
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

/// One event the host logged.
#[derive(Debug, Clone)]
pub struct Logged {
    pub level: tracing::Level,
    pub target: String,
    /// Every field, `message` included, as `name=value`.
    pub fields: Vec<(String, String)>,
}

impl Logged {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The log, captured on this thread while the guard lives.
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<Logged>>>);

impl LogCapture {
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        use tracing_subscriber::layer::SubscriberExt;
        let capture = LogCapture::default();
        let subscriber = tracing_subscriber::registry().with(capture.clone());
        (capture, tracing::subscriber::set_default(subscriber))
    }

    pub fn events(&self) -> Vec<Logged> {
        self.0.lock().unwrap().clone()
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LogCapture {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Fields(Vec<(String, String)>);
        impl tracing::field::Visit for Fields {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.0.push((field.name().to_owned(), value.to_owned()));
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push((field.name().to_owned(), format!("{value:?}")));
            }
        }
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(Logged {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields: fields.0,
        });
    }
}

pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}
