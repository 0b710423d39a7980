//! The retry decision: given the settings, the method and what an attempt produced, retry
//! (and after how long) or stop.
//!
//! # Why only some methods are retried
//!
//! A request whose connection could not be established never reached the server, so resending
//! it is always safe. Once it may have reached the server, resending repeats its effect: harmless
//! for GET or PUT, a second charge for a payment POST. Those outcomes are retried only for
//! methods in `allowed_methods`. A status in `status_forcelist` is retried the same way.
//!
//! This module is pure: the [`Session`](crate::Session) executes what it decides.

use std::time::{Duration, SystemTime};

use reqwest::Method;

use crate::record::{GiveUp, WaitSource};
use crate::{wait, RetrySettings};

pub(crate) mod classify;

/// What one attempt produced, as far as the decision is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    /// A response whose status neither `status_forcelist` nor a `Retry-After` can make
    /// retried (see [`Active::is_final`]): most responses. Told apart when the response is
    /// classified, so that the success path pays for one bit test.
    Final,
    /// Any other response; `retry_after` is the raw `Retry-After` header, if any.
    Response {
        status: u16,
        retry_after: Option<&'a [u8]>,
    },
    /// The connection could not be established: the request never left.
    ConnectFailed,
    /// The request failed after it may have reached the server (read timeout, reset, closed).
    FailedAfterSend,
    /// A failure that no retry can mend (bad URL, redirect loop).
    Fatal,
}

/// What the session does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Wait, then send again. Should the session be unable to (the retry budget refuses), it
    /// stops as if retries were exhausted: an `Err` holding the response if `raise_if_refused`.
    Retry { wait: Wait, raise_if_refused: bool },
    /// Hand the outcome to the caller: the response as `Ok` (or as an `Err` holding it when
    /// `raise`), an error as `Err`. `give_up` says why a retryable outcome was not retried.
    Stop {
        raise: bool,
        give_up: Option<GiveUp>,
    },
}

/// A chosen wait and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wait {
    pub(crate) duration: Duration,
    pub(crate) source: WaitSource,
}

/// What the decision needs to know of time and chance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Now {
    /// The wall clock, for `Retry-After` dates.
    pub(crate) time: SystemTime,
    /// The time left before `total_timeout`, if there is one.
    pub(crate) remaining: Option<Duration>,
    /// A random draw from `[0, 1)` for the jitter.
    pub(crate) jitter_unit: f64,
}

/// Statuses whose `Retry-After` makes them retryable even outside `status_forcelist`.
const RETRY_AFTER_STATUSES: [u16; 3] = [413, 429, 503];

/// Settings as calls read them: checked, with the statuses a setting might retry as a set of
/// bits, so that a call settles a final response with one look.
pub(crate) struct Active {
    pub(crate) settings: RetrySettings,
    /// Bit `s` is set for each status `s` in `status_forcelist` or [`RETRY_AFTER_STATUSES`].
    may_retry: [u64; 16],
}

impl Active {
    pub(crate) fn new(settings: RetrySettings) -> Active {
        let mut may_retry = [0u64; 16];
        for &status in settings
            .status_forcelist
            .iter()
            .chain(&RETRY_AFTER_STATUSES)
        {
            // Checked settings hold statuses in 100..=599; the guard keeps this total.
            if let Some(word) = may_retry.get_mut(usize::from(status / 64)) {
                *word |= 1 << (status % 64);
            }
        }
        Active {
            settings,
            may_retry,
        }
    }

    /// Whether a response with `status` is returned as it is, whatever its headers: it is not
    /// in `status_forcelist`, and not a status whose `Retry-After` is honoured. Its outcome is
    /// [`Outcome::Final`]; for any other status, the decision reads `Retry-After`.
    #[inline]
    pub(crate) fn is_final(&self, status: u16) -> bool {
        self.may_retry
            .get(usize::from(status / 64))
            .is_none_or(|word| word & (1 << (status % 64)) == 0)
    }
}

/// The decision for one call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy<'a> {
    pub(crate) settings: &'a RetrySettings,
    pub(crate) method: &'a Method,
    /// `settings.max_retries`, or 0 for a call made with `no_retry()`.
    pub(crate) max_retries: u32,
    /// False for a body that cannot be replayed (a stream): such a call is never retried.
    pub(crate) can_resend: bool,
}

