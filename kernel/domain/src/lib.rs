//! Tillit's domain: the rules of the product, with no IO.
//!
//! Nothing here touches the network, the disk, the clock or a random number
//! generator: time comes in through [`time::Clock`], randomness and
//! configuration as plain values. That keeps the rules testable without
//! sleeping and lets the kernel and the data layer share one vocabulary.
//!
//! # Layout
//! - [`personnummer`]: Swedish personal identity numbers and samordningsnummer,
//!   validated, and never printed in clear.
//! - [`ids`]: tenant and person identifiers.
//! - [`people`]: clinicians, administrators and patients, and their status.
//! - [`session`]: idle timeout and absolute lifetime of a login.
//! - [`access`]: what the patient-data access log records.
//! - [`booking`]: the booking state machine, visit types, clinician profiles
//!   and mobile numbers.
//! - [`invitee`]: what inviting a patient already on file may do to their
//!   record (name, mobile number, removed status).
//! - [`events`]: which event the tenant's plugins hear about a booking change.
//! - [`notify`]: which messages a change to a booking sends, and when;
//!   what a message may say.
//! - [`plugin_data`]: plugins' documents and blobs: spaces, keys,
//!   revisions and write conditions, quotas, and what a write came to;
//!   shared by the plugin host and the store.
//! - [`time`]: timestamps, the clock, and durations as written in config.
//! - [`visit`]: the visit room's rules: when it opens, who starts, ends and
//!   enters it, and how participants see each other.
//! - [`redact`]: a wrapper that keeps personal data out of logs.
//! - [`version`]: numbered versions of bookings and people, as journal
//!   systems read them.

pub mod access;
pub mod booking;
pub mod events;
pub mod group;
pub mod ids;
pub mod invitee;
pub mod notify;
pub mod people;
pub mod personnummer;
pub mod plugin_data;
pub mod redact;
pub mod session;
pub mod time;
pub mod version;
pub mod visit;

pub use ids::{PersonId, TenantId};
pub use people::{HsaId, Person, PersonName, PersonStatus, Role};
pub use personnummer::{IdentityKind, Personnummer};
pub use time::{Clock, Timestamp};
pub use version::Version;
