//! Tillit's use cases: one function per thing a person or a system does
//! (invite to a visit, book a group visit, confirm, cancel, move, start and
//! end a visit, …), which every door calls: the portal's handlers today, and
//! the FHIR API, the administrator's tool, guest links and background jobs
//! as they come. A rule therefore lives in one place, and a new door only
//! parses its input, calls the use case and renders the outcome.
//!
//! Each use case takes an [`Env`] (the tenant's store, its booking rules,
//! the time, where new ids come from, and the live connections), the
//! [`Actor`] (who, in which role, through which [`Door`]) and its command,
//! and returns a domain outcome or an [`Error`]. A use case that changes something makes exactly
//! one transactional call to the store, which writes the change together
//! with everything it causes: the booking's history, the access-log entry,
//! the messages and reminders, and the event the tenant's plugins hear. So
//! a change and its effects exist together or not at all. The one effect
//! outside the database is on live connections: once an ending is stored
//! (a session, a person's access, a visit), the use case tells
//! [`Env::live`], and the open rooms it concerns close.
//!
//! # Layout
//! - [`bookings`]: booking a visit (1:1, "Boka nu", a colleague's test
//!   visit, a group visit), confirming, cancelling, moving; the clinician's
//!   patients.
//! - [`visits`]: who takes part in a visit, starting and ending it.
//! - [`people`]: a patient's own contact details; staff and statuses, for
//!   administrators.
//! - [`profiles`]: a clinician's profile, picture and visit types, and
//!   publishing them.
//! - [`terms`]: the terms a patient accepts.
//! - [`messages`]: who may read the outbox, and providers' delivery
//!   reports on messages sent.
//! - [`sessions`]: logging in (whatever the identity provider) and out.
//! - [`journal`]: what a journal system (an EHR over FHIR) reads and
//!   registers on its own account; [`schedules`]: clinicians' calendars
//!   (bookable for what, taken when) as it sees them.
//! - [`access`]: the access-log entries for reads of patient data.
//! - [`live`]: the live connections (video rooms) that some changes end
//!   at once, as the kernel holds them.
//! - [`error`]: what a use case refuses, for each door to map once.
//!
//! # Invariant
//! A door never writes to the store itself: every change goes through a use
//! case here, so every door gets the same rules, logging and effects.

use std::time::Duration;

use tillit_domain::{Person, Timestamp};
use tillit_store::TenantStore;

pub mod access;
pub mod bookings;
pub mod error;
pub mod journal;
pub mod live;
pub mod messages;
pub mod people;
pub mod profiles;
pub mod schedules;
pub mod sessions;
pub mod terms;
pub mod visits;

pub use error::{Conflict, Error, Problem};
pub use live::{Live, NoLive};

/// Where a request came in. Recorded with what it does, and the reason a
/// rule may differ by door (none does yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The tenant's web portal.
    Portal,
    /// A journal system over FHIR.
    Fhir,
    /// The administrator's tool.
    Admin,
    /// A guest's link.
    Guest,
    /// A background job of the kernel.
    Job,
}

/// Who does something: a person of the tenant, through a door.
#[derive(Debug, Clone)]
pub struct Actor {
    pub person: Person,
    pub door: Door,
    /// The journal system (its FHIR client id) the person acts through:
    /// the access log names it as the actor.
    pub via: Option<String>,
}

impl Actor {
    pub fn portal(person: Person) -> Self {
        Self {
            person,
            door: Door::Portal,
            via: None,
        }
    }

    /// A clinician acting through a journal system over FHIR (the EHR books
    /// in their name).
    pub fn journal_system(person: Person, client: &str) -> Self {
        Self {
            person,
            door: Door::Fhir,
            via: Some(client.to_owned()),
        }
    }

    /// Who the access log names for what the actor reads or changes.
    pub fn accessor(&self) -> tillit_domain::access::Accessor {
        match &self.via {
            Some(client) => tillit_domain::access::Accessor::JournalSystem {
                client: client.clone(),
            },
            None => tillit_domain::access::Accessor::Person {
                id: self.person.id.clone(),
                role: self.person.role,
            },
        }
    }

    /// The actor as a clinician, or [`Error::Forbidden`].
    pub(crate) fn clinician(&self) -> Result<&Person, Error> {
        self.as_role(tillit_domain::Role::Clinician)
    }

    /// Who the store records for a change the actor makes, logged in the
    /// access log as `what` when it concerns a patient.
    pub(crate) fn changed_by(&self, what: &'static str) -> tillit_store::ChangedBy<'_> {
        tillit_store::ChangedBy {
            person: &self.person.id,
            role: self.person.role,
            logged_as: Some(what),
            via: self.via.as_deref(),
            at_version: None,
        }
    }

    /// The actor if they have `role`, or [`Error::Forbidden`].
    pub(crate) fn as_role(&self, role: tillit_domain::Role) -> Result<&Person, Error> {
        if self.person.role == role {
            Ok(&self.person)
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// The tenant's booking settings that the rules use (from its file).
#[derive(Debug, Clone, Copy)]
pub struct BookingRules<'a> {
    /// Whether a new booking waits for the patient to confirm it.
    pub require_confirmation: bool,
    /// How long before a confirmed visit its reminder goes out.
    pub reminder_lead: Duration,
    /// The sökorsaker a group visit may be booked for.
    pub reasons: &'a [String],
}

/// Where new ids come from; passed in so tests can fix them.
pub trait Ids: Send + Sync {
    fn new_id(&self) -> String;
}

/// Random (v4) UUIDs, the kernel's ids.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl Ids for RandomIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// What every use case works in: one tenant's data and rules, at one time,
/// and the live connections its changes may end.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub store: &'a TenantStore<'a>,
    pub rules: BookingRules<'a>,
    pub now: Timestamp,
    pub ids: &'a dyn Ids,
    /// Told when a session, a person's access or a visit ends (after the
    /// change is stored), so their open rooms close at once.
    pub live: &'a dyn Live,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("tenant", self.store.tenant())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}
