//! Each subscriber's downlink: the cap its bandwidth estimate puts on the
//! layers it is sent, and when that cap is lifted again to probe.

use std::time::Duration;

use super::Room;
use crate::{Millis, PeerId, RoomError, Settings};

/// A subscriber's downlink as its congestion controller reports it, and
/// the cap layer choice keeps to.
pub(super) struct Downlink {
    estimate: Option<u64>,
    /// Set when the estimate falls, raised as it rises, lifted after
    /// `hold` without a fall.
    pub(super) budget: Option<u64>,
    limited_at: Millis,
    hold: Duration,
    /// When the cap was last lifted, until the lift has held.
    lifted_at: Option<Millis>,
}

impl Downlink {
    pub(super) fn new(hold: Duration) -> Self {
        Self {
            estimate: None,
            budget: None,
            limited_at: Millis::default(),
            hold,
            lifted_at: None,
        }
    }

    /// Takes a new estimate; whether the cap changed.
    pub(super) fn estimate(&mut self, now: Millis, bps: u64, s: &Settings) -> bool {
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
    pub(super) fn tick(&mut self, now: Millis, s: &Settings) -> bool {
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

impl<P: Clone> Room<P> {
    /// The subscriber's new downlink estimate; its layers are chosen again
    /// if the cap changed.
    pub(super) fn bandwidth(&mut self, subscriber: PeerId, bps: u64) -> Result<(), RoomError> {
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
}
