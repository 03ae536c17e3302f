//! The active speaker: the loudest publisher by the audio levels (RFC
//! 6464) its packets carry, worked out every `SPEAKER_EVERY`.

use std::time::Duration;

use super::Room;
use crate::{Output, PeerId};

/// How often the active speaker is worked out.
const SPEAKER_EVERY: Duration = Duration::from_millis(100);

impl<P: Clone> Room<P> {
    /// Notes a publisher's audio level (RFC 6464, -dBov).
    pub(super) fn record_level(&mut self, from: PeerId, level: u8) {
        let now = self.now;
        self.levels.entry(from).or_default().push_back((now, level));
        if self.speaker_due.is_none() {
            self.speaker_due = Some(now.plus(SPEAKER_EVERY));
        }
    }

    /// The active speaker: the loudest over the window, by the level its
    /// loudest tenth of packets reaches. Speech comes in bursts between
    /// quieter frames, which an average would drown; a click or two
    /// (fewer than a tenth of a window's packets, or than three) does not
    /// count.
    pub(super) fn find_speaker(&mut self) {
        let now = self.now;
        let s = self.settings;
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
