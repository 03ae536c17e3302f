//! The SQLite backend of `tillit-store`: the embedded default.
//!
//! The SQL itself lives in `../sql/queries.rs`, shared with the PostgreSQL
//! backend; this crate only fixes the database type so that every query is
//! checked against SQLite, using the offline data in this crate's `.sqlx/`.

pub type Db = sqlx::Sqlite;

/// The migrations for SQLite, kept in step with the PostgreSQL ones.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

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
               SELECT $1, $2, json_extract(e.value, '$.actor'), json_extract(e.value, '$.actor_role'),
                      json_extract(e.value, '$.patient'), json_extract(e.value, '$.pnr'),
                      json_extract(e.value, '$.action'), json_extract(e.value, '$.what')
               FROM json_each($3) AS e"#,
        tenant,
        at,
        events,
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}
