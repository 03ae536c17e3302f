//! The media task: one UDP socket and every visit's [`Endpoint`], moving
//! datagrams, time and the hub's commands into them and what they send
//! and tell back out. A panic in a room's own code closes that room.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use tillit_sfu::PeerId;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::hub::{Command, RoomKey};
use super::{HubStats, Notice, Participant};
use crate::stun::stun_username_local;
use crate::{Endpoint, Event, MediaError};

struct Member {
    who: Participant,
    notices: mpsc::UnboundedSender<Notice>,
}

struct RoomState {
    endpoint: Endpoint,
    members: HashMap<PeerId, Member>,
    next_peer: u32,
}

impl RoomState {
    fn tell(&self, peer: PeerId, n: Notice) {
        if let Some(m) = self.members.get(&peer) {
            let _ = m.notices.send(n);
        }
    }

    fn tell_others(&self, except: PeerId, n: &Notice) {
        for (p, m) in &self.members {
            if *p != except {
                let _ = m.notices.send(n.clone());
            }
        }
    }
}

/// The media task: the socket, every visit's room, and how datagrams
/// find their room.
pub(super) struct Task {
    sock: UdpSocket,
    local: SocketAddr,
    rooms: HashMap<RoomKey, RoomState>,
    routes: HashMap<SocketAddr, RoomKey>,
    ufrags: HashMap<String, RoomKey>,
    stats: HubStats,
}

/// The longest the task sleeps without looking at its rooms' timers.
const MAX_SLEEP: Duration = Duration::from_millis(50);
/// How often, at most, the rooms' next timer is worked out again.
const WAKE_RECHECK: Duration = Duration::from_millis(1);

impl Task {
    pub(super) fn new(sock: UdpSocket, local: SocketAddr) -> Self {
        Self {
            sock,
            local,
            rooms: HashMap::new(),
            routes: HashMap::new(),
            ufrags: HashMap::new(),
            stats: HubStats::default(),
        }
    }

