//! The circuit breaker of one host (its settings are [`CircuitBreaker`]): closed → open →
//! half-open → closed or open again.
//!
//! [`Breaker`] is the pure state machine: every method takes the time, so that tests drive it
//! without sleeping. [`HostBreaker`] puts it behind a lock for the calls of a session.
//!
//! Outcomes are counted over `window` in a [`Window`]. Each state change starts a new
//! *generation*: an attempt admitted in an earlier one reports into nothing, so that an
//! attempt sent while the breaker was closed cannot decide a half-open breaker's probes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::window::{Counts, Window};
pub(crate) use super::Signal;
use crate::CircuitBreaker;

/// The state of a breaker, as the field names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Attempts are sent and counted.
    Closed,
    /// Attempts are refused until `until`.
    Open { until: Instant },
    /// Up to `half_open_probes` attempts are let through; `admitted` are in flight or done,
    /// `succeeded` of them succeeded.
    HalfOpen { admitted: u32, succeeded: u32 },
}

/// A change of state, for the counters and the events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    Opened,
    HalfOpened,
    Closed,
}

/// An admitted attempt: the generation it was admitted in, and whether it is a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket {
    generation: u64,
    probe: bool,
}

impl Ticket {
    pub(crate) fn is_probe(self) -> bool {
        self.probe
    }
}

/// A refused attempt: open until `until`, or half-open with every probe taken (`None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) until: Option<Instant>,
}

/// The breaker of one host.
#[derive(Clone, Debug)]
pub(crate) struct Breaker {
    state: State,
    generation: u64,
    /// Attempts, and failures among them.
    window: Window,
}

impl Breaker {
    pub(crate) fn new(now: Instant) -> Self {
        Breaker {
            state: State::Closed,
            generation: 0,
            window: Window::new(now),
        }
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// Whether an attempt may be sent at `now`; a breaker whose break is over turns half-open
    /// here, and the attempt is its first probe.
    pub(crate) fn admit(
        &mut self,
        settings: &CircuitBreaker,
        now: Instant,
    ) -> (Result<Ticket, Refused>, Option<Transition>) {
        match self.state {
            State::Closed => (Ok(self.ticket(false)), None),
            State::Open { until } if now < until => (Err(Refused { until: Some(until) }), None),
            State::Open { .. } => {
                self.enter(State::HalfOpen {
                    admitted: 1,
                    succeeded: 0,
                });
                (Ok(self.ticket(true)), Some(Transition::HalfOpened))
            }
            State::HalfOpen {
                admitted,
                succeeded,
            } if admitted < settings.half_open_probes => {
                self.state = State::HalfOpen {
                    admitted: admitted + 1,
                    succeeded,
                };
                (Ok(self.ticket(true)), None)
            }
            State::HalfOpen { .. } => (Err(Refused { until: None }), None),
        }
    }

    /// Whether the breaker would refuse an attempt at `at`, without admitting one: for a retry
    /// that would be sent then.
    pub(crate) fn refuses_at(&self, at: Instant) -> bool {
        matches!(self.state, State::Open { until } if at < until)
    }

    /// Counts the outcome of an attempt admitted with `ticket`.
    pub(crate) fn settle(
        &mut self,
        settings: &CircuitBreaker,
        ticket: Ticket,
        signal: Signal,
        now: Instant,
    ) -> Option<Transition> {
        if ticket.generation != self.generation {
            return None;
        }
        match (self.state, signal) {
            (State::Closed, Signal::Neutral) | (State::Open { .. }, _) => None,
            (State::Closed, signal) => {
                let failed = Counts {
                    all: 1,
                    marked: u32::from(signal == Signal::Failure),
                };
                let Counts {
                    all: attempts,
                    marked: failures,
                } = self.window.add(settings.window, now, failed);
                let ratio = f64::from(failures) / f64::from(attempts);
                (attempts >= settings.min_attempts
                    && failures > 0
                    && ratio >= settings.failure_ratio)
                    .then(|| self.open(settings, now))
            }
            (State::HalfOpen { .. }, _) if !ticket.probe => None,
            (State::HalfOpen { .. }, Signal::Failure) => Some(self.open(settings, now)),
            (
                State::HalfOpen {
                    admitted,
                    succeeded,
                },
                Signal::Success,
            ) => {
                if succeeded + 1 >= settings.half_open_probes {
                    self.enter(State::Closed);
                    Some(Transition::Closed)
                } else {
                    self.state = State::HalfOpen {
                        admitted,
                        succeeded: succeeded + 1,
                    };
                    None
                }
            }
            (State::HalfOpen { .. }, Signal::Neutral) => {
                self.release(ticket);
                None
            }
        }
    }

    /// Gives back the place of a probe that ended without an outcome (its call was dropped).
    pub(crate) fn release(&mut self, ticket: Ticket) {
        if let (
            true,
            State::HalfOpen {
                admitted,
                succeeded,
            },
        ) = (
            ticket.probe && ticket.generation == self.generation,
            self.state,
        ) {
            self.state = State::HalfOpen {
                admitted: admitted.saturating_sub(1),
                succeeded,
            };
        }
    }

    /// The generation while closed, else [`NOT_CLOSED`].
    fn closed_generation(&self) -> u64 {
        match self.state {
            State::Closed => self.generation,
            _ => NOT_CLOSED,
        }
    }

    fn ticket(&self, probe: bool) -> Ticket {
        Ticket {
            generation: self.generation,
            probe,
        }
    }

    /// Opens the breaker until `until`, as another worker of the fleet found the host failing;
    /// an open breaker stays open until the later of the two.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn open_until(&mut self, until: Instant) {
        match self.state {
            State::Open { until: known } if known >= until => {}
            _ => self.enter(State::Open { until }),
        }
    }

