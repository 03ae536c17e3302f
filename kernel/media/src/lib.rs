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

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::interceptor::{
    Attribute, CongestionControlBuilder, Gcc, Interceptor, Registry, Slot, StreamInfo,
    TaggedPacket, TwccSenderBuilder,
};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::rtp_transceiver::{
    RTCRtpReceiverId, RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tillit_sfu::{Input, Kind, Layer, LayerInfo, Millis, Output, Packet, PeerId, Room, TrackId};

pub use tillit_sfu::signal::MediaKind;

pub mod driver;

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

/// What the kernel must pass on to a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Send this offer to `peer` (tracks to receive came or went); its
    /// answer goes to [`Endpoint::accept_answer`].
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

/// A publisher whose media has not arrived for this long is shown as
/// having a poor connection.
pub const SILENCE_IS_POOR: Duration = Duration::from_secs(2);

/// The video codec the media plane negotiates (VP8, payload type 96),
/// with NACK, PLI and FIR feedback.
pub fn vp8() -> RTCRtpCodecParameters {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir")],
        },
        payload_type: 96,
    }
}

/// The audio codec (Opus, payload type 111, in-band FEC).
pub fn opus() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type: 111,
    }
}

const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// Codecs, header extensions and the interceptors (NACK both ways,
/// receiver reports, simulcast stream ids, TWCC feedback on what arrives)
/// every connection uses. On a receiving connection, what we send is
/// numbered transport-wide and the browser's TWCC feedback drives a GCC
/// estimate of its downlink, which `estimate` receives.
fn engine(leg: Leg, estimate: &Estimate) -> Result<(MediaEngine, Registry), MediaError> {
    let e = |e: rtc::shared::error::Error| MediaError::Sdp(e.to_string());
    let mut m = MediaEngine::default();
    m.register_codec(vp8(), RtpCodecKind::Video).map_err(e)?;
    m.register_codec(opus(), RtpCodecKind::Audio).map_err(e)?;
    m.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )
    .map_err(e)?;
    let deliver = DeliverRtcp {
        estimate: estimate.clone(),
        ..DeliverRtcp::default()
    };
    let registry = Registry::new().with(Slot::from(14_000), deliver);
    let mut registry = register_default_interceptors(registry, &mut m).map_err(e)?;
    if leg == Leg::Subscribe {
        // No pacer: forwarding stays immediate (the room keeps to the
        // estimate by choosing layers, not by queueing).
        registry = registry
            .with(Slot::TwccSender, TwccSenderBuilder::new().build())
            .with(
                Slot::CongestionControl,
                CongestionControlBuilder::new(Gcc::default()).build(),
            );
    }
    Ok((m, registry))
}

/// The latest downlink estimate of a receiving connection, bits per
/// second (0: none yet), written by its interceptor chain.
type Estimate = Arc<AtomicU64>;

