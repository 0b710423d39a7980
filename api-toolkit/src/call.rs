//! The retry loop: send, decide, wait, send again. It exists once; every `send()` ends here.

use std::borrow::Borrow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

// tokio's clock: a paused runtime moves deadlines as it moves the waits.
use tokio::time::Instant;

use reqwest::{Method, Request, Response};
use tracing::{Instrument, Span};

use crate::attempt::Watched;
use crate::consult::{Panicked, Question, RequestView, Sending};
use crate::fleet::{self, Claim};
use crate::hedge::{self, Ended, Launch, Race};
use crate::hints::quota::Quota;
use crate::hints::{self, HintHeader, Raw};
use crate::host_gate::HostGate;
use crate::policy::{Active, Decision, Now, Outcome, Policy, Wait};
use crate::record::{
    AttemptOutcome, AttemptRecord, CallRecord, Decider, GiveUp, RetryEvent, WaitSource,
};
use crate::replay::Kept;
use crate::session::Shared;
use crate::state::breaker::{HostBreaker, Ticket, Transition};
use crate::state::latency::Latencies;
use crate::state::pacing::{FleetUnit, HostQuota, Observed};
use crate::state::throttle::{HostThrottle, Shedding};
use crate::state::{origin_key, Signal};
use crate::transport::{Attempted, Failure, Transport};
use crate::{
    idempotency, telemetry, wait, CircuitBreaker, Classifier, Error, Result, RetrySettings,
    Session, Throttling, Verdict,
};

/// Where a call's request came from, which decides how it is copied for a retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Built by [`RequestBuilder`](crate::RequestBuilder): besides method, URL, headers, version
    /// and body, it holds at most reqwest's per-request timeout.
    Builder,
    /// A ready `reqwest::Request` given to [`Session::execute`](crate::Session::execute): it
    /// may carry extensions (from an `http::Request`) that only reqwest's own copy preserves.
    Ready,
}

/// The most of a retried response's body that is read so that its connection can be reused;
/// a longer body is dropped with its connection.
const DRAIN_MAX_BYTES: u64 = 64 * 1024;

/// How long reading the rest of a retried response's body may delay a retry that would start
/// sooner; a body still incomplete then is dropped with its connection.
const DRAIN_TIME: Duration = Duration::from_millis(10);

/// The settings a call runs with, read when it starts (its first poll).
pub(crate) enum CallSettings {
    /// The session's.
    Session,
    /// The session's, with a single attempt ([`no_retry`](crate::RequestBuilder::no_retry)).
    Once,
    /// Its own ([`retry_settings`](crate::RequestBuilder::retry_settings)), checked then.
    Own(Box<RetrySettings>),
    /// The session's, adjusted for this call: its own classifier
    /// ([`classify`](crate::RequestBuilder::classify)) if any, a single attempt if `once`,
    /// without the per-host features it `skip`s.
    Adjusted {
        classifier: Option<Box<Classifier>>,
        once: bool,
        skip: Skip,
    },
}

/// The per-host features a call leaves out, whatever the settings say
/// ([`no_circuit_breaker`](crate::RequestBuilder::no_circuit_breaker),
/// [`no_throttling`](crate::RequestBuilder::no_throttling),
/// [`no_pacing`](crate::RequestBuilder::no_pacing),
/// [`no_hedging`](crate::RequestBuilder::no_hedging)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Skip {
    pub(crate) breaker: bool,
    pub(crate) throttling: bool,
    pub(crate) pacing: bool,
    pub(crate) hedging: bool,
}

impl Skip {
    /// What either leaves out.
    pub(crate) fn and(self, other: Skip) -> Skip {
        Skip {
            breaker: self.breaker || other.breaker,
            throttling: self.throttling || other.throttling,
            pacing: self.pacing || other.pacing,
            hedging: self.hedging || other.hedging,
        }
    }

    /// Takes what is left out out of a call's own settings.
    pub(crate) fn apply(self, settings: &mut RetrySettings) {
        if self.breaker {
            settings.circuit_breaker = None;
        }
        if self.throttling {
            settings.throttling = None;
        }
        if self.pacing {
            settings.pacing = None;
        }
        if self.hedging {
            settings.hedging = None;
        }
    }
}