    fn open(&mut self, settings: &CircuitBreaker, now: Instant) -> Transition {
        let until = now
            .checked_add(settings.break_duration)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
        self.enter(State::Open { until });
        Transition::Opened
    }

    /// A new state, in a new generation, with an empty window.
    fn enter(&mut self, state: State) {
        self.state = state;
        self.generation += 1;
        self.window.clear();
    }
}

/// A host's breaker, shared by the calls of a session.
pub(crate) struct HostBreaker {
    /// The origin, for the error and the events.
    origin: Box<str>,
    /// The generation of the closed state while the breaker is closed, else [`NOT_CLOSED`]:
    /// written under the lock, read without it, so that an attempt to a healthy host is let
    /// through without taking the lock.
    closed: AtomicU64,
    breaker: Mutex<Breaker>,
}

const NOT_CLOSED: u64 = u64::MAX;

impl HostBreaker {
    pub(crate) fn new(origin: &str, now: Instant) -> Self {
        let breaker = Breaker::new(now);
        HostBreaker {
            origin: origin.into(),
            closed: AtomicU64::new(breaker.closed_generation()),
            breaker: Mutex::new(breaker),
        }
    }

    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// The ticket of an attempt while the breaker is closed, without the lock; `None` when it
    /// is not closed, and [`Breaker::admit`] decides. An attempt admitted as the breaker opens
    /// is one that the lock would have ordered just before; its outcome counts in no window.
    pub(crate) fn admit_closed(&self) -> Option<Ticket> {
        let generation = self.closed.load(Ordering::Acquire);
        (generation != NOT_CLOSED).then_some(Ticket {
            generation,
            probe: false,
        })
    }

    /// Runs `f` on the breaker, under its lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Breaker) -> R) -> R {
        let mut breaker = self
            .breaker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = f(&mut breaker);
        self.closed
            .store(breaker.closed_generation(), Ordering::Release);
        result
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn settings(ratio: f64, min: u32, probes: u32) -> CircuitBreaker {
        CircuitBreaker {
            failure_ratio: ratio,
            min_attempts: min,
            window: Duration::from_secs(10),
            break_duration: Duration::from_secs(5),
            half_open_probes: probes,
            ..CircuitBreaker::default()
        }
    }

    /// Admits an attempt and settles it at once.
    fn attempt(b: &mut Breaker, s: &CircuitBreaker, signal: Signal, now: Instant) {
        let (ticket, _) = b.admit(s, now);
        b.settle(s, ticket.unwrap(), signal, now);
    }

    #[test]
    fn a_closed_breaker_admits_without_its_lock_and_only_while_closed() {
        let s = settings(0.5, 2, 1);
        let now = Instant::now();
        let host = HostBreaker::new("http://h", now);
        let ticket = host.admit_closed().expect("closed");
        assert_eq!(Ok(ticket), host.with(|b| b.admit(&s, now).0));
        host.with(|b| {
            attempt(b, &s, Signal::Failure, now);
            attempt(b, &s, Signal::Failure, now);
        });
        assert_eq!(host.admit_closed(), None, "open");
        let ticket = host
            .with(|b| b.admit(&s, now + s.break_duration).0)
            .unwrap();
        assert!(ticket.is_probe());
        assert_eq!(host.admit_closed(), None, "half-open");
        host.with(|b| b.settle(&s, ticket, Signal::Success, now + s.break_duration));
        let closed = host.admit_closed().expect("closed again");
        assert_ne!(closed.generation, 0, "a new generation");
    }

