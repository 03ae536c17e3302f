//! The [`Endpoint`]: one visit's room and its participants' connections,
//! and the calls the driver makes into it. Moving media and events
//! between the connections and the room is `pump`; adding and opening
//! tracks is `tracks`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tillit_sfu::{Input, Kind, Millis, PeerId, Room, TrackId};

use crate::conn::{Conn, Leg};
use crate::error::{MediaError, sdp_error};
use crate::event::Event;
use crate::stun::stun_username_local;

mod pump;
mod tracks;

/// A publisher whose media has not arrived for this long is shown as
/// having a poor connection.
pub const SILENCE_IS_POOR: Duration = Duration::from_secs(2);

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
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    use rtc::peer_connection::RTCPeerConnectionBuilder;
    use rtc::peer_connection::configuration::RTCConfigurationBuilder;
    use rtc::peer_connection::configuration::media_engine::MediaEngine;
    use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;

    use crate::vp8;

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
}
