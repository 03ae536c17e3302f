//! What the endpoint tells the kernel: [`Event`]s to pass on to
//! participants.

use tillit_sfu::PeerId;

/// What the kernel must pass on to a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Send this offer to `peer` (tracks to receive came or went); its
    /// answer goes to
    /// [`Endpoint::accept_answer`](crate::Endpoint::accept_answer).
    Offer {
        peer: PeerId,
        sdp: String,
    },
    /// `peer`'s connection came up, or went away.
    Connected {
        peer: PeerId,
    },
    Disconnected {
        peer: PeerId,
    },
    /// `peer`'s media stopped arriving (`poor`), or came back.
    Quality {
        peer: PeerId,
        poor: bool,
    },
    ActiveSpeaker {
        peer: Option<PeerId>,
    },
    /// Nobody watches `peer`'s simulcast layer `rid` any more (`active`
    /// false), or someone does again: the browser should stop or resume
    /// encoding it, which saves its CPU and uplink.
    LayerActive {
        peer: PeerId,
        rid: &'static str,
        active: bool,
    },
    /// Handling `peer` panicked: it was dropped from the room.
    Dropped {
        peer: PeerId,
    },
}
