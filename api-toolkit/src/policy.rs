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
    /// Wait, then send again.
    Retry(Wait),
    /// Hand the outcome to the caller as it is: the response as `Ok`, an error as `Err`.
    Return,
    /// Retries are exhausted on a forced status and `raise_on_status` is on: an `Err` holding
    /// the response.
    Raise,
}

/// A chosen wait and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wait {
    pub(crate) duration: Duration,
    pub(crate) from_retry_after: bool,
}

/// Statuses whose `Retry-After` makes them retryable even outside `status_forcelist`.
const RETRY_AFTER_STATUSES: [u16; 3] = [413, 429, 503];

/// The decision for one call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy<'a> {
    pub(crate) settings: &'a RetrySettings,
    pub(crate) method: &'a Method,
    /// False for a body that cannot be replayed (a stream): such a call is never retried.
    pub(crate) can_resend: bool,
}

impl Policy<'_> {
    /// Decides after an attempt, when `retries_done` retries have already been made.
    pub(crate) fn decide(
        &self,
        retries_done: u32,
        outcome: Outcome<'_>,
        now: SystemTime,
    ) -> Decision {
        let settings = self.settings;
        let retries_remain = self.can_resend && retries_done < settings.max_retries;
        let allowed = settings.allows(self.method);
        let retry = retries_done.saturating_add(1);
        let backoff = Decision::Retry(Wait {
            duration: wait::backoff(settings, retry),
            from_retry_after: false,
        });
        match outcome {
            Outcome::ConnectFailed if retries_remain => backoff,
            Outcome::FailedAfterSend if retries_remain && allowed => backoff,
            Outcome::ConnectFailed | Outcome::FailedAfterSend | Outcome::Fatal => Decision::Return,
            Outcome::Response {
                status,
                retry_after,
            } => {
                let forced = allowed && settings.forces(status);
                let exhausted = if forced && settings.raise_on_status {
                    Decision::Raise
                } else {
                    Decision::Return
                };
                let has_retry_after = retry_after.is_some_and(|v| !v.is_empty());
                let by_retry_after = allowed
                    && settings.respect_retry_after_header
                    && has_retry_after
                    && RETRY_AFTER_STATUSES.contains(&status);
                if !(forced || by_retry_after) {
                    return Decision::Return;
                }
                if !retries_remain {
                    return exhausted;
                }
                let asked = retry_after
                    .filter(|_| settings.respect_retry_after_header)
                    .and_then(|value| wait::parse_retry_after(value, now));
                match asked {
                    Some(duration) if duration > settings.retry_after_max => exhausted,
                    Some(duration) => Decision::Retry(Wait {
                        duration,
                        from_retry_after: true,
                    }),
                    None => backoff,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

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
            can_resend: true,
        }
        .decide(retries_done, outcome, NOW)
    }

    fn status(status: u16) -> Outcome<'static> {
        Outcome::Response {
            status,
            retry_after: None,
        }
    }

    fn backoff(secs: f64) -> Decision {
        Decision::Retry(Wait {
            duration: Duration::from_secs_f64(secs),
            from_retry_after: false,
        })
    }

    #[test]
    fn forced_status_retried_while_retries_remain() {
        let s = settings();
        assert_eq!(decide(&s, Method::GET, 0, status(503)), backoff(0.5));
        assert_eq!(decide(&s, Method::GET, 1, status(503)), backoff(1.0));
        assert_eq!(decide(&s, Method::GET, 2, status(503)), Decision::Return);
    }

    #[test]
    fn status_not_forced_returned() {
        assert_eq!(
            decide(&settings(), Method::GET, 0, status(404)),
            Decision::Return
        );
    }

    #[test]
    fn method_not_allowed_never_retried_on_status() {
        let s = RetrySettings {
            raise_on_status: true,
            ..settings()
        };
        assert_eq!(decide(&s, Method::POST, 0, status(503)), Decision::Return);
    }

    #[test]
    fn raise_on_status_raises_only_when_exhausted_on_forced_status() {
        let s = RetrySettings {
            raise_on_status: true,
            ..settings()
        };
        assert!(matches!(
            decide(&s, Method::GET, 0, status(500)),
            Decision::Retry(_)
        ));
        assert_eq!(decide(&s, Method::GET, 2, status(500)), Decision::Raise);
        assert_eq!(decide(&s, Method::GET, 2, status(404)), Decision::Return);
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
            Decision::Return
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
            Decision::Return
        );
    }

    #[test]
    fn fatal_never_retried() {
        assert_eq!(
            decide(&settings(), Method::GET, 0, Outcome::Fatal),
            Decision::Return
        );
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
            can_resend: false,
        };
        assert_eq!(
            policy.decide(0, Outcome::ConnectFailed, NOW),
            Decision::Return
        );
        assert_eq!(policy.decide(0, status(503), NOW), Decision::Raise);
    }

    #[test]
    fn retry_after_replaces_backoff() {
        let outcome = Outcome::Response {
            status: 503,
            retry_after: Some(b"3"),
        };
        let expected = Decision::Retry(Wait {
            duration: Duration::from_secs(3),
            from_retry_after: true,
        });
        assert_eq!(decide(&settings(), Method::GET, 0, outcome), expected);
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
                matches!(decide(&s, Method::GET, 0, outcome), Decision::Retry(_)),
                "{code}"
            );
            // once no retries remain, the Retry-After route is closed: returned as Ok
            let raising = RetrySettings {
                raise_on_status: true,
                ..s.clone()
            };
            assert_eq!(decide(&raising, Method::GET, 2, outcome), Decision::Return);
        }
        let outcome = Outcome::Response {
            status: 500,
            retry_after: Some(b"1"),
        };
        assert_eq!(decide(&s, Method::GET, 0, outcome), Decision::Return);
        let empty = Outcome::Response {
            status: 429,
            retry_after: Some(b""),
        };
        assert_eq!(decide(&s, Method::GET, 0, empty), Decision::Return);
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
        assert_eq!(decide(&unforced, Method::GET, 0, outcome), Decision::Return);
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
        assert_eq!(decide(&s, Method::GET, 0, outcome), Decision::Return);
        let raising = RetrySettings {
            raise_on_status: true,
            ..s
        };
        assert_eq!(decide(&raising, Method::GET, 0, outcome), Decision::Raise);
    }

    #[test]
    fn retries_counted_without_overflow() {
        let s = RetrySettings {
            max_retries: u32::MAX,
            ..settings()
        };
        assert!(matches!(
            decide(&s, Method::GET, u32::MAX - 1, status(503)),
            Decision::Retry(_)
        ));
        assert_eq!(
            decide(&s, Method::GET, u32::MAX, status(503)),
            Decision::Return
        );
    }
}
