//! Pacing's state: what remains of a host's quota and when it resets, as the host's last
//! responses said, less what the session has sent since.
//!
//! Each attempt sent spends one unit at once ([`HostQuota::reserve`]): calls racing for the
//! last unit see it spent before any of their responses arrive, so they do not overshoot it.
//! A response then states the truth again, less the attempts still in flight (which it may or
//! may not count: the lower estimate is kept until the window resets). Once the reset instant
//! passes, nothing is known of the new window until the next response, and calls go.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::hints::quota::Quota;

/// The furthest reset that pacing believes: a reset or window further ahead is ignored as not
/// plausible (an epoch read as delta seconds, a value years ahead), rather than holding the
/// host's calls for that long.
pub(crate) const MAX_RESET: Duration = Duration::from_secs(24 * 60 * 60);

/// The quota of one origin, shared by the session's calls to it.
pub(crate) struct HostQuota {
    origin: Box<str>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// What remains of the window, less the attempts sent since the last response; `None`
    /// when unknown (calls go). Known only with `reset`.
    remaining: Option<u64>,
    /// When the window resets.
    reset: Option<Instant>,
    /// Attempts sent and not answered yet.
    in_flight: u64,
    /// With `spread`: the earliest instant the next attempt may be sent.
    next_slot: Option<Instant>,
    /// Whether the host ever stated a quota: only then does a fleet share it.
    told: bool,
    /// Whether the host ever answered: until then, a fleet counts the attempts sent.
    answered: bool,
    /// Units of the fleet's quota claimed and not spent yet, good until `lease_until`.
    lease: u64,
    lease_until: Option<Instant>,
}

/// Where an attempt's unit of a fleet's quota comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FleetUnit {
    /// The session's lease of it.
    Leased,
    /// The fleet, claimed now: the lease is spent, or the host has not answered this session
    /// yet.
    Claim,
    /// None needed: the host answered without ever stating a quota.
    Quiet,
}

/// Whether a response made the host's quota run out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Observed {
    /// Nothing remains until this instant (and something did before).
    RanOut(Instant),
    /// The host's first answer to the session, and it states no quota.
    Quiet,
    /// Anything else.
    Noted,
}

impl HostQuota {
    pub(crate) fn new(origin: &str) -> Self {
        HostQuota {
            origin: origin.into(),
            state: Mutex::new(State {
                remaining: None,
                reset: None,
                in_flight: 0,
                next_slot: None,
                told: false,
                answered: false,
                lease: 0,
                lease_until: None,
            }),
        }
    }

