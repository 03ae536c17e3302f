//! The SFU's room core: who receives which packets, sans IO.
//!
//! A [`Room`] knows the participants of one visit, the tracks they publish
//! (audio, or video in up to three simulcast layers) and what each
//! subscriber wants. It is a state machine: [`Room::handle`] takes an
//! [`Input`] (a packet arrived, a NACK, a bandwidth estimate, a join, the
//! time passing) and queues [`Output`]s (forward this packet to that peer,
//! retransmit, ask the publisher for a keyframe, pause a layer nobody
//! watches, the active speaker changed), taken with [`Room::poll_output`].
//! [`Room::poll_timeout`] says when it next needs [`Input::Tick`].
//!
//! No sockets, no threads, no clock, no randomness: the tokio driver and the
//! WebRTC stack (ICE, DTLS, SRTP per peer) sit outside and feed it; the
//! tests drive it over a simulated network with loss, delay and reordering.
//!
//! What it does for each subscriber of a video track:
//! - picks the simulcast layer: the smallest that covers the size the
//!   subscriber shows the video at, within its bandwidth estimate;
//! - switches layers only at a keyframe of the new layer, asking the
//!   publisher for one (rate-limited per layer), and rewrites sequence
//!   numbers and timestamps so the subscriber sees one continuous stream;
//! - keeps what it sent, to answer the subscriber's NACKs;
//! - asks the publisher, through the kernel, to retransmit what it lost
//!   upstream (gaps in the sequence), and to pause layers nobody watches.
//!
//! For audio it forwards every packet and follows the publishers' audio
//! levels (RFC 6464) to name the active speaker.
//!
//! [`signal`] is the browser ↔ kernel signalling protocol and its
//! per-connection state machine, also without IO.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

mod clock;
mod seq;
pub mod signal;

pub use clock::Millis;
use seq::{SeqUnwrapper, seq_newer};

/// How often the active speaker is worked out.
const SPEAKER_EVERY: Duration = Duration::from_millis(100);

/// A participant's id within a room (the kernel maps it to a person).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u32);

/// A published track, unique within the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Audio,
    Video,
}

/// A simulcast layer: 0 is the lowest resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Layer(pub u8);

/// What a publisher sends in one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerInfo {
    pub layer: Layer,
    pub width: u32,
    pub height: u32,
    /// Expected bitrate, bits per second.
    pub bitrate: u64,
}