/// Runs one call of `request` (or reports why it could not be built) on `session`, sending
/// each attempt through `transport`: the session's own sender, or a front end's (the rest of a
/// middleware chain). Every front end's call is this function; the transport turns its result
/// into what the front end returns ([`Transport::finish`]).
///
/// The whole call is this one `async` block, with no `async fn` or block nested inside for the
/// attempts: each nesting level moves the future it awaits into its own, and keeps room for its
/// arguments, which the success path would pay for on every call (a front end, too, returns
/// this future as it is rather than awaiting it in one of its own). The request is put in its
/// [`Kept`] here, so that the block uses it where it is.
// Inlined, like `RequestBuilder::send`, into the caller: the future is then built where the
// caller keeps it rather than copied there.
#[inline]
pub(crate) fn run<S: Borrow<Session> + Send, T: Transport>(
    session: S,
    mut transport: T,
    request: reqwest::Result<Request>,
    origin: Origin,
    which: CallSettings,
) -> impl Future<Output = T::Output> + Send {
    let mut kept = Kept::new(request);
    async move {
        // Every way out of the call ends this block; the transport, lent to each attempt
        // inside it, then makes the front end's result.
        let result = 'call: {
            if let Some(error) = kept.unbuilt() {
                break 'call Err(Error::not_sent(error));
            }
            let session = session.borrow();
            let (active, retry, skip) = match which {
                CallSettings::Own(settings) => match own_settings(*settings) {
                    Ok(active) => (active, true, Skip::default()),
                    Err(error) => break 'call Err(error),
                },
                CallSettings::Adjusted {
                    classifier,
                    once,
                    skip,
                } => {
                    let active = match classifier {
                        Some(classifier) => classified(session, *classifier),
                        None => session.current_settings(),
                    };
                    (active, !once, skip)
                }
                which => (
                    session.current_settings(),
                    matches!(which, CallSettings::Session),
                    Skip::default(),
                ),
            };
            let settings: &RetrySettings = &active.settings;
            let shared = session.shared();
            // In a block, so that what is only needed to start takes no room in the future.
            let plan = {
                // The clock is read only for what needs it.
                let started = (settings.total_timeout.is_some() || settings.retry_budget.is_some())
                    .then(Instant::now);
                let max_retries = if retry { settings.max_retries } else { 0 };
                let given = kept.next_mut();
                idempotency::add_key(settings, max_retries, given);
                let span = telemetry::call_span(given.method(), given.url());
                // Only settings that ask for the key read it, or copy the request.
                let keyed = (settings.keyed_retries || settings.should_retry_header.is_some())
                    && given.headers().contains_key(idempotency::IDEMPOTENCY_KEY);
                let view = settings.classify.is_some().then(|| RequestView::of(given));
                shared.stats.call();
                if let (Some(budget), Some(started)) = (&settings.retry_budget, started) {
                    shared.budget.deposit(budget, started);
                    if let Some(fleet) = &shared.fleet {
                        fleet.deposit(budget);
                    }
                }
                // A deadline later than the clock can represent is no deadline.
                let deadline = settings
                    .total_timeout
                    .zip(started)
                    .and_then(|(total, started)| started.checked_add(total));
                Plan {
                    max_retries,
                    span,
                    own_timeout: given.timeout().copied(),
                    method: given.method().clone(),
                    deadline,
                    host: shares_retry_after(settings).then(|| HostGate::key(given.url())),
                    // The one lookup per call: its attempts all go to this origin.
                    breaker: settings
                        .circuit_breaker
                        .filter(|_| !skip.breaker)
                        .map(|_| host_breaker(shared, given.url())),
                    throttle: settings
                        .throttling
                        .filter(|_| !skip.throttling)
                        .map(|_| host_throttle(shared, given.url())),
                    pacing: settings
                        .pacing
                        .filter(|_| !skip.pacing)
                        .map(|_| host_quota(shared, given.url())),
                    keyed,
                    view,
                    hedges: settings.hedging.is_some()
                        && !skip.hedging
                        && hedges::<T>(settings, given, max_retries),
                }
            };
            let mut record = CallRecord::default();
            let mut waited = (Duration::ZERO, WaitSource::None);
            let mut retries_done = 0u32;
            // The round of a hedged call: its attempts in flight.
            let mut race: Option<Box<Race<'_, Admitted<'_>>>> = None;
            // The call's span is entered around what runs inside the call (each attempt, the pause
            // with its drain, the `on_retry` hook) rather than around the whole block: wrapping
            // the block would move its whole future once more per call. This module's own events
            // name the span as their parent.
            loop {
                // While a round's attempts are in flight, the next one to end is taken from
                // it: nothing is sent, so nothing is waited for or admitted here.
                let racing = race.as_deref().is_some_and(Race::in_flight);
                if let (Some(host), false) = (&plan.host, racing) {
                    let gate = &shared.host_gate;
                    wait_for_host(gate, host, settings, plan.deadline, &mut waited, &plan.span)
                        .await;
                }
                // Held while the host's quota is spent (or until the attempt's slot): each
                // attempt sent spends a unit of it (a round's copies, when they are sent).
                let mut spent = match (&plan.pacing, racing) {
                    (Some(host), false) => {
                        let spread = settings.pacing.is_some_and(|p| p.spread);
                        if let Err(until) = host.reserve(spread, Instant::now()) {
                            let held = hold(
                                shared,
                                host,
                                until,
                                settings,
                                plan.deadline,
                                &mut waited,
                                &plan.span,
                            );
                            if !held.await {
                                break 'call Err(rate_limited(shared, &plan.span, host, record));
                            }
                        }
                        let mut spent = Spent {
                            host,
                            unknown: false,
                        };
                        if let Some(fleet) = &shared.fleet {
                            // The clock read again: a lease from before a hold may have
                            // ended with its window.
                            if host.fleet_unit(Instant::now()) == FleetUnit::Claim {
                                let claimed = claim(
                                    fleet,
                                    shared,
                                    &mut spent,
                                    settings,
                                    plan.deadline,
                                    &mut waited,
                                    &plan.span,
                                );
                                if !claimed.await {
                                    drop(spent);
                                    break 'call Err(rate_limited(
                                        shared, &plan.span, host, record,
                                    ));
                                }
                            }
                        }
                        Some(spent)
                    }
                    _ => None,
                };
                // Checked as the attempt is about to be sent, after any wait: an attempt is
                // never sent into an open breaker.
                let mut pass = match (&plan.breaker, &settings.circuit_breaker, racing) {
                    (Some(host), Some(breaker), false) => match admit(shared, host, breaker) {
                        Some(pass) => Some(pass),
                        None => break 'call Err(refused(shared, &plan.span, host, record)),
                    },
                    _ => None,
                };
                // A retry was admitted when it was decided, a round's copy as it is sent; the
                // first attempt is, here.
                if let (Some(host), Some(throttling), 0, false) =
                    (&plan.throttle, &settings.throttling, retries_done, racing)
                {
                    if !throttle_admits(shared, host, throttling) {
                        break 'call Err(throttled(shared, &plan.span, host));
                    }
                }
                // The attempt and its decision in a block whose locals (the response) end before
                // the pause: the future need not keep room for both.
                let (pause, wait, retried) = {
                    let (result, answered) =
                        if racing || (plan.hedges && retries_done < plan.max_retries) {
                            if !racing {
                                race = Some(start_race::<T>(
                                    &mut kept,
                                    shared,
                                    settings,
                                    &plan,
                                    origin,
                                    Admitted {
                                        pass: pass.take(),
                                        spent: spent.take(),
                                    },
                                    waited,
                                    retries_done,
                                ));
                            }
                            let Some(round) = race.as_deref_mut() else {
                                unreachable!("a round was started")
                            };
                            let ended = next_ended(round, shared, settings, &plan).await;
                            retries_done = retries_done.saturating_add(round.take_sent());
                            (pass, spent) = (ended.pass.pass, ended.pass.spent);
                            waited = ended.waited;
                            (ended.result, ended.answered)
                        } else {
                            let limit = attempt_limit(
                                plan.own_timeout,
                                shared.timeout,
                                settings.attempt_timeout,
                                plan.deadline,
                            );
                            // reqwest keeps the timeout in an extension map: writing one that is already
                            // in force (the request's own, else the client's) would cost three allocations
                            // per attempt for nothing. A client built elsewhere has none the session knows.
                            if limit != plan.own_timeout.or(shared.client_timeout()) {
                                *kept.next_mut().timeout_mut() = limit;
                            }
                            let transport = &mut transport;
                            let sent = kept.send_next(
                                retries_done < plan.max_retries,
                                origin,
                                settings.replay_limit,
                                move |request| {
                                    let pending = transport.send(shared, request, limit);
                                    watched(shared, settings, limit, pending)
                                },
                            );
                            // Without a subscriber that wants the span, entering it on every poll is waste.
                            if plan.span.is_disabled() {
                                sent.await
                            } else {
                                sent.instrument(plan.span.clone()).await
                            }
                        };
                    let mut result = match result {
                        // A request reqwest refused to send (a scheme it does not speak) is no
                        // attempt.
                        Err(Failure::Reqwest(error)) if !answered && error.is_builder() => {
                            break 'call Err(unsent(shared, error))
                        }
                        result => result,
                    };
                    let mut verdict = Verdict::Defer;
                    if let (Some(classifier), Some(view)) = (&settings.classify, &plan.view) {
                        let question = Question {
                            classifier,
                            view,
                            method: &plan.method,
                            number: retries_done.saturating_add(1),
                            peeked: settings.classify_body_bytes > 0,
                        };
                        let outcome = |r: &_| classify(r, &active, answered, shared.own_client).1;
                        match question.ask(result, outcome) {
                            Ok(answer) => (result, verdict) = answer,
                            Err(panic) => break 'call Err(panicked(&plan, panic, record, waited)),
                        }
                    }
                    let (mut outcome, recorded) =
                        classify(&result, &active, answered, shared.own_client);
                    if outcome == Outcome::Final && verdict != Verdict::Defer {
                        outcome = hinted(&result, settings);
                    }
                    let attempt = AttemptRecord::new(recorded, waited.0, waited.1, Decider::Rules);
                    if let Some(host) = &plan.host {
                        close_host(shared, host, settings, &result, outcome, wall_now());
                    }
                    if let Some(spent) = spent {
                        spent.settle(shared, &result, settings);
                    }
                    if let (Some(pass), Some(breaker)) = (pass, &settings.circuit_breaker) {
                        pass.settle(shared, Signal::of(recorded, settings, breaker), breaker);
                    }
                    if let (Some(host), Some(throttling)) = (&plan.throttle, &settings.throttling) {
                        settle_throttle(
                            shared,
                            host,
                            Signal::of(recorded, settings, throttling),
                            throttling,
                        );
                    }
                    let policy = Policy {
                        settings,
                        method: &plan.method,
                        max_retries: plan.max_retries,
                        // Read now: what the attempt read of a streaming body decides.
                        resend: kept.resend(),
                        keyed: plan.keyed,
                    };
                    let decision = policy.decide(retries_done, outcome, verdict, || {
                        now(settings, plan.deadline)
                    });
                    // An attempt of a round whose outcome would not end the call leaves it to
                    // the attempts still in flight.
                    if racing_on(race.as_deref(), decision) {
                        record_pending(&mut record, attempt, decision);
                        continue;
                    }
                    // A retry that the breaker, pacing, throttling or the budget would refuse
                    // ends the call now, as exhaustion would, with the outcome in hand.
                    let decision = match decision {
                        Decision::Retry {
                            raise_if_refused,
                            by,
                            hint,
                            wait,
                        } => {
                            let mut refused = retry_refused(shared, settings, &plan, wait);
                            // Once this process's own budget allowed it, the fleet's must too.
                            if refused.is_none()
                                && shared.fleet.is_some()
                                && settings.retry_budget.is_some()
                            {
                                refused = fleet_budget_refuses(shared, settings).await;
                            }
                            match refused {
                                Some(give_up) => Decision::Stop {
                                    raise: raise_if_refused,
                                    give_up: Some(give_up),
                                    by,
                                    hint,
                                },
                                None => decision,
                            }
                        }
                        decision => decision,
                    };
                    let wait = match decision {
                        Decision::Retry { wait, by, hint, .. } => {
                            if let Some(hint) = hint {
                                record.set_hint(hint);
                            }
                            record.push(attempt.decided(by));
                            wait
                        }
                        Decision::Stop {
                            raise,
                            give_up,
                            by,
                            hint,
                        } => {
                            if let Some(hint) = hint {
                                record.set_hint(hint);
                            }
                            let attempt = attempt.decided(by);
                            // `error_for_status`: one flag read on the success path.
                            let raise = raise
                                || (settings.error_for_status
                                    && matches!(&result, Ok(r) if r.status().as_u16() >= 400));
                            telemetry::finished(&plan.span, recorded, retries_done as usize);
                            if let Some(round) = race.take() {
                                round.finish(&mut record, give_up.is_none());
                                if let (Some(host), Some(throttling)) =
                                    (&plan.throttle, &settings.throttling)
                                {
                                    settle_cancelled(shared, host, throttling, round.running());
                                }
                            }
                            break 'call match result {
                                Ok(response)
                                    if !raise && record.told_by_status(&attempt, give_up) =>
                                {
                                    Ok(response)
                                }
                                result => {
                                    end(shared, &plan.span, result, raise, give_up, record, attempt)
                                }
                            };
                        }
                    };
                    // A round that ended retryable is over: the retry may start another.
                    race = None;
                    let pause =
                        prepare_retry(&mut kept, shared, &plan, &record, recorded, wait, result);
                    (pause, wait, recorded)
                };
                pause.await;
                // Counted as it is sent: a call dropped during the pause makes no retry.
                shared.stats.retry(retried);
                retries_done += 1;
                waited = (wait.duration, wait.source);
            }
        };
        transport.finish(result)
    }
}

