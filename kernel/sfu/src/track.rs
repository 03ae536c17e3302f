//! What the room routes: participants, their tracks, simulcast layers and
//! packets, as plain identifiers and metadata.

/// A participant's id within a room (the kernel maps it to a person).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u32);

/// A published track, unique within the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Audio,
    Video,
}

/// A simulcast layer: 0 is the lowest resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Layer(pub u8);

/// What a publisher sends in one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerInfo {
    pub layer: Layer,
    pub width: u32,
    pub height: u32,
    /// Expected bitrate, bits per second.
    pub bitrate: u64,
}

/// One RTP packet as the room sees it. `payload` is the kernel's handle for
/// the bytes (the room never looks inside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<P> {
    pub seq: u16,
    pub timestamp: u32,
    pub marker: bool,
    /// The packet starts a keyframe (from the payload descriptor).
    pub keyframe: bool,
    /// Audio level in -dBov (0 loudest, 127 silence), if the extension was sent.
    pub audio_level: Option<u8>,
    pub size: usize,
    pub payload: P,
}
