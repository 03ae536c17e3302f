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
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_VP8, MediaEngine};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tillit_sfu::{Input, Kind, Layer, LayerInfo, Millis, Output, Packet, PeerId, Room, TrackId};

/// Why the endpoint refused something. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("peer {0:?} is already connected")]
    DuplicatePeer(PeerId),
    #[error("peer {0:?} is not connected")]
    UnknownPeer(PeerId),
    #[error("the session description was refused: {0}")]
    Sdp(String),
    #[error("the room refused it: {0}")]
    Room(#[from] tillit_sfu::RoomError),
}

/// What the kernel must pass on to a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Send this offer to `peer` (new tracks to receive); its answer goes to
    /// [`Endpoint::accept_answer`].
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
    ActiveSpeaker {
        peer: Option<PeerId>,
    },
}

/// The video codec the media plane negotiates (VP8, payload type 96).
pub fn vp8() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type: 96,
    }
}

fn media_engine() -> Result<MediaEngine, MediaError> {
    let mut m = MediaEngine::default();
    m.register_codec(vp8(), RtpCodecKind::Video)
        .map_err(|e| MediaError::Sdp(e.to_string()))?;
    Ok(m)
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
    ufrag: String,
    /// Their published tracks: the connection's track id → the room's.
    incoming: HashMap<String, (TrackId, rtc::rtp_transceiver::RTCRtpReceiverId)>,
    /// What they receive: the room's track → our sender on their connection.
    outgoing: HashMap<TrackId, (rtc::rtp_transceiver::RTCRtpSenderId, u32)>,
    connected: bool,
}