/// Lets subscribers' RTCP (keyframe requests) through to the endpoint;
/// the default interceptors have acted on it by then. Keeps the
/// congestion controller's estimate, which rides on the feedback packet
/// that produced it.
#[derive(Default)]
struct DeliverRtcp {
    estimate: Estimate,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for DeliverRtcp {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if matches!(msg.message.packet, rtc::interceptor::Packet::Rtcp(_)) {
            for a in &msg.message.attributes {
                if let Attribute::TargetBitrateChanged { bits_per_second } = a {
                    self.estimate
                        .store(*bits_per_second as u64, Ordering::Relaxed);
                }
            }
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }
    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }
    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Self::Error> {
        Ok(())
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}

impl Interceptor for DeliverRtcp {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// The simulcast layer a RID names: the room numbers layers from the
/// lowest resolution up; the room page sends "q", "h" and "f".
pub fn layer_of(rid: Option<&str>) -> Layer {
    match rid {
        Some("q") | None => Layer(0),
        Some("h") => Layer(1),
        Some(_) => Layer(2),
    }
}

/// The RID of a simulcast layer, the inverse of [`layer_of`].
pub fn rid_of(layer: Layer) -> &'static str {
    match layer.0 {
        0 => "q",
        1 => "h",
        _ => "f",
    }
}

/// Whether a VP8 RTP payload starts a keyframe (RFC 7741: the payload
/// descriptor's S bit and partition 0, then the P bit of the frame header).
pub fn vp8_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let start = first & 0x10 != 0 && first & 0x0f == 0;
    let mut i = 1;
    if first & 0x80 != 0 {
        let Some(&x) = payload.get(i) else {
            return false;
        };
        i += 1;
        if x & 0x80 != 0 {
            // PictureID: one or two bytes.
            i += if payload.get(i).is_some_and(|b| b & 0x80 != 0) {
                2
            } else {
                1
            };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    start && payload.get(i).is_some_and(|b| b & 0x01 == 0)
}

/// One participant's connection.
struct Conn {
    pc: RTCPeerConnection,
    /// Our ICE username fragment on this connection (changes on ICE restart).
    ufrag: String,
    /// Their published tracks: the connection's track id → the room's.
    incoming: HashMap<String, (TrackId, Kind, RTCRtpReceiverId)>,
    /// Their streams by SSRC (one per simulcast layer): track and layer.
    ssrcs: HashMap<u32, (TrackId, Layer)>,
    /// The negotiated id of the audio-level header extension.
    audio_level: Option<u8>,
    /// What they receive: the room's track → our sender on their connection.
    outgoing: HashMap<TrackId, Outgoing>,
    connected: bool,
    /// Tracks were added or removed since the last offer.
    needs_offer: bool,
    /// We sent an offer and wait for its answer.
    awaiting_answer: bool,
    last_media: Option<Instant>,
    poor: bool,
    /// Receiving connections: the downlink estimate, and what the room
    /// was last told of it.
    estimate: Estimate,
    estimate_told: u64,
}

#[derive(Debug, Clone, Copy)]
struct Outgoing {
    sender: RTCRtpSenderId,
    ssrc: u32,
    kind: Kind,
}

/// Each participant has two connections: one they publish on (their offer,
/// our answer, never renegotiated, so the browser's simulcast streams stay
/// bound to their RIDs) and one they receive on (our offers, renegotiated
/// as tracks come and go).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Leg {
    Publish,
    Subscribe,
}

/// One visit's media: a room and its participants' connections.
pub struct Endpoint {
    local: SocketAddr,
    epoch: Instant,
    room: Room<bytes::Bytes>,
    conns: HashMap<(PeerId, Leg), Conn>,
    routes: HashMap<SocketAddr, (PeerId, Leg)>,
    next_track: u32,
    /// Who published which room track, and what kind it is.
    owners: HashMap<TrackId, (PeerId, Kind)>,
    transmit: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<Event>,
    /// RTP packets written to subscribers since [`Endpoint::take_forwarded`].
    forwarded: u64,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("local", &self.local)
            .field("connections", &self.conns.len())
            .finish()
    }
}

fn sdp_error(e: rtc::shared::error::Error) -> MediaError {
    MediaError::Sdp(e.to_string())
}

