//! What the room is told: [`Input`], one variant per event the driver
//! feeds in.

use crate::{Kind, Layer, LayerInfo, Packet, PeerId, TrackId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<P> {
    Join {
        peer: PeerId,
    },
    Leave {
        peer: PeerId,
    },
    /// `layers` is empty for audio and one entry per simulcast layer for video.
    Publish {
        peer: PeerId,
        track: TrackId,
        kind: Kind,
        layers: Vec<LayerInfo>,
    },
    /// The subscriber shows `track` at this size (0×0: not shown at all).
    Show {
        subscriber: PeerId,
        track: TrackId,
        width: u32,
        height: u32,
    },
    /// The subscriber's downlink estimate (its congestion controller's,
    /// GCC over TWCC feedback), bits per second. A falling estimate caps
    /// the layers it is sent; see
    /// [`Settings::bandwidth_hold`](crate::Settings::bandwidth_hold).
    Bandwidth {
        subscriber: PeerId,
        bps: u64,
    },
    Rtp {
        from: PeerId,
        track: TrackId,
        layer: Layer,
        packet: Packet<P>,
    },
    /// The subscriber lost these packets (its sequence numbers).
    Nack {
        subscriber: PeerId,
        track: TrackId,
        seqs: Vec<u16>,
    },
    /// The subscriber's decoder needs a keyframe (PLI/FIR).
    KeyframeRequest {
        subscriber: PeerId,
        track: TrackId,
    },
    /// The subscriber (re)connected: what it was sent before is lost, so
    /// forwarding starts again at the next keyframe, numbering continuing.
    Resync {
        subscriber: PeerId,
        track: TrackId,
    },
    Tick,
}
