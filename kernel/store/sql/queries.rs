//! The SQL of Tillit, written once and compiled twice: one file per
//! aggregate, and this module, which gathers them.
//!
//! `tillit-store-sqlite` and `tillit-store-postgres` each declare this file
//! as their `queries` module (`#[path]`), beside their own `type Db`. Every
//! `query!` here is therefore checked against both databases, each with its
//! own offline data in its own `.sqlx/`. The SQL must be valid in both
//! dialects: `$N` placeholders (SQLite binds them by number too),
//! `ON CONFLICT`, `RETURNING`, BIGINT times in UTC milliseconds, TEXT ids.
//!
//! Tenant scoping rule, enforced by a test over the offline data: a statement
//! on a tenant-owned table binds the tenant as `$1` (`tenant_id = $1`, or
//! `tenant_id` as the first inserted column).
//!
//! The facade (`tillit-store`) calls every query as `q::name`, so the
//! aggregates' functions are re-exported here side by side; their names are
//! unique across the files.

#[path = "access_log.rs"]
mod access_log;
#[path = "bookings.rs"]
mod bookings;
#[path = "external_ids.rs"]
mod external_ids;
#[path = "group.rs"]
mod group;
#[path = "outbox.rs"]
mod outbox;
#[path = "people.rs"]
mod people;
#[path = "pictures.rs"]
mod pictures;
#[path = "plugin_storage.rs"]
mod plugin_storage;
#[path = "profiles.rs"]
mod profiles;
#[path = "sessions.rs"]
mod sessions;
#[path = "smart.rs"]
mod smart;
#[path = "tenants.rs"]
mod tenants;
#[path = "terms.rs"]
mod terms;
#[path = "versions.rs"]
mod versions;
#[path = "visit_types.rs"]
mod visit_types;

pub use access_log::*;
pub use bookings::*;
pub use external_ids::*;
pub use group::*;
pub use outbox::*;
pub use people::*;
pub use pictures::*;
pub use plugin_storage::*;
pub use profiles::*;
pub use sessions::*;
pub use smart::*;
pub use tenants::*;
pub use terms::*;
pub use versions::*;
pub use visit_types::*;

/// Delivery jobs are pushed by each backend's `queue`, in the caller's
/// transaction like the queries here.
pub use crate::queue::push_deliveries;

type Result<T> = std::result::Result<T, sqlx::Error>;

fn corrupt(what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what} is not valid").into())
}
