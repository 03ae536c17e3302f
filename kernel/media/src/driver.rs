//! The thin tokio driver: one UDP socket for every visit's media, and one
//! task that owns the visits' [`Endpoint`]s and moves datagrams, time and
//! commands into them.
//!
//! The kernel talks to it through a [`Hub`]: a participant [`Hub::join`]s a
//! room (presence: who is there, by the name each viewer may see), sends
//! its offer and answers, and leaves; the hub sends each participant the
//! [`Notice`]s meant for them on their own channel. Datagrams are routed to
//! a room by source address once known, before that by the ICE username
//! fragment of the STUN binding request (each peer gets a random one).
//!
//! A panic in one peer's handling is caught where it happens
//! ([`Endpoint`] drops that peer); a panic in a room's own code closes that
//! room (its participants are told, and rejoin); the task and the process
//! carry on.
//!
//! Layout: `hub` (the [`Hub`] and the commands it sends the task), `task`
//! (the task: socket, rooms, routing, timers), `notice` (what
//! participants are told) and `stats` ([`HubStats`]).
//!
//! [`Endpoint`]: crate::Endpoint

mod hub;
mod notice;
mod stats;
mod task;

pub use hub::{Hub, RoomKey};
pub use notice::{Notice, Participant};
pub use stats::{DelayHistogram, HubStats};
