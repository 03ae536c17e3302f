//! Tillit's data layer: one API over SQLite (the embedded default) and
//! PostgreSQL (production).
//!
//! # Layout
//! - `sql/`: every SQL statement, written once, one file per aggregate
//!   (`sql/people.rs`, `sql/bookings.rs`, …) gathered by `sql/queries.rs`.
//!   Each backend crate (`sqlite/`, `postgres/`) declares `sql/queries.rs`
//!   as its `queries` module, so every query is compiled and checked against
//!   both databases, each with its own offline data (`.sqlx/`).
//! - `migrations/{sqlite,postgres}/`: one set per dialect, kept in step
//!   (same file names; a test compares the resulting schemas).
//! - this file: [`Store`], which connects and migrates, [`TenantStore`], the
//!   only way to reach tenant-owned data, [`StoreError`], and the macros
//!   that run a query on whichever backend the store holds.
//! - one module per aggregate, each an `impl TenantStore` with that
//!   aggregate's methods: `people` (and [`Contact`]), `sessions`,
//!   `access_log`, `pictures`, `terms`, `bookings` ([`NewBooking`],
//!   [`BookOutcome`], …), `visits`, `profiles`, `visit_types`.
//! - [`outbox`]: messages and plugin events written with the change that
//!   causes them, and the workers that deliver them.
//! - `plugin_storage`: plugins' documents and blobs with their quotas, for
//!   the plugin host (the `plugin_*` methods of [`TenantStore`], in the
//!   words of [`tillit_domain::plugin_data`]).
//! - `testing` (feature `test-support`): fresh SQLite and PostgreSQL
//!   databases for tests.
//!
//! # Tenant scoping
//! Tenant-owned data is reachable only through [`Store::tenant`], which binds
//! the tenant once; no method takes a tenant id after that. Below it, every
//! statement binds the tenant as `$1` (a test checks the SQL of every query),
//! and composite foreign keys keep rows from pointing into another tenant.
//!
//! # Errors
//! [`StoreError`] is the boundary type; `sqlx::Error` never leaves this crate.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tillit_domain::{TenantId, Timestamp};

pub use tillit_domain::access::AccessLogEntry;
pub use tillit_domain::session::SessionRecord;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one Tillit can use.
    #[error("database URL {url:?} is not supported: {reason}")]
    BadUrl { url: String, reason: String },
    /// The database could not be reached or did not answer in time.
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken, e.g. a personnummer already in the tenant.
    #[error("already exists ({constraint})")]
    Conflict { constraint: String },
    /// Applying migrations failed.
    #[error("migrating the database failed: {0}")]
    Migration(String),
    /// Stored data did not decode into the domain's types.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Anything else the database refused.
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                constraint: db.constraint().unwrap_or("unique").to_owned(),
            },
            sqlx::Error::Database(db) => StoreError::Database(db.message().to_owned()),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => {
                StoreError::Corrupt(e.to_string())
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

#[cfg(feature = "test-support")]
pub mod testing;

#[derive(Debug, Clone)]
enum Pool {
    /// Readers share a read-only pool. Every write goes through one
    /// connection, so writers wait their turn in order instead of sleeping
    /// in SQLite's busy handler (which made write latency spike under load).
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs the same expression against whichever backend the store holds, with
/// `q` naming that backend's copy of the shared queries and `$ex` its pool
/// for `read` or `write` access.
macro_rules! dispatch {
    ($pool:expr, $access:ident, |$ex:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite { $access: $ex, .. } => {
                #[allow(unused_imports)]
                use tillit_store_sqlite::queries as q;
                Ok::<_, StoreError>($body.await?)
            }
            Pool::Postgres($ex) => {
                #[allow(unused_imports)]
                use tillit_store_postgres::queries as q;
                Ok::<_, StoreError>($body.await?)
            }
        }
    };
}

/// Runs `$body` in one transaction on the write side of whichever backend
/// the store holds, with `q` naming that backend's queries and `$tx` the
/// transaction. `$body` evaluates to `Ok(Some(v))` to commit and return `v`,
/// or `Ok(None)` to roll back; errors roll back too.
macro_rules! in_transaction {
    ($pool:expr, |$tx:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite { write, .. } => {
                #[allow(unused_imports)]
                use tillit_store_sqlite::queries as q;
                let mut $tx = write.begin().await?;
                let out = $body;
                if out.is_some() {
                    $tx.commit().await?;
                }
                Ok::<_, StoreError>(out)
            }
            Pool::Postgres(pool) => {
                #[allow(unused_imports)]
                use tillit_store_postgres::queries as q;
                let mut $tx = pool.begin().await?;
                let out = $body;
                if out.is_some() {
                    $tx.commit().await?;
                }
                Ok::<_, StoreError>(out)
            }
        }
    };
}