    pub(super) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 2048];
        // When the rooms' timers next fire. Working it out asks every
        // connection, so it is done at most every millisecond, not after
        // every datagram (a timer may fire up to 1 ms late).
        let mut wake = Instant::now();
        let mut wake_checked: Option<Instant> = None;
        loop {
            let now = Instant::now();
            if wake_checked.is_none_or(|t| now.duration_since(t) >= WAKE_RECHECK) {
                wake = self
                    .rooms
                    .values_mut()
                    .filter_map(|r| r.endpoint.poll_timeout())
                    .min()
                    .unwrap_or(now + MAX_SLEEP)
                    .clamp(now, now + MAX_SLEEP);
                wake_checked = Some(now);
            }
            let touched: Option<RoomKey> = tokio::select! {
                r = self.sock.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        let arrived = Instant::now();
                        self.stats.datagrams_in += 1;
                        if let Some(key) = self.datagram(from, n, &buf) {
                            let sent = self.flush(&key);
                            if sent > 0 {
                                self.stats.delay.record(arrived.elapsed(), sent);
                            }
                        }
                        None
                    }
                    Err(e) => {
                        // ICMP port unreachable and the like: one peer's problem.
                        tracing::debug!(error = %e, "media socket");
                        None
                    }
                },
                cmd = rx.recv() => match cmd {
                    Some(cmd) => {
                        wake_checked = None;
                        self.command(cmd)
                    }
                    None => return,
                },
                () = tokio::time::sleep_until(wake.into()) => {
                    self.timeouts();
                    wake_checked = None;
                    None
                }
            };
            if let Some(key) = touched {
                let _ = self.flush(&key);
            }
        }
    }

    /// Runs `f` on a room; if it panics, the room is closed and its
    /// participants are told to rejoin.
    fn guarded<T>(&mut self, key: &str, f: impl FnOnce(&mut RoomState) -> T) -> Option<T> {
        let room = self.rooms.get_mut(key)?;
        match catch_unwind(AssertUnwindSafe(|| f(room))) {
            Ok(v) => Some(v),
            Err(_) => {
                if let Some(room) = self.rooms.remove(key) {
                    for m in room.members.values() {
                        let _ = m.notices.send(Notice::Failed);
                    }
                }
                self.routes.retain(|_, k| k != key);
                self.ufrags.retain(|_, k| k != key);
                None
            }
        }
    }

    fn datagram(&mut self, from: SocketAddr, n: usize, buf: &[u8]) -> Option<RoomKey> {
        let data = &buf[..n];
        let key = match self.routes.get(&from) {
            Some(k) => k.clone(),
            None => {
                let Some(ufrag) = stun_username_local(data) else {
                    tracing::trace!(%from, "a datagram from an unknown address");
                    return None;
                };
                let Some(k) = self.ufrags.get(&ufrag).cloned() else {
                    tracing::trace!(%from, ufrag, "STUN for an unknown ICE username");
                    return None;
                };
                self.routes.insert(from, k.clone());
                k
            }
        };
        let now = Instant::now();
        self.guarded(&key, |r| r.endpoint.handle_datagram(from, data, now))?;
        Some(key)
    }

    fn timeouts(&mut self) {
        let now = Instant::now();
        let due: Vec<RoomKey> = self
            .rooms
            .iter_mut()
            .filter_map(|(k, r)| {
                r.endpoint
                    .poll_timeout()
                    .is_some_and(|t| t <= now)
                    .then(|| k.clone())
            })
            .collect();
        for key in due {
            if self
                .guarded(&key, |r| r.endpoint.handle_timeout(now))
                .is_some()
            {
                let _ = self.flush(&key);
            }
        }
    }

    fn command(&mut self, cmd: Command) -> Option<RoomKey> {
        let now = Instant::now();
        match cmd {
            Command::Join {
                room,
                cap,
                who,
                notices,
                reply,
            } => {
                let local = self.local;
                let state = self.rooms.entry(room.clone()).or_insert_with(|| RoomState {
                    endpoint: Endpoint::new(local, cap, now),
                    members: HashMap::new(),
                    next_peer: 1,
                });
                if state.members.len() >= cap {
                    let _ = reply.send(Err(MediaError::Full));
                    return None;
                }
                let peer = PeerId(state.next_peer);
                state.next_peer += 1;
                for (p, m) in &state.members {
                    let _ = notices.send(Notice::PeerJoined {
                        peer: *p,
                        who: m.who.clone(),
                    });
                }
                state.tell_others(
                    peer,
                    &Notice::PeerJoined {
                        peer,
                        who: who.clone(),
                    },
                );
                state.members.insert(peer, Member { who, notices });
                let _ = reply.send(Ok(peer));
                None
            }
            Command::Offer {
                room,
                peer,
                sdp,
                reply,
            } => {
                let r = self.guarded(&room, |r| {
                    if !r.members.contains_key(&peer) {
                        return Err(MediaError::UnknownPeer(peer));
                    }
                    let answer = r.endpoint.offer(peer, &sdp, now)?;
                    Ok((answer, r.endpoint.ufrags(peer)))
                });
                match r {
                    Some(Ok((answer, ufrags))) => {
                        for u in ufrags {
                            self.ufrags.insert(u, room.clone());
                        }
                        let _ = reply.send(Ok(answer));
                        Some(room)
                    }
                    Some(Err(e)) => {
                        let _ = reply.send(Err(e));
                        None
                    }
                    None => {
                        let _ = reply.send(Err(MediaError::UnknownPeer(peer)));
                        None
                    }
                }
            }
            Command::Answer {
                room,
                peer,
                sdp,
                reply,
            } => {
                let r = self
                    .guarded(&room, |r| r.endpoint.accept_answer(peer, &sdp, now))
                    .unwrap_or(Err(MediaError::UnknownPeer(peer)));
                let ok = r.is_ok();
                let _ = reply.send(r);
                ok.then_some(room)
            }
            Command::Mute {
                room,
                peer,
                kind,
                muted,
            } => {
                if let Some(r) = self.rooms.get(&room) {
                    r.tell_others(peer, &Notice::Muted { peer, kind, muted });
                }
                None
            }
            Command::Show {
                room,
                peer,
                of,
                width,
                height,
            } => {
                self.guarded(&room, |r| r.endpoint.show(peer, of, width, height, now))?;
                Some(room)
            }
            Command::Leave { room, peer } => {
                let emptied = self.guarded(&room, |r| {
                    if r.members.remove(&peer).is_some() {
                        r.tell_others(peer, &Notice::PeerLeft { peer });
                    }
                    let _ = r.endpoint.remove_peer(peer, now);
                    r.members.is_empty()
                })?;
                if emptied {
                    self.close(&room);
                    return None;
                }
                Some(room)
            }
            Command::End { room } => {
                if let Some(r) = self.rooms.get(&room) {
                    for m in r.members.values() {
                        let _ = m.notices.send(Notice::Ended);
                    }
                }
                self.close(&room);
                None
            }
            Command::Stats { reply } => {
                let mut s = self.stats.clone();
                s.rooms = self.rooms.len();
                s.peers = self.rooms.values().map(|r| r.members.len()).sum();
                let _ = reply.send(s);
                None
            }
        }
    }

    fn close(&mut self, key: &str) {
        self.rooms.remove(key);
        self.routes.retain(|_, k| k != key);
        self.ufrags.retain(|_, k| k != key);
    }

    /// Sends what a room has to send and passes on its events; returns
    /// how many datagrams it sent.
    fn flush(&mut self, key: &str) -> u64 {
        let Some(room) = self.rooms.get_mut(key) else {
            return 0;
        };
        let mut sent = 0;
        while let Some((to, data)) = room.endpoint.poll_transmit() {
            // UDP: a full buffer drops the datagram, as the network would.
            if self.sock.try_send_to(&data, to).is_ok() {
                sent += 1;
            }
        }
        self.stats.datagrams_out += sent;
        self.stats.forwarded += room.endpoint.take_forwarded();
        while let Some(ev) = room.endpoint.poll_event() {
            match ev {
                Event::Offer { peer, sdp } => {
                    // Our offer opens a connection with an ICE username of its own.
                    for u in room.endpoint.ufrags(peer) {
                        self.ufrags.insert(u, key.to_owned());
                    }
                    room.tell(peer, Notice::Offer { sdp });
                }
                Event::Connected { peer } => room.tell(peer, Notice::Connected),
                Event::Disconnected { peer } => room.tell(peer, Notice::Disconnected),
                Event::Quality { peer, poor } => {
                    room.tell_others(peer, &Notice::Quality { peer, poor });
                }
                Event::ActiveSpeaker { peer } => {
                    for m in room.members.values() {
                        let _ = m.notices.send(Notice::Speaker { peer });
                    }
                }
                Event::LayerActive { peer, rid, active } => {
                    room.tell(peer, Notice::Layer { rid, active });
                }
                Event::Dropped { peer } => {
                    self.stats.peers_dropped += 1;
                    room.tell(peer, Notice::Failed);
                    room.members.remove(&peer);
                    room.tell_others(peer, &Notice::PeerLeft { peer });
                }
            }
        }
        sent
    }
}