/// One RTP packet as the room sees it. `payload` is the kernel's handle for
/// the bytes (the room never looks inside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<P> {
    pub seq: u16,
    pub timestamp: u32,
    pub marker: bool,
    /// The packet starts a keyframe (from the payload descriptor).
    pub keyframe: bool,
    /// Audio level in -dBov (0 loudest, 127 silence), if the extension was sent.
    pub audio_level: Option<u8>,
    pub size: usize,
    pub payload: P,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<P> {
    Join {
        peer: PeerId,
    },
    Leave {
        peer: PeerId,
    },
    /// `layers` is empty for audio and one entry per simulcast layer for video.
    Publish {
        peer: PeerId,
        track: TrackId,
        kind: Kind,
        layers: Vec<LayerInfo>,
    },
    /// The subscriber shows `track` at this size (0×0: not shown at all).
    Show {
        subscriber: PeerId,
        track: TrackId,
        width: u32,
        height: u32,
    },
    /// The subscriber's downlink estimate (its congestion controller's,
    /// GCC over TWCC feedback), bits per second. A falling estimate caps
    /// the layers it is sent; see [`Settings::bandwidth_hold`].
    Bandwidth {
        subscriber: PeerId,
        bps: u64,
    },
    Rtp {
        from: PeerId,
        track: TrackId,
        layer: Layer,
        packet: Packet<P>,
    },
    /// The subscriber lost these packets (its sequence numbers).
    Nack {
        subscriber: PeerId,
        track: TrackId,
        seqs: Vec<u16>,
    },
    /// The subscriber's decoder needs a keyframe (PLI/FIR).
    KeyframeRequest {
        subscriber: PeerId,
        track: TrackId,
    },
    /// The subscriber (re)connected: what it was sent before is lost, so
    /// forwarding starts again at the next keyframe, numbering continuing.
    Resync {
        subscriber: PeerId,
        track: TrackId,
    },
    Tick,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<P> {
    /// Send this packet to `to` on its copy of `track`, with these numbers.
    Forward {
        to: PeerId,
        track: TrackId,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: P,
    },
    /// Ask the publisher for a keyframe in `layer`.
    RequestKeyframe {
        from: PeerId,
        track: TrackId,
        layer: Layer,
    },
    /// Ask the publisher to resend packets it sent (its sequence numbers).
    NackUpstream {
        from: PeerId,
        track: TrackId,
        layer: Layer,
        seqs: Vec<u16>,
    },
    /// Nobody watches `layer` any more (or someone does again).
    SetLayerActive {
        publisher: PeerId,
        track: TrackId,
        layer: Layer,
        active: bool,
    },
    /// The loudest participant changed.
    ActiveSpeaker { peer: Option<PeerId> },
}

/// Tunables, with defaults that suit a video visit.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// At most one keyframe request per layer this often.
    pub keyframe_interval: Duration,
    /// How many sent packets per subscriber and track are kept for NACKs.
    pub history: usize,
    /// How long a gap upstream waits before it is NACKed (reordering).
    pub reorder_wait: Duration,
    /// How often a missing upstream packet is asked for again, and how often.
    pub nack_interval: Duration,
    pub nack_tries: u32,
    /// Speaker detection: levels are judged over this window.
    pub speaker_window: Duration,
    /// A level (in -dBov) quieter than this is silence.
    pub speaker_threshold: u8,
    /// A simulcast layer with no packet for this long is taken as stopped
    /// (a browser short of CPU or bandwidth drops its upper layers), and
    /// its subscribers are moved to one that still flows.
    pub layer_timeout: Duration,
    /// After a subscriber's bandwidth estimate falls, its layers keep to
    /// the estimate for this long; then the cap is lifted and the wanted
    /// layers are tried again. A delay-based estimate cannot rise above
    /// what is actually sent, so lifting the cap is how the room probes.
    /// A fall soon after lifting doubles the wait, up to
    /// `bandwidth_hold_max`; a lift that holds resets it.
    pub bandwidth_hold: Duration,
    pub bandwidth_hold_max: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            keyframe_interval: Duration::from_millis(500),
            history: 512,
            reorder_wait: Duration::from_millis(10),
            nack_interval: Duration::from_millis(40),
            nack_tries: 5,
            speaker_window: Duration::from_millis(1000),
            speaker_threshold: 60,
            layer_timeout: Duration::from_millis(1000),
            bandwidth_hold: Duration::from_secs(8),
            bandwidth_hold_max: Duration::from_secs(120),
        }
    }
}

/// Why the room refused an input. The room is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("peer {0:?} is not in the room")]
    UnknownPeer(PeerId),
    #[error("track {0:?} is not published in the room")]
    UnknownTrack(TrackId),
    #[error("track {0:?} is not this peer's")]
    NotOwner(TrackId),
    #[error("track {0:?} is already published")]
    DuplicateTrack(TrackId),
    #[error("peer {0:?} is already in the room")]
    DuplicatePeer(PeerId),
    #[error("the room is full ({0} participants)")]
    Full(usize),
    #[error("layer {0:?} is not one of the track's layers")]
    UnknownLayer(Layer),
}

struct Publication {
    owner: PeerId,
    kind: Kind,
    layers: Vec<LayerInfo>,
    /// Per layer: what arrived, to find gaps and ask for them.
    upstream: HashMap<Layer, Upstream>,
    last_keyframe_request: HashMap<Layer, Millis>,
    active: HashMap<Layer, bool>,
    /// When the room last asked for a paused layer again.
    resumed: HashMap<Layer, Millis>,
}

/// A layer as it arrives from its publisher.
#[derive(Default)]
struct Upstream {
    unwrap: SeqUnwrapper,
    highest: Option<i64>,
    /// Missing sequence numbers (unwrapped) → (first noticed, asks so far, last asked).
    missing: BTreeMap<i64, (Millis, u32, Option<Millis>)>,
    last_packet: Option<Millis>,
    /// What the layer actually carries, measured over about a second.
    rate: RateMeter,
}

#[derive(Default)]
struct RateMeter {
    since: Option<Millis>,
    bytes: u64,
    bps: Option<u64>,
}

