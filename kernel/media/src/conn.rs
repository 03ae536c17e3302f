//! One participant's peer connection: an ICE-lite `rtc` connection with
//! our host candidate, what it carries in each direction, and which leg
//! (publishing or receiving) it is.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};
use tillit_sfu::{Kind, Layer, TrackId};

use crate::engine::{Estimate, engine};
use crate::error::{MediaError, sdp_error};

/// One participant's connection.
pub(crate) struct Conn {
    pub(crate) pc: RTCPeerConnection,
    /// Our ICE username fragment on this connection (changes on ICE restart).
    pub(crate) ufrag: String,
    /// Their published tracks: the connection's track id → the room's.
    pub(crate) incoming: HashMap<String, (TrackId, Kind, RTCRtpReceiverId)>,
    /// Their streams by SSRC (one per simulcast layer): track and layer.
    pub(crate) ssrcs: HashMap<u32, (TrackId, Layer)>,
    /// The negotiated id of the audio-level header extension.
    pub(crate) audio_level: Option<u8>,
    /// What they receive: the room's track → our sender on their connection.
    pub(crate) outgoing: HashMap<TrackId, Outgoing>,
    pub(crate) connected: bool,
    /// Tracks were added or removed since the last offer.
    pub(crate) needs_offer: bool,
    /// We sent an offer and wait for its answer.
    pub(crate) awaiting_answer: bool,
    pub(crate) last_media: Option<Instant>,
    pub(crate) poor: bool,
    /// Receiving connections: the downlink estimate, and what the room
    /// was last told of it.
    pub(crate) estimate: Estimate,
    pub(crate) estimate_told: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Outgoing {
    pub(crate) sender: RTCRtpSenderId,
    pub(crate) ssrc: u32,
    pub(crate) kind: Kind,
}

/// Each participant has two connections: one they publish on (their offer,
/// our answer, never renegotiated, so the browser's simulcast streams stay
/// bound to their RIDs) and one they receive on (our offers, renegotiated
/// as tracks come and go).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Leg {
    Publish,
    Subscribe,
}

/// The `a=ice-ufrag` of a session description.
pub(crate) fn ice_ufrag(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .map(|u| u.trim().to_owned())
}

/// Adds a host candidate at `addr` (UDP) to `pc`: ours on the SFU, and the
/// synthetic clients' in tests and benchmarks.
pub fn add_host_candidate(pc: &mut RTCPeerConnection, addr: SocketAddr) -> Result<(), MediaError> {
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".into(),
            address: addr.ip().to_string(),
            port: addr.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()
    .map_err(sdp_error)?;
    pc.add_local_candidate(
        RTCIceCandidate::from(&candidate)
            .to_json()
            .map_err(sdp_error)?,
    )
    .map_err(sdp_error)
}

impl Conn {
    /// A fresh ICE-lite connection with our host candidate.
    pub(crate) fn new(local: SocketAddr, leg: Leg, now: Instant) -> Result<Self, MediaError> {
        let settings = SettingEngineBuilder::new()
            .with_lite(true)
            .with_answering_dtls_role(RTCDtlsRole::Server)
            .build();
        let estimate = Estimate::default();
        let (media, registry) = engine(leg, &estimate)?;
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(settings)
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .build(now)
            .map_err(sdp_error)?;
        add_host_candidate(&mut pc, local)?;
        Ok(Self {
            pc,
            ufrag: String::new(),
            incoming: HashMap::new(),
            ssrcs: HashMap::new(),
            audio_level: None,
            outgoing: HashMap::new(),
            connected: false,
            needs_offer: false,
            awaiting_answer: false,
            last_media: None,
            poor: false,
            estimate,
            estimate_told: 0,
        })
    }

    /// Applies the participant's offer and returns our answer.
    pub(crate) fn answer(&mut self, offer: &str, now: Instant) -> Result<String, MediaError> {
        let offer = RTCSessionDescription::offer(offer.to_owned()).map_err(sdp_error)?;
        self.pc
            .set_remote_description(now, offer)
            .map_err(sdp_error)?;
        let answer = self.pc.create_answer(None).map_err(sdp_error)?;
        self.pc
            .set_local_description(now, answer.clone())
            .map_err(sdp_error)?;
        self.ufrag = ice_ufrag(&answer.sdp)
            .ok_or_else(|| MediaError::Sdp("our answer has no ICE username".into()))?;
        Ok(answer.sdp)
    }
}
