//! The live connections that some changes end at once: a person's open
//! video rooms (each a signalling WebSocket and its media in the SFU); and
//! who is waiting on a visit's page for it to start, which journal systems
//! see as `arrived`.
//!
//! The kernel holds them; the use cases tell it, through [`Env::live`],
//! when a session ends (logout, expiry), when a person may no longer log in
//! (made inactive or removed) and when a visit ends, so every door has the
//! effect and none has to remember it. What is stored decides in the end:
//! the kernel also checks each connection's session again every few
//! seconds (`sessions::resume`), which covers an ending it was not told of
//! (another process, a session row removed by housekeeping).
//!
//! [`Env::live`]: crate::Env::live

use tillit_domain::{PersonId, TenantId, Timestamp};

/// Where the use cases report endings that close live connections.
pub trait Live: Send + Sync {
    /// The session stored under `token_hash` has ended: its connections close.
    fn session_ended(&self, tenant: &TenantId, token_hash: &str);
    /// `person` may no longer log in: all their connections close.
    fn person_shut_out(&self, tenant: &TenantId, person: &PersonId);
    /// The visit `booking` has ended: its room closes for everyone.
    fn visit_ended(&self, tenant: &TenantId, booking: &str);
    /// The patient of `booking` is on its page at `now`, waiting for it
    /// to start.
    fn patient_waiting(&self, _tenant: &TenantId, _booking: &str, _now: Timestamp) {}
    /// Whether the patient of `booking` was seen waiting for it a moment
    /// before `now` (the page asks every few seconds while they wait).
    fn is_patient_waiting(&self, _tenant: &TenantId, _booking: &str, _now: Timestamp) -> bool {
        false
    }
}

/// No live connections (tests of the use cases, jobs that run without a
/// server).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLive;

impl Live for NoLive {
    fn session_ended(&self, _: &TenantId, _: &str) {}
    fn person_shut_out(&self, _: &TenantId, _: &PersonId) {}
    fn visit_ended(&self, _: &TenantId, _: &str) {}
}
