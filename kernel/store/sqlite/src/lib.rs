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