/// The clock and the dice, read only when a retry is wanted.
fn now(settings: &RetrySettings, deadline: Option<Instant>) -> Now {
    Now {
        time: wall_now(),
        remaining: deadline.map(|d| d.saturating_duration_since(Instant::now())),
        jitter_unit: if settings.backoff_jitter.is_zero() {
            0.0
        } else {
            jitter_unit()
        },
    }
}

// The wall clock and the jitter's chance: a simulation's own while one runs on this thread.
#[cfg(feature = "test-util")]
use crate::simulate::{jitter_unit, wall_now};

#[cfg(not(feature = "test-util"))]
fn wall_now() -> SystemTime {
    SystemTime::now()
}

#[cfg(not(feature = "test-util"))]
fn jitter_unit() -> f64 {
    fastrand::f64()
}

/// What a call fixes when it starts, besides its settings.
struct Plan {
    max_retries: u32,
    span: Span,
    own_timeout: Option<Duration>,
    method: Method,
    deadline: Option<Instant>,
    /// The key of the origin the call is sent to, when it takes part in the shared
    /// `Retry-After`: the one origin a call can check before it sends, so the one a
    /// `Retry-After` it receives holds back, even through a redirect.
    host: Option<String>,
    /// The circuit breaker of the call's origin, when the call has one.
    breaker: Option<Arc<HostBreaker>>,
    /// The throttle of the call's origin, when the call has one.
    throttle: Option<Arc<HostThrottle>>,
    /// The quota of the call's origin, when the call is paced.
    pacing: Option<Arc<HostQuota>>,
    /// The request carries an `Idempotency-Key`; read only for settings that ask.
    keyed: bool,
    /// What the classifier sees of the request, with a classifier.
    view: Option<Box<RequestView>>,
    /// The call sends hedged copies of its attempts (`hedging`, and the request may be sent
    /// twice).
    hedges: bool,
}