impl RateMeter {
    fn add(&mut self, now: Millis, size: usize) {
        match self.since {
            None => self.since = Some(now),
            Some(t) if now.since(t) >= Duration::from_secs(1) => {
                let ms = u64::try_from(now.since(t).as_millis()).unwrap_or(u64::MAX);
                self.bps = Some(self.bytes.saturating_mul(8000) / ms.max(1));
                self.bytes = 0;
                self.since = Some(now);
            }
            Some(_) => {}
        }
        self.bytes = self.bytes.saturating_add(size as u64);
    }
}

/// One subscriber's copy of one track.
struct Subscription {
    /// The layer being forwarded, once a keyframe started it.
    current: Option<Layer>,
    /// The layer wanted; switched to at its next keyframe.
    target: Option<Layer>,
    shown: (u32, u32),
    /// Output numbering: out = in + offset, continuous across switches.
    seq_offset: u16,
    ts_offset: u32,
    last_out_seq: Option<u16>,
    last_out_ts: Option<u32>,
    /// The layer before the last switch, its offsets, and the first output
    /// number of the new layer: late packets of the old layer that fill a
    /// hole below that number are still forwarded, so no gap is left.
    previous: Option<(Layer, u16, u32, u16)>,
    /// What was sent, for NACKs: (output seq, output timestamp, input seq, layer).
    history: VecDeque<(u16, u32, u16, Layer)>,
}

struct Peer {
    downlink: Downlink,
}

/// A subscriber's downlink as its congestion controller reports it, and
/// the cap layer choice keeps to.
struct Downlink {
    estimate: Option<u64>,
    /// Set when the estimate falls, raised as it rises, lifted after
    /// `hold` without a fall.
    budget: Option<u64>,
    limited_at: Millis,
    hold: Duration,
    /// When the cap was last lifted, until the lift has held.
    lifted_at: Option<Millis>,
}

impl Downlink {
    fn new(hold: Duration) -> Self {
        Self {
            estimate: None,
            budget: None,
            limited_at: Millis::default(),
            hold,
            lifted_at: None,
        }
    }

    /// Takes a new estimate; whether the cap changed.
    fn estimate(&mut self, now: Millis, bps: u64, s: &Settings) -> bool {
        let fell = self.estimate.is_some_and(|prev| bps < prev - prev / 20);
        self.estimate = Some(bps);
        if fell {
            if self
                .lifted_at
                .is_some_and(|t| now.since(t) < s.bandwidth_hold)
            {
                self.hold = (self.hold * 2).min(s.bandwidth_hold_max);
            }
            self.lifted_at = None;
            self.limited_at = now;
            self.budget = Some(bps);
            true
        } else if let Some(b) = self.budget
            && bps > b
        {
            self.budget = Some(bps);
            true
        } else {
            false
        }
    }

    /// Lifts the cap once it has held long enough; whether it was lifted.
    fn tick(&mut self, now: Millis, s: &Settings) -> bool {
        if self
            .lifted_at
            .is_some_and(|t| now.since(t) >= s.bandwidth_hold)
        {
            self.lifted_at = None;
            self.hold = s.bandwidth_hold;
        }
        if self.budget.is_some() && now.since(self.limited_at) >= self.hold {
            self.budget = None;
            self.lifted_at = Some(now);
            return true;
        }
        false
    }
}

/// One visit's media routing.
pub struct Room<P: Clone> {
    settings: Settings,
    cap: usize,
    now: Millis,
    peers: BTreeMap<PeerId, Peer>,
    tracks: BTreeMap<TrackId, Publication>,
    subs: BTreeMap<(PeerId, TrackId), Subscription>,
    /// Retransmission buffers: (track, layer) → packets by input seq.
    buffers: HashMap<(TrackId, Layer), VecDeque<Packet<P>>>,
    levels: HashMap<PeerId, VecDeque<(Millis, u8)>>,
    speaker: Option<PeerId>,
    /// When the active speaker is next worked out.
    speaker_due: Option<Millis>,
    /// When stopped layers are next looked for.
    layers_due: Option<Millis>,
    out: VecDeque<Output<P>>,
}

impl<P: Clone> std::fmt::Debug for Room<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("peers", &self.peers.len())
            .field("tracks", &self.tracks.len())
            .field("subscriptions", &self.subs.len())
            .finish()
    }
}

