//! Which simulcast layer each subscriber gets: the smallest that covers
//! the size it shows the video at, within its bandwidth, never one that
//! stopped; and which layers the publisher can pause because nobody
//! watches them.

use std::collections::HashMap;

use super::Room;
use crate::{Kind, Layer, LayerInfo, Millis, Output, PeerId, RoomError, TrackId};

impl<P: Clone> Room<P> {
    pub(super) fn show(
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

    pub(super) fn choose_layers_for(&mut self, subscriber: PeerId) {
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
    pub(super) fn choose_layer(&mut self, subscriber: PeerId, track: TrackId) {
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
    pub(super) fn update_active_layers(&mut self) {
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

    /// Subscribers of layers that stopped move to one that flows, once
    /// every half `layer_timeout` while there is video.
    pub(super) fn check_layers(&mut self) {
        let now = self.now;
        let s = self.settings;
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
    }
}