/// Whether a call with `settings` holds back, and is held back by, a host's `Retry-After`:
/// only calls that honour `Retry-After` at all.
fn shares_retry_after(settings: &RetrySettings) -> bool {
    settings.share_retry_after && settings.respect_retry_after_header
}

/// The session's settings with a call's own classifier.
#[inline(never)]
fn classified(session: &Session, classifier: Classifier) -> Arc<Active> {
    let settings = RetrySettings {
        classify: Some(classifier),
        ..session.current_settings().settings.clone()
    };
    Arc::new(Active::new(settings))
}

/// The outcome of a response no setting retries, which the classifier retries anyway: with its
/// hints, so that the wait is the server's if it asked for one (and capped as any).
#[cold]
fn hinted<'r>(result: &'r Attempted, settings: &RetrySettings) -> Outcome<'r> {
    match result {
        Ok(response) => with_hints(response, settings),
        Err(_) => Outcome::Final,
    }
}

/// A response's outcome with the hint headers `settings` read.
fn with_hints<'r>(response: &'r Response, settings: &RetrySettings) -> Outcome<'r> {
    let status = response.status().as_u16();
    let hints = Raw::read(response.headers(), status, settings);
    Outcome::Response { status, hints }
}

/// Ends a call whose classifier panicked: the attempt is recorded, its outcome dropped.
#[cold]
fn panicked(
    plan: &Plan,
    panic: Panicked,
    mut record: CallRecord,
    waited: (Duration, WaitSource),
) -> Error {
    let Panicked { message, outcome } = panic;
    record.push(AttemptRecord::new(
        outcome,
        waited.0,
        waited.1,
        Decider::Classifier,
    ));
    telemetry::finished(&plan.span, outcome, record.retries() as usize);
    Error::classifier_panicked(message, record)
}

/// A call's own settings ([`retry_settings`](crate::RequestBuilder::retry_settings)), checked.
// Out of line, like the other paths below that most calls do not take: the code that every call
// runs stays compact, which spares the instruction cache.
#[inline(never)]
fn own_settings(settings: RetrySettings) -> Result<Arc<Active>> {
    settings.validate()?;
    Ok(Arc::new(Active::new(settings)))
}

/// Ends a call that has a record to keep: its response's status does not tell it
/// ([`CallRecord::told_by_status`]), or the call failed. Records the last attempt and why the call gave up (counting it and
/// telling the span), then returns the response with its record or the error with it.
#[inline(never)]
fn end(
    shared: &Shared,
    span: &Span,
    result: Attempted,
    raise: bool,
    give_up: Option<GiveUp>,
    mut record: CallRecord,
    last: AttemptRecord,
) -> Result<Response> {
    record.push(last);
    if let Some(reason) = give_up {
        record.set_give_up(reason);
        shared.stats.give_up(reason);
        telemetry::gave_up(
            span,
            record.attempt_count() as usize,
            last.outcome(),
            reason,
        );
    }
    match result {
        Ok(mut response) if !raise => {
            record.attach(&mut response);
            Ok(response)
        }
        failed => Err(fail(failed, record)),
    }
}

/// Waits while a `Retry-After` keeps the call's host closed, unless the wait would end past
/// the deadline or last longer than the call's own `retry_after_max`: the attempt is then sent
/// at once, as a call told so itself would not sleep that long either.
///
/// Boxed as a trait object, like the pause: only calls that share `Retry-After` pay for the
/// room it takes in the future.
#[inline(never)]
fn wait_for_host<'a>(
    gate: &'a HostGate,
    host: &'a str,
    settings: &'a RetrySettings,
    deadline: Option<Instant>,
    waited: &'a mut (Duration, WaitSource),
    span: &Span,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    let wait = async move {
        let now = Instant::now();
        let Some(until) = gate.closed_until(host, now) else {
            return;
        };
        if too_far(until, now, settings, deadline) {
            return;
        }
        tokio::time::sleep_until(until).await;
        *waited = (
            waited.0.saturating_add(until - now),
            WaitSource::SharedRetryAfter,
        );
    };
    Box::pin(wait.instrument(span.clone()))
}

/// An attempt's request in flight (`pending`), watched: its connect cut at `limit` on a session
/// that cuts connects, and the first bytes of its body read for a classifier that asks. Every
/// attempt is sent through it, alone or as a hedged copy.
#[inline]
fn watched<'a, F>(
    shared: &Shared,
    settings: &RetrySettings,
    limit: Option<Duration>,
    pending: F,
) -> Watched<Sending<'a, F>>
where
    F: Future<Output = Attempted> + Send + Unpin + 'a,
{
    let peek = if settings.classify.is_some() {
        settings.classify_body_bytes
    } else {
        0
    };
    let cut_connect_at = limit.filter(|_| shared.cuts_connects);
    Watched::new(
        Sending::new(pending, peek),
        cut_connect_at,
        shared.own_client,
    )
}

/// Whether waiting from `now` until `until` for a host (its `Retry-After`, its quota) is more
/// than the call may wait: past its `retry_after_max`, or to its deadline or beyond.
fn too_far(
    until: Instant,
    now: Instant,
    settings: &RetrySettings,
    deadline: Option<Instant>,
) -> bool {
    deadline.is_some_and(|deadline| until >= deadline)
        || until.saturating_duration_since(now) > settings.retry_after_max
}

/// Once a retry is decided: makes the next request, tells the span and the `on_retry` hook, and
/// returns the pause before the retry, which drains `result`'s body.
///
/// Boxed as a trait object: only retries pay for the room the pause takes in the future, and its
/// code (the timer, the drain) stays out of the success path's.
#[cold]
fn prepare_retry(
    kept: &mut Kept,
    shared: &Shared,
    plan: &Plan,
    record: &CallRecord,
    last: AttemptOutcome,
    wait: Wait,
    result: Attempted,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    kept.make_next(&plan.method, plan.own_timeout);
    let decided_by = record
        .attempts()
        .last()
        .map_or(Decider::Rules, |a| a.decided_by());
    telemetry::retrying(&plan.span, record.attempts().len(), last, wait, decided_by);
    if let Some(hook) = &shared.on_retry {
        plan.span.in_scope(|| {
            hook(&RetryEvent {
                method: &plan.method,
                url: kept.next().url(),
                record,
                wait: wait.duration,
                wait_source: wait.source,
            });
        });
    }
    Box::pin(pause(result.ok(), wait.duration, plan.deadline).instrument(plan.span.clone()))
}

