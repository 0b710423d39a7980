//! The latencies of a host's recent answers, from which an adaptive hedging delay is taken
//! ([`Hedging::quantile`](crate::Hedging::quantile)).
//!
//! A ring of the last [`SAMPLES`] attempts of hedged calls to the host: the time from sending
//! to the response's head, or, for an attempt cancelled because another answered first, the
//! time it had run (it would have taken at least that: leaving it out would pull the delay down
//! to the copies' answers, and so send ever more copies).

use std::sync::Mutex;
use std::time::Duration;

/// How many recent latencies are kept per host.
pub(crate) const SAMPLES: usize = 128;
/// How many are needed before their quantile is trusted.
pub(crate) const MIN_SAMPLES: usize = 20;

pub(crate) struct Latencies {
    ring: Mutex<Ring>,
}

struct Ring {
    /// Microseconds, saturated at `u32::MAX` (71 minutes, beyond any delay).
    samples: [u32; SAMPLES],
    len: usize,
    next: usize,
}

impl Latencies {
    pub(crate) fn new() -> Self {
        Latencies {
            ring: Mutex::new(Ring {
                samples: [0; SAMPLES],
                len: 0,
                next: 0,
            }),
        }
    }

    pub(crate) fn record(&self, took: Duration) {
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let next = ring.next;
        ring.samples[next] = micros;
        ring.next = (next + 1) % SAMPLES;
        ring.len = (ring.len + 1).min(SAMPLES);
    }

    /// The `quantile` (in `0..1`) of the recent latencies; `None` while fewer than
    /// [`MIN_SAMPLES`] are known.
    pub(crate) fn quantile(&self, quantile: f64) -> Option<Duration> {
        let (mut samples, len) = {
            let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
            (ring.samples, ring.len)
        };
        if len < MIN_SAMPLES {
            return None;
        }
        let samples = &mut samples[..len];
        // The nearest rank: the smallest sample at or above `quantile` of them.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((quantile * len as f64).ceil() as usize).clamp(1, len) - 1;
        let (_, &mut micros, _) = samples.select_nth_unstable(rank);
        Some(Duration::from_micros(u64::from(micros)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quantile_of_the_recent_samples() {
        let latencies = Latencies::new();
        for ms in 1..MIN_SAMPLES as u64 {
            latencies.record(Duration::from_millis(ms));
        }
        assert_eq!(latencies.quantile(0.5), None, "too few yet");
        latencies.record(Duration::from_millis(20));
        assert_eq!(latencies.quantile(0.95), Some(Duration::from_millis(19)));
        assert_eq!(latencies.quantile(0.5), Some(Duration::from_millis(10)));
        assert_eq!(latencies.quantile(0.999), Some(Duration::from_millis(20)));
        // The oldest are forgotten.
        for _ in 0..SAMPLES {
            latencies.record(Duration::from_millis(7));
        }
        assert_eq!(latencies.quantile(0.99), Some(Duration::from_millis(7)));
        latencies.record(Duration::from_secs(100_000));
        assert_eq!(
            latencies.quantile(0.999),
            Some(Duration::from_micros(u64::from(u32::MAX)))
        );
    }
}