impl<P: Clone> Room<P> {
    /// A room for at most `cap` participants.
    pub fn new(settings: Settings, cap: usize, now: Millis) -> Self {
        Self {
            settings,
            cap,
            now,
            peers: BTreeMap::new(),
            tracks: BTreeMap::new(),
            subs: BTreeMap::new(),
            buffers: HashMap::new(),
            levels: HashMap::new(),
            speaker: None,
            speaker_due: None,
            layers_due: None,
            out: VecDeque::new(),
        }
    }

    pub fn participants(&self) -> usize {
        self.peers.len()
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output<P>> {
        self.out.pop_front()
    }

    /// When the room next needs [`Input::Tick`], if ever.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        let mut consider = |t: Millis| next = Some(next.map_or(t, |n: Millis| n.min(t)));
        for p in self.tracks.values() {
            for up in p.upstream.values() {
                for (first, tries, last) in up.missing.values() {
                    let at = match last {
                        None => first.plus(self.settings.reorder_wait),
                        Some(l) => l.plus(self.settings.nack_interval),
                    };
                    if *tries < self.settings.nack_tries {
                        consider(at);
                    }
                }
            }
        }
        if let Some(t) = self.speaker_due {
            consider(t);
        }
        if let Some(t) = self.layers_due {
            consider(t);
        }
        next
    }

    /// Applies one input at time `now`. A refused input changes nothing.
    pub fn handle(&mut self, now: Millis, input: Input<P>) -> Result<(), RoomError> {
        self.now = self.now.max(now);
        match input {
            Input::Join { peer } => self.join(peer),
            Input::Leave { peer } => self.leave(peer),
            Input::Publish {
                peer,
                track,
                kind,
                layers,
            } => self.publish(peer, track, kind, layers),
            Input::Show {
                subscriber,
                track,
                width,
                height,
            } => self.show(subscriber, track, width, height),
            Input::Bandwidth { subscriber, bps } => {
                let (now, settings) = (self.now, self.settings);
                let changed = self
                    .peers
                    .get_mut(&subscriber)
                    .ok_or(RoomError::UnknownPeer(subscriber))?
                    .downlink
                    .estimate(now, bps, &settings);
                if changed {
                    self.choose_layers_for(subscriber);
                }
                Ok(())
            }
            Input::Rtp {
                from,
                track,
                layer,
                packet,
            } => self.rtp(from, track, layer, packet),
            Input::Nack {
                subscriber,
                track,
                seqs,
            } => self.nack(subscriber, track, &seqs),
            Input::KeyframeRequest { subscriber, track } => {
                let sub = self
                    .subs
                    .get(&(subscriber, track))
                    .ok_or(RoomError::UnknownTrack(track))?;
                if let Some(layer) = sub.current.or(sub.target) {
                    self.request_keyframe(track, layer);
                }
                Ok(())
            }
            Input::Resync { subscriber, track } => {
                let sub = self
                    .subs
                    .get_mut(&(subscriber, track))
                    .ok_or(RoomError::UnknownTrack(track))?;
                sub.current = None;
                sub.previous = None;
                if let Some(layer) = sub.target {
                    // Not rate-limited: nothing reaches this subscriber
                    // until the keyframe comes, so nothing would ask again.
                    if let Some(p) = self.tracks.get_mut(&track) {
                        p.last_keyframe_request.remove(&layer);
                    }
                    self.request_keyframe(track, layer);
                }
                Ok(())
            }
            Input::Tick => {
                self.tick();
                Ok(())
            }
        }
    }

    fn join(&mut self, peer: PeerId) -> Result<(), RoomError> {
        if self.peers.contains_key(&peer) {
            return Err(RoomError::DuplicatePeer(peer));
        }
        if self.peers.len() >= self.cap {
            return Err(RoomError::Full(self.cap));
        }
        self.peers.insert(
            peer,
            Peer {
                downlink: Downlink::new(self.settings.bandwidth_hold),
            },
        );
        // The newcomer receives every track already published.
        let tracks: Vec<(TrackId, Kind)> = self
            .tracks
            .iter()
            .filter(|(_, p)| p.owner != peer)
            .map(|(t, p)| (*t, p.kind))
            .collect();
        for (track, kind) in tracks {
            self.subscribe(peer, track, kind);
        }
        Ok(())
    }

