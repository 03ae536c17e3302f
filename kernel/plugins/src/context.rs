//! What the kernel tells the host about a call: the tenant, who calls, the
//! visit as the caller may see it, and for renders and events the slot or
//! event. These are the kernel's own identities (person ids); the host
//! turns them into the pseudonyms plugins see ([`crate::refs`]).

use tillit_domain::{PersonId, TenantId, Timestamp};

pub use tillit_plugin_manifest::{Capability, Method};

/// What a person is in the tenant, as plugins see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Clinician,
    Patient,
    /// Invited into a visit without an account (an interpreter, a relative).
    Guest,
    Administrator,
}

impl From<tillit_domain::Role> for Role {
    fn from(role: tillit_domain::Role) -> Self {
        match role {
            tillit_domain::Role::Clinician => Role::Clinician,
            tillit_domain::Role::Patient => Role::Patient,
            tillit_domain::Role::Administrator => Role::Administrator,
        }
    }
}

/// The person on whose behalf a plugin runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub person: PersonId,
    pub role: Role,
    /// The caller's own name, for greetings.
    pub display_name: String,
    /// BCP 47, such as `sv` or `en`.
    pub language: String,
}

/// Someone booked into a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub person: PersonId,
    pub role: Role,
    /// The name as the *caller* may see it (initials of other patients in a
    /// group visit, for a patient): the kernel decides.
    pub display_name: String,
}

/// Where a visit is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitStatus {
    Booked,
    InProgress,
    Finished,
    Cancelled,
}

/// A visit as the caller may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// The kernel's id (a booking id); plugins see a pseudonym of it.
    pub id: String,
    pub status: VisitStatus,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// Everyone booked into it, the caller included.
    pub participants: Vec<Participant>,
}

/// Who calls a plugin, in which tenant and visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    pub tenant: TenantId,
    /// None for events.
    pub caller: Option<Caller>,
    /// The room a panel is rendered in, the visit of a request made from a
    /// room, the visit an event is about; None elsewhere.
    pub visit: Option<Visit>,
}

/// A place in the kernel's pages a plugin can fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A tab in the side panel of a visit's room.
    VisitPanel,
    /// A section on this person's profile page.
    ProfileSection(PersonId),
    /// A page of its own in the portal.
    BetweenVisitsPage,
}

impl Slot {
    /// The manifest's name for this kind of slot.
    pub fn kind(&self) -> tillit_plugin_manifest::Slot {
        match self {
            Slot::VisitPanel => tillit_plugin_manifest::Slot::VisitPanel,
            Slot::ProfileSection(_) => tillit_plugin_manifest::Slot::ProfileSection,
            Slot::BetweenVisitsPage => tillit_plugin_manifest::Slot::BetweenVisitsPage,
        }
    }
}

/// Something that happened in the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    BookingCreated,
    BookingCancelled,
    VisitStarted,
    VisitEnded,
    ParticipantJoined(PersonId),
    ParticipantLeft(PersonId),
}

impl Event {
    /// The manifest's name for this kind of event.
    pub fn kind(&self) -> tillit_plugin_manifest::Event {
        use tillit_plugin_manifest::Event as E;
        match self {
            Event::BookingCreated => E::BookingCreated,
            Event::BookingCancelled => E::BookingCancelled,
            Event::VisitStarted => E::VisitStarted,
            Event::VisitEnded => E::VisitEnded,
            Event::ParticipantJoined(_) => E::ParticipantJoined,
            Event::ParticipantLeft(_) => E::ParticipantLeft,
        }
    }
}

/// A message a plugin sent with the `live` capability, for the kernel to
/// deliver over the visit's room connection to the plugin's panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMessage {
    /// The plugin's id, so the room script hands it to the right panel.
    pub plugin: String,
    /// None: every connected participant of the visit.
    pub to: Option<PersonId>,
    /// A JSON text of at most 16 KiB.
    pub message: String,
}
