//! The media plane with real WebRTC peers over real UDP on loopback: two
//! `rtc` clients (full ICE, DTLS, SRTP) connect to one endpoint on one UDP
//! port; what one publishes reaches the other through the room, after a
//! renegotiation the endpoint starts.

#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tillit_media::{Endpoint, Event, add_host_candidate, vp8};
use tillit_sfu::PeerId;

/// A browser stand-in: a full-ICE `rtc` peer on its own socket.
struct Client {
    pc: RTCPeerConnection,
    sock: UdpSocket,
}

impl Client {
    /// A connection that only answers (the receiving one).
    fn answering() -> Self {
        Self::build(None)
    }

    fn new(publish: bool) -> Self {
        Self::build(Some(publish))
    }

    fn build(publish: Option<bool>) -> Self {
        let mut m = MediaEngine::default();
        m.register_codec(vp8(), RtpCodecKind::Video).unwrap();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(m)
            .build(Instant::now())
            .unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_nonblocking(true).unwrap();
        if publish == Some(true) {
            pc.add_track(MediaStreamTrack::new(
                "cam".into(),
                "cam".into(),
                "cam".into(),
                RtpCodecKind::Video,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(1111),
                        ..Default::default()
                    },
                    codec: vp8().rtp_codec,
                    ..Default::default()
                }],
            ))
            .unwrap();
        } else if publish == Some(false) {
            pc.add_transceiver_from_kind(
                RtpCodecKind::Video,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    streams: vec![],
                    send_encodings: vec![],
                }),
            )
            .unwrap();
        }
        let a = sock.local_addr().unwrap();
        add_host_candidate(&mut pc, a).unwrap();
        Self { pc, sock }
    }

    fn offer(&mut self) -> String {
        let offer = self.pc.create_offer(None).unwrap();
        self.pc
            .set_local_description(Instant::now(), offer.clone())
            .unwrap();
        offer.sdp
    }

    fn answered(&mut self, sdp: String) {
        self.pc
            .set_remote_description(Instant::now(), RTCSessionDescription::answer(sdp).unwrap())
            .unwrap();
    }

    fn answer(&mut self, offer: String) -> String {
        self.pc
            .set_remote_description(Instant::now(), RTCSessionDescription::offer(offer).unwrap())
            .unwrap();
        let answer = self.pc.create_answer(None).unwrap();
        self.pc
            .set_local_description(Instant::now(), answer.clone())
            .unwrap();
        answer.sdp
    }

    /// Sends what the connection wants sent, reads what arrived. (Events
    /// must be drained too: the connection moves on as they are polled.)
    fn step(&mut self) {
        let now = Instant::now();
        while self.pc.poll_event().is_some() {}
        while let Some(m) = self.pc.poll_write() {
            let _ = self.sock.send_to(&m.message, m.transport.peer_addr);
        }
        if self.pc.poll_timeout().is_some_and(|t| t <= now) {
            self.pc.handle_timeout(now).unwrap();
        }
        let mut buf = [0u8; 2000];
        while let Ok((n, from)) = self.sock.recv_from(&mut buf) {
            let _ = self.pc.handle_read(TaggedBytesMut {
                now: Instant::now(),
                transport: TransportContext {
                    local_addr: self.sock.local_addr().unwrap(),
                    peer_addr: from,
                    transport_protocol: TransportProtocol::UDP,
                    ecn: None,
                },
                message: BytesMut::from(&buf[..n]),
            });
        }
    }
}

#[test]
fn video_from_one_peer_reaches_another_through_the_room_on_one_port() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_nonblocking(true).unwrap();
    let local: SocketAddr = server.local_addr().unwrap();
    let mut ep = Endpoint::new(local, 50, Instant::now());

    let mut a = Client::new(true);
    let mut b = Client::new(false);
    let mut b_recv: Option<Client> = None;
    let answer = ep.offer(PeerId(1), &a.offer(), Instant::now()).unwrap();
    assert!(answer.contains("a=ice-lite"), "{answer}");
    a.answered(answer);
    let answer = ep.offer(PeerId(2), &b.offer(), Instant::now()).unwrap();
    b.answered(answer);
    // An answer nobody asked for is refused.
    assert!(
        ep.accept_answer(PeerId(2), "v=0\r\n", Instant::now())
            .is_err()
    );

    let started = Instant::now();
    let (mut seq, mut sent, mut connected) = (0u16, Vec::new(), 0);
    let mut received: Vec<(u16, bytes::Bytes)> = Vec::new();
    let mut last_send = Instant::now();
    let mut buf = [0u8; 2000];
    while started.elapsed() < Duration::from_secs(20) && received.len() < 60 {
        a.step();
        b.step();
        if let Some(r) = b_recv.as_mut() {
            r.step();
        }
        while let Ok((n, from)) = server.recv_from(&mut buf) {
            ep.handle_datagram(from, &buf[..n], Instant::now());
        }
        ep.handle_timeout(Instant::now());
        while let Some((to, data)) = ep.poll_transmit() {
            let _ = server.send_to(&data, to);
        }
        while let Some(ev) = ep.poll_event() {
            match ev {
                Event::Connected { .. } => connected += 1,
                Event::Offer { peer, sdp } => {
                    assert_eq!(peer, PeerId(2), "only B needs A's track");
                    // What B receives comes on a connection of its own.
                    let answer = b_recv.get_or_insert_with(Client::answering).answer(sdp);
                    ep.accept_answer(peer, &answer, Instant::now()).unwrap();
                }
                _ => {}
            }
        }
        while let Some(m) = b_recv.as_mut().and_then(|r| r.pc.poll_read()) {
            if let RTCMessage::RtpPacket(_, p) = m.message {
                received.push((p.header.sequence_number, p.payload.clone()));
            }
        }
        while a.pc.poll_read().is_some() {}
        // A sends a frame every 10 ms once connected, a keyframe every 20th.
        if connected >= 2 && last_send.elapsed() >= Duration::from_millis(10) {
            last_send = Instant::now();
            seq = seq.wrapping_add(1);
            let keyframe = seq % 20 == 1;
            let mut payload = vec![0x10, if keyframe { 0x00 } else { 0x01 }];
            payload.extend_from_slice(&seq.to_be_bytes());
            payload.resize(300, 0xab);
            let payload = bytes::Bytes::from(payload);
            sent.push(payload.clone());
            let sender = a.pc.get_senders().next().unwrap();
            a.pc.rtp_sender(sender)
                .unwrap()
                .write_rtp(
                    Instant::now(),
                    rtc::rtp::packet::Packet {
                        header: rtc::rtp::header::Header {
                            version: 2,
                            payload_type: 96,
                            sequence_number: seq,
                            timestamp: u32::from(seq) * 3000,
                            marker: true,
                            ssrc: 1111,
                            ..Default::default()
                        },
                        payload,
                    },
                )
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        received.len() >= 60,
        "B received {} of {} packets A sent ({} connected)",
        received.len(),
        sent.len(),
        connected
    );
    // B's stream starts at a keyframe and its numbering is continuous.
    assert_eq!(received[0].1[1] & 0x01, 0, "B's first packet is a keyframe");
    for w in received.windows(2) {
        assert_eq!(w[1].0, w[0].0.wrapping_add(1), "continuous numbering");
    }
    // What arrived is what A sent, byte for byte (through SRTP twice).
    for (_, payload) in &received {
        assert!(sent.contains(payload));
    }
    // A leaves: B gets nothing more.
    ep.remove_peer(PeerId(1), Instant::now()).unwrap();
    assert!(ep.remove_peer(PeerId(1), Instant::now()).is_err());
}