    fn leave(&mut self, peer: PeerId) -> Result<(), RoomError> {
        self.peers
            .remove(&peer)
            .ok_or(RoomError::UnknownPeer(peer))?;
        let theirs: Vec<TrackId> = self
            .tracks
            .iter()
            .filter(|(_, p)| p.owner == peer)
            .map(|(t, _)| *t)
            .collect();
        for t in &theirs {
            self.tracks.remove(t);
            self.buffers.retain(|(bt, _), _| bt != t);
        }
        self.subs
            .retain(|(s, t), _| *s != peer && !theirs.contains(t));
        self.levels.remove(&peer);
        if self.speaker == Some(peer) {
            self.speaker = None;
            self.out.push_back(Output::ActiveSpeaker { peer: None });
        }
        self.update_active_layers();
        Ok(())
    }

    fn publish(
        &mut self,
        peer: PeerId,
        track: TrackId,
        kind: Kind,
        mut layers: Vec<LayerInfo>,
    ) -> Result<(), RoomError> {
        if !self.peers.contains_key(&peer) {
            return Err(RoomError::UnknownPeer(peer));
        }
        if self.tracks.contains_key(&track) {
            return Err(RoomError::DuplicateTrack(track));
        }
        layers.sort_by_key(|l| l.layer);
        if kind == Kind::Audio {
            layers.clear();
        }
        let active = layers.iter().map(|l| (l.layer, true)).collect();
        self.tracks.insert(
            track,
            Publication {
                owner: peer,
                kind,
                layers,
                upstream: HashMap::new(),
                last_keyframe_request: HashMap::new(),
                resumed: HashMap::new(),
                active,
            },
        );
        let others: Vec<PeerId> = self.peers.keys().copied().filter(|p| *p != peer).collect();
        for p in others {
            self.subscribe(p, track, kind);
        }
        self.update_active_layers();
        Ok(())
    }

    fn subscribe(&mut self, subscriber: PeerId, track: TrackId, kind: Kind) {
        self.subs.insert(
            (subscriber, track),
            Subscription {
                current: None,
                // Audio has one stream; video starts at the lowest layer
                // until the subscriber says how large it shows the video.
                target: Some(Layer(0)),
                shown: if kind == Kind::Audio {
                    (1, 1)
                } else {
                    (320, 180)
                },
                seq_offset: 0,
                ts_offset: 0,
                last_out_seq: None,
                last_out_ts: None,
                previous: None,
                history: VecDeque::new(),
            },
        );
        if kind == Kind::Video {
            self.choose_layer(subscriber, track);
        }
    }

    fn show(
        &mut self,
        subscriber: PeerId,
        track: TrackId,
        width: u32,
        height: u32,
    ) -> Result<(), RoomError> {
        let sub = self
            .subs
            .get_mut(&(subscriber, track))
            .ok_or(RoomError::UnknownTrack(track))?;
        sub.shown = (width, height);
        self.choose_layer(subscriber, track);
        Ok(())
    }

    fn choose_layers_for(&mut self, subscriber: PeerId) {
        let tracks: Vec<TrackId> = self
            .subs
            .keys()
            .filter(|(s, _)| *s == subscriber)
            .map(|(_, t)| *t)
            .collect();
        for t in tracks {
            self.choose_layer(subscriber, t);
        }
    }