/// Whether a call with `settings` sends hedged copies of `request`: the transport can send
/// them, and the request may be sent twice ([`hedge::applies`]).
#[inline(never)]
fn hedges<T: Transport>(settings: &RetrySettings, request: &Request, max_retries: u32) -> bool {
    T::COPIES.is_some()
        && hedge::applies(
            settings,
            request.method(),
            request.headers(),
            crate::replay::replayable(request),
            max_retries,
        )
}

/// Starts a hedged round: sends the next request as its first attempt, within the same limits
/// as any attempt, and keeps a copy of it for the copies the round may send.
#[cold]
#[allow(clippy::too_many_arguments)]
fn start_race<'a, T: Transport>(
    kept: &mut Kept,
    shared: &'a Shared,
    settings: &'a RetrySettings,
    plan: &Plan,
    origin: Origin,
    first: Admitted<'a>,
    waited: (Duration, WaitSource),
    retries_done: u32,
) -> Box<Race<'a, Admitted<'a>>> {
    let (Some(hedging), Some(send)) = (settings.hedging, T::COPIES) else {
        unreachable!("only calls with hedging, through a transport that sends copies, hedge")
    };
    let (own_timeout, deadline, span) = (plan.own_timeout, plan.deadline, plan.span.clone());
    let launch: Launch<'a> = Box::new(move |mut request| {
        let limit = attempt_limit(
            own_timeout,
            shared.timeout,
            settings.attempt_timeout,
            deadline,
        );
        if request.timeout() != limit.as_ref() {
            *request.timeout_mut() = limit;
        }
        let watched = watched(shared, settings, limit, send(shared, request, limit));
        if span.is_disabled() {
            Box::pin(watched)
        } else {
            Box::pin(watched.instrument(span.clone()))
        }
    });
    let copies = plan.max_retries.saturating_sub(retries_done);
    let latencies = hedging.quantile.map(|_| {
        let origin = crate::state::origin_key(kept.next().url());
        shared.latencies.get(&origin, Latencies::new)
    });
    kept.send_next(true, origin, settings.replay_limit, |request| {
        Race::start(
            shared,
            plan.span.clone(),
            hedging,
            request,
            launch,
            first,
            waited,
            copies,
            retries_done.saturating_add(1),
            latencies,
        )
    })
}

/// What let an attempt through: the breaker's pass and the unit of the host's quota it spends,
/// each when the call has them; settled with the attempt's outcome.
struct Admitted<'a> {
    pass: Option<Pass<'a>>,
    spent: Option<Spent<'a>>,
}

/// The next attempt of a hedged round to end. Copies are sent meanwhile, each as a retry would
/// be: through pacing (a copy is not held: without a unit of the quota now, it is not sent), the
/// circuit breaker, throttling and the retry budget.
fn next_ended<'r, 'a: 'r>(
    round: &'r mut Race<'a, Admitted<'a>>,
    shared: &'a Shared,
    settings: &'a RetrySettings,
    plan: &'a Plan,
) -> impl Future<Output = Ended<Admitted<'a>>> + Send + 'r {
    let mut admit_copy = move || -> Option<Admitted<'a>> {
        let spent = match plan.pacing.as_deref() {
            Some(host) => {
                let spread = settings.pacing.is_some_and(|p| p.spread);
                host.reserve(spread, Instant::now()).ok()?;
                // A copy is not held for the fleet either: without a leased unit, it is
                // counted against the fleet's window in the background.
                let spent = Spent {
                    host,
                    unknown: false,
                };
                // Nor for the fleet: without a leased unit, a copy is not sent.
                if shared.fleet.is_some() && host.fleet_unit(Instant::now()) == FleetUnit::Claim {
                    return None;
                }
                Some(spent)
            }
            None => None,
        };
        let pass = match (&plan.breaker, &settings.circuit_breaker) {
            (Some(host), Some(breaker)) => Some(admit(shared, host, breaker)?),
            _ => None,
        };
        if !retry_throttle_admits(shared, plan.throttle.as_deref(), settings) {
            return None;
        }
        budget_allows(shared, settings).then_some(Admitted { pass, spent })
    };
    std::future::poll_fn(move |cx| round.poll_next(cx, &mut admit_copy))
}

/// Whether the call waits for its round's other attempts rather than act on this one's
/// `decision`: some are still in flight, and the decision would not end the call with this
/// outcome (a retry, or a give-up such as retries exhausted by the copies).
#[inline]
fn racing_on<P: Send>(race: Option<&Race<'_, P>>, decision: Decision) -> bool {
    race.is_some_and(Race::in_flight) && !matches!(decision, Decision::Stop { give_up: None, .. })
}

/// Records an attempt of a round that did not end the call, which waits for the others.
#[cold]
fn record_pending(record: &mut CallRecord, attempt: AttemptRecord, decision: Decision) {
    let (Decision::Retry { by, hint, .. } | Decision::Stop { by, hint, .. }) = decision;
    if let Some(hint) = hint {
        record.set_hint(hint);
    }
    record.push(attempt.decided(by));
}

/// The breaker of `url`'s origin, made on first use.
#[inline(never)]
fn host_breaker(shared: &Shared, url: &reqwest::Url) -> Arc<HostBreaker> {
    let origin = origin_key(url);
    shared
        .breakers
        .get(&origin, || HostBreaker::new(&origin, Instant::now()))
}

/// An attempt the breaker let through, until its outcome is counted. A probe whose call is
/// dropped (or ends without an outcome) first gives its place back: otherwise the breaker would
/// stay half-open, refusing every call, for good.
struct Pass<'a> {
    host: &'a HostBreaker,
    ticket: Ticket,
}

impl Pass<'_> {
    fn settle(self, shared: &Shared, signal: Signal, breaker: &CircuitBreaker) {
        let change = self
            .host
            .with(|b| b.settle(breaker, self.ticket, signal, Instant::now()));
        if let Some(change) = change {
            changed(shared, self.host, change, breaker);
        }
        // Settled: nothing to give back.
        std::mem::forget(self);
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        if self.ticket.is_probe() {
            self.host.with(|b| b.release(self.ticket));
        }
    }
}

/// Asks the breaker to let an attempt through now; `None` if it refuses.
#[inline]
fn admit<'a>(shared: &Shared, host: &'a HostBreaker, breaker: &CircuitBreaker) -> Option<Pass<'a>> {
    match host.admit_closed() {
        Some(ticket) => Some(Pass { host, ticket }),
        None => admit_not_closed(shared, host, breaker),
    }
}

/// [`admit`] for a breaker that is open or half-open: under its lock, with the clock.
#[cold]
fn admit_not_closed<'a>(
    shared: &Shared,
    host: &'a HostBreaker,
    breaker: &CircuitBreaker,
) -> Option<Pass<'a>> {
    let (admitted, change) = host.with(|b| b.admit(breaker, Instant::now()));
    if let Some(change) = change {
        changed(shared, host, change, breaker);
    }
    admitted.ok().map(|ticket| Pass { host, ticket })
}

