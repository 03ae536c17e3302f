//! What the room decides: [`Output`], one variant per action the driver
//! carries out.

use crate::{Layer, PeerId, TrackId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<P> {
    /// Send this packet to `to` on its copy of `track`, with these numbers.
    Forward {
        to: PeerId,
        track: TrackId,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: P,
    },
    /// Ask the publisher for a keyframe in `layer`.
    RequestKeyframe {
        from: PeerId,
        track: TrackId,
        layer: Layer,
    },
    /// Ask the publisher to resend packets it sent (its sequence numbers).
    NackUpstream {
        from: PeerId,
        track: TrackId,
        layer: Layer,
        seqs: Vec<u16>,
    },
    /// Nobody watches `layer` any more (or someone does again).
    SetLayerActive {
        publisher: PeerId,
        track: TrackId,
        layer: Layer,
        active: bool,
    },
    /// The loudest participant changed.
    ActiveSpeaker { peer: Option<PeerId> },
}