    /// The layer for `subscriber`'s copy of `track`: the smallest covering
    /// the shown size, stepped down until the video tracks it receives fit
    /// its bandwidth (shared equally between them).
    fn choose_layer(&mut self, subscriber: PeerId, track: TrackId) {
        let Some(p) = self.tracks.get(&track) else {
            return;
        };
        if p.kind != Kind::Video || p.layers.is_empty() {
            return;
        }
        let Some(sub) = self.subs.get(&(subscriber, track)) else {
            return;
        };
        let (w, h) = sub.shown;
        let target = if w == 0 || h == 0 {
            None
        } else {
            let covering = p
                .layers
                .iter()
                .find(|l| l.width >= w || l.height >= h)
                .or(p.layers.last())
                .map(|l| l.layer);
            let videos = self
                .subs
                .iter()
                .filter(|((s, t), sub)| {
                    *s == subscriber
                        && sub.shown.0 > 0
                        && self.tracks.get(t).is_some_and(|p| p.kind == Kind::Video)
                })
                .count()
                .max(1) as u64;
            let budget = self
                .peers
                .get(&subscriber)
                .and_then(|p| p.downlink.budget)
                .map(|b| b / videos);
            // What a layer carries: measured, else what it was announced at.
            let rate = |l: &LayerInfo| {
                p.upstream
                    .get(&l.layer)
                    .and_then(|u| u.rate.bps)
                    .unwrap_or(l.bitrate)
            };
            let now = self.now;
            let timeout = self.settings.layer_timeout;
            // Flowing, or paused by the room (it resumes when wanted), or
            // just asked for again.
            let recent = |t: Option<&Millis>| t.is_some_and(|t| now.since(*t) < timeout);
            let live = |l: Layer| {
                recent(p.upstream.get(&l).and_then(|u| u.last_packet.as_ref()))
                    || p.active.get(&l) == Some(&false)
                    || recent(p.resumed.get(&l))
            };
            covering.map(|c| {
                let mut chosen = Layer(0);
                for l in p.layers.iter().filter(|l| l.layer <= c) {
                    if budget.is_none_or(|b| rate(l) <= b) {
                        chosen = l.layer;
                    }
                }
                if live(chosen) {
                    return chosen;
                }
                // A stopped layer: the best one below that flows, else the
                // nearest above; if none flows yet, wait for the chosen one.
                let layers = || p.layers.iter().map(|l| l.layer);
                layers()
                    .filter(|l| *l < chosen && live(*l))
                    .max()
                    .or_else(|| layers().filter(|l| *l > chosen && live(*l)).min())
                    .unwrap_or(chosen)
            })
        };
        let changed = {
            let sub = self
                .subs
                .get_mut(&(subscriber, track))
                .expect("checked above");
            let changed = sub.target != target;
            sub.target = target;
            if target.is_none() {
                sub.current = None;
            }
            changed
        };
        if changed && let Some(t) = target {
            let current = self.subs[&(subscriber, track)].current;
            if current != Some(t) {
                self.request_keyframe(track, t);
            }
        }
        self.update_active_layers();
    }

    /// Pauses layers no subscriber wants, and resumes wanted ones.
    fn update_active_layers(&mut self) {
        let mut wanted: HashMap<(TrackId, Layer), bool> = HashMap::new();
        for ((_, t), sub) in &self.subs {
            for l in [sub.target, sub.current].into_iter().flatten() {
                wanted.insert((*t, l), true);
            }
        }
        for (t, p) in self.tracks.iter_mut() {
            if p.kind != Kind::Video {
                continue;
            }
            for info in &p.layers {
                let want = wanted.contains_key(&(*t, info.layer));
                let was = p.active.insert(info.layer, want);
                if want && was == Some(false) {
                    p.resumed.insert(info.layer, self.now);
                }
                if was != Some(want) {
                    self.out.push_back(Output::SetLayerActive {
                        publisher: p.owner,
                        track: *t,
                        layer: info.layer,
                        active: want,
                    });
                }
            }
        }
    }

    fn request_keyframe(&mut self, track: TrackId, layer: Layer) {
        let now = self.now;
        let interval = self.settings.keyframe_interval;
        let Some(p) = self.tracks.get_mut(&track) else {
            return;
        };
        if let Some(last) = p.last_keyframe_request.get(&layer)
            && now.since(*last) < interval
        {
            return;
        }
        p.last_keyframe_request.insert(layer, now);
        self.out.push_back(Output::RequestKeyframe {
            from: p.owner,
            track,
            layer,
        });
    }