/// Whether the breaker will still be open when a retry after `wait` would be sent.
fn breaker_refuses(host: Option<&HostBreaker>, wait: Wait) -> bool {
    host.is_some_and(|host| {
        let at = wait::later(Instant::now(), wait.duration);
        host.with(|b| b.refuses_at(at))
    })
}

#[cold]
fn changed(shared: &Shared, host: &HostBreaker, change: Transition, breaker: &CircuitBreaker) {
    shared.stats.transition(change);
    telemetry::circuit(host.origin(), change);
    if let (Some(fleet), Transition::Opened) = (&shared.fleet, change) {
        fleet.opened(host.origin(), breaker.break_duration);
    }
}

/// Ends a call whose next attempt the breaker refused (see [`refused_unsent`]).
#[cold]
fn refused(shared: &Shared, span: &Span, host: &HostBreaker, record: CallRecord) -> Error {
    if record.attempts().is_empty() {
        telemetry::circuit_refused(span, host.origin());
    }
    refused_unsent(shared, span, host.origin(), GiveUp::CircuitOpen, record)
}

/// Ends a call whose next attempt a guard of `origin` refused (`reason`: the breaker,
/// throttling, pacing): before its first attempt, an error without attempts, and no call; before
/// a retry (refused after its wait), an error with the attempts made, whose last response was
/// drained during the wait and cannot be returned.
#[cold]
fn refused_unsent(
    shared: &Shared,
    span: &Span,
    origin: &str,
    reason: GiveUp,
    mut record: CallRecord,
) -> Error {
    record.set_give_up(reason);
    match record.attempts().last() {
        None => shared.stats.refused_call(reason),
        Some(last) => {
            // Counted after its wait, as if sent: it was not.
            shared.stats.retry_refused(last.outcome());
            shared.stats.give_up(reason);
            let attempts = record.attempt_count() as usize;
            telemetry::gave_up(span, attempts, last.outcome(), reason);
        }
    }
    Error::refused(reason, origin, record)
}

/// The throttle of `url`'s origin, made on first use.
#[inline(never)]
fn host_throttle(shared: &Shared, url: &reqwest::Url) -> Arc<HostThrottle> {
    let origin = origin_key(url);
    shared
        .throttles
        .get(&origin, || HostThrottle::new(&origin, Instant::now()))
}

/// Asks the throttle to let a request through now (counting it either way).
#[inline(never)]
fn throttle_admits(shared: &Shared, host: &HostThrottle, throttling: &Throttling) -> bool {
    let (admitted, change) = host.with(|t| t.admit(throttling, Instant::now(), jitter_unit));
    if let Some(change) = change {
        shed(shared, host, change);
    }
    admitted
}

/// [`throttle_admits`] for a retry, when the call has a throttle.
fn retry_throttle_admits(
    shared: &Shared,
    host: Option<&HostThrottle>,
    settings: &RetrySettings,
) -> bool {
    match (host, &settings.throttling) {
        (Some(host), Some(throttling)) => throttle_admits(shared, host, throttling),
        _ => true,
    }
}

/// Counts a sent attempt's outcome: an accept unless the host refused it.
#[inline(never)]
fn settle_throttle(shared: &Shared, host: &HostThrottle, signal: Signal, throttling: &Throttling) {
    if signal != Signal::Failure {
        if let Some(change) = host.with(|t| t.accepted(throttling, Instant::now())) {
            shed(shared, host, change);
        }
    }
}

/// Counts the attempts a round cancelled as the call ended: each was counted as a request when
/// it was sent, and ended for the call's sake, not the host's (neutral, as a service's failure):
/// without this, hedging alone would look like refusals.
#[cold]
fn settle_cancelled(shared: &Shared, host: &HostThrottle, throttling: &Throttling, n: usize) {
    for _ in 0..n {
        settle_throttle(shared, host, Signal::Neutral, throttling);
    }
}

#[cold]
fn shed(shared: &Shared, host: &HostThrottle, change: Shedding) {
    shared.stats.shedding(change);
    telemetry::throttling(host.origin(), change);
}

/// Ends a call that throttling refused before its first attempt: an error without attempts.
#[cold]
fn throttled(shared: &Shared, span: &Span, host: &HostThrottle) -> Error {
    telemetry::throttle_refused(span, host.origin());
    let record = CallRecord::default();
    refused_unsent(shared, span, host.origin(), GiveUp::Throttled, record)
}

/// The quota of `url`'s origin, made on first use.
#[inline(never)]
fn host_quota(shared: &Shared, url: &reqwest::Url) -> Arc<HostQuota> {
    let origin = origin_key(url);
    shared.pacing.get(&origin, || HostQuota::new(&origin))
}

/// A unit of a host's quota spent on an attempt, until its response says what remains. An
/// attempt that ends without a response, or whose call is dropped, leaves its unit spent and
/// stops counting as in flight.
struct Spent<'a> {
    host: &'a HostQuota,
    /// With a fleet: the attempt was counted as sent while the fleet knew nothing of the
    /// host's window.
    unknown: bool,
}

impl Spent<'_> {
    /// Reads the quota the response states (if any) into the host's, and the fleet's.
    #[inline(never)]
    fn settle(self, shared: &Shared, result: &Attempted, settings: &RetrySettings) {
        let quota = result.as_ref().ok().and_then(|response| {
            let names = hints::quota::x_names(settings.rate_limit_reset.as_ref());
            hints::quota::read(response.headers(), names, wall_now())
        });
        let now = Instant::now();
        let observed = self.host.ended(result.is_ok(), quota, now);
        if let Observed::RanOut(reset) = observed {
            telemetry::quota_spent(self.host.origin(), reset.saturating_duration_since(now));
        }
        if let Some(fleet) = &shared.fleet {
            tell_fleet(fleet, self.host, quota, observed, self.unknown);
        }
        // Settled: nothing to give back.
        std::mem::forget(self);
    }
}

/// What a response said of its host's quota, told to the fleet: the quota, or, on the host's
/// first answer to the session, that it states none.
#[cold]
fn tell_fleet(
    fleet: &fleet::Link,
    host: &HostQuota,
    quota: Option<Quota>,
    observed: Observed,
    unknown: bool,
) {
    match quota {
        Some(quota) => {
            let reset = quota
                .reset
                .or(quota.window.filter(|_| quota.remaining == 0));
            if let Some(reset) = reset.filter(|left| *left <= crate::state::pacing::MAX_RESET) {
                let observation = fleet::Observation {
                    remaining: quota.remaining,
                    reset,
                    limit: quota.limit,
                };
                fleet.observed(host.origin(), observation, unknown);
            }
        }
        None if observed == Observed::Quiet => fleet.quiet(host.origin()),
        None => {}
    }
}

