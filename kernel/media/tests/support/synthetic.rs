//! Synthetic WebRTC participants for the SFU's load benchmark and its
//! group-room test: each publishes audio (with audio levels) and three VP8
//! simulcast layers on one `rtc` peer connection and receives the others'
//! on a second, as the room page does, over real ICE, DTLS and SRTP.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tillit_media::driver::{Hub, Notice, Participant};
use tillit_media::{add_host_candidate, opus, vp8};
use tillit_sfu::PeerId;

pub const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
pub const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
pub const RID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
pub const MAX_PAYLOAD: usize = 1100;

/// One layer's frames, from an IVF file.
pub struct Clip {
    pub frames: Vec<Bytes>,
}

impl Clip {
    /// Frames that are not a picture but look like VP8 to the SFU: the
    /// size of `layer`'s frames (0: smallest), a keyframe every second.
    pub fn synthetic(layer: usize) -> Self {
        let size = [600, 1_800, 5_000][layer.min(2)];
        let frames = (0..90)
            .map(|i| {
                let mut f = vec![0xab; size];
                // The frame header's P bit: 0 in a keyframe.
                f[0] = if i % 30 == 0 { 0x00 } else { 0x01 };
                Bytes::from(f)
            })
            .collect();
        Self { frames }
    }

    pub fn load(path: &std::path::Path) -> Self {
        let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&b[..4], b"DKIF", "{} is not IVF", path.display());
        let mut i = usize::from(u16::from_le_bytes([b[6], b[7]]));
        let mut frames = Vec::new();
        while i + 12 <= b.len() {
            let n = u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
            frames.push(Bytes::copy_from_slice(&b[i + 12..i + 12 + n]));
            i += 12 + n;
        }
        Self { frames }
    }
}

pub fn engine(audio_level: bool) -> (MediaEngine, rtc::interceptor::Registry) {
    let mut m = MediaEngine::default();
    m.register_codec(vp8(), RtpCodecKind::Video).unwrap();
    m.register_codec(opus(), RtpCodecKind::Audio).unwrap();
    if audio_level {
        m.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: AUDIO_LEVEL.into(),
            },
            RtpCodecKind::Audio,
            None,
        )
        .unwrap();
    }
    let r = register_default_interceptors(rtc::interceptor::Registry::new(), &mut m).unwrap();
    (m, r)
}

/// The address the synthetic clients use: the machine's own on its
/// default route (Janus, like Firefox, leaves loopback out of ICE).
pub fn client_ip() -> std::net::IpAddr {
    static IP: std::sync::OnceLock<std::net::IpAddr> = std::sync::OnceLock::new();
    *IP.get_or_init(|| {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        // No packet leaves: connecting a UDP socket only looks up the route.
        s.connect("192.0.2.1:9")
            .or_else(|_| s.connect("10.255.255.1:9"))
            .map(|()| s.local_addr().unwrap().ip())
            .unwrap_or_else(|_| "127.0.0.1".parse().unwrap())
    })
}

/// One peer connection on its own socket, full ICE, like a browser's.
pub struct Pc {
    pub pc: RTCPeerConnection,
    pub sock: UdpSocket,
    pub local: SocketAddr,
}

impl Pc {
    pub fn new() -> Self {
        let (m, r) = engine(true);
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(m)
            .with_interceptor_registry(r)
            .build(Instant::now())
            .unwrap();
        let sock = UdpSocket::bind((client_ip(), 0)).unwrap();
        sock.set_nonblocking(true).unwrap();
        let local = sock.local_addr().unwrap();
        add_host_candidate(&mut pc, local).unwrap();
        Self { pc, sock, local }
    }

    /// Moves the connection along; returns the RTP that arrived as (ssrc, seq).
    pub fn step(&mut self, now: Instant, buf: &mut [u8], got: &mut Vec<(u32, u16)>) {
        while let Ok((n, from)) = self.sock.recv_from(buf) {
            let _ = self.pc.handle_read(TaggedBytesMut {
                now,
                transport: TransportContext {
                    local_addr: self.local,
                    peer_addr: from,
                    transport_protocol: TransportProtocol::UDP,
                    ecn: None,
                },
                message: BytesMut::from(&buf[..n]),
            });
        }
        if self.pc.poll_timeout().is_some_and(|t| t <= now) {
            let _ = self.pc.handle_timeout(now);
        }
        while self.pc.poll_event().is_some() {}
        while let Some(m) = self.pc.poll_read() {
            if let RTCMessage::RtpPacket(_, p) = m.message {
                got.push((p.header.ssrc, p.header.sequence_number));
            }
        }
        while let Some(w) = self.pc.poll_write() {
            let _ = self.sock.send_to(&w.message, w.transport.peer_addr);
        }
    }
}

