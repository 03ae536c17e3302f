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