impl Drop for Spent<'_> {
    fn drop(&mut self) {
        self.host.release();
    }
}

/// Holds an attempt until `until` (when the host's quota resets, or its slot), then spends a
/// unit of the quota for it; `false`, nothing spent, when the hold would end at or past the
/// deadline or last longer than `retry_after_max`: the call then ends without sending.
///
/// Boxed as a trait object, like the pause: only paced calls that are held pay for the room it
/// takes in the future.
#[inline(never)]
fn hold<'a>(
    shared: &'a Shared,
    host: &'a HostQuota,
    mut until: Instant,
    settings: &'a RetrySettings,
    deadline: Option<Instant>,
    waited: &'a mut (Duration, WaitSource),
    span: &'a Span,
) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
    let spread = settings.pacing.is_some_and(|p| p.spread);
    Box::pin(async move {
        let started = Instant::now();
        let mut first = true;
        loop {
            let now = Instant::now();
            let hold = until.saturating_duration_since(now);
            if too_far(until, now, settings, deadline) {
                return false;
            }
            if std::mem::take(&mut first) {
                telemetry::paced(span, host.origin(), hold, false);
            }
            tokio::time::sleep_until(until).await;
            match host.reserve(spread, Instant::now()) {
                Ok(()) => break,
                Err(next) => until = next,
            }
        }
        let held = started.elapsed();
        shared.stats.paced(held);
        *waited = (waited.0.saturating_add(held), WaitSource::Pacing);
        true
    })
}

/// With a fleet, before an attempt to a host that states a quota, past the session's lease:
/// claims units of the fleet's quota, holding while it is spent (as [`hold`] does); `false`
/// when the hold would be too long. Redis slow or down: the session's own quota decides.
#[inline(never)]
fn claim<'a>(
    fleet: &'a fleet::Link,
    shared: &'a Shared,
    spent: &'a mut Spent<'_>,
    settings: &'a RetrySettings,
    deadline: Option<Instant>,
    waited: &'a mut (Duration, WaitSource),
    span: &'a Span,
) -> fleet::Pending<'a, bool> {
    let host = spent.host;
    Box::pin(async move {
        let started = Instant::now();
        let mut first = true;
        loop {
            match fleet.claim(host.origin()).await {
                Claim::Granted { units, valid_for } => {
                    host.lease(units - 1, wait::later(Instant::now(), valid_for));
                    break;
                }
                Claim::Unknown { counted } => {
                    spent.unknown = counted;
                    break;
                }
                Claim::Spent { for_ } => {
                    let now = Instant::now();
                    let until = wait::later(now, for_);
                    if too_far(until, now, settings, deadline) {
                        return false;
                    }
                    if std::mem::take(&mut first) {
                        telemetry::paced(span, host.origin(), for_, false);
                    }
                    tokio::time::sleep_until(until).await;
                }
            }
        }
        if !first {
            let held = started.elapsed();
            shared.stats.paced(held);
            *waited = (waited.0.saturating_add(held), WaitSource::Pacing);
        }
        true
    })
}

/// With a fleet and a retry budget, once the session's own budget allowed a retry: whether
/// the fleet's refuses it (Redis slow or down: it does not).
#[inline(never)]
fn fleet_budget_refuses<'a>(
    shared: &'a Shared,
    settings: &'a RetrySettings,
) -> fleet::Pending<'a, Option<GiveUp>> {
    Box::pin(async move {
        match (&shared.fleet, &settings.retry_budget) {
            (Some(fleet), Some(budget)) if !fleet.withdraw(budget).await => Some(GiveUp::Budget),
            _ => None,
        }
    })
}

/// Whether pacing would hold a retry sent after `wait` longer than the call may wait.
#[inline]
fn pacing_refuses(
    host: Option<&HostQuota>,
    wait: Wait,
    settings: &RetrySettings,
    deadline: Option<Instant>,
) -> bool {
    host.is_some_and(|host| {
        let at = wait::later(Instant::now(), wait.duration);
        host.held_at(at)
            .is_some_and(|until| too_far(until, at, settings, deadline))
    })
}

/// Ends a call whose next attempt pacing refused (see [`refused_unsent`]).
#[cold]
fn rate_limited(shared: &Shared, span: &Span, host: &HostQuota, record: CallRecord) -> Error {
    let resets_in = host
        .held_at(Instant::now())
        .map_or(Duration::ZERO, |until| {
            until.saturating_duration_since(Instant::now())
        });
    telemetry::paced(span, host.origin(), resets_in, true);
    refused_unsent(shared, span, host.origin(), GiveUp::RateLimited, record)
}

/// Why a retry sent after `wait` would be refused, checked in this order (throttling counts it
/// as a request, the budget withdraws from its balance: each only when all before allow it).
fn retry_refused(
    shared: &Shared,
    settings: &RetrySettings,
    plan: &Plan,
    wait: Wait,
) -> Option<GiveUp> {
    if breaker_refuses(plan.breaker.as_deref(), wait) {
        Some(GiveUp::CircuitOpen)
    } else if pacing_refuses(plan.pacing.as_deref(), wait, settings, plan.deadline) {
        Some(GiveUp::RateLimited)
    } else if !retry_throttle_admits(shared, plan.throttle.as_deref(), settings) {
        Some(GiveUp::Throttled)
    } else if !budget_allows(shared, settings) {
        Some(GiveUp::Budget)
    } else {
        None
    }
}

fn budget_allows(shared: &Shared, settings: &RetrySettings) -> bool {
    match &settings.retry_budget {
        Some(budget) => shared.budget.withdraw(budget, Instant::now()),
        None => true,
    }
}

/// After a 429 or 503 with a valid `Retry-After`, closes the call's host for the session's
/// calls, for at most this call's `retry_after_max`.
fn close_host(
    shared: &Shared,
    host: &str,
    settings: &RetrySettings,
    result: &Attempted,
    outcome: Outcome<'_>,
    now: SystemTime,
) {
    let (
        Ok(_),
        Outcome::Response {
            status: 429 | 503,
            hints,
        },
    ) = (result, outcome)
    else {
        return;
    };
    // A rate-limit reset holds back the host's calls only with pacing (`state::pacing`, from
    // every response's quota): here, the server's answer to this response.
    let hint =
        hints::wait(&hints, settings, now).filter(|h| h.header() != HintHeader::RateLimitReset);
    if let Some(asked) = hint.map(|h| h.wait()) {
        let asked = asked.min(settings.retry_after_max);
        shared
            .host_gate
            .close(host, wait::later(Instant::now(), asked));
        if let Some(fleet) = &shared.fleet {
            fleet.held(host, asked);
        }
    }
}