/// The extension ids our own offer chose.
pub fn extmap(sdp: &str, uri: &str) -> u8 {
    sdp.lines()
        .find_map(|l| {
            let rest = l.strip_prefix("a=extmap:")?;
            let (id, u) = rest.split_once(' ')?;
            (u.trim() == uri).then(|| id.split('/').next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("the offer has no {uri}"))
}

/// The connection a participant publishes on: audio and three VP8 layers,
/// with its offer made. Returns it with the extension ids and mids its
/// offer chose, and its first SSRC.
pub fn publishing_pc(n: u32) -> (Pc, (u8, u8, u8), (String, String), u32) {
    let mut publish = Pc::new();
    let base_ssrc = 0x1000_0000 + n * 8;
    publish
        .pc
        .add_track(MediaStreamTrack::new(
            format!("s{n}"),
            format!("a{n}"),
            format!("a{n}"),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(base_ssrc),
                    ..Default::default()
                },
                codec: opus().rtp_codec,
                ..Default::default()
            }],
        ))
        .unwrap();
    let layers = RIDS
        .iter()
        .enumerate()
        .map(|(i, rid)| RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                rid: (*rid).into(),
                ssrc: Some(base_ssrc + 1 + i as u32),
                ..Default::default()
            },
            codec: vp8().rtp_codec,
            ..Default::default()
        })
        .collect();
    publish
        .pc
        .add_track(MediaStreamTrack::new(
            format!("s{n}"),
            format!("v{n}"),
            format!("v{n}"),
            RtpCodecKind::Video,
            layers,
        ))
        .unwrap();
    let offer = publish.pc.create_offer(None).unwrap();
    publish
        .pc
        .set_local_description(Instant::now(), offer.clone())
        .unwrap();
    let ids = (
        extmap(&offer.sdp, AUDIO_LEVEL),
        extmap(&offer.sdp, MID),
        extmap(&offer.sdp, RID),
    );
    let mids: Vec<String> = offer
        .sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=mid:").map(str::to_owned))
        .collect();
    (publish, ids, (mids[0].clone(), mids[1].clone()), base_ssrc)
}

/// A synthetic participant: publishes audio and three video layers,
/// receives everyone else's on a second connection, as the room page does.
pub struct Client {
    pub peer: PeerId,
    pub publish: Pc,
    pub receive: Option<Pc>,
    pub notices: tokio::sync::mpsc::UnboundedReceiver<Notice>,
    pub ids: (u8, u8, u8),
    pub mids: (String, String),
    pub seq: [u16; 4],
    pub frame: usize,
    pub next_video: Instant,
    pub next_audio: Instant,
    /// Per received SSRC: (first seq, highest seq, packets).
    pub received: HashMap<u32, (u16, u16, u64)>,
    pub base_ssrc: u32,
    /// Layers the SFU asked us to stop sending (nobody watches them), as
    /// the room page stops encoding them.
    pub paused: [bool; 3],
}

pub const RIDS: [&str; 3] = ["q", "h", "f"];

impl Client {
    pub async fn join(hub: &Hub, room: &str, n: u32, cap: usize) -> Self {
        let (peer, notices) = hub
            .join(
                room.into(),
                cap,
                Participant {
                    name: format!("Load {n}"),
                    initials: "LL".into(),
                    clinician: n.is_multiple_of(2),
                },
            )
            .await
            .unwrap();
        let (mut publish, ids, mids, base_ssrc) = publishing_pc(n);
        let offer = publish.pc.local_description().unwrap();
        let answer = hub.offer(room.into(), peer, offer.sdp).await.unwrap();
        publish
            .pc
            .set_remote_description(
                Instant::now(),
                RTCSessionDescription::answer(answer).unwrap(),
            )
            .unwrap();
        let now = Instant::now();
        Self {
            peer,
            publish,
            receive: None,
            notices,
            ids,
            mids,
            seq: [0; 4],
            frame: 0,
            next_video: now,
            next_audio: now,
            received: HashMap::new(),
            base_ssrc,
            paused: [false; 3],
        }
    }

