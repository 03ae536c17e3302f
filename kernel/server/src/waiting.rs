//! Who is waiting on a visit's page for it to start: the patient's page
//! asks for the visit's state every few seconds while they wait, and each
//! ask is noted here. A journal system reads the visit as `arrived` while
//! the patient was seen a moment ago. Held in memory: it is a live fact,
//! like an open connection, and means nothing after a restart.

use std::collections::HashMap;
use std::sync::Mutex;

use tillit_domain::{TenantId, Timestamp};

/// How recently a patient must have been seen on the page to be waiting:
/// the page asks every 3 s, so a few asks may be late before they count
/// as gone.
pub const FRESH_MS: i64 = 10_000;

/// The visits whose patient is waiting, with when they were last seen.
#[derive(Debug, Default)]
pub struct WaitingRoom {
    seen: Mutex<HashMap<(TenantId, String), Timestamp>>,
}

impl WaitingRoom {
    /// The patient of `booking` is on its page at `now`. Entries no longer
    /// fresh go at the same time, so the map holds only the visits being
    /// waited for now.
    pub fn seen(&self, tenant: &TenantId, booking: &str, now: Timestamp) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, at| now.0 - at.0 < FRESH_MS);
        seen.insert((tenant.clone(), booking.to_owned()), now);
    }

    /// Whether the patient of `booking` was on its page within
    /// [`FRESH_MS`] before `now`.
    pub fn is_waiting(&self, tenant: &TenantId, booking: &str, now: Timestamp) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&(tenant.clone(), booking.to_owned()))
            .is_some_and(|at| now.0 - at.0 < FRESH_MS && now.0 >= at.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patient_waits_while_their_page_keeps_asking() {
        let room = WaitingRoom::default();
        let demo = TenantId::parse("demo").unwrap();
        let other = TenantId::parse("norrland").unwrap();
        room.seen(&demo, "v1", Timestamp(1_000));
        assert!(room.is_waiting(&demo, "v1", Timestamp(1_000 + FRESH_MS - 1)));
        assert!(!room.is_waiting(&demo, "v1", Timestamp(1_000 + FRESH_MS)));
        assert!(!room.is_waiting(&demo, "v2", Timestamp(1_000)));
        assert!(!room.is_waiting(&other, "v1", Timestamp(1_000)));
        // Someone else's ask later sweeps v1 away.
        room.seen(&demo, "v2", Timestamp(1_000 + FRESH_MS));
        assert_eq!(room.seen.lock().unwrap().len(), 1);
    }
}
