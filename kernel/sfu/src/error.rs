//! Why the room refuses an input.

use crate::{Layer, PeerId, TrackId};

/// Why the room refused an input. The room is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("peer {0:?} is not in the room")]
    UnknownPeer(PeerId),
    #[error("track {0:?} is not published in the room")]
    UnknownTrack(TrackId),
    #[error("track {0:?} is not this peer's")]
    NotOwner(TrackId),
    #[error("track {0:?} is already published")]
    DuplicateTrack(TrackId),
    #[error("peer {0:?} is already in the room")]
    DuplicatePeer(PeerId),
    #[error("the room is full ({0} participants)")]
    Full(usize),
    #[error("layer {0:?} is not one of the track's layers")]
    UnknownLayer(Layer),
}