    #[test]
    fn opens_at_the_ratio_with_the_minimum_attempts() {
        let s = settings(0.5, 4, 1);
        let now = Instant::now();
        let mut b = Breaker::new(now);
        for _ in 0..3 {
            attempt(&mut b, &s, Signal::Failure, now);
        }
        assert_eq!(
            b.state(),
            State::Closed,
            "3 failures, fewer than 4 attempts"
        );
        let (ticket, _) = b.admit(&s, now);
        assert_eq!(
            b.settle(&s, ticket.unwrap(), Signal::Success, now),
            Some(Transition::Opened),
            "3 of 4 failed: 0.75 >= 0.5"
        );
        assert_eq!(
            b.admit(&s, now + Duration::from_secs(1)).0,
            Err(Refused {
                until: Some(now + Duration::from_secs(5))
            })
        );
    }

    #[test]
    fn the_ratio_is_reached_when_equal() {
        let s = settings(0.5, 2, 1);
        let now = Instant::now();
        let mut b = Breaker::new(now);
        attempt(&mut b, &s, Signal::Success, now);
        attempt(&mut b, &s, Signal::Failure, now);
        assert!(matches!(b.state(), State::Open { .. }), "1 of 2 >= 0.5");
    }

    #[test]
    fn old_outcomes_leave_the_window() {
        let s = settings(0.5, 4, 1);
        let now = Instant::now();
        let mut b = Breaker::new(now);
        for _ in 0..3 {
            attempt(&mut b, &s, Signal::Failure, now);
        }
        attempt(&mut b, &s, Signal::Failure, now + Duration::from_secs(11));
        assert_eq!(b.state(), State::Closed, "the first three left the window");
    }

    #[test]
    fn half_open_lets_the_probes_through_and_closes_when_all_succeed() {
        let s = settings(0.5, 1, 2);
        let now = Instant::now();
        let mut b = Breaker::new(now);
        attempt(&mut b, &s, Signal::Failure, now);
        let later = now + Duration::from_secs(5);
        let (first, change) = b.admit(&s, later);
        assert_eq!(change, Some(Transition::HalfOpened));
        let (second, _) = b.admit(&s, later);
        assert_eq!(b.admit(&s, later).0, Err(Refused { until: None }));
        assert_eq!(b.settle(&s, first.unwrap(), Signal::Success, later), None);
        assert_eq!(
            b.settle(&s, second.unwrap(), Signal::Success, later),
            Some(Transition::Closed)
        );
    }

    #[test]
    fn a_failed_probe_opens_again() {
        let s = settings(0.5, 1, 2);
        let now = Instant::now();
        let mut b = Breaker::new(now);
        attempt(&mut b, &s, Signal::Failure, now);
        let later = now + Duration::from_secs(6);
        let (probe, _) = b.admit(&s, later);
        assert_eq!(
            b.settle(&s, probe.unwrap(), Signal::Failure, later),
            Some(Transition::Opened)
        );
        assert!(b.refuses_at(later + Duration::from_secs(4)));
        assert!(!b.refuses_at(later + Duration::from_secs(5)));
    }

    #[test]
    fn an_attempt_of_an_earlier_state_decides_nothing() {
        let s = settings(0.5, 1, 1);
        let now = Instant::now();
        let mut b = Breaker::new(now);
        let (stale, _) = b.admit(&s, now);
        attempt(&mut b, &s, Signal::Failure, now);
        let later = now + Duration::from_secs(5);
        let (probe, _) = b.admit(&s, later);
        assert_eq!(b.settle(&s, stale.unwrap(), Signal::Failure, later), None);
        assert_eq!(
            b.settle(&s, probe.unwrap(), Signal::Success, later),
            Some(Transition::Closed)
        );
    }

    #[test]
    fn a_dropped_probe_gives_its_place_back() {
        let s = settings(0.5, 1, 1);
        let now = Instant::now();
        let mut b = Breaker::new(now);
        attempt(&mut b, &s, Signal::Failure, now);
        let later = now + Duration::from_secs(5);
        let (probe, _) = b.admit(&s, later);
        assert!(b.admit(&s, later).0.is_err());
        b.release(probe.unwrap());
        assert!(b.admit(&s, later).0.is_ok());
    }

    /// The rules written a second time, as plainly as possible: every outcome kept with its
    /// bucket number; the state as three fields.
    #[derive(Debug)]
    struct Model {
        outcomes: Vec<(u64, bool)>,
        open_until: Option<Instant>,
        half_open: Option<(u32, u32)>,
        generation: u64,
    }

