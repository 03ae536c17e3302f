//! The room itself: its state, and the entry points the driver calls
//! ([`Room::handle`], [`Room::poll_output`], [`Room::poll_timeout`]). Each
//! concern of handling an input lives in a submodule of its own, as more
//! `impl Room` blocks over the state defined here.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::{
    Input, Kind, Layer, LayerInfo, Millis, Output, Packet, PeerId, RoomError, Settings, TrackId,
};

mod bandwidth;
mod forward;
mod layers;
mod membership;
mod recovery;
mod speaker;
mod upstream;

use bandwidth::Downlink;
use upstream::Upstream;

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
            Input::Bandwidth { subscriber, bps } => self.bandwidth(subscriber, bps),
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
                self.keyframe_request(subscriber, track)
            }
            Input::Resync { subscriber, track } => self.resync(subscriber, track),
            Input::Tick => {
                self.tick();
                Ok(())
            }
        }
    }

    /// Time passed. In this order: subscribers of stopped layers move (and
    /// bandwidth caps that held are lifted), upstream gaps are NACKed, and
    /// the active speaker is worked out.
    fn tick(&mut self) {
        self.check_layers();
        self.nack_upstream();
        self.find_speaker();
    }
}