    pub fn send(
        &mut self,
        kind: usize,
        ssrc: u32,
        ts: u32,
        marker: bool,
        ext: &[(u8, Bytes)],
        payload: Bytes,
    ) {
        self.seq[kind] = self.seq[kind].wrapping_add(1);
        let mut header = rtc::rtp::header::Header {
            version: 2,
            payload_type: if kind == 0 { 111 } else { 96 },
            sequence_number: self.seq[kind],
            timestamp: ts,
            marker,
            ssrc,
            ..Default::default()
        };
        for (id, v) in ext {
            header.set_extension(*id, v.clone()).unwrap();
        }
        let Some(sender) = self.publish.pc.get_senders().nth(usize::from(kind > 0)) else {
            return;
        };
        if let Some(mut s) = self.publish.pc.rtp_sender(sender) {
            let _ = s.write_rtp(Instant::now(), rtc::rtp::packet::Packet { header, payload });
        }
    }

    /// Sends what is due: a video frame in every layer not paused at 30/s,
    /// audio at 50/s.
    pub fn send_due(&mut self, now: Instant, clips: &[Clip; 3]) {
        if now >= self.next_audio {
            self.next_audio += Duration::from_millis(20);
            let level = 30 + (self.base_ssrc % 50) as u8;
            let ts = self.seq[0] as u32 * 960;
            // Only extensions negotiated for audio: the sender refuses others.
            let ext = [(self.ids.0, Bytes::from(vec![0x80 | level]))];
            self.send(
                0,
                self.base_ssrc,
                ts,
                false,
                &ext,
                Bytes::from(vec![0xfc; 90]),
            );
        }
        if now >= self.next_video {
            self.next_video += Duration::from_millis(33);
            let ts = (self.frame as u32).wrapping_mul(3000);
            for (l, clip) in clips.iter().enumerate() {
                if self.paused[l] {
                    continue;
                }
                let frame = clip.frames[self.frame % clip.frames.len()].clone();
                let chunks: Vec<&[u8]> = frame.chunks(MAX_PAYLOAD).collect();
                for (i, chunk) in chunks.iter().enumerate() {
                    let mut p = Vec::with_capacity(chunk.len() + 1);
                    p.push(if i == 0 { 0x10 } else { 0x00 });
                    p.extend_from_slice(chunk);
                    let ext = [
                        (self.ids.1, Bytes::from(self.mids.1.clone())),
                        (self.ids.2, Bytes::from(RIDS[l])),
                    ];
                    self.send(
                        1 + l,
                        self.base_ssrc + 1 + l as u32,
                        ts,
                        i + 1 == chunks.len(),
                        &ext,
                        Bytes::from(p),
                    );
                }
            }
            self.frame += 1;
        }
    }

    pub async fn step(
        &mut self,
        hub: &Hub,
        room: &str,
        now: Instant,
        buf: &mut [u8],
        got: &mut Vec<(u32, u16)>,
    ) {
        while let Ok(n) = self.notices.try_recv() {
            if let Notice::Layer { rid, active } = n
                && let Some(l) = RIDS.iter().position(|r| *r == rid)
            {
                self.paused[l] = !active;
            }
            if let Notice::Offer { sdp } = n {
                let r = self.receive.get_or_insert_with(Pc::new);
                r.pc.set_remote_description(now, RTCSessionDescription::offer(sdp).unwrap())
                    .unwrap();
                let answer = r.pc.create_answer(None).unwrap();
                r.pc.set_local_description(now, answer.clone()).unwrap();
                hub.answer(room.into(), self.peer, answer.sdp)
                    .await
                    .unwrap();
            }
        }
        self.publish.step(now, buf, got);
        got.clear();
        if let Some(r) = self.receive.as_mut() {
            r.step(now, buf, got);
            for (ssrc, seq) in got.drain(..) {
                let e = self.received.entry(ssrc).or_insert((seq, seq, 0));
                if seq.wrapping_sub(e.1) < 0x8000 {
                    e.1 = seq;
                }
                e.2 += 1;
            }
        }
    }
}