    fn rtp(
        &mut self,
        from: PeerId,
        track: TrackId,
        layer: Layer,
        packet: Packet<P>,
    ) -> Result<(), RoomError> {
        let now = self.now;
        let history = self.settings.history;
        let p = self
            .tracks
            .get_mut(&track)
            .ok_or(RoomError::UnknownTrack(track))?;
        if p.owner != from {
            return Err(RoomError::NotOwner(track));
        }
        if p.kind == Kind::Video && !p.layers.iter().any(|l| l.layer == layer) {
            return Err(RoomError::UnknownLayer(layer));
        }
        let kind = p.kind;
        // Upstream bookkeeping for video: gaps become NACKs after
        // `reorder_wait`. (Audio is not retransmitted: Opus conceals loss,
        // and a late audio packet is useless.)
        let up = p.upstream.entry(layer).or_default();
        up.rate.add(now, packet.size);
        let timeout = self.settings.layer_timeout;
        let revived = up.last_packet.is_none_or(|t| now.since(t) >= timeout);
        up.last_packet = Some(now);
        if kind == Kind::Video && self.layers_due.is_none() {
            self.layers_due = Some(now.plus(self.settings.layer_timeout));
        }
        let track_gaps = kind == Kind::Video;
        let n = up.unwrap.unwrap(packet.seq);
        match up.highest {
            Some(h) if n > h => {
                if track_gaps {
                    for missing in (h + 1)..n {
                        up.missing.entry(missing).or_insert((now, 0, None));
                    }
                }
                up.highest = Some(n);
            }
            Some(_) => {
                up.missing.remove(&n);
            }
            None => up.highest = Some(n),
        }
        // Keep it for subscribers' NACKs of packets lost downstream.
        let buf = self.buffers.entry((track, layer)).or_default();
        buf.push_back(packet.clone());
        while buf.len() > history {
            buf.pop_front();
        }
        if kind == Kind::Audio
            && let Some(level) = packet.audio_level
        {
            self.levels.entry(from).or_default().push_back((now, level));
            if self.speaker_due.is_none() {
                self.speaker_due = Some(now.plus(SPEAKER_EVERY));
            }
        }
        // Forward to every subscriber that takes this layer.
        let subscribers: Vec<PeerId> = self
            .subs
            .keys()
            .filter(|(_, t)| *t == track)
            .map(|(s, _)| *s)
            .collect();
        for s in subscribers {
            if revived && kind == Kind::Video {
                // A layer (back) in flow may suit this subscriber better.
                self.choose_layer(s, track);
            }
            self.forward(s, track, layer, kind, &packet);
        }
        Ok(())
    }

    fn forward(
        &mut self,
        to: PeerId,
        track: TrackId,
        layer: Layer,
        kind: Kind,
        packet: &Packet<P>,
    ) {
        let history = self.settings.history;
        let Some(sub) = self.subs.get_mut(&(to, track)) else {
            return;
        };
        if kind == Kind::Video {
            // Switch at a keyframe of the target layer.
            if sub.target == Some(layer) && sub.current != Some(layer) && packet.keyframe {
                let next_seq = sub.last_out_seq.map_or(packet.seq, |s| s.wrapping_add(1));
                let next_ts = sub
                    .last_out_ts
                    .map_or(packet.timestamp, |t| t.wrapping_add(1));
                if let Some(old) = sub.current {
                    sub.previous = Some((old, sub.seq_offset, sub.ts_offset, next_seq));
                }
                sub.seq_offset = next_seq.wrapping_sub(packet.seq);
                sub.ts_offset = next_ts.wrapping_sub(packet.timestamp);
                sub.current = Some(layer);
            }
            if sub.current != Some(layer) {
                // A late packet of the layer switched away from, filling a hole?
                if let Some((old, seq_off, ts_off, switched_at)) = sub.previous
                    && old == layer
                {
                    let seq = packet.seq.wrapping_add(seq_off);
                    if seq_newer(switched_at, seq)
                        && switched_at.wrapping_sub(seq) < 512
                        && !sub.history.iter().any(|(o, ..)| *o == seq)
                    {
                        let timestamp = packet.timestamp.wrapping_add(ts_off);
                        sub.history.push_back((seq, timestamp, packet.seq, layer));
                        self.out.push_back(Output::Forward {
                            to,
                            track,
                            seq,
                            timestamp,
                            marker: packet.marker,
                            payload: packet.payload.clone(),
                        });
                    }
                }
                return;
            }
        } else if sub.current.is_none() {
            sub.current = Some(layer);
        }
        let seq = packet.seq.wrapping_add(sub.seq_offset);
        let timestamp = packet.timestamp.wrapping_add(sub.ts_offset);
        if sub.last_out_seq.is_none_or(|l| seq_newer(seq, l)) {
            sub.last_out_seq = Some(seq);
            sub.last_out_ts = Some(timestamp);
        }
        sub.history.push_back((seq, timestamp, packet.seq, layer));
        while sub.history.len() > history {
            sub.history.pop_front();
        }
        self.out.push_back(Output::Forward {
            to,
            track,
            seq,
            timestamp,
            marker: packet.marker,
            payload: packet.payload.clone(),
        });
    }