impl Policy<'_> {
    /// Decides after an attempt, when `retries_done` retries have already been made. `now` is
    /// asked only when a retry is wanted (to compute its wait).
    ///
    /// Inlined for the outcome most calls end with: a final response is returned at once.
    #[inline]
    pub(crate) fn decide(
        &self,
        retries_done: u32,
        outcome: Outcome<'_>,
        now: impl FnOnce() -> Now,
    ) -> Decision {
        match outcome {
            Outcome::Final => Decision::Stop {
                raise: false,
                give_up: None,
            },
            outcome => self.decide_retryable(retries_done, outcome, now),
        }
    }

    /// [`decide`](Self::decide) for an outcome a setting might retry.
    // Kept out of line: inlined, it makes `decide` too large to be inlined in its turn.
    #[inline(never)]
    fn decide_retryable(
        &self,
        retries_done: u32,
        outcome: Outcome<'_>,
        now: impl FnOnce() -> Now,
    ) -> Decision {
        let settings = self.settings;
        // Asked last: most responses are settled by their status alone.
        let allowed = || settings.allows(self.method);
        let (wanted, raise, retry_after) = match outcome {
            Outcome::Final | Outcome::Fatal => (false, false, None),
            Outcome::ConnectFailed => (true, false, None),
            Outcome::FailedAfterSend => (allowed(), false, None),
            Outcome::Response {
                status,
                retry_after,
            } => {
                let forced = settings.forces(status) && allowed();
                let by_retry_after = settings.respect_retry_after_header
                    && retry_after.is_some_and(|v| !v.is_empty())
                    && RETRY_AFTER_STATUSES.contains(&status)
                    && allowed();
                let raise = forced && settings.raise_on_status;
                (
                    forced || by_retry_after,
                    raise,
                    retry_after.filter(|_| settings.respect_retry_after_header),
                )
            }
        };
        let stop = |give_up| Decision::Stop { raise, give_up };
        if !wanted {
            return Decision::Stop {
                raise: false,
                give_up: None,
            };
        }
        if retries_done >= self.max_retries {
            return stop(Some(GiveUp::Exhausted));
        }
        if !self.can_resend {
            return stop(Some(GiveUp::BodyNotReplayable));
        }
        let now = now();
        let wait = match retry_after.and_then(|value| wait::parse_retry_after(value, now.time)) {
            Some(asked) if asked > settings.retry_after_max => {
                return stop(Some(GiveUp::RetryAfterTooLong))
            }
            Some(asked) => Wait {
                duration: asked,
                source: WaitSource::RetryAfter,
            },
            None => Wait {
                duration: wait::backoff(settings, retries_done + 1, now.jitter_unit),
                source: WaitSource::Backoff,
            },
        };
        if now
            .remaining
            .is_some_and(|remaining| wait.duration >= remaining)
        {
            return stop(Some(GiveUp::Deadline));
        }
        Decision::Retry {
            wait,
            raise_if_refused: raise,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Now = Now {
        time: SystemTime::UNIX_EPOCH,
        remaining: None,
        jitter_unit: 0.0,
    };

    const RETURN: Decision = Decision::Stop {
        raise: false,
        give_up: None,
    };

    fn settings() -> RetrySettings {
        RetrySettings {
            max_retries: 2,
            status_forcelist: vec![500, 503],
            allowed_methods: vec![Method::GET],
            ..RetrySettings::default()
        }
    }

    /// The policy of a GET under `s`, with `max_retries` 2.
    fn get(s: &RetrySettings, can_resend: bool) -> Policy<'_> {
        Policy {
            settings: s,
            method: &Method::GET,
            max_retries: 2,
            can_resend,
        }
    }

    fn decide(
        s: &RetrySettings,
        method: Method,
        retries_done: u32,
        outcome: Outcome<'_>,
    ) -> Decision {
        Policy {
            settings: s,
            method: &method,
            max_retries: s.max_retries,
            can_resend: true,
        }
        .decide(retries_done, outcome, || NOW)
    }

    fn status(status: u16) -> Outcome<'static> {
        Outcome::Response {
            status,
            retry_after: None,
        }
    }

    fn backoff(secs: f64) -> Decision {
        let wait = Wait {
            duration: Duration::from_secs_f64(secs),
            source: WaitSource::Backoff,
        };
        Decision::Retry {
            wait,
            raise_if_refused: false,
        }
    }

    fn gave_up(raise: bool, reason: GiveUp) -> Decision {
        Decision::Stop {
            raise,
            give_up: Some(reason),
        }
    }

    #[test]
    fn forced_status_retried_while_retries_remain() {
        let s = settings();
        assert_eq!(decide(&s, Method::GET, 0, status(503)), backoff(0.5));
        assert_eq!(decide(&s, Method::GET, 1, status(503)), backoff(1.0));
        assert_eq!(
            decide(&s, Method::GET, 2, status(503)),
            gave_up(false, GiveUp::Exhausted)
        );
    }

    #[test]
    fn status_not_forced_returned() {
        assert_eq!(decide(&settings(), Method::GET, 0, status(404)), RETURN);
    }

    #[test]
    fn method_not_allowed_never_retried_on_status() {
        let s = RetrySettings {
            raise_on_status: true,
            ..settings()
        };
        assert_eq!(decide(&s, Method::POST, 0, status(503)), RETURN);
    }

    #[test]
    fn raise_on_status_raises_only_when_exhausted_on_forced_status() {
        let s = RetrySettings {
            raise_on_status: true,
            ..settings()
        };
        let retry = decide(&s, Method::GET, 0, status(500));
        assert!(
            matches!(
                retry,
                Decision::Retry {
                    raise_if_refused: true,
                    ..
                }
            ),
            "{retry:?}"
        );
        assert_eq!(
            decide(&s, Method::GET, 2, status(500)),
            gave_up(true, GiveUp::Exhausted)
        );
        assert_eq!(decide(&s, Method::GET, 2, status(404)), RETURN);
    }

    #[test]
    fn connect_failure_retried_for_any_method() {
        let s = settings();
        assert_eq!(
            decide(&s, Method::POST, 0, Outcome::ConnectFailed),
            backoff(0.5)
        );
        assert_eq!(
            decide(&s, Method::POST, 2, Outcome::ConnectFailed),
            gave_up(false, GiveUp::Exhausted)
        );
    }

    #[test]
    fn failure_after_send_retried_only_for_allowed_methods() {
        let s = settings();
        assert_eq!(
            decide(&s, Method::GET, 0, Outcome::FailedAfterSend),
            backoff(0.5)
        );
        assert_eq!(
            decide(&s, Method::POST, 0, Outcome::FailedAfterSend),
            RETURN
        );
    }

    #[test]
    fn fatal_never_retried() {
        assert_eq!(decide(&settings(), Method::GET, 0, Outcome::Fatal), RETURN);
    }

    #[test]
    fn unreplayable_body_never_retried() {
        let s = RetrySettings {
            raise_on_status: true,
            ..settings()
        };
        let policy = get(&s, false);
        assert_eq!(
            policy.decide(0, Outcome::ConnectFailed, || NOW),
            gave_up(false, GiveUp::BodyNotReplayable)
        );
        assert_eq!(
            policy.decide(0, status(503), || NOW),
            gave_up(true, GiveUp::BodyNotReplayable)
        );
    }

    #[test]
    fn retry_after_replaces_backoff() {
        let outcome = Outcome::Response {
            status: 503,
            retry_after: Some(b"3"),
        };
        let wait = Wait {
            duration: Duration::from_secs(3),
            source: WaitSource::RetryAfter,
        };
        assert_eq!(
            decide(&settings(), Method::GET, 0, outcome),
            Decision::Retry {
                wait,
                raise_if_refused: false
            }
        );
    }

    #[test]
    fn retry_after_makes_413_429_503_retryable_outside_forcelist() {
        let s = RetrySettings {
            status_forcelist: vec![],
            ..settings()
        };
        for code in [413, 429, 503] {
            let outcome = Outcome::Response {
                status: code,
                retry_after: Some(b"1"),
            };
            assert!(
                matches!(decide(&s, Method::GET, 0, outcome), Decision::Retry { .. }),
                "{code}"
            );
            // once no retries remain, the Retry-After route is closed: returned as Ok
            let raising = RetrySettings {
                raise_on_status: true,
                ..s.clone()
            };
            assert_eq!(
                decide(&raising, Method::GET, 2, outcome),
                gave_up(false, GiveUp::Exhausted)
            );
        }
        let outcome = Outcome::Response {
            status: 500,
            retry_after: Some(b"1"),
        };
        assert_eq!(decide(&s, Method::GET, 0, outcome), RETURN);
        let empty = Outcome::Response {
            status: 429,
            retry_after: Some(b""),
        };
        assert_eq!(decide(&s, Method::GET, 0, empty), RETURN);
    }

    #[test]
    fn retry_after_ignored_when_not_respected() {
        let s = RetrySettings {
            respect_retry_after_header: false,
            ..settings()
        };
        let outcome = Outcome::Response {
            status: 503,
            retry_after: Some(b"3"),
        };
        assert_eq!(decide(&s, Method::GET, 0, outcome), backoff(0.5));
        let unforced = RetrySettings {
            status_forcelist: vec![],
            ..s
        };
        assert_eq!(decide(&unforced, Method::GET, 0, outcome), RETURN);
    }

    #[test]
    fn retry_after_malformed_or_zero_uses_backoff() {
        for value in [&b"soon"[..], b"0"] {
            let outcome = Outcome::Response {
                status: 503,
                retry_after: Some(value),
            };
            assert_eq!(decide(&settings(), Method::GET, 0, outcome), backoff(0.5));
        }
    }

    #[test]
    fn retry_after_beyond_cap_stops_retrying() {
        let s = RetrySettings {
            retry_after_max: Duration::from_secs(60),
            ..settings()
        };
        let outcome = Outcome::Response {
            status: 503,
            retry_after: Some(b"3600"),
        };
        assert_eq!(
            decide(&s, Method::GET, 0, outcome),
            gave_up(false, GiveUp::RetryAfterTooLong)
        );
        let raising = RetrySettings {
            raise_on_status: true,
            ..s
        };
        assert_eq!(
            decide(&raising, Method::GET, 0, outcome),
            gave_up(true, GiveUp::RetryAfterTooLong)
        );
    }

    #[test]
    fn wait_past_deadline_not_started() {
        let s = settings();
        let policy = get(&s, true);
        let tight = Now {
            remaining: Some(Duration::from_millis(400)),
            ..NOW
        };
        assert_eq!(
            policy.decide(0, status(503), || tight),
            gave_up(false, GiveUp::Deadline)
        );
        let roomy = Now {
            remaining: Some(Duration::from_millis(600)),
            ..NOW
        };
        assert_eq!(policy.decide(0, status(503), || roomy), backoff(0.5));
    }

    #[test]
    fn jitter_drawn_from_now() {
        let s = RetrySettings {
            backoff_jitter: Duration::from_secs(1),
            ..settings()
        };
        let policy = get(&s, true);
        let decision = policy.decide(0, status(503), || Now {
            jitter_unit: 0.25,
            ..NOW
        });
        assert_eq!(decision, backoff(0.75));
    }

    #[test]
    fn clock_not_read_for_an_outcome_that_is_not_retried() {
        let s = settings();
        let policy = get(&s, true);
        let no_clock = || -> Now { panic!("the clock was read") };
        assert_eq!(policy.decide(0, status(200), no_clock), RETURN);
        assert_eq!(policy.decide(0, status(404), no_clock), RETURN);
        assert_eq!(
            policy.decide(2, status(503), no_clock),
            gave_up(false, GiveUp::Exhausted)
        );
    }

    #[test]
    fn final_statuses_are_returned_whatever_their_headers() {
        let s = RetrySettings {
            status_forcelist: vec![500, 200],
            ..settings()
        };
        let active = Active::new(s.clone());
        for code in 100..=999 {
            let general = !(RETRY_AFTER_STATUSES.contains(&code) || s.forces(code));
            assert_eq!(active.is_final(code), general, "{code}");
            if !active.is_final(code) {
                continue;
            }
            let with = Outcome::Response {
                status: code,
                retry_after: Some(b"7"),
            };
            for method in [Method::GET, Method::POST] {
                assert_eq!(decide(&s, method.clone(), 0, with), RETURN, "{code}");
                assert_eq!(decide(&s, method, 0, Outcome::Final), RETURN);
            }
        }
        assert!(!active.is_final(413) && !active.is_final(429));
        assert!(!active.is_final(503) && !active.is_final(200));
        assert!(active.is_final(502) && active.is_final(404));
        assert!(active.is_final(u16::MAX));
    }

    #[test]
    fn retries_counted_without_overflow() {
        let s = RetrySettings {
            max_retries: u32::MAX,
            ..settings()
        };
        assert!(matches!(
            decide(&s, Method::GET, u32::MAX - 1, status(503)),
            Decision::Retry { .. }
        ));
        assert_eq!(
            decide(&s, Method::GET, u32::MAX, status(503)),
            gave_up(false, GiveUp::Exhausted)
        );
    }
}

