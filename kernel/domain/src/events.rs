//! What the tenant's plugins hear about a booking change.
//!
//! Every change to a booking is one [`BookingChange`]; [`of`] says which
//! event, if any, plugins hear about it. The data layer writes that event in
//! the change's own transaction (the outbox), so every change that happened
//! reaches plugins once it is delivered, and none that rolled back does.

use crate::booking::BookingStatus;
use crate::notify::BookingChange;
use crate::time::Timestamp;

/// A booking change as plugins hear of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookingEvent {
    Created,
    Confirmed,
    Moved,
    Cancelled,
    /// The visit began (confirmed → in progress).
    Started,
    /// The visit ended (in progress → finished).
    Ended,
}

impl BookingEvent {
    pub const ALL: [BookingEvent; 6] = [
        Self::Created,
        Self::Confirmed,
        Self::Moved,
        Self::Cancelled,
        Self::Started,
        Self::Ended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Confirmed => "confirmed",
            Self::Moved => "moved",
            Self::Cancelled => "cancelled",
            Self::Started => "started",
            Self::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// A plugin event waiting for delivery, with the visit as it was when the
/// change happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPluginEvent {
    pub id: String,
    pub booking_id: String,
    pub kind: BookingEvent,
    pub visit_status: BookingStatus,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// The event plugins hear about `change`, if any (a missed visit, say, is
/// not one of the events the plugin API has).
pub fn of(change: BookingChange) -> Option<BookingEvent> {
    match change {
        BookingChange::Created => Some(BookingEvent::Created),
        BookingChange::Moved => Some(BookingEvent::Moved),
        BookingChange::Status { to, .. } => match to {
            BookingStatus::Confirmed => Some(BookingEvent::Confirmed),
            BookingStatus::Cancelled => Some(BookingEvent::Cancelled),
            BookingStatus::InProgress => Some(BookingEvent::Started),
            BookingStatus::Finished => Some(BookingEvent::Ended),
            BookingStatus::Unconfirmed | BookingStatus::NoShow => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_a_person_makes_is_an_event() {
        use BookingStatus::*;
        assert_eq!(of(BookingChange::Created), Some(BookingEvent::Created));
        assert_eq!(of(BookingChange::Moved), Some(BookingEvent::Moved));
        let status = |from, to| of(BookingChange::Status { from, to });
        assert_eq!(
            status(Unconfirmed, Confirmed),
            Some(BookingEvent::Confirmed)
        );
        assert_eq!(status(Confirmed, Cancelled), Some(BookingEvent::Cancelled));
        assert_eq!(
            status(Unconfirmed, Cancelled),
            Some(BookingEvent::Cancelled)
        );
        assert_eq!(status(Confirmed, InProgress), Some(BookingEvent::Started));
        assert_eq!(status(InProgress, Finished), Some(BookingEvent::Ended));
        assert_eq!(status(Confirmed, NoShow), None);
    }

    #[test]
    fn names_round_trip() {
        for e in BookingEvent::ALL {
            assert_eq!(BookingEvent::parse(e.as_str()), Some(e));
        }
    }
}
