//! Hedged requests: copies of a slow attempt, raced against it ([`Hedging`]).
//!
//! # Why
//!
//! Most of a call's latency is the server's, and a server's slowest answers (a garbage
//! collection, a cold cache, a queue behind a slow request) are rarely slow twice in a row. A
//! call that sends the same request again when the first has not answered within the usual time
//! gets the faster of the two: the tail of the latency distribution shrinks to about `delay`
//! plus a typical answer, for a few percent more requests (those slower than `delay`). Only a
//! request that may be sent twice can be hedged, since the server may receive both copies.
//!
//! # How
//!
//! A round is an attempt and its copies. The call's loop (`call::run`) starts a [`Race`] for the
//! round, then takes each attempt's result from it as the attempt ends and decides on it as on
//! any attempt (the classifier, the breaker, the shared `Retry-After` see every one). An
//! attempt whose outcome would end the call wins: the others are cancelled. One the rules would
//! retry leaves the call to the attempts still in flight; when none is left, the usual
//! decision (retry, or give up) applies to the last one. The race sends a copy whenever
//! `delay` passes without an answer, while copies remain for the round.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, Request};
use smallvec::SmallVec;
use tokio::time::{Instant, Sleep};
use tracing::Span;

use crate::idempotency::IDEMPOTENCY_KEY;
use crate::record::{AttemptOutcome, AttemptRecord, CallRecord, Decider, WaitSource};
use crate::session::Shared;
use crate::state::latency::Latencies;
use crate::transport::Attempted;
use crate::{telemetry, Hedging, RetrySettings, IDEMPOTENT_METHODS};

/// An attempt of a race in flight: its result, and whether a server answered it with a
/// redirect (see `attempt::Watched`).
pub(crate) type Flight<'a> = Pin<Box<dyn Future<Output = (Attempted, bool)> + Send + 'a>>;

/// Sends a request as one attempt of the race: limits, classifier peek and span as any
/// attempt of the call.
pub(crate) type Launch<'a> = Box<dyn Fn(Request) -> Flight<'a> + Send + Sync + 'a>;

/// Whether a call may send copies of its attempts: the method is idempotent and in
/// `allowed_methods`, or a POST or PATCH that carries an `Idempotency-Key` the rules would
/// resend; the body can be sent again as it is (bytes, or none: never a stream); and at least
/// one retry is allowed, since each copy is an attempt.
pub(crate) fn applies(
    settings: &RetrySettings,
    method: &Method,
    headers: &HeaderMap,
    replayable: bool,
    max_retries: u32,
) -> bool {
    let idempotent = IDEMPOTENT_METHODS.contains(method) && settings.allows(method);
    let keyed = || {
        (*method == Method::POST || *method == Method::PATCH)
            && headers.contains_key(IDEMPOTENCY_KEY)
            && settings.may_resend(method, true)
    };
    max_retries > 0 && replayable && (idempotent || keyed())
}

/// One round's attempts in flight: the attempt and the copies sent so far.
///
/// `P` is what lets an attempt through the circuit breaker, given back with its result.
pub(crate) struct Race<'a, P> {
    shared: &'a Shared,
    span: Span,
    /// What each copy is made from: the round's request, as sent.
    template: Request,
    launch: Launch<'a>,
    delay: Duration,
    /// The copies this round may still send.
    left: u32,
    /// When the next copy is sent, unless an attempt ends the call first.
    timer: Pin<Box<Sleep>>,
    /// When the latest attempt of the round was sent.
    last_start: Instant,
    running: SmallVec<[Runner<'a, P>; 2]>,
    /// Copies sent since the call last asked ([`take_sent`](Race::take_sent)).
    sent: u32,
    /// The number of the round's first attempt in the call (1 for the call's first).
    first_number: u32,
    /// Whether the attempt that ended last was a copy.
    last_was_copy: bool,
    /// The host's recent latencies, with an adaptive delay: each attempt's is recorded.
    latencies: Option<Arc<Latencies>>,
}

