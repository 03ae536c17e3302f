//! Who is in the room and what they publish: joining, leaving and
//! publishing, and the subscriptions each of those opens or closes.

use std::collections::{HashMap, VecDeque};

use super::{Downlink, Peer, Publication, Room, Subscription};
use crate::{Kind, Layer, LayerInfo, Output, PeerId, RoomError, TrackId};

impl<P: Clone> Room<P> {
    pub(super) fn join(&mut self, peer: PeerId) -> Result<(), RoomError> {
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

    pub(super) fn leave(&mut self, peer: PeerId) -> Result<(), RoomError> {
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

    pub(super) fn publish(
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
}