    fn nack(&mut self, subscriber: PeerId, track: TrackId, seqs: &[u16]) -> Result<(), RoomError> {
        let sub = self
            .subs
            .get(&(subscriber, track))
            .ok_or(RoomError::UnknownTrack(track))?;
        let mut resend = Vec::new();
        for s in seqs {
            let Some((out_seq, out_ts, in_seq, layer)) =
                sub.history.iter().rev().find(|(o, ..)| o == s).copied()
            else {
                continue;
            };
            if let Some(pkt) = self
                .buffers
                .get(&(track, layer))
                .and_then(|b| b.iter().rev().find(|p| p.seq == in_seq))
            {
                resend.push(Output::Forward {
                    to: subscriber,
                    track,
                    seq: out_seq,
                    timestamp: out_ts,
                    marker: pkt.marker,
                    payload: pkt.payload.clone(),
                });
            }
        }
        self.out.extend(resend);
        Ok(())
    }

    fn tick(&mut self) {
        let now = self.now;
        let s = self.settings;
        // Subscribers of layers that stopped move to one that flows.
        if self.layers_due.is_some_and(|t| t <= now) {
            let any_video = self.tracks.values().any(|p| p.kind == Kind::Video);
            self.layers_due = any_video.then(|| now.plus(s.layer_timeout / 2));
            // Bandwidth caps that have held long enough are lifted (the
            // layer choice below then tries the wanted layers again).
            for p in self.peers.values_mut() {
                p.downlink.tick(now, &s);
            }
            let subs: Vec<(PeerId, TrackId)> = self.subs.keys().copied().collect();
            for (sub, track) in subs {
                self.choose_layer(sub, track);
                // Still waiting for the keyframe of a switch? A request
                // may have been lost: ask again (rate-limited).
                if let Some(s) = self.subs.get(&(sub, track))
                    && let Some(target) = s.target
                    && s.current != Some(target)
                    && self
                        .tracks
                        .get(&track)
                        .is_some_and(|p| p.kind == Kind::Video)
                {
                    self.request_keyframe(track, target);
                }
            }
        }
        // Upstream NACKs for gaps that outlived reordering.
        for (track, p) in self.tracks.iter_mut() {
            for (layer, up) in p.upstream.iter_mut() {
                let mut ask = Vec::new();
                up.missing.retain(|n, (first, tries, last)| {
                    let due = match last {
                        None => now.since(*first) >= s.reorder_wait,
                        Some(l) => now.since(*l) >= s.nack_interval,
                    };
                    if due && *tries < s.nack_tries {
                        *tries += 1;
                        *last = Some(now);
                        ask.push(*n as u16);
                    }
                    *tries < s.nack_tries || !due
                });
                if !ask.is_empty() {
                    self.out.push_back(Output::NackUpstream {
                        from: p.owner,
                        track: *track,
                        layer: *layer,
                        seqs: ask,
                    });
                }
            }
        }
        // The active speaker: the loudest over the window, by the level its
        // loudest tenth of packets reaches. Speech comes in bursts between
        // quieter frames, which an average would drown; a click or two
        // (fewer than a tenth of a window's packets, or than three) does not
        // count.
        if self.speaker_due.is_none_or(|t| t > now) {
            return;
        }
        self.speaker_due = if self.levels.values().any(|l| !l.is_empty()) {
            Some(now.plus(SPEAKER_EVERY))
        } else {
            None
        };
        let mut best: Option<(PeerId, u32)> = None;
        for (peer, levels) in self.levels.iter_mut() {
            while levels
                .front()
                .is_some_and(|(t, _)| now.since(*t) > s.speaker_window)
            {
                levels.pop_front();
            }
            if levels.is_empty() {
                continue;
            }
            let mut sorted: Vec<u8> = levels.iter().map(|(_, l)| *l).collect();
            sorted.sort_unstable();
            // At least three loud packets, however short the window so far.
            let Some(&loud) = sorted.get((sorted.len() / 10).max(2)) else {
                continue;
            };
            let loud = u32::from(loud);
            if loud <= u32::from(s.speaker_threshold) && best.is_none_or(|(_, b)| loud < b) {
                best = Some((*peer, loud));
            }
        }
        let speaker = best.map(|(p, _)| p);
        if speaker.is_some() && speaker != self.speaker {
            self.speaker = speaker;
            self.out.push_back(Output::ActiveSpeaker { peer: speaker });
        }
    }
}