/// Declares `TenantStore` methods that are one query each, so that such a
/// method is written once, as its signature, instead of again as a body
/// that only passes its arguments on. Each entry is the method's signature,
/// then whether it reads or writes and the query it runs:
///
/// ```text
/// /// The person with this id.
/// pub async fn person(&self, id: &PersonId) -> Result<Option<Person>> = read q::person_by_id;
/// ```
///
/// becomes that method, whose body runs `q::person_by_id(ex, tenant, id)`
/// through `dispatch!` on the `read` pool: the query gets the executor,
/// the tenant, then the method's arguments in order. A method that does
/// more (several queries, a transaction, arguments to convert) is written
/// out as usual beside the block.
macro_rules! one_query {
    ($(
        $(#[$meta:meta])*
        $vis:vis async fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty
            = $access:ident q::$query:ident;
    )*) => {$(
        $(#[$meta])*
        $vis async fn $name(&self $(, $arg: $ty)*) -> $ret {
            let t = &self.tenant;
            dispatch!(self.pool, $access, |ex| q::$query(ex, t $(, $arg)*))
        }
    )*};
}

mod access_log;
mod bookings;
pub mod outbox;
mod people;
mod pictures;
mod plugin_storage;
mod profiles;
mod sessions;
mod smart;
mod terms;
mod versions;
mod visit_types;
mod visits;

pub use bookings::{BookOutcome, ChangedBy, GroupAnswer, NewBooking, RescheduleOutcome};
pub use people::Contact;
pub use versions::HistoryPage;

/// A connection pool to the configured database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    /// Wakes the outbox worker when a transaction has queued a message.
    wake: std::sync::Arc<tokio::sync::Notify>,
    /// Wakes the plugin-event worker when a transaction has recorded one.
    events: std::sync::Arc<tokio::sync::Notify>,
    /// Writes the access log for concurrent requests in shared commits.
    access: access_log::GroupCommit,
}

impl Store {
    /// Connects to `url`: `sqlite://path` (created if missing, WAL mode) or
    /// `postgres://…`. Fails within `timeout` if the database cannot be reached.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let bad = |reason: String| StoreError::BadUrl {
            url: redact_url(url),
            reason,
        };
        let pool = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| bad(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a commit survives power loss, not only a process crash.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            if let Some(dir) = opts.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            // The writer first: it creates the file and switches it to WAL.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(timeout)
                .connect_with(opts.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(timeout)
                .connect_with(opts.read_only(true))
                .await?;
            Pool::Sqlite { read, write }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(timeout)
                .connect_with(opts)
                .await?;
            Pool::Postgres(pool)
        } else {
            return Err(bad("expected sqlite://… or postgres://…".to_owned()));
        };
        Ok(Self {
            access: access_log::GroupCommit::start(&pool),
            pool,
            wake: Default::default(),
            events: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        let r = match &self.pool {
            Pool::Sqlite { write, .. } => match tillit_store_sqlite::MIGRATOR.run(write).await {
                Ok(()) => tillit_store_sqlite::queue::migrator().run(write).await,
                e => e,
            },
            Pool::Postgres(p) => match tillit_store_postgres::MIGRATOR.run(p).await {
                Ok(()) => tillit_store_postgres::queue::migrator().run(p).await,
                e => e,
            },
        };
        r.map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Whether the database answers, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        let r = match &self.pool {
            Pool::Sqlite { read, .. } => sqlx::query("SELECT 1").execute(read).await.map(drop),
            Pool::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop),
        };
        r.map_err(StoreError::from)
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// Makes `tenant` known to the database. Idempotent.
    pub async fn register_tenant(&self, tenant: &TenantId, now: Timestamp) -> Result<()> {
        dispatch!(&self.pool, write, |ex| q::register_tenant(ex, tenant, now))
    }

    /// The data of one tenant. Every method on the result is scoped to it.
    pub fn tenant(&self, tenant: TenantId) -> TenantStore<'_> {
        TenantStore {
            pool: &self.pool,
            tenant,
            wake: &self.wake,
            events: &self.events,
            access: &self.access,
        }
    }
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// One tenant's data. Obtained from [`Store::tenant`]; holds the tenant id so
/// no query can be asked without it.
#[derive(Debug, Clone)]
pub struct TenantStore<'s> {
    pool: &'s Pool,
    tenant: TenantId,
    wake: &'s tokio::sync::Notify,
    events: &'s tokio::sync::Notify,
    access: &'s access_log::GroupCommit,
}

impl TenantStore<'_> {
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://data/t.db"), "sqlite://data/t.db");
    }
}
