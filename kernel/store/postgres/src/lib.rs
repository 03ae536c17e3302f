//! The PostgreSQL backend of `tillit-store`: for production.
//!
//! The SQL itself lives in `../sql/` (one file per aggregate, gathered by
//! `queries.rs`), shared with the SQLite backend; this crate only fixes the
//! database type so that every query is checked against PostgreSQL, using the
//! offline data in this crate's `.sqlx/`.

pub type Db = sqlx::Postgres;

/// The migrations for PostgreSQL, kept in step with the SQLite ones.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The shared SQL, checked against this backend's database.
#[path = "../../sql/queries.rs"]
pub mod queries;

/// Appends many access-log entries in one statement. The set-returning
/// function differs per dialect, so this statement lives here, not in the
/// shared file; `events` is a JSON array of objects with `actor`,
/// `actor_role`, `patient`, `pnr`, `action` and `what`.
pub async fn insert_access_events_json<'e>(
    ex: impl sqlx::Executor<'e, Database = Db>,
    tenant: &str,
    at: i64,
    events: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"INSERT INTO access_log (tenant_id, at, actor_id, actor_role, patient_id, patient_personnummer, action, what)
               SELECT $1, $2, e.v->>'actor', e.v->>'actor_role', e.v->>'patient', e.v->>'pnr', e.v->>'action', e.v->>'what'
               FROM jsonb_array_elements($3::text::jsonb) AS e(v)"#,
        tenant,
        at,
        events,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// The delivery queue, kept by [apalis](https://docs.rs/apalis) in tables of
/// its own, migrated with a migrations table of its own.
pub mod queue {
    pub use apalis_postgres;

    /// The queue's name in apalis' tables.
    pub const QUEUE: &str = "tillit::outbox";

    /// apalis' own migrations, recorded in `_apalis_migrations` so that they
    /// never mix with Tillit's.
    pub fn migrator() -> sqlx::migrate::Migrator {
        let mut m = apalis_postgres::PostgresStorage::<()>::migrations();
        m.dangerous_set_table_name("_apalis_migrations");
        m
    }

    /// Pushes delivery jobs (JSON payloads, each with its priority: higher
    /// goes first) in the caller's transaction, so they exist exactly when
    /// the change that caused them does.
    pub async fn push_deliveries(
        conn: &mut sqlx::PgConnection,
        payloads: &[(Vec<u8>, usize)],
    ) -> Result<(), sqlx::Error> {
        if payloads.is_empty() {
            return Ok(());
        }
        let tasks: Vec<apalis_postgres::PgTask> = payloads
            .iter()
            .map(|(p, priority)| {
                apalis_core::task::builder::TaskBuilder::new(p.clone())
                    .max_attempts(MAX_ATTEMPTS)
                    .priority(*priority)
                    .build()
            })
            .collect();
        apalis_postgres::queries::push_tasks(conn, QUEUE, tasks)
            .await
            .map_err(|e| match e {
                apalis_postgres::Error::Database(e) => e,
                other => sqlx::Error::Protocol(other.to_string()),
            })
    }

    /// How often apalis runs a job before it gives up; within each run the
    /// worker retries with backoff (see the kernel's outbox).
    pub const MAX_ATTEMPTS: usize = 5;
}
