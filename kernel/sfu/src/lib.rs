//! The SFU's room core: who receives which packets, sans IO.
//!
//! A [`Room`] knows the participants of one visit, the tracks they publish
//! (audio, or video in up to three simulcast layers) and what each
//! subscriber wants. It is a state machine: [`Room::handle`] takes an
//! [`Input`] (a packet arrived, a NACK, a bandwidth estimate, a join, the
//! time passing) and queues [`Output`]s (forward this packet to that peer,
//! retransmit, ask the publisher for a keyframe, pause a layer nobody
//! watches, the active speaker changed), taken with [`Room::poll_output`].
//! [`Room::poll_timeout`] says when it next needs [`Input::Tick`].
//!
//! No sockets, no threads, no clock, no randomness: the tokio driver and the
//! WebRTC stack (ICE, DTLS, SRTP per peer) sit outside and feed it; the
//! tests drive it over a simulated network with loss, delay and reordering.
//!
//! What it does for each subscriber of a video track:
//! - picks the simulcast layer: the smallest that covers the size the
//!   subscriber shows the video at, within its bandwidth estimate;
//! - switches layers only at a keyframe of the new layer, asking the
//!   publisher for one (rate-limited per layer), and rewrites sequence
//!   numbers and timestamps so the subscriber sees one continuous stream;
//! - keeps what it sent, to answer the subscriber's NACKs;
//! - asks the publisher, through the kernel, to retransmit what it lost
//!   upstream (gaps in the sequence), and to pause layers nobody watches.
//!
//! For audio it forwards every packet and follows the publishers' audio
//! levels (RFC 6464) to name the active speaker.
//!
//! [`signal`] is the browser ↔ kernel signalling protocol and its
//! per-connection state machine, also without IO.
//!
//! # Layout
//!
//! - `track`: identifiers and what the room routes ([`PeerId`],
//!   [`TrackId`], [`Kind`], [`Layer`], [`LayerInfo`], [`Packet`]);
//! - `input`, `output`: [`Input`] and [`Output`];
//! - `settings`: [`Settings`]; `error`: [`RoomError`];
//! - `room`: the [`Room`] and its state, with one submodule per concern:
//!   `membership` (join, leave, publish), `upstream` (what arrives from
//!   publishers), `forward` (numbering and switching per subscriber),
//!   `layers` (layer choice and pausing), `bandwidth` (downlink caps),
//!   `recovery` (keyframe requests, NACKs both ways) and `speaker`;
//! - `clock` ([`Millis`]) and `seq` (16-bit sequence numbers);
//! - [`signal`]: the signalling protocol.

mod clock;
mod error;
mod input;
mod output;
mod room;
mod seq;
mod settings;
pub mod signal;
mod track;

pub use clock::Millis;
pub use error::RoomError;
pub use input::Input;
pub use output::Output;
pub use room::Room;
pub use settings::Settings;
pub use track::{Kind, Layer, LayerInfo, Packet, PeerId, TrackId};
