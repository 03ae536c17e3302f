//! What the hub tells a participant, and who a participant is for the
//! others.

use tillit_sfu::PeerId;

use crate::MediaKind;

/// Who a participant is, for the others in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub name: String,
    /// What other patients see of a patient in a group visit.
    pub initials: String,
    pub clinician: bool,
}

/// What the hub tells one participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    PeerJoined {
        peer: PeerId,
        who: Participant,
    },
    PeerLeft {
        peer: PeerId,
    },
    /// The media plane wants to renegotiate: send this offer.
    Offer {
        sdp: String,
    },
    /// This participant's own connection came up or went down.
    Connected,
    Disconnected,
    /// Someone's media stopped arriving (`poor`), or came back.
    Quality {
        peer: PeerId,
        poor: bool,
    },
    Muted {
        peer: PeerId,
        kind: MediaKind,
        muted: bool,
    },
    Speaker {
        peer: Option<PeerId>,
    },
    /// Stop (or resume) sending this simulcast layer: nobody watches it.
    Layer {
        rid: &'static str,
        active: bool,
    },
    /// The visit was ended by a clinician.
    Ended,
    /// The room failed; join again.
    Failed,
}