    /// The origin's key.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut state)
    }

    /// Spends one unit for an attempt sent now, or says until when the attempt must wait
    /// (nothing spent): the reset, when nothing remains; with `spread`, its slot.
    pub(crate) fn reserve(&self, spread: bool, now: Instant) -> Result<(), Instant> {
        self.with(|s| {
            s.expire(now);
            if let (Some(remaining), Some(reset)) = (s.remaining, s.reset) {
                if remaining == 0 {
                    return Err(reset);
                }
                if spread {
                    let slot = s.next_slot.map_or(now, |slot| slot.max(now));
                    if slot > now {
                        return Err(slot);
                    }
                    // What remains, spread evenly over the time left.
                    let gap = reset.saturating_duration_since(now)
                        / remaining.min(u32::MAX.into()) as u32;
                    s.next_slot = Some(slot + gap);
                }
                s.remaining = Some(remaining - 1);
            }
            s.in_flight += 1;
            Ok(())
        })
    }

    /// Until when an attempt sent at `at` would be held because nothing remains, if it would.
    pub(crate) fn held_at(&self, at: Instant) -> Option<Instant> {
        self.with(|s| match (s.remaining, s.reset) {
            (Some(0), Some(reset)) if reset > at => Some(reset),
            _ => None,
        })
    }

    /// An attempt answered, with the quota its response states (if any), at `now`.
    #[cfg(test)]
    pub(crate) fn observe(&self, quota: Option<Quota>, now: Instant) -> Observed {
        self.ended(true, quota, now)
    }

    /// An attempt ended, answered (`true`: a response) or not, with the quota its response
    /// states (if any), at `now`.
    pub(crate) fn ended(&self, answered: bool, quota: Option<Quota>, now: Instant) -> Observed {
        self.with(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            let first = answered && !s.answered;
            s.answered |= answered;
            s.expire(now);
            let Some(quota) = quota else {
                return if first {
                    Observed::Quiet
                } else {
                    Observed::Noted
                };
            };
            s.told = true;
            let before = s.remaining;
            let Some(left) = quota
                .reset
                .or(quota.window.filter(|_| quota.remaining == 0))
                .filter(|left| *left <= MAX_RESET)
            else {
                return Observed::Noted;
            };
            if left.is_zero() {
                // The window resets now: the next response will tell of the new one.
                s.forget();
                return Observed::Noted;
            }
            let reset = now + left;
            // The attempts still in flight may not be counted in this response yet.
            let remaining = quota.remaining.saturating_sub(s.in_flight);
            match (s.remaining, s.reset) {
                // The same window: the lower estimate, the later reset.
                (Some(known), Some(until)) => {
                    s.remaining = Some(known.min(remaining));
                    s.reset = Some(until.max(reset));
                }
                _ => {
                    s.remaining = Some(remaining);
                    s.reset = Some(reset);
                    s.next_slot = None;
                }
            }
            match (before, s.remaining, s.reset) {
                (before, Some(0), Some(reset)) if before != Some(0) => Observed::RanOut(reset),
                _ => Observed::Noted,
            }
        })
    }

    /// With a fleet: where an attempt's unit of the fleet's quota comes from. Takes a leased
    /// unit if one is left.
    pub(crate) fn fleet_unit(&self, now: Instant) -> FleetUnit {
        self.with(|s| match s.lease_until {
            // Before the host's first answer, the fleet may know its quota already (spent, even,
            // by the workers that came first): asked once per session and host.
            _ if !s.answered => FleetUnit::Claim,
            _ if !s.told => FleetUnit::Quiet,
            Some(until) if until > now && s.lease > 0 => {
                s.lease -= 1;
                FleetUnit::Leased
            }
            _ => FleetUnit::Claim,
        })
    }

    /// Keeps `units` of the fleet's quota, claimed for this session's next attempts, until
    /// `until` (the window's reset).
    pub(crate) fn lease(&self, units: u64, until: Instant) {
        self.with(|s| {
            s.lease = units;
            s.lease_until = Some(until);
        });
    }

    /// An attempt that ended without a response (or whose call was dropped): its unit stays
    /// spent, since the request may have reached the host.
    pub(crate) fn release(&self) {
        self.with(|s| s.in_flight = s.in_flight.saturating_sub(1));
    }
}

impl State {
    /// Forgets a window whose reset has passed.
    fn expire(&mut self, now: Instant) {
        if self.reset.is_some_and(|reset| now >= reset) {
            self.forget();
        }
    }

    fn forget(&mut self) {
        self.remaining = None;
        self.reset = None;
        self.next_slot = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(remaining: u64, reset_secs: u64) -> Option<Quota> {
        Some(Quota {
            remaining,
            reset: Some(Duration::from_secs(reset_secs)),
            limit: None,
            window: None,
        })
    }

    #[test]
    fn unknown_quota_lets_calls_go() {
        let host = HostQuota::new("http://h");
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(host.reserve(false, now), Ok(()));
        }
        assert_eq!(host.held_at(now), None);
    }

