//! Why the endpoint refuses something.

use tillit_sfu::PeerId;

/// Why the endpoint refused something. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("peer {0:?} is not connected")]
    UnknownPeer(PeerId),
    #[error("the session description was refused: {0}")]
    Sdp(String),
    #[error("the room refused it: {0}")]
    Room(#[from] tillit_sfu::RoomError),
    #[error("the room is full")]
    Full,
    #[error("the media plane has stopped")]
    Stopped,
}

pub(crate) fn sdp_error(e: rtc::shared::error::Error) -> MediaError {
    MediaError::Sdp(e.to_string())
}
