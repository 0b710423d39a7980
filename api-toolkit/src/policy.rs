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

/// What one attempt produced, as far as the decision is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    /// A response arrived; `retry_after` is the raw `Retry-After` header, if any.
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

/// Whether a decision about a response with `status` may read its `Retry-After` header: for
/// any other status, [`Outcome::Response`] may leave it out.
pub(crate) fn may_read_retry_after(settings: &RetrySettings, status: u16) -> bool {
    RETRY_AFTER_STATUSES.contains(&status) || settings.forces(status)
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
    pub(crate) fn decide(
        &self,
        retries_done: u32,
        outcome: Outcome<'_>,
        now: impl FnOnce() -> Now,
    ) -> Decision {
        let settings = self.settings;
        // Asked last: most responses are settled by their status alone.
        let allowed = || settings.allows(self.method);
        let (wanted, raise, retry_after) = match outcome {
            Outcome::ConnectFailed => (true, false, None),
            Outcome::FailedAfterSend => (allowed(), false, None),
            Outcome::Fatal => (false, false, None),
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
        let policy = Policy {
            settings: &s,
            method: &Method::GET,
            max_retries: 2,
            can_resend: false,
        };
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
        let policy = Policy {
            settings: &s,
            method: &Method::GET,
            max_retries: 2,
            can_resend: true,
        };
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
        let policy = Policy {
            settings: &s,
            method: &Method::GET,
            max_retries: 2,
            can_resend: true,
        };
        let decision = policy.decide(0, status(503), || Now {
            jitter_unit: 0.25,
            ..NOW
        });
        assert_eq!(decision, backoff(0.75));
    }

    #[test]
    fn clock_not_read_for_an_outcome_that_is_not_retried() {
        let s = settings();
        let policy = Policy {
            settings: &s,
            method: &Method::GET,
            max_retries: 2,
            can_resend: true,
        };
        let no_clock = || -> Now { panic!("the clock was read") };
        assert_eq!(policy.decide(0, status(200), no_clock), RETURN);
        assert_eq!(policy.decide(0, status(404), no_clock), RETURN);
        assert_eq!(
            policy.decide(2, status(503), no_clock),
            gave_up(false, GiveUp::Exhausted)
        );
    }

    #[test]
    fn retry_after_ignored_where_it_is_not_looked_up() {
        let s = RetrySettings {
            status_forcelist: vec![500, 200],
            ..settings()
        };
        for code in [
            100, 200, 204, 301, 404, 408, 413, 429, 500, 502, 503, 504, 599,
        ] {
            let with = Outcome::Response {
                status: code,
                retry_after: Some(b"7"),
            };
            if may_read_retry_after(&s, code) {
                continue;
            }
            for method in [Method::GET, Method::POST] {
                assert_eq!(
                    decide(&s, method.clone(), 0, with),
                    decide(&s, method, 0, status(code)),
                    "{code}"
                );
            }
        }
        assert!(may_read_retry_after(&s, 413) && may_read_retry_after(&s, 429));
        assert!(may_read_retry_after(&s, 503) && may_read_retry_after(&s, 200));
        assert!(!may_read_retry_after(&s, 502) && !may_read_retry_after(&s, 404));
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
