//! Forwarding to one subscriber: the switch to a new layer at its
//! keyframe, and the rewriting of sequence numbers and timestamps so the
//! subscriber sees one continuous stream across switches.

use super::Room;
use crate::seq::seq_newer;
use crate::{Kind, Layer, Output, Packet, PeerId, TrackId};

impl<P: Clone> Room<P> {
    pub(super) fn forward(
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
}