struct Runner<'a, P> {
    flight: Flight<'a>,
    pass: P,
    waited: (Duration, WaitSource),
    copy: bool,
    started: Instant,
}

/// An attempt of the race that ended.
pub(crate) struct Ended<P> {
    pub(crate) result: Attempted,
    pub(crate) answered: bool,
    pub(crate) pass: P,
    /// The wait before the attempt, for its record: the round's for its first attempt,
    /// `hedging.delay` (as it passed) and [`WaitSource::Hedge`] for a copy.
    pub(crate) waited: (Duration, WaitSource),
}

impl<P> Race<'_, P> {
    /// Whether attempts of the round are still in flight.
    pub(crate) fn in_flight(&self) -> bool {
        !self.running.is_empty()
    }

    /// How many attempts of the round are still in flight.
    pub(crate) fn running(&self) -> usize {
        self.running.len()
    }

    /// The copies sent since the last time this was asked: each is an attempt of the call.
    pub(crate) fn take_sent(&mut self) -> u32 {
        std::mem::take(&mut self.sent)
    }
}

impl<'a, P: Send + 'a> Race<'a, P> {
    /// Starts a round: sends `request` (the round's attempt, which waited `waited` before it),
    /// keeping a copy of it for the copies. `max_copies`: the attempts the call has left after
    /// this one; `first_number`: this attempt's number in the call (1 for the first).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        shared: &'a Shared,
        span: Span,
        hedging: Hedging,
        request: Request,
        launch: Launch<'a>,
        pass: P,
        waited: (Duration, WaitSource),
        max_copies: u32,
        first_number: u32,
        latencies: Option<Arc<Latencies>>,
    ) -> Box<Race<'a, P>> {
        let template = request
            .try_clone()
            .expect("only requests whose body can be sent again are hedged");
        let delay = delay(&hedging, latencies.as_deref());
        let now = Instant::now();
        let first = Runner {
            flight: launch(request),
            pass,
            waited,
            copy: false,
            started: now,
        };
        Box::new(Race {
            shared,
            span,
            template,
            launch,
            delay,
            left: hedging.max_hedged.min(max_copies),
            timer: Box::pin(tokio::time::sleep_until(crate::wait::later(now, delay))),
            last_start: now,
            running: SmallVec::from_iter([first]),
            sent: 0,
            first_number,
            last_was_copy: false,
            latencies,
        })
    }

    /// The next attempt to end. While none does, sends a copy each time `delay` passes, as
    /// long as copies remain and `admit` lets one through (the circuit breaker and the retry
    /// budget: a copy is an attempt, and a retry as far as the budget is concerned). Polled
    /// only while an attempt is in flight.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        admit: &mut dyn FnMut() -> Option<P>,
    ) -> Poll<Ended<P>> {
        loop {
            let ended = self.running.iter_mut().enumerate().find_map(|(i, runner)| {
                match runner.flight.as_mut().poll(cx) {
                    Poll::Ready(output) => Some((i, output)),
                    Poll::Pending => None,
                }
            });
            if let Some((i, (result, answered))) = ended {
                let runner = self.running.remove(i);
                self.last_was_copy = runner.copy;
                if let (Some(latencies), Ok(_)) = (&self.latencies, &result) {
                    latencies.record(runner.started.elapsed());
                }
                return Poll::Ready(Ended {
                    result,
                    answered,
                    pass: runner.pass,
                    waited: runner.waited,
                });
            }
            if self.left == 0 || self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if !self.send_copy(admit) {
                return Poll::Pending;
            }
            // Polled at once, so that it registers its wake-ups.
        }
    }

    /// Sends a copy if `admit` lets it through; false if not, and then no more this round.
    #[cold]
    fn send_copy(&mut self, admit: &mut dyn FnMut() -> Option<P>) -> bool {
        let Some(pass) = admit() else {
            self.left = 0;
            return false;
        };
        let request = self
            .template
            .try_clone()
            .expect("the template's body is bytes, or none");
        let now = Instant::now();
        let waited = (now - self.last_start, WaitSource::Hedge);
        self.last_start = now;
        self.left -= 1;
        self.sent += 1;
        self.timer
            .as_mut()
            .reset(crate::wait::later(now, self.delay));
        self.shared.stats.hedge();
        let number = self.first_number + self.sent;
        telemetry::hedging(
            &self.span,
            number as usize,
            waited.0,
            self.running.len() + 1,
        );
        self.running.push(Runner {
            flight: (self.launch)(request),
            pass,
            waited,
            copy: true,
            started: now,
        });
        true
    }

    /// Ends the round: records the attempts still in flight as cancelled (dropping the race
    /// then drops them, closing their connections), and counts a win by a copy when `won` (the
    /// last attempt to end ended the call with its outcome).
    #[cold]
    pub(crate) fn finish(&self, record: &mut CallRecord, won: bool) {
        if won && self.last_was_copy {
            self.shared.stats.hedge_won();
        }
        for runner in &self.running {
            // It would have taken at least this long.
            if let Some(latencies) = &self.latencies {
                latencies.record(runner.started.elapsed());
            }
            let (wait, source) = runner.waited;
            record.push(AttemptRecord::new(
                AttemptOutcome::Cancelled,
                wait,
                source,
                Decider::Rules,
            ));
        }
    }
}

