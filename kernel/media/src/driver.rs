//! The thin tokio driver: one UDP socket for every visit's media, and one
//! task that owns the visits' [`Endpoint`]s and moves datagrams, time and
//! commands into them.
//!
//! The kernel talks to it through a [`Hub`]: a participant [`Hub::join`]s a
//! room (presence: who is there, by the name each viewer may see), sends
//! its offer and answers, and leaves; the hub sends each participant the
//! [`Notice`]s meant for them on their own channel. Datagrams are routed to
//! a room by source address once known, before that by the ICE username
//! fragment of the STUN binding request (each peer gets a random one).
//!
//! A panic in one peer's handling is caught where it happens
//! ([`Endpoint`] drops that peer); a panic in a room's own code closes that
//! room (its participants are told, and rejoin); the task and the process
//! carry on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use tillit_sfu::PeerId;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::stun::stun_username_local;
use crate::{Endpoint, Event, MediaError, MediaKind};

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

/// A room's key: tenant and visit, so two tenants never share a room.
pub type RoomKey = String;

enum Command {
    Join {
        room: RoomKey,
        cap: usize,
        who: Participant,
        notices: mpsc::UnboundedSender<Notice>,
        reply: oneshot::Sender<Result<PeerId, MediaError>>,
    },
    Offer {
        room: RoomKey,
        peer: PeerId,
        sdp: String,
        reply: oneshot::Sender<Result<String, MediaError>>,
    },
    Answer {
        room: RoomKey,
        peer: PeerId,
        sdp: String,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Mute {
        room: RoomKey,
        peer: PeerId,
        kind: MediaKind,
        muted: bool,
    },
    Show {
        room: RoomKey,
        peer: PeerId,
        of: PeerId,
        width: u32,
        height: u32,
    },
    Leave {
        room: RoomKey,
        peer: PeerId,
    },
    End {
        room: RoomKey,
    },
    Stats {
        reply: oneshot::Sender<HubStats>,
    },
}

/// Counters for tests, metrics and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStats {
    pub rooms: usize,
    pub peers: usize,
    pub datagrams_in: u64,
    pub datagrams_out: u64,
    /// RTP packets forwarded to subscribers.
    pub forwarded: u64,
    /// Peers dropped because their handling panicked.
    pub peers_dropped: u64,
    /// From a datagram's arrival to the sending of what it caused.
    pub delay: DelayHistogram,
}

/// Delays in microseconds, one bucket per microsecond up to 10 ms.
#[derive(Clone, PartialEq, Eq)]
pub struct DelayHistogram {
    buckets: Vec<u64>,
    over: u64,
}

const DELAY_BUCKETS: usize = 10_000;

impl Default for DelayHistogram {
    fn default() -> Self {
        Self {
            buckets: vec![0; DELAY_BUCKETS],
            over: 0,
        }
    }
}

impl std::fmt::Debug for DelayHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayHistogram")
            .field("count", &self.count())
            .field("p50", &self.percentile(0.5))
            .field("p99", &self.percentile(0.99))
            .finish()
    }
}

impl DelayHistogram {
    pub fn record(&mut self, d: Duration, times: u64) {
        match self
            .buckets
            .get_mut(usize::try_from(d.as_micros()).unwrap_or(usize::MAX))
        {
            Some(b) => *b += times,
            None => self.over += times,
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().sum::<u64>() + self.over
    }

    /// The delay at or below which `p` (0–1) of the samples fall; `None`
    /// if there are none or it lies beyond 10 ms.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let want = ((n as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Some(Duration::from_micros(us as u64));
            }
        }
        None
    }

    /// What was recorded since `earlier` (a copy taken before).
    pub fn subtract(&mut self, earlier: &DelayHistogram) {
        for (b, e) in self.buckets.iter_mut().zip(&earlier.buckets) {
            *b = b.saturating_sub(*e);
        }
        self.over = self.over.saturating_sub(earlier.over);
    }
}

/// The kernel's handle on the media task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    tx: mpsc::UnboundedSender<Command>,
    local: SocketAddr,
}

impl Hub {
    /// Binds `listen` and starts the media task. `announce` is the address
    /// put in ICE candidates (the public one, if `listen` is a wildcard).
    pub async fn start(
        listen: SocketAddr,
        announce: Option<std::net::IpAddr>,
    ) -> std::io::Result<Self> {
        let sock = UdpSocket::bind(listen).await?;
        let mut local = sock.local_addr()?;
        if let Some(ip) = announce {
            local.set_ip(ip);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let task = Task {
            sock,
            local,
            rooms: HashMap::new(),
            routes: HashMap::new(),
            ufrags: HashMap::new(),
            stats: HubStats::default(),
        };
        tokio::spawn(task.run(rx));
        Ok(Self { tx, local })
    }

    /// The address browsers send media to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).ok()?;
        rx.await.ok()
    }

