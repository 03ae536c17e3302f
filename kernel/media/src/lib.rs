//! The SFU's media plane: WebRTC peers on one UDP port around a room core.
//!
//! An [`Endpoint`] owns one room ([`tillit_sfu::Room`]) and one
//! `rtc` (webrtc-rs' sans-IO core, pinned at 0.21.1) peer connection per
//! participant, each in ICE-lite mode with its own ICE username fragment,
//! all sharing one UDP socket. Like the room, it does no IO: the driver
//! hands it datagrams ([`Endpoint::handle_datagram`]) and time
//! ([`Endpoint::handle_timeout`]) and sends what [`Endpoint::poll_transmit`]
//! yields. Datagrams are routed to their peer by source address once known,
//! and before that by the USERNAME of the STUN binding request.
//!
//! Media: an RTP packet from a publisher becomes [`tillit_sfu::Input::Rtp`];
//! the room's forwards are written to the subscriber's connection with the
//! room's sequence numbers and timestamps; its keyframe requests become a
//! PLI to the publisher. A new participant's tracks reach those already in
//! the room through a renegotiation ([`Event::Offer`]).
//!
//! # Layout
//!
//! - `endpoint`: the [`Endpoint`] and the calls into it, with `pump`
//!   (connections ↔ room after every input) and `tracks` (opening
//!   publishers' tracks, adding senders for subscribers);
//! - `conn`: one participant's peer connection and its two legs;
//! - `engine`: codecs, header extensions and interceptors of every
//!   connection, and the downlink estimate;
//! - `codec`: VP8 and Opus ([`vp8`], [`opus`], [`vp8_keyframe`]);
//! - `simulcast`: RIDs ↔ room layers ([`layer_of`], [`rid_of`]);
//! - `stun`: routing by the ICE username of a STUN binding request;
//! - `event`: [`Event`]; `error`: [`MediaError`];
//! - [`driver`]: the thin tokio driver and the kernel's [`driver::Hub`].

mod codec;
mod conn;
pub mod driver;
mod endpoint;
mod engine;
mod error;
mod event;
mod simulcast;
mod stun;

pub use codec::{opus, vp8, vp8_keyframe};
pub use conn::add_host_candidate;
pub use endpoint::{Endpoint, SILENCE_IS_POOR};
pub use error::MediaError;
pub use event::Event;
pub use simulcast::{layer_of, rid_of};
pub use tillit_sfu::signal::MediaKind;