/// One visit's media: a room and its participants' connections.
pub struct Endpoint {
    local: SocketAddr,
    epoch: Instant,
    room: Room<bytes::Bytes>,
    conns: HashMap<PeerId, Conn>,
    routes: HashMap<SocketAddr, PeerId>,
    next_track: u32,
    /// Who published which room track.
    owners: HashMap<TrackId, PeerId>,
    transmit: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<Event>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("local", &self.local)
            .field("peers", &self.conns.len())
            .finish()
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
        }
    }

    fn millis(&self, now: Instant) -> Millis {
        Millis(u64::try_from(now.duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX))
    }

    /// A participant arrives with their offer; returns our answer.
    pub fn add_peer(
        &mut self,
        peer: PeerId,
        offer: &str,
        now: Instant,
    ) -> Result<String, MediaError> {
        if self.conns.contains_key(&peer) {
            return Err(MediaError::DuplicatePeer(peer));
        }
        let ufrag = format!("tillit{}", peer.0);
        let settings = SettingEngineBuilder::new()
            .with_lite(true)
            .with_answering_dtls_role(RTCDtlsRole::Server)
            .with_ice_credentials(ufrag.clone(), format!("{:0>24}", peer.0 * 7919 + 104_729))
            .build();
        let sdp = |e: rtc::shared::error::Error| MediaError::Sdp(e.to_string());
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(settings)
            .with_media_engine(media_engine()?)
            .build(now)
            .map_err(sdp)?;
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".into(),
                address: self.local.ip().to_string(),
                port: self.local.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .map_err(sdp)?;
        pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json().map_err(sdp)?)
            .map_err(sdp)?;
        let offer = RTCSessionDescription::offer(offer.to_owned()).map_err(sdp)?;
        pc.set_remote_description(now, offer).map_err(sdp)?;
        let mut conn = Conn {
            pc,
            ufrag,
            incoming: HashMap::new(),
            outgoing: HashMap::new(),
            connected: false,
        };
        // Everything already published goes into the first answer.
        let published: Vec<TrackId> = self.owners.keys().copied().collect();
        for t in published {
            add_outgoing(&mut conn, t)?;
        }
        let answer = conn.pc.create_answer(None).map_err(sdp)?;
        conn.pc
            .set_local_description(now, answer.clone())
            .map_err(sdp)?;
        self.room.handle(self.millis(now), Input::Join { peer })?;
        self.conns.insert(peer, conn);
        self.pump(now);
        Ok(answer.sdp)
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
            .get_mut(&peer)
            .ok_or(MediaError::UnknownPeer(peer))?;
        let sdp = |e: rtc::shared::error::Error| MediaError::Sdp(e.to_string());
        let answer = RTCSessionDescription::answer(answer.to_owned()).map_err(sdp)?;
        conn.pc.set_remote_description(now, answer).map_err(sdp)?;
        self.pump(now);
        Ok(())
    }

    pub fn remove_peer(&mut self, peer: PeerId, now: Instant) -> Result<(), MediaError> {
        let mut conn = self
            .conns
            .remove(&peer)
            .ok_or(MediaError::UnknownPeer(peer))?;
        let _ = conn.pc.close();
        self.routes.retain(|_, p| *p != peer);
        self.owners.retain(|_, p| *p != peer);
        self.room.handle(self.millis(now), Input::Leave { peer })?;
        self.pump(now);
        Ok(())
    }

    /// A datagram arrived on the shared socket.
    pub fn handle_datagram(&mut self, from: SocketAddr, data: &[u8], now: Instant) {
        let peer = self.routes.get(&from).copied().or_else(|| {
            let ufrag = stun_username_local(data)?;
            self.conns
                .iter()
                .find(|(_, c)| c.ufrag == ufrag)
                .map(|(p, _)| *p)
        });
        let Some(peer) = peer else {
            return;
        };
        self.routes.insert(from, peer);
        if let Some(conn) = self.conns.get_mut(&peer) {
            let msg = TaggedBytesMut {
                now,
                transport: TransportContext {
                    local_addr: self.local,
                    peer_addr: from,
                    transport_protocol: TransportProtocol::UDP,
                    ecn: None,
                },
                message: BytesMut::from(data),
            };
            // A malformed datagram is that peer's problem, not the room's.
            let _ = conn.pc.handle_read(msg);
        }
        self.pump(now);
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        for conn in self.conns.values_mut() {
            if conn.pc.poll_timeout().is_some_and(|t| t <= now) {
                let _ = conn.pc.handle_timeout(now);
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
            .filter_map(|c| c.pc.poll_timeout())
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
        let m = self.millis(now);
        let peers: Vec<PeerId> = self.conns.keys().copied().collect();
        let mut published = Vec::new();
        for peer in &peers {
            let Some(conn) = self.conns.get_mut(peer) else {
                continue;
            };
            while let Some(ev) = conn.pc.poll_event() {
                match ev {
                    RTCPeerConnectionEvent::OnConnectionStateChangeEvent(s) => {
                        let up = s.to_string() == "connected";
                        if up != conn.connected {
                            conn.connected = up;
                            self.events.push_back(if up {
                                Event::Connected { peer: *peer }
                            } else {
                                Event::Disconnected { peer: *peer }
                            });
                        }
                    }
                    RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                        let id = TrackId(self.next_track);
                        self.next_track += 1;
                        conn.incoming
                            .insert(init.track_id.clone(), (id, init.receiver_id));
                        published.push((*peer, id));
                    }
                    _ => {}
                }
            }
        }
        for (peer, track) in published {
            self.owners.insert(track, peer);
            let layers = vec![LayerInfo {
                layer: Layer(0),
                width: 1280,
                height: 720,
                bitrate: 1_500_000,
            }];
            let _ = self.room.handle(
                m,
                Input::Publish {
                    peer,
                    track,
                    kind: Kind::Video,
                    layers,
                },
            );
            // Everyone else gets a sender for it, through a renegotiation.
            for (other, conn) in self.conns.iter_mut() {
                if *other == peer || conn.outgoing.contains_key(&track) {
                    continue;
                }
                if add_outgoing(conn, track).is_ok()
                    && let Ok(offer) = conn.pc.create_offer(None)
                    && conn.pc.set_local_description(now, offer.clone()).is_ok()
                {
                    self.events.push_back(Event::Offer {
                        peer: *other,
                        sdp: offer.sdp,
                    });
                }
            }
        }
        // Media into the room.
        for peer in &peers {
            let Some(conn) = self.conns.get_mut(peer) else {
                continue;
            };
            while let Some(msg) = conn.pc.poll_read() {
                if let RTCMessage::RtpPacket(track_id, pkt) = msg.message
                    && let Some((track, _)) = conn.incoming.get(&track_id)
                {
                    let packet = Packet {
                        seq: pkt.header.sequence_number,
                        timestamp: pkt.header.timestamp,
                        marker: pkt.header.marker,
                        keyframe: vp8_keyframe(&pkt.payload),
                        audio_level: None,
                        size: pkt.payload.len(),
                        payload: pkt.payload.clone(),
                    };
                    let _ = self.room.handle(
                        m,
                        Input::Rtp {
                            from: *peer,
                            track: *track,
                            layer: Layer(0),
                            packet,
                        },
                    );
                }
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
                    if let Some(conn) = self.conns.get_mut(&to)
                        && conn.connected
                        && let Some((sender, ssrc)) = conn.outgoing.get(&track).copied()
                        && let Some(mut s) = conn.pc.rtp_sender(sender)
                    {
                        let pkt = rtc::rtp::packet::Packet {
                            header: rtc::rtp::header::Header {
                                version: 2,
                                payload_type: 96,
                                sequence_number: seq,
                                timestamp,
                                marker,
                                ssrc,
                                ..Default::default()
                            },
                            payload,
                        };
                        let _ = s.write_rtp(now, pkt);
                    }
                }
                Output::RequestKeyframe { from, track, .. } => {
                    if let Some(conn) = self.conns.get_mut(&from)
                        && let Some((_, receiver)) =
                            conn.incoming.values().find(|(t, _)| *t == track).copied()
                        && let Some(mut r) = conn.pc.rtp_receiver(receiver)
                    {
                        let pli = rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication {
                            sender_ssrc: 0,
                            media_ssrc: 0,
                        };
                        let _ = r.write_rtcp(now, vec![Box::new(pli)]);
                    }
                }
                Output::ActiveSpeaker { peer } => {
                    self.events.push_back(Event::ActiveSpeaker { peer })
                }
                Output::NackUpstream { .. } | Output::SetLayerActive { .. } => {}
            }
        }
        for conn in self.conns.values_mut() {
            while let Some(w) = conn.pc.poll_write() {
                self.transmit
                    .push_back((w.transport.peer_addr, w.message.to_vec()));
            }
        }
    }
}

/// Adds a sender on `conn` for the room's `track`.
fn add_outgoing(conn: &mut Conn, track: TrackId) -> Result<(), MediaError> {
    let ssrc = 0x5100_0000 + track.0;
    let id = format!("t{}", track.0);
    let sender = conn
        .pc
        .add_track(MediaStreamTrack::new(
            id.clone(),
            id.clone(),
            id,
            RtpCodecKind::Video,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: vp8().rtp_codec,
                ..Default::default()
            }],
        ))
        .map_err(|e| MediaError::Sdp(e.to_string()))?;
    conn.outgoing.insert(track, (sender, ssrc));
    Ok(())
}

/// The local part of a STUN binding request's USERNAME ("ours:theirs").
fn stun_username_local(b: &[u8]) -> Option<String> {
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