/// The `a=ice-ufrag` of a session description.
fn ice_ufrag(sdp: &str) -> Option<String> {
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
    fn new(local: SocketAddr, leg: Leg, now: Instant) -> Result<Self, MediaError> {
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
    fn answer(&mut self, offer: &str, now: Instant) -> Result<String, MediaError> {
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

impl Endpoint {
    pub fn new(local: SocketAddr, cap: usize, now: Instant) -> Self {
        Self {
            local,
            epoch: now,
            room: Room::new(tillit_sfu::Settings::default(), cap, Millis(0)),
            conns: HashMap::new(),
            routes: HashMap::new(),
            next_track: 1,
            owners: HashMap::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            forwarded: 0,
        }
    }

    /// How many RTP packets were forwarded since the last call.
    pub fn take_forwarded(&mut self) -> u64 {
        std::mem::take(&mut self.forwarded)
    }

    fn millis(&self, now: Instant) -> Millis {
        Millis(u64::try_from(now.duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX))
    }

    /// How many participants have joined the media.
    pub fn peers(&self) -> usize {
        self.conns
            .keys()
            .filter(|(_, l)| *l == Leg::Publish)
            .count()
    }

    /// Our ICE username fragments for `peer`'s connections (what their STUN
    /// requests carry).
    pub fn ufrags(&self, peer: PeerId) -> Vec<String> {
        [Leg::Publish, Leg::Subscribe]
            .iter()
            .filter_map(|l| self.conns.get(&(peer, *l)))
            .map(|c| c.ufrag.clone())
            .filter(|u| !u.is_empty())
            .collect()
    }

    /// A participant's offer for the connection they publish on: the first
    /// (they join the media), or a later one (an ICE restart). Returns our
    /// answer. What they receive comes on a second connection, offered by
    /// us ([`Event::Offer`]).
    pub fn offer(&mut self, peer: PeerId, offer: &str, now: Instant) -> Result<String, MediaError> {
        let key = (peer, Leg::Publish);
        if self.conns.contains_key(&key) {
            let answer = self
                .guarded(key, now, |c| c.answer(offer, now))
                .ok_or(MediaError::UnknownPeer(peer))??;
            self.pump(now);
            return Ok(answer);
        }
        let mut conn = Conn::new(self.local, Leg::Publish, now)?;
        let answer = conn.answer(offer, now)?;
        self.room.handle(self.millis(now), Input::Join { peer })?;
        self.conns.insert(key, conn);
        // What others already publish comes on the receiving connection.
        let published: Vec<(TrackId, PeerId, Kind)> =
            self.owners.iter().map(|(t, (p, k))| (*t, *p, *k)).collect();
        for (track, owner, kind) in published {
            self.add_outgoing(peer, track, owner, kind, now);
        }
        self.pump(now);
        Ok(answer)
    }

    /// The answer to an [`Event::Offer`] we sent.
    pub fn accept_answer(
        &mut self,
        peer: PeerId,
        answer: &str,
        now: Instant,
    ) -> Result<(), MediaError> {
        let conn = self
            .conns
            .get_mut(&(peer, Leg::Subscribe))
            .ok_or(MediaError::UnknownPeer(peer))?;
        if !conn.awaiting_answer {
            return Err(MediaError::Sdp("no offer is waiting for an answer".into()));
        }
        let answer = RTCSessionDescription::answer(answer.to_owned()).map_err(sdp_error)?;
        conn.pc
            .set_remote_description(now, answer)
            .map_err(sdp_error)?;
        conn.awaiting_answer = false;
        self.pump(now);
        Ok(())
    }

    /// `peer` shows `of`'s video at `width`×`height` (0×0: not at all).
    pub fn show(&mut self, peer: PeerId, of: PeerId, width: u32, height: u32, now: Instant) {
        let tracks: Vec<TrackId> = self
            .owners
            .iter()
            .filter(|(_, (p, k))| *p == of && *k == Kind::Video)
            .map(|(t, _)| *t)
            .collect();
        let m = self.millis(now);
        for track in tracks {
            let _ = self.room.handle(
                m,
                Input::Show {
                    subscriber: peer,
                    track,
                    width,
                    height,
                },
            );
        }
        self.pump(now);
    }

    pub fn remove_peer(&mut self, peer: PeerId, now: Instant) -> Result<(), MediaError> {
        let mut found = false;
        for leg in [Leg::Publish, Leg::Subscribe] {
            if let Some(mut conn) = self.conns.remove(&(peer, leg)) {
                found = true;
                let _ = catch_unwind(AssertUnwindSafe(|| conn.pc.close()));
            }
        }
        if !found {
            return Err(MediaError::UnknownPeer(peer));
        }
        self.forget(peer, now);
        self.pump(now);
        Ok(())
    }

    /// Everything the endpoint knew of `peer` besides its connections.
    fn forget(&mut self, peer: PeerId, now: Instant) {
        self.conns.retain(|(p, _), _| *p != peer);
        self.routes.retain(|_, (p, _)| *p != peer);
        let gone: Vec<TrackId> = self
            .owners
            .iter()
            .filter(|(_, (p, _))| *p == peer)
            .map(|(t, _)| *t)
            .collect();
        self.owners.retain(|_, (p, _)| *p != peer);
        let _ = self.room.handle(self.millis(now), Input::Leave { peer });
        // The others stop receiving its tracks.
        for ((_, leg), conn) in self.conns.iter_mut() {
            if *leg != Leg::Subscribe {
                continue;
            }
            for t in &gone {
                if let Some(out) = conn.outgoing.remove(t) {
                    let _ = conn.pc.remove_track(out.sender);
                    conn.needs_offer = true;
                }
            }
        }
    }

    /// Runs `f` on one of `peer`'s connections. A panic inside drops that
    /// peer (and only that peer) from the room.
    fn guarded<T>(
        &mut self,
        key: (PeerId, Leg),
        now: Instant,
        f: impl FnOnce(&mut Conn) -> T,
    ) -> Option<T> {
        let conn = self.conns.get_mut(&key)?;
        match catch_unwind(AssertUnwindSafe(|| f(conn))) {
            Ok(v) => Some(v),
            Err(_) => {
                self.forget(key.0, now);
                self.events.push_back(Event::Dropped { peer: key.0 });
                None
            }
        }
    }

    /// A datagram arrived on the shared socket.
    pub fn handle_datagram(&mut self, from: SocketAddr, data: &[u8], now: Instant) {
        let key = self.routes.get(&from).copied().or_else(|| {
            let ufrag = stun_username_local(data)?;
            self.conns
                .iter()
                .find(|(_, c)| c.ufrag == ufrag)
                .map(|(k, _)| *k)
        });
        let Some(key) = key else {
            return;
        };
        self.routes.insert(from, key);
        let local = self.local;
        self.guarded(key, now, |conn| {
            let msg = TaggedBytesMut {
                now,
                transport: TransportContext {
                    local_addr: local,
                    peer_addr: from,
                    transport_protocol: TransportProtocol::UDP,
                    ecn: None,
                },
                message: BytesMut::from(data),
            };
            // A malformed datagram is that peer's problem, not the room's.
            let _ = conn.pc.handle_read(msg);
        });
        self.pump_from(now, Some(key));
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let keys: Vec<(PeerId, Leg)> = self.conns.keys().copied().collect();
        for key in keys {
            let quiet = self.guarded(key, now, |conn| {
                if conn.pc.poll_timeout().is_some_and(|t| t <= now) {
                    let _ = conn.pc.handle_timeout(now);
                }
                let quiet = conn.connected
                    && !conn.incoming.is_empty()
                    && conn
                        .last_media
                        .is_some_and(|t| now.duration_since(t) >= SILENCE_IS_POOR);
                let changed = quiet && !conn.poor;
                conn.poor |= quiet;
                changed
            });
            if quiet == Some(true) {
                self.events.push_back(Event::Quality {
                    peer: key.0,
                    poor: true,
                });
            }
        }
        let m = self.millis(now);
        if self.room.poll_timeout().is_some_and(|t| t <= m) {
            let _ = self.room.handle(m, Input::Tick);
        }
        self.pump(now);
    }

    /// The next time [`Endpoint::handle_timeout`] is due.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let mut next = self
            .conns
            .values_mut()
            .filter_map(|c| {
                let t = c.pc.poll_timeout();
                // Watching for silence needs a look now and then.
                let watch = c
                    .last_media
                    .filter(|_| !c.poor)
                    .map(|t| t + SILENCE_IS_POOR);
                match (t, watch) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            })
            .min();
        if let Some(t) = self.room.poll_timeout() {
            let at = self.epoch + Duration::from_millis(t.0);
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        next
    }

    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmit.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Moves everything along: connection events and media into the room,
    /// the room's decisions out to the connections, datagrams to send.
    fn pump(&mut self, now: Instant) {
        self.pump_from(now, None);
    }

    /// [`Endpoint::pump`] after input on one connection (`only`): reads
    /// that one, and writes out only the connections something was
    /// written to. With 20 people in a room, that is 2–3 connections per
    /// datagram instead of 40.
    fn pump_from(&mut self, now: Instant, only: Option<(PeerId, Leg)>) {
        let m = self.millis(now);
        let keys: Vec<(PeerId, Leg)> = match only {
            Some(k) => vec![k],
            None => self.conns.keys().copied().collect(),
        };
        let mut dirty: Vec<(PeerId, Leg)> = keys.clone();
        for key in keys {
            let peer = key.0;
            let mut inputs = Vec::new();
            let mut published = Vec::new();
            let mut next_track = self.next_track;
            let done = self.guarded(key, now, |conn| {
                let mut out = Vec::new();
                while let Some(ev) = conn.pc.poll_event() {
                    match ev {
                        RTCPeerConnectionEvent::OnConnectionStateChangeEvent(s) => {
                            let state = s.to_string();
                            if key.1 == Leg::Subscribe
                                && (state == "disconnected" || state == "failed")
                            {
                                // We offer on this connection, so the ICE
                                // restart is ours to start.
                                conn.pc.restart_ice();
                                conn.needs_offer = true;
                            }
                            let up = state == "connected";
                            if up != conn.connected {
                                conn.connected = up;
                                if up && key.1 == Leg::Subscribe {
                                    // Decoding starts at a keyframe: ask for
                                    // one of everything it receives.
                                    for track in conn.outgoing.keys() {
                                        inputs.push(Input::Resync {
                                            subscriber: peer,
                                            track: *track,
                                        });
                                    }
                                }
                                if key.1 == Leg::Publish {
                                    out.push(if up {
                                        Event::Connected { peer }
                                    } else {
                                        Event::Disconnected { peer }
                                    });
                                }
                            }
                        }
                        RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init))
                            if key.1 == Leg::Publish =>
                        {
                            tracing::debug!(peer = peer.0, ssrc = init.ssrc, rid = ?init.rid, "stream opened");
                            if let Some(p) = open_track(conn, &init, &mut next_track) {
                                published.push(p);
                            }
                        }
                        _ => {}
                    }
                }
                while let Some(msg) = conn.pc.poll_read() {
                    match msg.message {
                        RTCMessage::RtpPacket(_, pkt) => {
                            let Some((track, layer)) = conn.ssrcs.get(&pkt.header.ssrc).copied()
                            else {
                                tracing::trace!(peer = peer.0, ssrc = pkt.header.ssrc, "RTP on an unknown stream");
                                continue;
                            };
                            conn.last_media = Some(now);
                            if conn.poor {
                                conn.poor = false;
                                out.push(Event::Quality { peer, poor: false });
                            }
                            let audio_level = conn.audio_level.and_then(|id| {
                                let b = pkt.header.get_extension(id)?;
                                // One byte: V bit, then the level in -dBov.
                                b.first().map(|l| l & 0x7f)
                            });
                            inputs.push(Input::Rtp {
                                from: peer,
                                track,
                                layer,
                                packet: Packet {
                                    seq: pkt.header.sequence_number,
                                    timestamp: pkt.header.timestamp,
                                    marker: pkt.header.marker,
                                    keyframe: audio_level.is_none() && vp8_keyframe(&pkt.payload),
                                    audio_level,
                                    size: pkt.payload.len(),
                                    payload: pkt.payload,
                                },
                            });
                        }
                        RTCMessage::RtcpPacket(_, pkts) => {
                            for p in pkts {
                                let any = p.as_any();
                                let media_ssrc = if let Some(pli) = any.downcast_ref::<rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication>() {
                                    Some(pli.media_ssrc)
                                } else {
                                    any.downcast_ref::<rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest>()
                                        .map(|fir| fir.media_ssrc)
                                };
                                if let Some(ssrc) = media_ssrc
                                    && let Some((track, _)) =
                                        conn.outgoing.iter().find(|(_, o)| o.ssrc == ssrc)
                                {
                                    inputs.push(Input::KeyframeRequest {
                                        subscriber: peer,
                                        track: *track,
                                    });
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let estimate = conn.estimate.load(Ordering::Relaxed);
                if estimate != 0 && estimate != conn.estimate_told {
                    conn.estimate_told = estimate;
                    tracing::trace!(peer = peer.0, bps = estimate, "downlink estimate");
                    inputs.push(Input::Bandwidth {
                        subscriber: peer,
                        bps: estimate,
                    });
                }
                out
            });
            if let Some(out) = done {
                self.events.extend(out);
            }
            self.next_track = next_track;
            for (track, kind, layers) in published {
                self.publish(peer, track, kind, layers, m, now);
            }
            for input in inputs {
                let _ = self.room.handle(m, input);
            }
        }
        // The room's decisions out.
        while let Some(out) = self.room.poll_output() {
            match out {
                Output::Forward {
                    to,
                    track,
                    seq,
                    timestamp,
                    marker,
                    payload,
                } => {
                    dirty.push((to, Leg::Subscribe));
                    let written = self.guarded((to, Leg::Subscribe), now, |conn| {
                        if conn.connected
                            && let Some(o) = conn.outgoing.get(&track).copied()
                            && let Some(mut s) = conn.pc.rtp_sender(o.sender)
                        {
                            let pkt = rtc::rtp::packet::Packet {
                                header: rtc::rtp::header::Header {
                                    version: 2,
                                    payload_type: if o.kind == Kind::Audio { 111 } else { 96 },
                                    sequence_number: seq,
                                    timestamp,
                                    marker,
                                    ssrc: o.ssrc,
                                    ..Default::default()
                                },
                                payload,
                            };
                            match s.write_rtp(now, pkt) {
                                Ok(()) => return true,
                                Err(e) => {
                                    tracing::debug!(peer = to.0, track = track.0, error = %e, "forward refused");
                                }
                            }
                        }
                        false
                    });
                    if written == Some(true) {
                        self.forwarded += 1;
                    }
                }
                Output::RequestKeyframe { from, track, layer } => {
                    dirty.push((from, Leg::Publish));
                    self.guarded((from, Leg::Publish), now, |conn| {
                        let media_ssrc = conn
                            .ssrcs
                            .iter()
                            .find(|(_, (t, l))| *t == track && *l == layer)
                            .map(|(s, _)| *s);
                        if let Some(media_ssrc) = media_ssrc
                            && let Some((_, _, receiver)) =
                                conn.incoming.values().find(|(t, _, _)| *t == track).copied()
                            && let Some(mut r) = conn.pc.rtp_receiver(receiver)
                        {
                            let pli = rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication {
                                sender_ssrc: 0,
                                media_ssrc,
                            };
                            let _ = r.write_rtcp(now, vec![Box::new(pli)]);
                        }
                    });
                }
                Output::ActiveSpeaker { peer } => {
                    self.events.push_back(Event::ActiveSpeaker { peer })
                }
                Output::SetLayerActive {
                    publisher,
                    layer,
                    active,
                    ..
                } => self.events.push_back(Event::LayerActive {
                    peer: publisher,
                    rid: rid_of(layer),
                    active,
                }),
                // NACKs to publishers come from the interceptors.
                Output::NackUpstream { .. } => {}
            }
        }
        let keys: Vec<(PeerId, Leg)> = if only.is_some() {
            dirty.extend(
                self.conns
                    .iter()
                    .filter(|(_, c)| c.needs_offer)
                    .map(|(k, _)| *k),
            );
            dirty.sort_unstable_by_key(|(p, l)| (p.0, *l == Leg::Subscribe));
            dirty.dedup();
            dirty
        } else {
            self.conns.keys().copied().collect()
        };
        for key in keys {
            let mut offers = Vec::new();
            let mut sends = Vec::new();
            self.guarded(key, now, |conn| {
                if conn.needs_offer
                    && !conn.awaiting_answer
                    && let Ok(offer) = conn.pc.create_offer(None)
                    && conn.pc.set_local_description(now, offer.clone()).is_ok()
                {
                    conn.needs_offer = false;
                    conn.awaiting_answer = true;
                    if let Some(u) = ice_ufrag(&offer.sdp) {
                        conn.ufrag = u;
                    }
                    offers.push(Event::Offer {
                        peer: key.0,
                        sdp: offer.sdp,
                    });
                }
                while let Some(w) = conn.pc.poll_write() {
                    sends.push((w.transport.peer_addr, w.message.to_vec()));
                }
            });
            self.events.extend(offers);
            self.transmit.extend(sends);
        }
    }

    /// A new track from `peer` enters the room; everyone else gets a
    /// sender for it (through a renegotiation).
    fn publish(
        &mut self,
        peer: PeerId,
        track: TrackId,
        kind: Kind,
        layers: Vec<LayerInfo>,
        m: Millis,
        now: Instant,
    ) {
        tracing::debug!(peer = peer.0, track = track.0, ?kind, "published");
        self.owners.insert(track, (peer, kind));
        let _ = self.room.handle(
            m,
            Input::Publish {
                peer,
                track,
                kind,
                layers,
            },
        );
        let others: Vec<PeerId> = self
            .conns
            .keys()
            .filter(|(p, l)| *l == Leg::Publish && *p != peer)
            .map(|(p, _)| *p)
            .collect();
        for other in others {
            self.add_outgoing(other, track, peer, kind, now);
        }
    }

    /// Adds a sender for the room's `track` (published by `owner`) on
    /// `peer`'s receiving connection, creating that connection first if
    /// need be.
    fn add_outgoing(
        &mut self,
        peer: PeerId,
        track: TrackId,
        owner: PeerId,
        kind: Kind,
        now: Instant,
    ) {
        let key = (peer, Leg::Subscribe);
        if !self.conns.contains_key(&key) {
            match Conn::new(self.local, Leg::Subscribe, now) {
                Ok(c) => {
                    self.conns.insert(key, c);
                }
                Err(e) => {
                    tracing::warn!(peer = peer.0, error = %e, "cannot create a receiving connection");
                    return;
                }
            }
        }
        let added = self.guarded(key, now, |conn| {
            if conn.outgoing.contains_key(&track) {
                return Ok(());
            }
            add_sender(conn, track, owner, kind)
        });
        if let Some(Err(e)) = added {
            tracing::warn!(peer = peer.0, track = track.0, error = %e, "cannot add a sender");
        }
    }
}

/// A stream of `conn` opened (a track, or one simulcast layer of one).
/// Returns the track to publish if the track is new.
fn open_track(
    conn: &mut Conn,
    init: &rtc::peer_connection::event::RTCTrackEventInit,
    next_track: &mut u32,
) -> Option<(TrackId, Kind, Vec<LayerInfo>)> {
    let layer = layer_of(init.rid.as_deref());
    if let Some((track, _, _)) = conn.incoming.get(&init.track_id) {
        conn.ssrcs.insert(init.ssrc, (*track, layer));
        return None;
    }
    let mut receiver = conn.pc.rtp_receiver(init.receiver_id)?;
    let kind = match receiver.track().kind() {
        RtpCodecKind::Audio => Kind::Audio,
        _ => Kind::Video,
    };
    let rids: Vec<String> = receiver
        .track()
        .codings()
        .iter()
        .map(|c| c.rtp_coding_parameters.rid.clone())
        .filter(|r| !r.is_empty())
        .collect();
    if kind == Kind::Audio {
        conn.audio_level = receiver
            .get_parameters()
            .rtp_parameters
            .header_extensions
            .iter()
            .find(|h| h.uri == AUDIO_LEVEL_URI)
            .and_then(|h| u8::try_from(h.id).ok());
    }
    let track = TrackId(*next_track);
    *next_track += 1;
    conn.incoming
        .insert(init.track_id.clone(), (track, kind, init.receiver_id));
    conn.ssrcs.insert(init.ssrc, (track, layer));
    let layers = match kind {
        Kind::Audio => vec![],
        Kind::Video if rids.is_empty() => vec![layer_info(Layer(0), 1)],
        Kind::Video => {
            let mut ls: Vec<Layer> = rids.iter().map(|r| layer_of(Some(r))).collect();
            ls.sort();
            ls.dedup();
            let top = ls.last().map_or(0, |l| l.0);
            ls.into_iter()
                .map(|l| layer_info(l, 1 << (top - l.0)))
                .collect()
        }
    };
    Some((track, kind, layers))
}

/// A layer scaled down by `div` from 1280×720 at 1.5 Mbit/s.
fn layer_info(layer: Layer, div: u32) -> LayerInfo {
    LayerInfo {
        layer,
        width: 1280 / div,
        height: 720 / div,
        bitrate: 1_500_000 / u64::from(div * div),
    }
}

/// Adds a sender on `conn` for the room's `track`, published by `owner`
/// (the browser groups tracks by stream id: `p<owner>`).
fn add_sender(
    conn: &mut Conn,
    track: TrackId,
    owner: PeerId,
    kind: Kind,
) -> Result<(), MediaError> {
    let ssrc = 0x5100_0000 + track.0;
    let (codec, rtc_kind) = match kind {
        Kind::Audio => (opus().rtp_codec, RtpCodecKind::Audio),
        Kind::Video => (vp8().rtp_codec, RtpCodecKind::Video),
    };
    let id = format!("t{}", track.0);
    let encodings = vec![RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    }];
    // Always a transceiver of its own, send-only: `add_track` would reuse
    // the one the participant publishes on, which its browser will not
    // receive on.
    let transceiver = conn
        .pc
        .add_transceiver_from_track(
            MediaStreamTrack::new(
                format!("p{}", owner.0),
                id.clone(),
                id,
                rtc_kind,
                encodings.clone(),
            ),
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                streams: vec![],
                send_encodings: encodings,
            }),
        )
        .map_err(sdp_error)?;
    let sender = RTCRtpSenderId::from(transceiver);
    conn.outgoing.insert(track, Outgoing { sender, ssrc, kind });
    conn.needs_offer = true;
    Ok(())
}

/// The local part of a STUN binding request's USERNAME ("ours:theirs").
pub(crate) fn stun_username_local(b: &[u8]) -> Option<String> {
    if b.len() < 20 || b[0] > 3 {
        return None;
    }
    let mut i = 20;
    while i + 4 <= b.len() {
        let t = u16::from_be_bytes([b[i], b[i + 1]]);
        let l = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if t == 0x0006 {
            let s = std::str::from_utf8(b.get(i + 4..i + 4 + l)?).ok()?;
            return s.split(':').next().map(str::to_owned);
        }
        i += 4 + ((l + 3) & !3);
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframes_are_recognised() {
        // S=1, PID=0, no extensions; frame header P=0: a keyframe.
        assert!(vp8_keyframe(&[0x10, 0x00, 0x9d, 0x01, 0x2a]));
        // P=1: an interframe.
        assert!(!vp8_keyframe(&[0x10, 0x01]));
        // Not the start of a partition.
        assert!(!vp8_keyframe(&[0x00, 0x00]));
        // Extended: X=1 with a two-byte PictureID, then the header.
        assert!(vp8_keyframe(&[0x90, 0x80, 0x81, 0x23, 0x00]));
        assert!(!vp8_keyframe(&[]));
    }

    /// A browser's offer, as an `rtc` client makes one.
    fn offer() -> String {
        let mut m = MediaEngine::default();
        m.register_codec(vp8(), RtpCodecKind::Video).unwrap();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(m)
            .build(Instant::now())
            .unwrap();
        pc.add_transceiver_from_kind(RtpCodecKind::Video, None)
            .unwrap();
        let offer = pc.create_offer(None).unwrap();
        pc.set_local_description(Instant::now(), offer.clone())
            .unwrap();
        offer.sdp
    }

    #[test]
    fn a_panic_in_one_peer_drops_that_peer_only() {
        let now = Instant::now();
        let mut ep = Endpoint::new("127.0.0.1:9".parse().unwrap(), 50, now);
        ep.offer(PeerId(1), &offer(), now).unwrap();
        ep.offer(PeerId(2), &offer(), now).unwrap();
        assert_eq!(ep.peers(), 2);
        let r: Option<()> = ep.guarded((PeerId(1), Leg::Publish), now, |_| {
            panic!("a bug in one connection's handling")
        });
        assert_eq!(r, None);
        assert_eq!(ep.peers(), 1, "peer 1 is gone");
        assert!(!ep.ufrags(PeerId(2)).is_empty(), "peer 2 is still there");
        let mut events = Vec::new();
        while let Some(e) = ep.poll_event() {
            events.push(e);
        }
        assert!(
            events.contains(&Event::Dropped { peer: PeerId(1) }),
            "{events:?}"
        );
        // The room goes on: peer 2 can still be handled, and peer 1 join again.
        ep.handle_timeout(now + Duration::from_millis(10));
        ep.offer(PeerId(1), &offer(), now).unwrap();
        assert_eq!(ep.peers(), 2);
    }

    #[test]
    fn stun_usernames_route_before_an_address_is_known() {
        // A binding request with USERNAME "tillit1:abcd".
        let user = b"tillit1:abcd";
        let mut b = vec![0x00, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42];
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(&[0x00, 0x06, 0x00, user.len() as u8]);
        b.extend_from_slice(user);
        assert_eq!(stun_username_local(&b).as_deref(), Some("tillit1"));
        assert_eq!(stun_username_local(&[0x80; 40]), None, "RTP is not STUN");
    }
}
