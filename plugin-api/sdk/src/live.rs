//! Capability `live`: messages to the people in the current visit's room,
//! over the room's own connection, to this plugin's panel. Manifest name:
//! `live`.
//!
//! Only while there is a current visit (else [`Error::Denied`]). A message
//! is JSON of at most 16 KiB. Delivery is best effort (people not connected
//! miss it): keep state in [`crate::storage`] and send only news, such as
//! "a new chat message, fetch it".

use serde::Serialize;

use crate::{Error, Result};

#[cfg(target_arch = "wasm32")]
use crate::bindings::tillit::plugin::live as host;
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::imports::live as host;

/// Sends a JSON text to every connected participant of the current visit.
pub fn broadcast(message: &str) -> Result<()> {
    host::broadcast(message)
}

/// Sends a JSON text to one participant of the current visit.
pub fn send(to: &str, message: &str) -> Result<()> {
    host::send(to, message)
}

/// Serialises `message` and sends it to every connected participant.
pub fn broadcast_json<T: Serialize + ?Sized>(message: &T) -> Result<()> {
    broadcast(&to_json(message)?)
}

/// Serialises `message` and sends it to one participant.
pub fn send_json<T: Serialize + ?Sized>(to: &str, message: &T) -> Result<()> {
    send(to, &to_json(message)?)
}

fn to_json<T: Serialize + ?Sized>(message: &T) -> Result<String> {
    serde_json::to_string(message).map_err(|e| Error::internal(format!("live message: {e}")))
}
