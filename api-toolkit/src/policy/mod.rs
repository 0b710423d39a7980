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

use crate::hints::{self, HintHeader, Raw};
use crate::record::{Decider, GiveUp, WaitSource};
use crate::{wait, RetrySettings, ServerHint, Verdict};

pub(crate) mod classify;

/// What one attempt produced, as far as the decision is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    /// A response whose status no setting can make retried (see [`Active::is_final`]): most
    /// responses. Told apart when the response is classified, so that the success path pays
    /// for one bit test.
    Final,
    /// Any other response, with the hint headers the settings read.
    Response { status: u16, hints: Raw<'a> },
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
    Retry {
        wait: Wait,
        raise_if_refused: bool,
        by: Decider,
        hint: Option<ServerHint>,
    },
    /// Hand the outcome to the caller: the response as `Ok` (or as an `Err` holding it when
    /// `raise`), an error as `Err`. `give_up` says why a retryable outcome was not retried.
    Stop {
        raise: bool,
        give_up: Option<GiveUp>,
        by: Decider,
        hint: Option<ServerHint>,
    },
}

impl Decision {
    /// The outcome is returned as it is: what most calls end with.
    pub(crate) const RETURN: Decision = Decision::Stop {
        raise: false,
        give_up: None,
        by: Decider::Rules,
        hint: None,
    };
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
    /// The wall clock, for `Retry-After` dates and rate-limit resets.
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
    /// Bit `s` is set for each status `s` a setting might retry or whose headers it reads:
    /// `status_forcelist`, [`RETRY_AFTER_STATUSES`], the rate-limit reset's statuses, every
    /// error status with a should-retry header. A classifier is asked about every outcome
    /// anyway; on a final one, its verdict alone can make a retry.
    may_retry: [u64; 16],
}

impl Active {
    pub(crate) fn new(settings: RetrySettings) -> Active {
        let mut may_retry = [0u64; 16];
        let mut set = |status: u16| {
            // Checked settings hold statuses in 100..=599; the guard keeps this total.
            if let Some(word) = may_retry.get_mut(usize::from(status / 64)) {
                *word |= 1 << (status % 64);
            }
        };
        let reset = settings.rate_limit_reset.iter().flat_map(|r| &r.statuses);
        for &status in settings
            .status_forcelist
            .iter()
            .chain(&RETRY_AFTER_STATUSES)
            .chain(reset)
        {
            set(status);
        }
        if settings.should_retry_header.is_some() {
            (400..=599).for_each(&mut set);
        }
        Active {
            settings,
            may_retry,
        }
    }

    /// Whether a response with `status` is returned as it is, whatever its headers, unless a
    /// classifier says otherwise: no setting retries that status or reads its headers. Its
    /// outcome is [`Outcome::Final`]; for any other status, the decision reads the hint headers.
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
    /// Whether the request's body can be sent again: a stream cannot, unless `replay_limit`
    /// kept it whole (or it was never read). Such a call is never retried.
    pub(crate) resend: Resend,
    /// The request carries an `Idempotency-Key` (read only for settings that ask).
    pub(crate) keyed: bool,
}

/// Whether the last attempt's request can be sent again, as far as its body goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resend {
    Yes,
    /// No, and why: [`GiveUp::BodyNotReplayable`] or [`GiveUp::BodyTooLarge`].
    No(GiveUp),
}

#[cfg(test)]
impl From<bool> for Resend {
    fn from(can_resend: bool) -> Resend {
        if can_resend {
            Resend::Yes
        } else {
            Resend::No(GiveUp::BodyNotReplayable)
        }
    }
}

/// Whether an outcome is to be retried, and by whose rule.
struct Want {
    retry: bool,
    /// The outcome's status is forced, for `raise_on_status`.
    raise: bool,
    by: Decider,
}

