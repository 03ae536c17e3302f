//! Moving everything along after an input: connection events and media
//! into the room, the room's decisions out to the connections (forwards,
//! PLIs, events), then offers and datagrams to send.

use std::sync::atomic::Ordering;
use std::time::Instant;

use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::sansio::Protocol;
use tillit_sfu::{Input, Kind, Output, Packet, PeerId};

use super::Endpoint;
use super::tracks::open_track;
use crate::codec::vp8_keyframe;
use crate::conn::{Leg, ice_ufrag};
use crate::event::Event;
use crate::simulcast::rid_of;

impl Endpoint {
    /// Moves everything along: connection events and media into the room,
    /// the room's decisions out to the connections, datagrams to send.
    pub(super) fn pump(&mut self, now: Instant) {
        self.pump_from(now, None);
    }

    /// [`Endpoint::pump`] after input on one connection (`only`): reads
    /// that one, and writes out only the connections something was
    /// written to. With 20 people in a room, that is 2–3 connections per
    /// datagram instead of 40.
    pub(super) fn pump_from(&mut self, now: Instant, only: Option<(PeerId, Leg)>) {
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
}