/// The decision over random settings and outcome sequences, with the retry loop simulated.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use proptest::sample::subsequence;

    use super::*;
    use crate::{DEFAULT_ALLOWED_METHODS, DEFAULT_STATUS_FORCELIST};

    const STATUSES: [u16; 9] = [200, 404, 408, 413, 429, 500, 502, 503, 504];

    /// A duration from none to the longest there is, most of them short.
    fn duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::ZERO),
            (0..10_000u64).prop_map(Duration::from_millis),
            any::<u64>().prop_map(Duration::from_nanos),
            any::<u64>().prop_map(Duration::from_secs),
            Just(Duration::MAX),
        ]
    }

    /// Any settings, valid or not: the decision is pure and must hold up on its own.
    fn settings() -> impl Strategy<Value = RetrySettings> {
        let methods = subsequence(vec![Method::GET, Method::PUT, Method::POST], 1..=3);
        (
            prop_oneof![0..20u32, any::<u32>(), Just(u32::MAX)],
            // `status_forcelist` and `allowed_methods`: mostly the defaults.
            prop_oneof![0.0..4.0f64, any::<f64>()],
            prop_oneof![
                Just(DEFAULT_STATUS_FORCELIST.to_vec()),
                subsequence(STATUSES.to_vec(), 0..=STATUSES.len()),
            ],
            prop_oneof![Just(DEFAULT_ALLOWED_METHODS.to_vec()), methods],
            any::<bool>(),
            (duration(), duration(), duration()),
            any::<bool>(),
        )
            .prop_map(
                |(max_retries, factor, forcelist, methods, raise, durations, respect)| {
                    let (backoff_max, retry_after_max, backoff_jitter) = durations;
                    RetrySettings {
                        max_retries,
                        backoff_factor: factor,
                        status_forcelist: forcelist,
                        allowed_methods: methods,
                        raise_on_status: raise,
                        backoff_max,
                        respect_retry_after_header: respect,
                        retry_after_max,
                        backoff_jitter,
                        ..RetrySettings::default()
                    }
                },
            )
    }

    /// An attempt's outcome, the `Retry-After` value owned.
    #[derive(Clone, Debug)]
    enum Attempt {
        Response(u16, Option<Vec<u8>>),
        ConnectFailed,
        FailedAfterSend,
        Fatal,
    }

    impl Attempt {
        fn outcome(&self) -> Outcome<'_> {
            match self {
                Attempt::Response(status, retry_after) => Outcome::Response {
                    status: *status,
                    retry_after: retry_after.as_deref(),
                },
                Attempt::ConnectFailed => Outcome::ConnectFailed,
                Attempt::FailedAfterSend => Outcome::FailedAfterSend,
                Attempt::Fatal => Outcome::Fatal,
            }
        }
    }

    /// `Retry-After` values: seconds (from 0 to far past `u64`), dates, garbage.
    fn retry_after() -> impl Strategy<Value = Option<Vec<u8>>> {
        let date = (0..4_000_000_000u64).prop_map(|secs| {
            httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        });
        prop_oneof![
            Just(None),
            (0..5u64).prop_map(|s| Some(s.to_string().into_bytes())),
            any::<u64>().prop_map(|s| Some(s.to_string().into_bytes())),
            Just(Some(b"99999999999999999999999999".to_vec())),
            date.prop_map(|d| Some(d.into_bytes())),
            proptest::collection::vec(any::<u8>(), 0..32).prop_map(Some),
        ]
    }

    fn attempt() -> impl Strategy<Value = Attempt> {
        prop_oneof![
            4 => (status(), retry_after())
                .prop_map(|(status, value)| Attempt::Response(status, value)),
            2 => Just(Attempt::ConnectFailed),
            2 => Just(Attempt::FailedAfterSend),
            1 => Just(Attempt::Fatal),
        ]
    }

    /// Mostly statuses that are retried by default, so that loops run long.
    fn status() -> impl Strategy<Value = u16> {
        prop_oneof![
            3 => proptest::sample::select(vec![429, 500, 502, 503, 504]),
            1 => proptest::sample::select(STATUSES.to_vec()),
        ]
    }

    fn now() -> impl Strategy<Value = Now> {
        (
            0..4_000_000_000u64,
            prop_oneof![3 => Just(None), 1 => duration().prop_map(Some)],
            0.0..1.0f64,
        )
            .prop_map(|(secs, remaining, jitter_unit)| Now {
                time: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
                remaining,
                jitter_unit,
            })
    }

    proptest! {
        /// The retry loop, simulated: from `retries_done = max_retries - offset` (so the boundary
        /// at `u32::MAX` is reached too), decide after each outcome until a stop.
        #[test]
        fn loop_bounded_and_every_wait_within_its_cap(
            settings in settings(),
            method in proptest::sample::select(vec![Method::GET, Method::PUT, Method::POST, Method::DELETE]),
            can_resend in any::<bool>(),
            offset in 0..40u32,
            attempts in proptest::collection::vec(attempt(), 1..40),
            now in now(),
        ) {
            let policy = Policy { settings: &settings, method: &method, max_retries: settings.max_retries, can_resend };
            let start = settings.max_retries.saturating_sub(offset);
            let mut retries_done = start;
            let mut made = 1u64; // the first attempt
            for attempt in attempts.iter().cycle().take(200) {
                let outcome = attempt.outcome();
                match policy.decide(retries_done, outcome, || now) {
                    Decision::Retry { wait, raise_if_refused } => {
                        prop_assert!(can_resend, "a body that cannot be replayed is never resent");
                        prop_assert!(retries_done < settings.max_retries);
                        prop_assert!(
                            settings.allows(&method) || outcome == Outcome::ConnectFailed,
                            "{method} not allowed, resent after {outcome:?}"
                        );
                        prop_assert!(!matches!(outcome, Outcome::Fatal));
                        prop_assert!(!raise_if_refused || settings.raise_on_status);
                        match wait.source {
                            WaitSource::Backoff => prop_assert!(wait.duration <= settings.backoff_max),
                            WaitSource::RetryAfter => {
                                prop_assert!(settings.respect_retry_after_header);
                                prop_assert!(!wait.duration.is_zero());
                                prop_assert!(wait.duration <= settings.retry_after_max);
                            }
                            source => prop_assert!(false, "a decision never picks {source:?}"),
                        }
                        if let Some(remaining) = now.remaining {
                            prop_assert!(wait.duration < remaining, "the wait ends before the deadline");
                        }
                        retries_done += 1;
                        made += 1;
                    }
                    Decision::Stop { raise, give_up } => {
                        prop_assert!(!raise || settings.raise_on_status);
                        if matches!(outcome, Outcome::Fatal) {
                            prop_assert_eq!(give_up, None);
                        }
                        if give_up == Some(GiveUp::Exhausted) {
                            prop_assert_eq!(retries_done, settings.max_retries);
                        }
                        break;
                    }
                }
            }
            prop_assert!(made <= 1 + u64::from(settings.max_retries - start));
        }

        /// Each decision on its own, anywhere in `0..=u32::MAX`: no panic or overflow.
        #[test]
        fn any_retry_number_decided_without_panic(
            settings in settings(),
            retries_done in any::<u32>(),
            attempt in attempt(),
            now in now(),
        ) {
            let policy = Policy { settings: &settings, method: &Method::GET, max_retries: settings.max_retries, can_resend: true };
            if let Decision::Retry { wait, .. } = policy.decide(retries_done, attempt.outcome(), || now) {
                prop_assert!(retries_done < settings.max_retries);
                prop_assert!(wait.duration <= settings.backoff_max.max(settings.retry_after_max));
            }
        }
    }
}