impl Policy<'_> {
    /// Decides after an attempt, when `retries_done` retries have already been made, with the
    /// classifier's `verdict` ([`Verdict::Defer`] without one). `now` is asked only when a
    /// retry is wanted (to compute its wait).
    ///
    /// Inlined for the outcome most calls end with: a final response is returned at once.
    #[inline]
    pub(crate) fn decide(
        &self,
        retries_done: u32,
        outcome: Outcome<'_>,
        verdict: Verdict,
        now: impl FnOnce() -> Now,
    ) -> Decision {
        match (outcome, verdict) {
            (Outcome::Final, Verdict::Defer) => Decision::RETURN,
            (outcome, verdict) => self.decide_retryable(retries_done, outcome, verdict, now),
        }
    }

    /// Whether the request may be sent again once it may have reached the server.
    fn may_resend(&self) -> bool {
        self.settings.may_resend(self.method, self.keyed)
    }

    /// What the built-in rules and the hints want for `outcome`.
    fn want(&self, outcome: Outcome<'_>) -> Want {
        let settings = self.settings;
        let rules = |retry| Want {
            retry,
            raise: false,
            by: Decider::Rules,
        };
        match outcome {
            Outcome::Final | Outcome::Fatal => rules(false),
            Outcome::ConnectFailed => rules(true),
            Outcome::FailedAfterSend => rules(self.may_resend()),
            Outcome::Response { status, hints } => {
                let should_retry = hints.should_retry;
                if should_retry == Some(false) {
                    return Want {
                        retry: false,
                        raise: false,
                        by: Decider::Hint,
                    };
                }
                // Asked last: most responses are settled by their status alone.
                let may_resend = || self.may_resend();
                let forced = settings.forces(status) && may_resend();
                let by_retry_after = RETRY_AFTER_STATUSES.contains(&status)
                    && hints.asks_to_wait(settings)
                    && may_resend();
                let raise = forced && settings.raise_on_status;
                if forced || by_retry_after {
                    return Want {
                        retry: true,
                        raise,
                        by: Decider::Rules,
                    };
                }
                // The server says retry: outside `allowed_methods`, only a keyed request.
                let told =
                    should_retry == Some(true) && status >= 400 && (self.keyed || may_resend());
                let rate_limited = hints.rate_limited && may_resend();
                let retry = told || rate_limited;
                Want {
                    retry,
                    raise: false,
                    by: if retry { Decider::Hint } else { Decider::Rules },
                }
            }
        }
    }

    /// [`decide`](Self::decide) for an outcome a setting might retry.
    // Kept out of line: inlined, it makes `decide` too large to be inlined in its turn.
    #[inline(never)]
    fn decide_retryable(
        &self,
        retries_done: u32,
        outcome: Outcome<'_>,
        verdict: Verdict,
        now: impl FnOnce() -> Now,
    ) -> Decision {
        let settings = self.settings;
        let classified = |retry| Want {
            retry,
            // `raise_on_status` stays about exhausted retries on a forced status.
            raise: matches!(outcome, Outcome::Response { status, .. } if settings.forces(status))
                && settings.raise_on_status
                && self.may_resend(),
            by: Decider::Classifier,
        };
        let want = match verdict {
            Verdict::Defer => self.want(outcome),
            Verdict::Stop => {
                return Decision::Stop {
                    raise: false,
                    give_up: None,
                    by: Decider::Classifier,
                    hint: None,
                }
            }
            Verdict::Retry | Verdict::RetryAfter(_) => classified(true),
        };
        let by = want.by;
        let stop = |give_up, hint| Decision::Stop {
            raise: want.raise,
            give_up,
            by,
            hint,
        };
        if !want.retry {
            return Decision::Stop {
                raise: false,
                give_up: None,
                by,
                hint: None,
            };
        }
        if retries_done >= self.max_retries {
            return stop(Some(GiveUp::Exhausted), None);
        }
        if let Resend::No(why) = self.resend {
            return stop(Some(why), None);
        }
        let now = now();
        let hint = match outcome {
            Outcome::Response { hints, .. } => hints::wait(&hints, settings, now.time),
            _ => None,
        };
        let asked = match verdict {
            Verdict::RetryAfter(wait) => Some((wait, WaitSource::Classifier)),
            _ => hint.map(|hint| (hint.wait(), source(hint.header()))),
        };
        let wait = match asked {
            Some((asked, _)) if asked > settings.retry_after_max => {
                return stop(Some(GiveUp::RetryAfterTooLong), hint)
            }
            Some((duration, source)) => Wait { duration, source },
            None => Wait {
                duration: wait::backoff(settings, retries_done + 1, now.jitter_unit),
                source: WaitSource::Backoff,
            },
        };
        if now
            .remaining
            .is_some_and(|remaining| wait.duration >= remaining)
        {
            return stop(Some(GiveUp::Deadline), hint);
        }
        Decision::Retry {
            wait,
            raise_if_refused: want.raise,
            by,
            hint,
        }
    }
}

