//! The media task's counters ([`HubStats`]) and its delay histogram.

use std::time::Duration;

/// Counters for tests, metrics and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStats {
    pub rooms: usize,
    pub peers: usize,
    pub datagrams_in: u64,
    pub datagrams_out: u64,
    /// RTP packets forwarded to subscribers.
    pub forwarded: u64,
    /// Peers dropped because their handling panicked.
    pub peers_dropped: u64,
    /// From a datagram's arrival to the sending of what it caused.
    pub delay: DelayHistogram,
}

/// Delays in microseconds, one bucket per microsecond up to 10 ms.
#[derive(Clone, PartialEq, Eq)]
pub struct DelayHistogram {
    buckets: Vec<u64>,
    over: u64,
}

const DELAY_BUCKETS: usize = 10_000;

impl Default for DelayHistogram {
    fn default() -> Self {
        Self {
            buckets: vec![0; DELAY_BUCKETS],
            over: 0,
        }
    }
}

impl std::fmt::Debug for DelayHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayHistogram")
            .field("count", &self.count())
            .field("p50", &self.percentile(0.5))
            .field("p99", &self.percentile(0.99))
            .finish()
    }
}

impl DelayHistogram {
    pub fn record(&mut self, d: Duration, times: u64) {
        match self
            .buckets
            .get_mut(usize::try_from(d.as_micros()).unwrap_or(usize::MAX))
        {
            Some(b) => *b += times,
            None => self.over += times,
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().sum::<u64>() + self.over
    }

    /// The delay at or below which `p` (0–1) of the samples fall; `None`
    /// if there are none or it lies beyond 10 ms.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let want = ((n as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Some(Duration::from_micros(us as u64));
            }
        }
        None
    }

    /// What was recorded since `earlier` (a copy taken before).
    pub fn subtract(&mut self, earlier: &DelayHistogram) {
        for (b, e) in self.buckets.iter_mut().zip(&earlier.buckets) {
            *b = b.saturating_sub(*e);
        }
        self.over = self.over.saturating_sub(earlier.over);
    }
}