/// The delay before each copy: `hedging.delay`, or with a `quantile`, that quantile of the
/// host's recent latencies when enough are known, at least `hedging.delay`.
fn delay(hedging: &Hedging, latencies: Option<&Latencies>) -> Duration {
    let recent = hedging
        .quantile
        .zip(latencies)
        .and_then(|(quantile, latencies)| latencies.quantile(quantile));
    recent.map_or(hedging.delay, |recent| {
        recent.clamp(hedging.delay, hedging.delay.max(MAX_ADAPTIVE_DELAY))
    })
}

/// The longest adaptive delay.
const MAX_ADAPTIVE_DELAY: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RetrySettings {
        RetrySettings {
            max_retries: 2,
            ..RetrySettings::default()
        }
    }

    fn keyed() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(IDEMPOTENCY_KEY, "\"k\"".parse().unwrap());
        headers
    }

    #[test]
    fn only_requests_that_may_be_sent_twice_are_hedged() {
        let s = settings();
        let none = HeaderMap::new();
        for method in IDEMPOTENT_METHODS {
            assert!(applies(&s, &method, &none, true, 2), "{method}");
        }
        assert!(
            !applies(&s, &Method::POST, &none, true, 2),
            "POST without a key"
        );
        assert!(
            !applies(&s, &Method::PATCH, &none, true, 2),
            "PATCH without a key"
        );
        assert!(applies(&s, &Method::POST, &keyed(), true, 2), "keyed POST");
        assert!(
            applies(&s, &Method::PATCH, &keyed(), true, 2),
            "keyed PATCH"
        );
        assert!(
            !applies(&s, &Method::CONNECT, &keyed(), true, 2),
            "not idempotent"
        );
        assert!(!applies(&s, &Method::GET, &none, false, 2), "a stream");
        assert!(!applies(&s, &Method::GET, &none, true, 0), "no retry left");
    }

    #[test]
    fn allowed_methods_and_keyed_retries_decide_too() {
        let only_get = RetrySettings {
            allowed_methods: vec![Method::GET],
            ..settings()
        };
        assert!(applies(&only_get, &Method::GET, &HeaderMap::new(), true, 1));
        assert!(!applies(
            &only_get,
            &Method::PUT,
            &HeaderMap::new(),
            true,
            1
        ));
        assert!(
            !applies(&only_get, &Method::POST, &keyed(), true, 1),
            "a keyed POST the rules would not resend"
        );
        let keyed_retries = RetrySettings::idempotent();
        assert!(
            applies(&keyed_retries, &Method::POST, &keyed(), true, 1),
            "keyed_retries resends a keyed POST outside allowed_methods"
        );
        assert!(!applies(
            &keyed_retries,
            &Method::POST,
            &HeaderMap::new(),
            true,
            1
        ));
    }
}
