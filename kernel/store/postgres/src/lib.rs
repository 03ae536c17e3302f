//! The PostgreSQL backend of `tillit-store`: for production.
//!
//! The SQL itself lives in `../sql/queries.rs`, shared with the SQLite
//! backend; this crate only fixes the database type so that every query is
//! checked against PostgreSQL, using the offline data in this crate's `.sqlx/`.

pub type Db = sqlx::Postgres;

/// The migrations for PostgreSQL, kept in step with the SQLite ones.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

pub mod queries {
    use super::Db;
    include!("../../sql/queries.rs");
}

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