/// The per-attempt limit: the request's own timeout, the session's, `attempt_timeout` and the
/// time left before the deadline, whichever is shortest. reqwest enforces it, so a cut attempt
/// is a timeout error; a connect it would cut is failed first ([`Watched`]).
#[inline]
fn attempt_limit(
    own: Option<Duration>,
    session: Option<Duration>,
    attempt: Option<Duration>,
    deadline: Option<Instant>,
) -> Option<Duration> {
    if attempt.is_none() && deadline.is_none() && session.is_none() {
        return own;
    }
    shortest_limit([own, session, attempt], deadline)
}

// Out of line: only calls with a limit besides their own run it.
#[inline(never)]
fn shortest_limit(limits: [Option<Duration>; 3], deadline: Option<Instant>) -> Option<Duration> {
    let remaining = deadline.map(|d| {
        d.saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    });
    limits.into_iter().chain([remaining]).flatten().min()
}

/// The outcome of an attempt, for the decision and for the record. `answered`: a server
/// answered the attempt with a redirect, so the request was delivered whatever came after.
#[inline]
fn classify<'r>(
    result: &'r Attempted,
    active: &Active,
    answered: bool,
    own_client: bool,
) -> (Outcome<'r>, AttemptOutcome) {
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let outcome = if active.is_final(status) {
                Outcome::Final
            } else {
                with_hints(response, &active.settings)
            };
            (outcome, AttemptOutcome::Status(response.status()))
        }
        // Whether the request may have reached the server decides which methods may resend it.
        Err(Failure::Reqwest(error)) if error.is_connect() && !answered => {
            // A client built elsewhere may have followed a redirect the session cannot see:
            // the request may have reached the server that answered it.
            let outcome = if own_client {
                Outcome::ConnectFailed
            } else {
                Outcome::FailedAfterSend
            };
            (outcome, AttemptOutcome::Connect)
        }
        Err(Failure::Reqwest(error)) if error.is_connect() => (
            Outcome::FailedAfterSend,
            AttemptOutcome::ConnectAfterRedirect,
        ),
        Err(Failure::Reqwest(error)) if error.is_builder() || error.is_redirect() => {
            (Outcome::Fatal, AttemptOutcome::Other)
        }
        Err(Failure::Reqwest(error)) if error.is_timeout() => {
            (Outcome::FailedAfterSend, AttemptOutcome::Timeout)
        }
        Err(Failure::Reqwest(_)) => (Outcome::FailedAfterSend, AttemptOutcome::Closed),
        // A service never ready within the limit was never handed the request.
        Err(Failure::TimedOut { handed: false }) => {
            (Outcome::ConnectFailed, AttemptOutcome::Timeout)
        }
        Err(Failure::TimedOut { handed: true }) => {
            (Outcome::FailedAfterSend, AttemptOutcome::Timeout)
        }
        #[cfg(feature = "test-util")]
        Err(Failure::Scripted(outcome)) => {
            let decision = if *outcome == AttemptOutcome::Connect {
                Outcome::ConnectFailed
            } else {
                Outcome::FailedAfterSend
            };
            (decision, *outcome)
        }
        // The user's code failed: whether the request left, and whether another attempt
        // would mend it, only a classifier can say (as reqwest-retry treats middleware errors).
        Err(Failure::Service(_) | Failure::Panicked(_)) => {
            (Outcome::Fatal, AttemptOutcome::Service)
        }
    }
}

/// The error a call ends with: its last response raised, or its last failure.
#[cold]
fn fail(result: Attempted, record: CallRecord) -> Error {
    match result {
        Ok(response) => Error::from_status(response, record),
        Err(failure) => Error::from_failure(failure, record),
    }
}

/// The error of a call whose request reqwest would not send: no attempt, so the call is not
/// counted either.
#[cold]
fn unsent(shared: &Shared, error: reqwest::Error) -> Error {
    shared.stats.unsent();
    Error::not_sent(error)
}

/// The pause before a retry: `wait`, during which the retried response's body is drained.
///
/// A zero wait skips the timer, whose granularity would add about a millisecond. Draining
/// lets the connection go back to the pool instead of being closed, which would cost the
/// retry a new connection (a TLS handshake on a real API); a body already received is read
/// without touching the timer. A body that has not arrived by the end of the wait (or within
/// [`DRAIN_TIME`] of a shorter wait, unless that passes the deadline) is dropped as before.
async fn pause(response: Option<Response>, wait: Duration, deadline: Option<Instant>) {
    let Some(response) = response else {
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        return;
    };
    let now = Instant::now();
    let wake = wait::later(now, wait);
    let drain_until = wake.max(now + DRAIN_TIME);
    let drain_until = if deadline.is_some_and(|deadline| drain_until >= deadline) {
        wake
    } else {
        drain_until
    };
    drain(response, drain_until).await;
    if Instant::now() < wake {
        tokio::time::sleep_until(wake).await;
    }
}

/// Reads the rest of `response`'s body, at most [`DRAIN_MAX_BYTES`], until `until`.
///
/// `timeout_at` polls the body before its timer, and registers the timer only if the body is
/// not all there yet.
async fn drain(mut response: Response, until: Instant) {
    if response
        .content_length()
        .is_some_and(|length| length > DRAIN_MAX_BYTES)
    {
        return;
    }
    let read = async {
        let mut read = 0;
        while let Ok(Some(chunk)) = response.chunk().await {
            read += chunk.len() as u64;
            if read > DRAIN_MAX_BYTES {
                return;
            }
        }
    };
    let _ = tokio::time::timeout_at(until, read).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_limit_is_the_shortest_limit() {
        let secs = Duration::from_secs;
        assert_eq!(attempt_limit(None, None, None, None), None);
        assert_eq!(
            attempt_limit(Some(secs(5)), None, Some(secs(2)), None),
            Some(secs(2))
        );
        assert_eq!(
            attempt_limit(Some(secs(5)), Some(secs(3)), None, None),
            Some(secs(3)),
            "the session's timeout takes part"
        );
        assert_eq!(
            attempt_limit(None, Some(secs(3)), Some(secs(4)), None),
            Some(secs(3))
        );
        let limit =
            attempt_limit(Some(secs(5)), None, None, Some(Instant::now() + secs(1))).unwrap();
        assert!(limit <= secs(1) && limit > Duration::from_millis(900));
        let past = attempt_limit(None, None, None, Some(Instant::now())).unwrap();
        assert_eq!(
            past,
            Duration::from_millis(1),
            "a spent deadline still cuts the attempt at once"
        );
    }
}