    #[test]
    fn nothing_remains_holds_until_the_reset() {
        let host = HostQuota::new("http://h");
        let now = Instant::now();
        host.reserve(false, now).unwrap();
        let reset = now + Duration::from_secs(5);
        assert_eq!(host.observe(said(0, 5), now), Observed::RanOut(reset));
        assert_eq!(host.reserve(false, now), Err(reset));
        assert_eq!(host.held_at(now), Some(reset));
        assert_eq!(host.reserve(false, reset), Ok(()), "the window reset");
    }

    #[test]
    fn racing_calls_spend_the_last_units_locally() {
        let host = HostQuota::new("http://h");
        let now = Instant::now();
        host.reserve(false, now).unwrap();
        host.observe(said(2, 5), now);
        // Four calls race: two units remain.
        let sent = (0..4).filter(|_| host.reserve(false, now).is_ok()).count();
        assert_eq!(sent, 2);
        // A response that does not count the other call in flight yet: still one in flight.
        host.observe(said(1, 5), now);
        assert!(
            host.reserve(false, now).is_err(),
            "the lower estimate is kept"
        );
    }

    #[test]
    fn a_dropped_attempt_keeps_its_unit_spent() {
        let host = HostQuota::new("http://h");
        let now = Instant::now();
        host.reserve(false, now).unwrap();
        host.observe(said(1, 5), now);
        host.reserve(false, now).unwrap();
        host.release();
        assert!(host.reserve(false, now).is_err());
    }

    #[test]
    fn spread_spaces_calls_over_the_window() {
        let host = HostQuota::new("http://h");
        let now = Instant::now();
        host.reserve(true, now).unwrap();
        host.observe(said(10, 5), now);
        assert_eq!(host.reserve(true, now), Ok(()));
        let next = now + Duration::from_millis(500);
        assert_eq!(host.reserve(true, now), Err(next));
        assert_eq!(host.reserve(true, next), Ok(()));
    }

    #[test]
    fn a_fleet_is_asked_for_a_unit_before_the_first_answer_and_past_the_lease_of_a_host_that_states_a_quota(
    ) {
        let host = HostQuota::new("http://h");
        let now = Instant::now();
        assert_eq!(host.fleet_unit(now), FleetUnit::Claim, "never answered");
        host.reserve(false, now).unwrap();
        assert_eq!(host.ended(false, None, now), Observed::Noted, "no answer");
        assert_eq!(
            host.fleet_unit(now),
            FleetUnit::Claim,
            "still never answered"
        );
        host.reserve(false, now).unwrap();
        assert_eq!(host.observe(None, now), Observed::Quiet, "the first answer");
        assert_eq!(host.fleet_unit(now), FleetUnit::Quiet, "answered, no quota");
        host.reserve(false, now).unwrap();
        host.observe(said(50, 5), now);
        assert_eq!(host.fleet_unit(now), FleetUnit::Claim);
        host.lease(2, now + Duration::from_secs(5));
        assert_eq!(host.fleet_unit(now), FleetUnit::Leased);
        assert_eq!(host.fleet_unit(now), FleetUnit::Leased);
        assert_eq!(host.fleet_unit(now), FleetUnit::Claim, "the lease is spent");
        host.lease(5, now + Duration::from_secs(5));
        assert_eq!(
            host.fleet_unit(now + Duration::from_secs(5)),
            FleetUnit::Claim,
            "the lease ended with its window"
        );
    }

    #[test]
    fn implausible_or_zero_resets_are_ignored() {
        let host = HostQuota::new("http://h");
        let now = Instant::now();
        host.reserve(false, now).unwrap();
        host.observe(said(0, 10 * 365 * 24 * 3600), now);
        assert_eq!(host.reserve(false, now), Ok(()), "years ahead");
        host.observe(said(0, 0), now);
        assert_eq!(host.reserve(false, now), Ok(()), "resets now");
        let no_reset = Quota {
            remaining: 0,
            reset: None,
            limit: Some(5),
            window: None,
        };
        host.observe(Some(no_reset), now);
        assert_eq!(
            host.reserve(false, now),
            Ok(()),
            "no reset: nothing to wait for"
        );
    }
}
