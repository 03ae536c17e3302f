//! Events in the tenant, delivered to [`crate::Plugin::on_event`] for the
//! kinds listed under `events` in the manifest: `booking-created`,
//! `booking-cancelled`, `visit-started`, `visit-ended`,
//! `participant-joined`, `participant-left`.
//!
//! An event runs with no caller: [`crate::context::visit`] is the visit it
//! is about, and [`crate::Scope::Caller`] is denied.

pub use crate::bindings::exports::tillit::plugin::events::Event;

impl Event {
    /// The event's name as in the manifest's `events` list.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::BookingCreated => "booking-created",
            Event::BookingCancelled => "booking-cancelled",
            Event::VisitStarted => "visit-started",
            Event::VisitEnded => "visit-ended",
            Event::ParticipantJoined(_) => "participant-joined",
            Event::ParticipantLeft(_) => "participant-left",
        }
    }
}