    impl Model {
        fn new_generation(&mut self) {
            self.generation += 1;
            self.outcomes.clear();
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Admit,
        Settle(usize, Signal),
        Drop(usize),
        Wait(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let signal = prop_oneof![
            Just(Signal::Success),
            Just(Signal::Failure),
            Just(Signal::Neutral)
        ];
        prop_oneof![
            4 => Just(Op::Admit),
            4 => (0..8usize, signal).prop_map(|(i, s)| Op::Settle(i, s)),
            1 => (0..8usize).prop_map(Op::Drop),
            2 => (0..3000u64).prop_map(Op::Wait),
        ]
    }

    proptest! {
        /// The breaker agrees with the model on every admission and every state, and never has
        /// more probes in flight than `half_open_probes`.
        #[test]
        fn agrees_with_a_model(
            ratio in prop_oneof![Just(0.0), Just(0.5), Just(1.0), 0.0..=1.0f64],
            min in 1..6u32,
            probes in 1..4u32,
            ops in proptest::collection::vec(op(), 1..120),
        ) {
            let s = CircuitBreaker {
                failure_ratio: ratio,
                min_attempts: min,
                window: Duration::from_secs(1),
                break_duration: Duration::from_millis(500),
                half_open_probes: probes,
                ..CircuitBreaker::default()
            };
            let start = Instant::now();
            let mut now = start;
            let mut b = Breaker::new(start);
            let mut m = Model { outcomes: Vec::new(), open_until: None, half_open: None, generation: 0 };
            // Outstanding tickets: the breaker's and the model's (generation, probe).
            let mut tickets: Vec<(Ticket, (u64, bool))> = Vec::new();
            let bucket = |now: Instant| (now - start).as_millis() as u64 / 100;
            for op in ops {
                match op {
                    Op::Wait(ms) => now += Duration::from_millis(ms),
                    Op::Admit => {
                        let got = b.admit(&s, now).0;
                        let want = match (m.open_until, m.half_open) {
                            (Some(until), _) if now < until => Err(Refused { until: Some(until) }),
                            (Some(_), _) => {
                                m.open_until = None;
                                m.half_open = Some((1, 0));
                                m.new_generation();
                                Ok((m.generation, true))
                            }
                            (None, Some((admitted, done))) if admitted < probes => {
                                m.half_open = Some((admitted + 1, done));
                                Ok((m.generation, true))
                            }
                            (None, Some(_)) => Err(Refused { until: None }),
                            (None, None) => Ok((m.generation, false)),
                        };
                        prop_assert_eq!(got.map(|t| (t.generation, t.probe)), want);
                        if let (Ok(t), Ok(w)) = (got, want) {
                            tickets.push((t, w));
                        }
                    }
                    Op::Settle(i, signal) if i < tickets.len() => {
                        let (ticket, (generation, probe)) = tickets.remove(i);
                        b.settle(&s, ticket, signal, now);
                        if generation == m.generation {
                            match (m.half_open, signal) {
                                (None, _) if m.open_until.is_some() => {}
                                (None, Signal::Neutral) => {}
                                (None, signal) => {
                                    m.outcomes.push((bucket(now), signal == Signal::Failure));
                                    let live: Vec<bool> = m.outcomes.iter()
                                        .filter(|(n, _)| n + 10 > bucket(now))
                                        .map(|&(_, failed)| failed)
                                        .collect();
                                    let failures = live.iter().filter(|&&f| f).count();
                                    if live.len() >= min as usize && failures > 0
                                        && failures as f64 / live.len() as f64 >= ratio
                                    {
                                        m.open_until = Some(now + s.break_duration);
                                        m.new_generation();
                                    }
                                }
                                (Some(_), _) if !probe => {}
                                (Some(_), Signal::Failure) => {
                                    m.half_open = None;
                                    m.open_until = Some(now + s.break_duration);
                                    m.new_generation();
                                }
                                (Some((admitted, done)), Signal::Success) => {
                                    if done + 1 >= probes {
                                        m.half_open = None;
                                        m.new_generation();
                                    } else {
                                        m.half_open = Some((admitted, done + 1));
                                    }
                                }
                                (Some((admitted, done)), Signal::Neutral) => {
                                    m.half_open = Some((admitted - 1, done));
                                }
                            }
                        }
                    }
                    Op::Drop(i) if i < tickets.len() => {
                        let (ticket, (generation, probe)) = tickets.remove(i);
                        b.release(ticket);
                        if let (true, Some((admitted, done))) =
                            (probe && generation == m.generation, m.half_open)
                        {
                            m.half_open = Some((admitted - 1, done));
                        }
                    }
                    Op::Settle(..) | Op::Drop(_) => {}
                }
                let want = match (m.open_until, m.half_open) {
                    (Some(until), _) => State::Open { until },
                    (None, Some((admitted, succeeded))) => State::HalfOpen { admitted, succeeded },
                    (None, None) => State::Closed,
                };
                prop_assert_eq!(b.state(), want);
                if let State::HalfOpen { admitted, .. } = b.state() {
                    prop_assert!(admitted <= probes);
                }
            }
        }
    }
}
