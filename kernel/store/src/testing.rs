//! Fresh databases for tests: a SQLite file in a temporary directory, or a new
//! database on the PostgreSQL server named by `TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`). Each is removed
//! when the [`TestDb`] is dropped.
//!
//! PostgreSQL is not optional in tests: if it cannot be reached, the test
//! fails and says how to start it.

use crate::{Backend, Store};
use std::path::PathBuf;
use std::time::Duration;

/// How long a test waits for a database connection. A test process runs
/// tests in parallel while others compile plugins on every core, so a
/// connection can take far longer than a production deadline allows
/// without anything being wrong.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);

/// The server used for PostgreSQL tests.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A throw-away database and its URL.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Dir(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("tillit-test-{tag}"));
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let url = format!("sqlite://{}/tillit.db", dir.display());
                Self {
                    url,
                    backend,
                    cleanup: Cleanup::Dir(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("tillit_test_{tag}");
                run_admin(&admin_url, &format!("CREATE DATABASE {name}"));
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                let url = format!("{base}/{name}");
                Self {
                    url,
                    backend,
                    cleanup: Cleanup::PgDatabase { admin_url, name },
                }
            }
        }
    }

    /// Drops a PostgreSQL test database now, while clients may still hold
    /// connections: the database "goes away" under a running kernel.
    pub fn drop_database_now(&self) {
        if let Cleanup::PgDatabase { admin_url, name } = &self.cleanup {
            run_admin(
                admin_url,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }

    /// Connects and migrates.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, CONNECT_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("connect to test database: {e}"));
        store.migrate().await.expect("migrate test database");
        store
    }
}

/// Runs one statement on the admin database, on a thread with its own runtime
/// so it works from sync and async contexts alike.
fn run_admin(admin_url: &str, sql: &str) {
    let (url, sql) = (admin_url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL for tests is not reachable at {url}: {e}\n\
                     start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
                     or set TEST_POSTGRES_URL"
                )
            });
            // Audited: the statements are built here from a generated database name.
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(&mut c).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        });
    })
    .join()
    .expect("admin statement thread");
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgDatabase { admin_url, name } => {
                run_admin(
                    admin_url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
            }
        }
    }
}