    /// Enters `room` (created on first use, at most `cap` participants).
    /// The participant's notices arrive on the returned channel, starting
    /// with everyone already there.
    pub async fn join(
        &self,
        room: RoomKey,
        cap: usize,
        who: Participant,
    ) -> Result<(PeerId, mpsc::UnboundedReceiver<Notice>), MediaError> {
        let (notices, rx) = mpsc::unbounded_channel();
        let peer = self
            .ask(|reply| Command::Join {
                room,
                cap,
                who,
                notices,
                reply,
            })
            .await
            .ok_or(MediaError::Stopped)??;
        Ok((peer, rx))
    }

    /// The participant's offer (first, renegotiation or ICE restart); returns the answer.
    pub async fn offer(
        &self,
        room: RoomKey,
        peer: PeerId,
        sdp: String,
    ) -> Result<String, MediaError> {
        self.ask(|reply| Command::Offer {
            room,
            peer,
            sdp,
            reply,
        })
        .await
        .ok_or(MediaError::Stopped)?
    }

    /// The answer to a [`Notice::Offer`].
    pub async fn answer(&self, room: RoomKey, peer: PeerId, sdp: String) -> Result<(), MediaError> {
        self.ask(|reply| Command::Answer {
            room,
            peer,
            sdp,
            reply,
        })
        .await
        .ok_or(MediaError::Stopped)?
    }

    pub fn mute(&self, room: RoomKey, peer: PeerId, kind: MediaKind, muted: bool) {
        let _ = self.tx.send(Command::Mute {
            room,
            peer,
            kind,
            muted,
        });
    }

    /// `peer` shows `of`'s video at this size (0×0: not at all).
    pub fn show(&self, room: RoomKey, peer: PeerId, of: PeerId, width: u32, height: u32) {
        let _ = self.tx.send(Command::Show {
            room,
            peer,
            of,
            width,
            height,
        });
    }

    pub fn leave(&self, room: RoomKey, peer: PeerId) {
        let _ = self.tx.send(Command::Leave { room, peer });
    }

    /// Closes the room for everyone (the visit ended).
    pub fn end(&self, room: RoomKey) {
        let _ = self.tx.send(Command::End { room });
    }

    pub async fn stats(&self) -> HubStats {
        self.ask(|reply| Command::Stats { reply })
            .await
            .unwrap_or_default()
    }
}

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

struct Task {
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
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn who(name: &str) -> Participant {
        Participant {
            name: name.into(),
            initials: name[..1].into(),
            clinician: false,
        }
    }

    #[tokio::test]
    async fn a_room_holds_its_cap_tells_who_comes_and_goes_and_ends_for_everyone() {
        let hub = Hub::start("127.0.0.1:0".parse().unwrap(), None)
            .await
            .unwrap();
        let room = "demo/v1".to_owned();
        let (a, mut a_rx) = hub.join(room.clone(), 2, who("Anna")).await.unwrap();
        let (b, mut b_rx) = hub.join(room.clone(), 2, who("Bo")).await.unwrap();
        assert!(matches!(
            hub.join(room.clone(), 2, who("Cia")).await,
            Err(MediaError::Full)
        ));
        // Each hears of the other, by the name given.
        assert_eq!(
            a_rx.recv().await,
            Some(Notice::PeerJoined {
                peer: b,
                who: who("Bo")
            })
        );
        assert_eq!(
            b_rx.recv().await,
            Some(Notice::PeerJoined {
                peer: a,
                who: who("Anna")
            })
        );
        // Another tenant's room with the same visit id is another room.
        let (_, _other) = hub.join("norrland/v1".into(), 2, who("Cia")).await.unwrap();
        assert_eq!(hub.stats().await.rooms, 2);

        hub.leave(room.clone(), b);
        assert_eq!(a_rx.recv().await, Some(Notice::PeerLeft { peer: b }));
        let (_, _c_rx) = hub.join(room.clone(), 2, who("Cia")).await.unwrap();
        // An offer that is not a session description is refused, nothing changes.
        assert!(matches!(
            hub.offer(room.clone(), a, "v=0\r\nnonsense".into()).await,
            Err(MediaError::Sdp(_))
        ));
        hub.end(room.clone());
        loop {
            match a_rx.recv().await {
                Some(Notice::Ended) => break,
                Some(_) => continue,
                None => panic!("the room closed without saying so"),
            }
        }
        assert_eq!(hub.stats().await.rooms, 1, "only norrland's is left");
    }
}
