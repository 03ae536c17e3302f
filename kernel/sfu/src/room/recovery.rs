//! Recovering what was lost: keyframe requests to publishers
//! (rate-limited per layer), retransmissions from the room's buffers for
//! subscribers' NACKs, and NACKs upstream for gaps in what publishers send.

use super::Room;
use crate::{Layer, Output, Packet, PeerId, RoomError, TrackId};

impl<P: Clone> Room<P> {
    /// Asks `track`'s publisher for a keyframe in `layer`, at most once per
    /// `keyframe_interval`.
    pub(super) fn request_keyframe(&mut self, track: TrackId, layer: Layer) {
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

    /// The subscriber's decoder needs a keyframe (PLI/FIR): ask the
    /// publisher for one in the layer it gets (rate-limited).
    pub(super) fn keyframe_request(
        &mut self,
        subscriber: PeerId,
        track: TrackId,
    ) -> Result<(), RoomError> {
        let sub = self
            .subs
            .get(&(subscriber, track))
            .ok_or(RoomError::UnknownTrack(track))?;
        if let Some(layer) = sub.current.or(sub.target) {
            self.request_keyframe(track, layer);
        }
        Ok(())
    }

    /// The subscriber (re)connected: forwarding starts again at the next
    /// keyframe.
    pub(super) fn resync(&mut self, subscriber: PeerId, track: TrackId) -> Result<(), RoomError> {
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

    /// Keeps a publisher's packet for subscribers' NACKs of packets lost
    /// downstream.
    pub(super) fn keep_for_nacks(&mut self, track: TrackId, layer: Layer, packet: &Packet<P>) {
        let history = self.settings.history;
        let buf = self.buffers.entry((track, layer)).or_default();
        buf.push_back(packet.clone());
        while buf.len() > history {
            buf.pop_front();
        }
    }

    /// Resends, with the numbers it was sent under, what the subscriber
    /// lost and the room still keeps.
    pub(super) fn nack(
        &mut self,
        subscriber: PeerId,
        track: TrackId,
        seqs: &[u16],
    ) -> Result<(), RoomError> {
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

    /// Upstream NACKs for gaps that outlived reordering.
    pub(super) fn nack_upstream(&mut self) {
        let now = self.now;
        let s = self.settings;
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
    }
}
