//! Adaptive throttling of one host (its settings are [`Throttling`]): Google SRE's client-side
//! throttling, `max(0, (requests − k · accepts) / (requests + 1))` over a window.
//!
//! [`Throttle`] is the pure state: every method takes the time and the dice, so that tests
//! drive it without sleeping or chance. [`HostThrottle`] puts it behind a lock for the calls
//! of a session.

use std::sync::Mutex;

use tokio::time::Instant;

use super::window::{Counts, Window};
use crate::Throttling;

/// Whether a host is being throttled, for the events: told when it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shedding {
    /// Requests to the host are now refused with some probability.
    Started,
    /// The host accepts again: no request is refused.
    Stopped,
}

/// The throttle of one host: requests (`all`) and accepts (`marked`) over the window.
#[derive(Clone, Debug)]
pub(crate) struct Throttle {
    window: Window,
    shedding: bool,
}

impl Throttle {
    pub(crate) fn new(now: Instant) -> Self {
        Throttle {
            window: Window::new(now),
            shedding: false,
        }
    }

    /// The chance that a request made at `now` is refused.
    pub(crate) fn rejection(&mut self, settings: &Throttling, now: Instant) -> f64 {
        let Counts {
            all: requests,
            marked: accepts,
        } = self.window.counts(settings.window, now);
        let requests = f64::from(requests);
        ((requests - settings.k * f64::from(accepts)) / (requests + 1.0)).max(0.0)
    }

    /// Decides a request at `now`, with `dice` a number in `0.0..1.0` drawn only if the host is
    /// being throttled; counts it as a request either way. `Ok` if it may be sent.
    pub(crate) fn admit(
        &mut self,
        settings: &Throttling,
        now: Instant,
        dice: impl FnOnce() -> f64,
    ) -> (bool, Option<Shedding>) {
        let rejection = self.rejection(settings, now);
        let admitted = rejection == 0.0 || dice() >= rejection;
        let request = Counts { all: 1, marked: 0 };
        self.window.add(settings.window, now, request);
        (admitted, self.turn(rejection > 0.0))
    }

    /// Counts an accept: a sent request the host did not refuse.
    pub(crate) fn accepted(&mut self, settings: &Throttling, now: Instant) -> Option<Shedding> {
        let accept = Counts { all: 0, marked: 1 };
        self.window.add(settings.window, now, accept);
        let rejection = self.rejection(settings, now);
        self.turn(rejection > 0.0)
    }

    fn turn(&mut self, shedding: bool) -> Option<Shedding> {
        if shedding == self.shedding {
            return None;
        }
        self.shedding = shedding;
        Some(if shedding {
            Shedding::Started
        } else {
            Shedding::Stopped
        })
    }
}

/// A host's throttle, shared by the calls of a session.
pub(crate) struct HostThrottle {
    /// The origin, for the error and the events.
    origin: Box<str>,
    throttle: Mutex<Throttle>,
}

impl HostThrottle {
    pub(crate) fn new(origin: &str, now: Instant) -> Self {
        HostThrottle {
            origin: origin.into(),
            throttle: Mutex::new(Throttle::new(now)),
        }
    }

    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// Runs `f` on the throttle, under its lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Throttle) -> R) -> R {
        let mut throttle = self
            .throttle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut throttle)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    fn settings(k: f64) -> Throttling {
        Throttling {
            k,
            window: Duration::from_secs(10),
            ..Throttling::default()
        }
    }

    #[test]
    fn a_host_that_accepts_is_never_throttled() {
        let s = settings(1.0);
        let now = Instant::now();
        let mut t = Throttle::new(now);
        for _ in 0..1000 {
            let (admitted, change) = t.admit(&s, now, || unreachable!("no dice while healthy"));
            assert!(admitted && change.is_none());
            assert_eq!(t.accepted(&s, now), None);
        }
    }

    #[test]
    fn the_rejection_is_the_sre_formula() {
        let s = settings(2.0);
        let now = Instant::now();
        let mut t = Throttle::new(now);
        // 10 requests, 3 accepted: (10 - 2 * 3) / 11.
        for i in 0..10 {
            t.admit(&s, now, || 0.99);
            if i < 3 {
                t.accepted(&s, now);
            }
        }
        assert!((t.rejection(&s, now) - 4.0 / 11.0).abs() < 1e-12);
        // The window forgets: after it, nothing is refused.
        assert_eq!(t.rejection(&s, now + Duration::from_secs(10)), 0.0);
    }

    #[test]
    fn shedding_is_told_when_it_starts_and_stops() {
        let s = settings(2.0);
        let now = Instant::now();
        let mut t = Throttle::new(now);
        let mut changes = Vec::new();
        for _ in 0..5 {
            changes.extend(t.admit(&s, now, || 0.99).1);
        }
        for _ in 0..3 {
            changes.extend(t.accepted(&s, now));
        }
        changes.extend(t.admit(&s, now, || 0.99).1);
        assert_eq!(changes, [Shedding::Started, Shedding::Stopped]);
    }

    proptest! {
        /// Against a host that refuses everything, the share of requests sent converges to
        /// what `k` allows: with no accept at all, at most about `1 / (requests + 1)` each.
        #[test]
        fn a_dead_host_gets_a_trickle(seed in any::<u64>(), requests in 50usize..500) {
            let s = settings(2.0);
            let now = Instant::now();
            let mut t = Throttle::new(now);
            let mut rng = fastrand::Rng::with_seed(seed);
            let sent = (0..requests).filter(|_| t.admit(&s, now, || rng.f64()).0).count();
            // The expected number sent is the harmonic sum, about ln(requests) + 1.
            let bound = (requests as f64).ln() * 4.0 + 8.0;
            prop_assert!((sent as f64) <= bound, "{sent} of {requests} sent");
            prop_assert!(sent >= 1, "the first request always goes");
        }

        /// The rejection is always a probability, and 0 while `requests <= k * accepts`.
        #[test]
        fn the_rejection_is_a_probability(
            k in 1.0f64..=100.0,
            events in proptest::collection::vec(any::<bool>(), 0..300),
        ) {
            let s = settings(k);
            let now = Instant::now();
            let mut t = Throttle::new(now);
            let (mut requests, mut accepts) = (0u32, 0u32);
            for accept in events {
                if accept && accepts < requests {
                    t.accepted(&s, now);
                    accepts += 1;
                } else {
                    t.admit(&s, now, || 0.5);
                    requests += 1;
                }
                let p = t.rejection(&s, now);
                prop_assert!((0.0..1.0).contains(&p), "{p}");
                if f64::from(requests) <= k * f64::from(accepts) {
                    prop_assert_eq!(p, 0.0);
                }
            }
        }
    }
}