/// The wait source of a server's hint.
fn source(header: HintHeader) -> WaitSource {
    match header {
        HintHeader::RetryAfter => WaitSource::RetryAfter,
        HintHeader::RetryAfterMs => WaitSource::RetryAfterMs,
        HintHeader::RateLimitReset => WaitSource::RateLimitReset,
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

    const RETURN: Decision = Decision::RETURN;

    fn response(status: u16, retry_after: Option<&[u8]>) -> Outcome<'_> {
        Outcome::Response {
            status,
            hints: Raw {
                retry_after,
                ..Raw::default()
            },
        }
    }

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
            resend: can_resend.into(),
            keyed: false,
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
            resend: Resend::Yes,
            keyed: false,
        }
        .decide(retries_done, outcome, Verdict::Defer, || NOW)
    }

    fn status(status: u16) -> Outcome<'static> {
        response(status, None)
    }

    fn backoff(secs: f64) -> Decision {
        let wait = Wait {
            duration: Duration::from_secs_f64(secs),
            source: WaitSource::Backoff,
        };
        Decision::Retry {
            wait,
            raise_if_refused: false,
            by: Decider::Rules,
            hint: None,
        }
    }

    fn gave_up(raise: bool, reason: GiveUp) -> Decision {
        Decision::Stop {
            raise,
            give_up: Some(reason),
            by: Decider::Rules,
            hint: None,
        }
    }

    fn hinted(decision: Decision, header: HintHeader, secs: u64) -> Decision {
        let hint = Some(ServerHint::new(header, Duration::from_secs(secs)));
        match decision {
            Decision::Retry {
                wait,
                raise_if_refused,
                by,
                ..
            } => Decision::Retry {
                wait,
                raise_if_refused,
                by,
                hint,
            },
            Decision::Stop {
                raise, give_up, by, ..
            } => Decision::Stop {
                raise,
                give_up,
                by,
                hint,
            },
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
            policy.decide(0, Outcome::ConnectFailed, Verdict::Defer, || NOW),
            gave_up(false, GiveUp::BodyNotReplayable)
        );
        assert_eq!(
            policy.decide(0, status(503), Verdict::Defer, || NOW),
            gave_up(true, GiveUp::BodyNotReplayable)
        );
        let too_large = Policy {
            resend: Resend::No(GiveUp::BodyTooLarge),
            ..policy
        };
        assert_eq!(
            too_large.decide(0, Outcome::FailedAfterSend, Verdict::Defer, || NOW),
            gave_up(false, GiveUp::BodyTooLarge)
        );
    }

    #[test]
    fn retry_after_replaces_backoff() {
        let outcome = response(503, Some(b"3"));
        let wait = Wait {
            duration: Duration::from_secs(3),
            source: WaitSource::RetryAfter,
        };
        assert_eq!(
            decide(&settings(), Method::GET, 0, outcome),
            hinted(
                Decision::Retry {
                    wait,
                    raise_if_refused: false,
                    by: Decider::Rules,
                    hint: None,
                },
                HintHeader::RetryAfter,
                3
            )
        );
    }

    #[test]
    fn retry_after_makes_413_429_503_retryable_outside_forcelist() {
        let s = RetrySettings {
            status_forcelist: vec![],
            ..settings()
        };
        for code in [413, 429, 503] {
            let outcome = response(code, Some(b"1"));
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
        let outcome = response(500, Some(b"1"));
        assert_eq!(decide(&s, Method::GET, 0, outcome), RETURN);
        let empty = response(429, Some(b""));
        assert_eq!(decide(&s, Method::GET, 0, empty), RETURN);
    }

    #[test]
    fn retry_after_ignored_when_not_respected() {
        let s = RetrySettings {
            respect_retry_after_header: false,
            ..settings()
        };
        let outcome = response(503, Some(b"3"));
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
            let outcome = response(503, Some(value));
            assert_eq!(decide(&settings(), Method::GET, 0, outcome), backoff(0.5));
        }
    }

    #[test]
    fn retry_after_beyond_cap_stops_retrying() {
        let s = RetrySettings {
            retry_after_max: Duration::from_secs(60),
            ..settings()
        };
        let outcome = response(503, Some(b"3600"));
        assert_eq!(
            decide(&s, Method::GET, 0, outcome),
            hinted(
                gave_up(false, GiveUp::RetryAfterTooLong),
                HintHeader::RetryAfter,
                3600
            )
        );
        let raising = RetrySettings {
            raise_on_status: true,
            ..s
        };
        assert_eq!(
            decide(&raising, Method::GET, 0, outcome),
            hinted(
                gave_up(true, GiveUp::RetryAfterTooLong),
                HintHeader::RetryAfter,
                3600
            )
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
            policy.decide(0, status(503), Verdict::Defer, || tight),
            gave_up(false, GiveUp::Deadline)
        );
        let roomy = Now {
            remaining: Some(Duration::from_millis(600)),
            ..NOW
        };
        assert_eq!(
            policy.decide(0, status(503), Verdict::Defer, || roomy),
            backoff(0.5)
        );
    }

    #[test]
    fn jitter_drawn_from_now() {
        let s = RetrySettings {
            backoff_jitter: Duration::from_secs(1),
            ..settings()
        };
        let policy = get(&s, true);
        let decision = policy.decide(0, status(503), Verdict::Defer, || Now {
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
        assert_eq!(
            policy.decide(0, status(200), Verdict::Defer, no_clock),
            RETURN
        );
        assert_eq!(
            policy.decide(0, status(404), Verdict::Defer, no_clock),
            RETURN
        );
        assert_eq!(
            policy.decide(2, status(503), Verdict::Defer, no_clock),
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
            let with = response(code, Some(b"7"));
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
                    hints: Raw {
                        retry_after: retry_after.as_deref(),
                        ..Raw::default()
                    },
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
            let policy = Policy { settings: &settings, method: &method, max_retries: settings.max_retries, resend: can_resend.into(), keyed: false };
            let start = settings.max_retries.saturating_sub(offset);
            let mut retries_done = start;
            let mut made = 1u64; // the first attempt
            for attempt in attempts.iter().cycle().take(200) {
                let outcome = attempt.outcome();
                match policy.decide(retries_done, outcome, Verdict::Defer, || now) {
                    Decision::Retry { wait, raise_if_refused, .. } => {
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
                    Decision::Stop { raise, give_up, .. } => {
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
            let policy = Policy { settings: &settings, method: &Method::GET, max_retries: settings.max_retries, resend: Resend::Yes, keyed: false };
            if let Decision::Retry { wait, .. } = policy.decide(retries_done, attempt.outcome(), Verdict::Defer, || now) {
                prop_assert!(retries_done < settings.max_retries);
                prop_assert!(wait.duration <= settings.backoff_max.max(settings.retry_after_max));
            }
        }
    }
}

/// The rules of issue 14: the classifier's verdicts, the server hints and keyed retries, each
/// test named by its rule.
#[cfg(test)]
mod own_rules {
    use super::*;
    use crate::RateLimitReset;

    const NOW: Now = Now {
        time: SystemTime::UNIX_EPOCH,
        remaining: None,
        jitter_unit: 0.0,
    };

    fn settings() -> RetrySettings {
        RetrySettings {
            max_retries: 2,
            status_forcelist: vec![500, 503],
            allowed_methods: vec![Method::GET],
            should_retry_header: Some("x-should-retry".parse().unwrap()),
            ..RetrySettings::default()
        }
    }

    fn decide_with(
        s: &RetrySettings,
        method: Method,
        keyed: bool,
        outcome: Outcome<'_>,
        verdict: Verdict,
    ) -> Decision {
        Policy {
            settings: s,
            method: &method,
            max_retries: s.max_retries,
            resend: Resend::Yes,
            keyed,
        }
        .decide(0, outcome, verdict, || NOW)
    }

    /// A GET's policy under `s`: two retries, a replayable body, no key.
    fn get(s: &RetrySettings) -> Policy<'_> {
        Policy {
            settings: s,
            method: &Method::GET,
            max_retries: 2,
            resend: Resend::Yes,
            keyed: false,
        }
    }

    fn decide(s: &RetrySettings, method: Method, outcome: Outcome<'_>) -> Decision {
        decide_with(s, method, false, outcome, Verdict::Defer)
    }

    fn response(status: u16, hints: Raw<'_>) -> Outcome<'_> {
        Outcome::Response { status, hints }
    }

    fn retried_by(decision: Decision) -> Option<(Decider, WaitSource, Duration)> {
        match decision {
            Decision::Retry { by, wait, .. } => Some((by, wait.source, wait.duration)),
            Decision::Stop { .. } => None,
        }
    }

    fn give_up(decision: Decision) -> Option<GiveUp> {
        match decision {
            Decision::Stop { give_up, .. } => give_up,
            Decision::Retry { .. } => None,
        }
    }

    #[test]
    fn classifier_stop_returns_the_outcome_as_it_is_even_forced_with_raise_on_status() {
        let s = RetrySettings {
            raise_on_status: true,
            ..settings()
        };
        let stop = decide_with(
            &s,
            Method::GET,
            false,
            response(503, Raw::default()),
            Verdict::Stop,
        );
        assert_eq!(
            stop,
            Decision::Stop {
                raise: false,
                give_up: None,
                by: Decider::Classifier,
                hint: None
            }
        );
        let connect = decide_with(
            &s,
            Method::GET,
            false,
            Outcome::ConnectFailed,
            Verdict::Stop,
        );
        assert!(matches!(
            connect,
            Decision::Stop {
                by: Decider::Classifier,
                ..
            }
        ));
    }

    #[test]
    fn classifier_may_retry_a_method_outside_allowed_methods_and_is_recorded() {
        let s = settings();
        for outcome in [
            response(409, Raw::default()),
            Outcome::FailedAfterSend,
            Outcome::Final,
        ] {
            let decision = decide_with(&s, Method::POST, false, outcome, Verdict::Retry);
            assert_eq!(
                retried_by(decision),
                Some((
                    Decider::Classifier,
                    WaitSource::Backoff,
                    Duration::from_millis(500)
                )),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn classifier_retry_waits_as_the_server_asks() {
        let s = settings();
        let hints = Raw {
            retry_after: Some(b"2"),
            ..Raw::default()
        };
        let decision = decide_with(&s, Method::GET, false, response(409, hints), Verdict::Retry);
        assert_eq!(
            retried_by(decision),
            Some((
                Decider::Classifier,
                WaitSource::RetryAfter,
                Duration::from_secs(2)
            ))
        );
    }

    #[test]
    fn classifier_retry_after_is_capped_like_retry_after_and_bounded_by_the_deadline() {
        let s = RetrySettings {
            retry_after_max: Duration::from_secs(5),
            ..settings()
        };
        let asked = |secs| Verdict::RetryAfter(Duration::from_secs(secs));
        let ok = decide_with(&s, Method::GET, false, Outcome::FailedAfterSend, asked(5));
        assert_eq!(
            retried_by(ok),
            Some((
                Decider::Classifier,
                WaitSource::Classifier,
                Duration::from_secs(5)
            ))
        );
        let long = decide_with(&s, Method::GET, false, Outcome::FailedAfterSend, asked(6));
        assert_eq!(give_up(long), Some(GiveUp::RetryAfterTooLong));
        let tight = get(&s).decide(0, Outcome::FailedAfterSend, asked(3), || Now {
            remaining: Some(Duration::from_secs(2)),
            ..NOW
        });
        assert_eq!(give_up(tight), Some(GiveUp::Deadline));
    }

    #[test]
    fn classifier_cannot_pass_the_attempt_limit_or_resend_a_stream() {
        let s = settings();
        let policy = |can_resend: bool| Policy {
            settings: &s,
            method: &Method::POST,
            max_retries: 2,
            resend: can_resend.into(),
            keyed: false,
        };
        let exhausted = policy(true).decide(2, Outcome::FailedAfterSend, Verdict::Retry, || NOW);
        assert_eq!(give_up(exhausted), Some(GiveUp::Exhausted));
        let stream = policy(false).decide(0, Outcome::FailedAfterSend, Verdict::Retry, || NOW);
        assert_eq!(give_up(stream), Some(GiveUp::BodyNotReplayable));
    }

    #[test]
    fn classifier_defer_is_the_built_in_rules() {
        let s = settings();
        assert_eq!(
            decide_with(
                &s,
                Method::GET,
                false,
                response(404, Raw::default()),
                Verdict::Defer
            ),
            Decision::RETURN
        );
        assert_eq!(
            retried_by(decide(&s, Method::GET, response(503, Raw::default()))).map(|r| r.0),
            Some(Decider::Rules)
        );
    }

    fn ms_settings() -> RetrySettings {
        RetrySettings {
            respect_retry_after_ms: true,
            status_forcelist: vec![],
            ..settings()
        }
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let hints = Raw {
            retry_after: Some(b"3"),
            retry_after_ms: Some(b"1500"),
            ..Raw::default()
        };
        let decision = decide(&ms_settings(), Method::GET, response(429, hints));
        assert_eq!(
            retried_by(decision),
            Some((
                Decider::Rules,
                WaitSource::RetryAfterMs,
                Duration::from_millis(1500)
            ))
        );
        assert_eq!(
            decision,
            Decision::Retry {
                wait: Wait {
                    duration: Duration::from_millis(1500),
                    source: WaitSource::RetryAfterMs
                },
                raise_if_refused: false,
                by: Decider::Rules,
                hint: Some(ServerHint::new(
                    HintHeader::RetryAfterMs,
                    Duration::from_millis(1500)
                )),
            }
        );
    }

    #[test]
    fn retry_after_ms_makes_413_429_503_retryable_outside_the_forcelist() {
        let hints = Raw {
            retry_after_ms: Some(b"20"),
            ..Raw::default()
        };
        for status in [413, 429, 503] {
            assert!(
                retried_by(decide(&ms_settings(), Method::GET, response(status, hints))).is_some(),
                "{status}"
            );
        }
        assert_eq!(
            decide(&ms_settings(), Method::GET, response(500, hints)),
            Decision::RETURN
        );
    }

    #[test]
    fn retry_after_ms_is_capped_by_retry_after_max() {
        let s = RetrySettings {
            retry_after_max: Duration::from_secs(1),
            ..ms_settings()
        };
        let hints = Raw {
            retry_after_ms: Some(b"1001"),
            ..Raw::default()
        };
        assert_eq!(
            give_up(decide(&s, Method::GET, response(429, hints))),
            Some(GiveUp::RetryAfterTooLong)
        );
    }

    #[test]
    fn retry_after_ms_ignored_without_respect_retry_after_header() {
        let s = RetrySettings {
            respect_retry_after_header: false,
            ..ms_settings()
        };
        let hints = Raw {
            retry_after_ms: Some(b"20"),
            ..Raw::default()
        };
        assert_eq!(
            decide(&s, Method::GET, response(429, hints)),
            Decision::RETURN
        );
    }

    fn should(value: bool) -> Raw<'static> {
        Raw {
            should_retry: Some(value),
            ..Raw::default()
        }
    }

    #[test]
    fn should_retry_true_makes_an_error_response_retryable() {
        let s = settings();
        assert_eq!(
            retried_by(decide(&s, Method::GET, response(409, should(true)))),
            Some((
                Decider::Hint,
                WaitSource::Backoff,
                Duration::from_millis(500)
            ))
        );
        assert_eq!(
            decide(&s, Method::GET, response(200, should(true))),
            Decision::RETURN,
            "not a success"
        );
        let exhausted = get(&s).decide(2, response(409, should(true)), Verdict::Defer, || NOW);
        assert_eq!(give_up(exhausted), Some(GiveUp::Exhausted));
    }

    #[test]
    fn should_retry_true_outside_allowed_methods_only_with_an_idempotency_key() {
        let s = settings();
        assert_eq!(
            decide_with(
                &s,
                Method::POST,
                false,
                response(500, should(true)),
                Verdict::Defer
            ),
            Decision::RETURN
        );
        let keyed = decide_with(
            &s,
            Method::POST,
            true,
            response(500, should(true)),
            Verdict::Defer,
        );
        assert_eq!(retried_by(keyed).map(|r| r.0), Some(Decider::Hint));
    }

    #[test]
    fn should_retry_false_makes_the_response_final() {
        let s = RetrySettings {
            raise_on_status: true,
            ..settings()
        };
        let hints = Raw {
            should_retry: Some(false),
            retry_after: Some(b"1"),
            ..Raw::default()
        };
        for status in [503, 429] {
            assert_eq!(
                decide(&s, Method::GET, response(status, hints)),
                Decision::Stop {
                    raise: false,
                    give_up: None,
                    by: Decider::Hint,
                    hint: None
                }
            );
        }
    }

    fn reset_settings() -> RetrySettings {
        RetrySettings {
            rate_limit_reset: Some(RateLimitReset::github()),
            retry_after_max: Duration::from_secs(60),
            ..settings()
        }
    }

    fn spent(reset: &'static [u8]) -> Raw<'static> {
        Raw {
            rate_limited: true,
            reset: Some(reset),
            ..Raw::default()
        }
    }

    #[test]
    fn rate_limit_reset_waits_until_the_reset_instead_of_the_backoff() {
        let now = Now {
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(99_250),
            ..NOW
        };
        let decision =
            get(&reset_settings()).decide(0, response(403, spent(b"100")), Verdict::Defer, || now);
        assert_eq!(
            retried_by(decision),
            Some((
                Decider::Hint,
                WaitSource::RateLimitReset,
                Duration::from_millis(750)
            ))
        );
    }

    #[test]
    fn rate_limit_reset_past_or_malformed_leaves_the_backoff() {
        for value in [&b"0"[..], b"soon", b"-5"] {
            let now = Now {
                time: SystemTime::UNIX_EPOCH + Duration::from_secs(10),
                ..NOW
            };
            let decision = get(&reset_settings()).decide(
                0,
                response(
                    429,
                    Raw {
                        rate_limited: true,
                        reset: Some(value),
                        ..Raw::default()
                    },
                ),
                Verdict::Defer,
                || now,
            );
            assert_eq!(
                retried_by(decision),
                Some((
                    Decider::Hint,
                    WaitSource::Backoff,
                    Duration::from_millis(500)
                )),
                "{value:?}"
            );
        }
    }

    #[test]
    fn rate_limit_reset_beyond_retry_after_max_ends_the_retries() {
        let decision = decide(
            &reset_settings(),
            Method::GET,
            response(403, spent(b"3600")),
        );
        assert_eq!(give_up(decision), Some(GiveUp::RetryAfterTooLong));
        assert!(
            matches!(decision, Decision::Stop { hint: Some(h), .. } if h.header() == HintHeader::RateLimitReset)
        );
    }

    #[test]
    fn rate_limited_status_not_retried_when_quota_remains() {
        assert_eq!(
            decide(
                &reset_settings(),
                Method::GET,
                response(403, Raw::default())
            ),
            Decision::RETURN
        );
    }

    #[test]
    fn keyed_retries_never_resend_an_unkeyed_post_after_it_may_have_reached_the_server() {
        let s = RetrySettings {
            keyed_retries: true,
            allowed_methods: DEFAULT_METHODS.to_vec(),
            ..settings()
        };
        for outcome in [Outcome::FailedAfterSend, response(503, Raw::default())] {
            for method in [Method::POST, Method::PATCH] {
                assert_eq!(
                    decide_with(&s, method.clone(), false, outcome, Verdict::Defer),
                    Decision::RETURN
                );
                assert!(
                    retried_by(decide_with(&s, method, true, outcome, Verdict::Defer)).is_some()
                );
            }
        }
        assert!(
            retried_by(decide_with(
                &s,
                Method::POST,
                false,
                Outcome::ConnectFailed,
                Verdict::Defer
            ))
            .is_some(),
            "a connection never established is retried for any method"
        );
        assert!(retried_by(decide_with(
            &s,
            Method::PUT,
            false,
            Outcome::FailedAfterSend,
            Verdict::Defer
        ))
        .is_some());
    }

    #[test]
    fn keyed_retries_retry_a_keyed_post_outside_allowed_methods() {
        let s = RetrySettings::idempotent();
        assert!(!s.allows(&Method::POST));
        assert!(retried_by(decide_with(
            &s,
            Method::POST,
            true,
            response(503, Raw::default()),
            Verdict::Defer
        ))
        .is_some());
        assert_eq!(
            decide_with(
                &s,
                Method::POST,
                false,
                response(503, Raw::default()),
                Verdict::Defer
            ),
            Decision::RETURN
        );
    }

    const DEFAULT_METHODS: [Method; 8] = crate::DEFAULT_ALLOWED_METHODS;
}

/// The rules of issue 14 over random settings, hints, verdicts and keys: whatever the
/// combination, the rails hold and only the rules that may resend a request do.
#[cfg(test)]
mod own_rules_properties {
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;
    use crate::{RateLimitReset, ResetForm};

    /// `Retry-After`, `retry-after-ms`, reset, rate limited, should-retry.
    type Hints = (
        Option<&'static [u8]>,
        Option<&'static [u8]>,
        Option<&'static [u8]>,
        bool,
        Option<bool>,
    );

    #[derive(Clone, Debug)]
    struct Case {
        settings: RetrySettings,
        method: Method,
        keyed: bool,
        can_resend: bool,
        retries_done: u32,
        status: Option<u16>,
        other: Outcome<'static>,
        hints: Hints,
        verdict: Verdict,
        remaining: Option<Duration>,
    }

    const VALUES: [&[u8]; 7] = [b"1", b"0", b"250", b"3600", b"soon", b"", b"0.5"];

    fn value() -> impl Strategy<Value = Option<&'static [u8]>> {
        prop_oneof![Just(None), select(VALUES.to_vec()).prop_map(Some)]
    }

    fn case() -> impl Strategy<Value = Case> {
        let flags = (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        );
        let hints = (
            value(),
            value(),
            value(),
            any::<bool>(),
            prop_oneof![Just(None), any::<bool>().prop_map(Some)],
        );
        let verdict = prop_oneof![
            3 => Just(Verdict::Defer),
            1 => Just(Verdict::Retry),
            1 => Just(Verdict::Stop),
            1 => (0..5000u64).prop_map(|ms| Verdict::RetryAfter(Duration::from_millis(ms))),
        ];
        let other = select(vec![
            Outcome::ConnectFailed,
            Outcome::FailedAfterSend,
            Outcome::Fatal,
            Outcome::Final,
        ]);
        (
            flags,
            (0..4u32, 0..4u32),
            select(vec![Method::GET, Method::PUT, Method::POST, Method::PATCH, Method::DELETE]),
            (any::<bool>(), any::<bool>()),
            prop_oneof![3 => select(vec![200u16, 403, 404, 409, 413, 429, 500, 503]).prop_map(Some), 1 => Just(None)],
            other,
            hints,
            verdict,
            prop_oneof![Just(None), (0..3000u64).prop_map(|ms| Some(Duration::from_millis(ms)))],
        )
            .prop_map(|(f, (max_retries, retries_done), method, (keyed, can_resend), status, other, hints, verdict, remaining)| {
                let settings = RetrySettings {
                    max_retries,
                    backoff_factor: 0.1,
                    raise_on_status: f.0,
                    respect_retry_after_header: f.1,
                    respect_retry_after_ms: f.2,
                    keyed_retries: f.3,
                    should_retry_header: f.4.then(|| "x-should-retry".parse().unwrap()),
                    rate_limit_reset: f.5.then(|| RateLimitReset { form: ResetForm::DeltaSeconds, ..RateLimitReset::github() }),
                    allowed_methods: if f.0 { vec![Method::GET, Method::PUT] } else { crate::DEFAULT_ALLOWED_METHODS.to_vec() },
                    retry_after_max: Duration::from_secs(2),
                    ..RetrySettings::default()
                };
                Case { settings, method, keyed, can_resend, retries_done, status, other, hints, verdict, remaining }
            })
    }

    /// `allowed_methods`, or the key for POST and PATCH under `keyed_retries`: the README's rule.
    fn may_resend(c: &Case) -> bool {
        let unsafe_method = c.method == Method::POST || c.method == Method::PATCH;
        if c.settings.keyed_retries && unsafe_method {
            c.keyed
        } else {
            c.settings.allowed_methods.contains(&c.method)
        }
    }

    proptest! {
        #[test]
        fn rails_hold_and_only_a_permitted_rule_resends(c in case()) {
            let (retry_after, retry_after_ms, reset, rate_limited, should_retry) = c.hints;
            // What `Raw::read` picks out: only the headers the settings read.
            let retry_after_ms = retry_after_ms.filter(|_| c.settings.respect_retry_after_ms);
            let reset_on = c.settings.rate_limit_reset.is_some();
            let (reset, rate_limited) = (reset.filter(|_| reset_on), rate_limited && reset_on);
            let should_retry = should_retry.filter(|_| c.settings.should_retry_header.is_some());
            let outcome = match c.status {
                Some(status) => Outcome::Response {
                    status,
                    hints: Raw { retry_after, retry_after_ms, reset, rate_limited, should_retry },
                },
                None => c.other,
            };
            let policy = Policy { settings: &c.settings, method: &c.method, max_retries: c.settings.max_retries, resend: c.can_resend.into(), keyed: c.keyed };
            let now = Now { time: SystemTime::UNIX_EPOCH, remaining: c.remaining, jitter_unit: 0.5 };
            let decision = policy.decide(c.retries_done, outcome, c.verdict, || now);
            match decision {
                Decision::Retry { wait, raise_if_refused, by, hint } => {
                    prop_assert!(c.retries_done < c.settings.max_retries, "attempts bounded");
                    prop_assert!(c.can_resend, "a stream is never resent");
                    prop_assert!(!raise_if_refused || c.settings.raise_on_status);
                    if let Some(remaining) = c.remaining {
                        prop_assert!(wait.duration < remaining, "never past the deadline");
                    }
                    match wait.source {
                        WaitSource::Backoff => prop_assert!(wait.duration <= c.settings.backoff_max),
                        WaitSource::Classifier => prop_assert!(matches!(c.verdict, Verdict::RetryAfter(d) if d == wait.duration)),
                        WaitSource::RetryAfterMs => prop_assert!(c.settings.respect_retry_after_ms && c.settings.respect_retry_after_header),
                        WaitSource::RetryAfter => prop_assert!(c.settings.respect_retry_after_header),
                        WaitSource::RateLimitReset => prop_assert!(c.settings.rate_limit_reset.is_some() && reset.is_some()),
                        source => prop_assert!(false, "{source:?}"),
                    }
                    prop_assert!(wait.source == WaitSource::Backoff || wait.duration <= c.settings.retry_after_max);
                    if let Some(hint) = hint {
                        prop_assert!(hint.wait() > Duration::ZERO);
                    }
                    match by {
                        Decider::Classifier => prop_assert!(matches!(c.verdict, Verdict::Retry | Verdict::RetryAfter(_))),
                        Decider::Rules => {
                            prop_assert_eq!(c.verdict, Verdict::Defer);
                            prop_assert!(outcome == Outcome::ConnectFailed || may_resend(&c), "{:?} resent by the rules", c.method);
                            prop_assert!(should_retry != Some(false) || c.status.is_none());
                        }
                        Decider::Hint => {
                            prop_assert_eq!(c.verdict, Verdict::Defer);
                            prop_assert!(should_retry != Some(false));
                            let told = should_retry == Some(true) && c.status.is_some_and(|s| s >= 400);
                            prop_assert!(may_resend(&c) || (told && c.keyed), "{:?} resent by a hint", c.method);
                        }
                    }
                }
                Decision::Stop { raise, give_up, by, .. } => {
                    prop_assert!(!raise || c.settings.raise_on_status);
                    if c.verdict == Verdict::Stop {
                        prop_assert!(!raise && give_up.is_none() && by == Decider::Classifier, "a stop returns the outcome as it is");
                    }
                    if give_up == Some(GiveUp::Exhausted) {
                        prop_assert!(c.retries_done >= c.settings.max_retries);
                    }
                }
            }
        }
    }
}
