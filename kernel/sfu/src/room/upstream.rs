//! What arrives from publishers: each packet's bookkeeping per layer
//! (gaps to NACK, when the layer last flowed, the rate it carries), then
//! on to every subscriber.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Room;
use crate::seq::SeqUnwrapper;
use crate::{Kind, Layer, Millis, Packet, PeerId, RoomError, TrackId};

/// A layer as it arrives from its publisher.
#[derive(Default)]
pub(super) struct Upstream {
    pub(super) unwrap: SeqUnwrapper,
    pub(super) highest: Option<i64>,
    /// Missing sequence numbers (unwrapped) → (first noticed, asks so far, last asked).
    pub(super) missing: BTreeMap<i64, (Millis, u32, Option<Millis>)>,
    pub(super) last_packet: Option<Millis>,
    /// What the layer actually carries, measured over about a second.
    pub(super) rate: RateMeter,
}

#[derive(Default)]
pub(super) struct RateMeter {
    since: Option<Millis>,
    bytes: u64,
    pub(super) bps: Option<u64>,
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

impl<P: Clone> Room<P> {
    pub(super) fn rtp(
        &mut self,
        from: PeerId,
        track: TrackId,
        layer: Layer,
        packet: Packet<P>,
    ) -> Result<(), RoomError> {
        let now = self.now;
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
        self.keep_for_nacks(track, layer, &packet);
        if kind == Kind::Audio
            && let Some(level) = packet.audio_level
        {
            self.record_level(from, level);
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
}
