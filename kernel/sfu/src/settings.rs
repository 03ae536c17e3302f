//! The room's tunables and their defaults for a video visit.

use std::time::Duration;

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
