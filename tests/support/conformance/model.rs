//! The rules, written a second time: what the servers must receive and how each call must end.
//!
//! Time is nominal: an answer takes no time, a hang lasts until the attempt's limit, a wait
//! lasts what it says. Where the real outcome would depend on which of two nearly equal
//! instants comes first (a wait ending close to the deadline), the model does not guess: it
//! says the scenario is [`Ambiguous`] and the generator draws another one.
//!
//! The rules of issue 14 (README "Retry rules of your own", the settings reference) are read
//! here as follows:
//!
//! - **May resend.** Once the request may have reached a server, it is sent again only if its
//!   method is in `allowed_methods`; under `keyed_retries`, a POST or PATCH instead exactly
//!   when it carries an `Idempotency-Key` (the caller's or the generated one). A connection
//!   never established is retried for any method.
//! - **Generated key.** With `idempotency_key`, a POST or PATCH "that may be retried" gets
//!   one: retries allowed, a replayable body, no key of the caller's, and a setting under
//!   which it may be sent again (`allowed_methods`, `keyed_retries`, a should-retry header
//!   or a classifier, each of which may retry it outside `allowed_methods`).
//! - **Should-retry.** `false` (any case) makes the response final, returned as `Ok`; `true`
//!   makes a status >= 400 retryable when the request may be resent or carries a key; other
//!   values are ignored.
//! - **Server waits.** With `respect_retry_after_header`: a valid `retry-after-ms` (with
//!   `respect_retry_after_ms`) wins over a valid `Retry-After`; a malformed or zero one is
//!   skipped. Either, non-empty, makes a 413, 429 or 503 retryable. Then the rate-limit reset
//!   (on 403/429 when nothing remains). A wait beyond `retry_after_max` ends the retries. A
//!   `retry-after-ms` on a 429 or 503 holds the host back like a `Retry-After`.
//! - **Rate limit.** A 403 or 429 is retryable (method allowed) when nothing remains or a
//!   non-empty `Retry-After` is sent.
//! - **Classifier.** Asked after every attempt, first: `Stop` returns the outcome as it is
//!   (never raised), `Retry` and `RetryAfter` retry any method (also an unkeyed POST under
//!   `keyed_retries`: only the rails bind it), within the attempts, the deadline, streaming
//!   bodies and `retry_after_max`; `Defer` is the rules.
//!
//! Issue 17's `replay_limit` is read as follows: a streaming body is sent again when the limit
//! is above 0 and either the attempt never read it (the call's first hop is never connected
//! to) or its whole length is within the limit (every server of a scenario reads the whole
//! request before it acts); with a limit of 0, never. A POST or PATCH with a stream "may be
//! retried" for the generated key exactly when the limit is above 0.

use std::collections::HashMap;
use std::time::Duration;

use super::scenario::{
    Behaviour, Body, Call, Hints, Method, Rule, Scenario, Settings, Target, RATE_LIMITED,
};

/// How far apart two instants must be for the model to say which comes first: the real run
/// adds its own overhead to the nominal times.
pub const MARGIN: Duration = Duration::from_millis(60);

/// How much sooner than its limit a connect that hangs may be cut: the library cuts it
/// slightly early on purpose, so that it fails as a connect failure.
pub const CONNECT_CUT_EARLY: Duration = Duration::from_millis(50);

/// A request as a server must receive it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// The method, after the redirects that led there.
    pub method: &'static str,
    /// The path, which names the call and the hop.
    pub path: String,
    /// The body.
    pub body: Vec<u8>,
    /// The `Idempotency-Key` it carries, if any.
    pub keyed: Option<Key>,
}

/// An `Idempotency-Key` a request must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// The key the session generated for this call.
    Generated(usize),
    /// The caller's own key, as set.
    Caller(String),
}

/// How a call must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `Ok(response)`; `body_ok` says whether reading its body succeeds.
    Response {
        /// Its status.
        status: u16,
        /// Whether its body reads without error.
        body_ok: bool,
    },
    /// An error holding the response (`is_status()`): retries exhausted on a forced status
    /// with `raise_on_status`, or a final status >= 400 with `error_for_status`.
    Raised(u16),
    /// Nothing was sent by the last attempt: `is_connect()`.
    Connect,
    /// The last attempt was cut by its limit after sending: `is_timeout()`, not `is_connect()`.
    Timeout,
    /// The connection was closed before a response: neither `is_connect()` nor `is_timeout()`.
    Closed,
    /// A redirect target could not be reached: not `is_connect()` (the request reached the
    /// server that redirected).
    RedirectTargetFailed,
    /// The request could not be built: `is_builder()`, no attempt.
    Builder,
}

/// What one call must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallExpectation {
    /// How it ends.
    pub outcome: Outcome,
    /// How many attempts it makes.
    pub attempts: u32,
    /// Its nominal duration: waits and cut attempts.
    pub nominal: Duration,
    /// How much shorter than `nominal` it may really be (connects cut early, a shared wait
    /// whose start the previous call's overhead moved).
    pub early: Duration,
    /// Which rules of issue 14 decided something in this call, for the coverage summary.
    pub notes: Vec<&'static str>,
}

/// What a whole scenario must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// Per server, the requests it receives, in order.
    pub arrivals: Vec<Vec<Arrival>>,
    /// Per call, in order.
    pub calls: Vec<CallExpectation>,
}

/// The outcome depends on a race the model does not decide; the text says which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ambiguous(pub String);

/// What an attempt produced.
#[derive(Clone, Debug)]
enum Produced {
    /// A response (after redirects).
    Response {
        status: u16,
        retry_after: Option<String>,
        hints: Hints,
        mid_body: bool,
        head: bool,
    },
    /// No hop delivered the request.
    NotSent,
    /// Failed after a hop delivered it.
    Failed(Outcome),
}

/// A parsed `Retry-After`: a positive wait, or nothing (absent, `0`, past, malformed).
pub fn retry_after_wait(value: &str) -> Option<Duration> {
    let text = value.trim();
    let wait = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(text.parse().unwrap_or(u64::MAX))
    } else {
        let date = httpdate::parse_http_date(text).ok()?;
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    (!wait.is_zero()).then_some(wait)
}

/// A parsed `retry-after-ms`: whole milliseconds, or nothing (absent, `0`, malformed).
pub fn retry_after_ms_wait(value: &str) -> Option<Duration> {
    let text = value.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wait = Duration::from_millis(text.parse().unwrap_or(u64::MAX));
    (!wait.is_zero()).then_some(wait)
}

/// A parsed rate-limit reset in delta seconds (`0.2`, `3600`): nothing if malformed or zero.
pub fn reset_wait(value: &str) -> Option<Duration> {
    let text = value.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return None;
    }
    let wait = Duration::from_secs_f64(text.parse::<f64>().ok()?.min(1e9));
    (!wait.is_zero()).then_some(wait)
}

/// The wait a response asks for, under `s`: `retry-after-ms`, else `Retry-After` (both when
/// `Retry-After` is honoured), else the rate-limit reset. `hold` leaves the reset out: only
/// the first two hold a host back.
fn server_wait(
    s: &Settings,
    status: u16,
    retry_after: Option<&str>,
    hints: &Hints,
    hold: bool,
) -> Option<(Duration, &'static str)> {
    if s.respect_retry_after_header {
        let ms = hints
            .retry_after_ms
            .as_deref()
            .filter(|_| s.respect_retry_after_ms)
            .and_then(retry_after_ms_wait);
        if let Some(wait) = ms {
            return Some((wait, "retry-after-ms"));
        }
        if let Some(wait) = retry_after.and_then(retry_after_wait) {
            return Some((wait, "Retry-After"));
        }
    }
    if hold || !spent(s, status, hints) {
        return None;
    }
    Some((
        hints.reset.as_deref().and_then(reset_wait)?,
        "rate-limit reset",
    ))
}

/// Whether a rate-limit reset applies and says nothing remains.
fn spent(s: &Settings, status: u16, hints: &Hints) -> bool {
    s.rate_limit_reset
        && RATE_LIMITED.contains(&status)
        && hints.remaining.as_deref().map(str::trim) == Some("0")
}

/// The should-retry header's say, under `s`.
fn should_retry(s: &Settings, hints: &Hints) -> Option<bool> {
    let value = hints
        .should_retry
        .as_deref()
        .filter(|_| s.should_retry_header)?;
    let value = value.trim();
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// What a classifier answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Defer,
    Retry,
    RetryAfter(Duration),
    Stop,
}

/// What `rule` answers about the `number`-th attempt, which produced `produced`.
fn verdict(rule: Option<Rule>, produced: &Produced, number: u32) -> Verdict {
    let status = match produced {
        Produced::Response { status, .. } => Some(*status),
        _ => None,
    };
    match rule {
        Some(Rule::Retry409) if status == Some(409) => Verdict::Retry,
        Some(Rule::Stop503) if status == Some(503) => Verdict::Stop,
        Some(Rule::WaitOnClosed) if matches!(produced, Produced::Failed(Outcome::Closed)) => {
            Verdict::RetryAfter(Rule::CLOSED_WAIT)
        }
        Some(Rule::StopOnConnect) if matches!(produced, Produced::NotSent) => Verdict::Stop,
        Some(Rule::RetryFirstSuccess)
            if number == 1 && status.is_some_and(|s| (200..300).contains(&s)) =>
        {
            Verdict::Retry
        }
        _ => Verdict::Defer,
    }
}

fn backoff(settings: &Settings, retry: u32) -> Duration {
    let secs = settings.backoff_factor * 2f64.powi(retry as i32 - 2);
    Duration::from_secs_f64(secs).min(settings.backoff_max)
}

fn near(a: Duration, b: Duration, margin: Duration) -> bool {
    a.abs_diff(b) < margin
}

/// The expected observations of `scenario`, or why the model cannot tell them.
///
/// # Errors
///
/// [`Ambiguous`] when the outcome hinges on two nearly equal instants, or a call would hang
/// with no limit to end it.
///
pub fn expect(scenario: &Scenario) -> Result<Expectation, Ambiguous> {
    let mut arrivals = vec![Vec::new(); scenario.servers];
    let mut calls = Vec::new();
    // Per server (a first-hop origin): until when the shared `Retry-After` holds it.
    let mut holds: HashMap<usize, Duration> = HashMap::new();
    let mut clock = Duration::ZERO;
    for (index, call) in scenario.calls.iter().enumerate() {
        let start = clock;
        let expectation =
            expect_call(scenario, index, call, &mut clock, &mut holds, &mut arrivals)?;
        calls.push(CallExpectation {
            nominal: clock - start,
            ..expectation
        });
    }
    Ok(Expectation { arrivals, calls })
}

fn expect_call(
    scenario: &Scenario,
    index: usize,
    call: &Call,
    clock: &mut Duration,
    holds: &mut HashMap<usize, Duration>,
    arrivals: &mut [Vec<Arrival>],
) -> Result<CallExpectation, Ambiguous> {
    let s = call.settings(scenario);
    let mut notes = Vec::new();
    let done = |outcome: Outcome, attempts, early, notes: &mut Vec<&'static str>| CallExpectation {
        // `error_for_status`: whatever ended the call, a final status >= 400 is an error.
        outcome: match outcome {
            Outcome::Response { status, .. } if s.error_for_status && status >= 400 => {
                Outcome::Raised(status)
            }
            outcome => outcome,
        },
        attempts,
        nominal: Duration::ZERO,
        early,
        notes: std::mem::take(notes),
    };
    if call.unbuildable {
        return Ok(done(Outcome::Builder, 0, Duration::ZERO, &mut notes));
    }
    let start = *clock;
    let deadline = s.total_timeout.map(|total| start + total);
    let allowed = s.allowed_methods.contains(&call.method);
    let streaming = matches!(call.body, Body::Stream(_));
    // Whether a retry could send the stream again: one the attempt never read goes as it is.
    let stream_kept = match &call.body {
        Body::Stream(bytes) if s.replay_limit > 0 => {
            !matches!(call.hops[0].target, Target::Server(_)) || bytes.len() <= s.replay_limit
        }
        _ => false,
    };
    let unsafe_method = matches!(call.method, Method::Post | Method::Patch);
    let keyed = if call.own_key {
        Some(Key::Caller(Call::caller_key(scenario.seed, index)))
    } else {
        (s.idempotency_key
            && unsafe_method
            && s.max_retries > 0
            && (allowed || s.keyed_retries || s.should_retry_header || s.classify.is_some())
            && (!streaming || s.replay_limit > 0))
            .then_some(Key::Generated(index))
    };
    // Whether the request may be sent again once it may have reached a server.
    let may_resend = if s.keyed_retries && unsafe_method {
        keyed.is_some()
    } else {
        allowed
    };
    let first = match call.hops[0].target {
        Target::Server(server) => Some(server),
        _ => None,
    };
    let mut seen = vec![0usize; call.hops.len()];
    let mut early = Duration::ZERO;
    let mut retries = 0u32;
    loop {
        // Rule 10: a held first-hop origin delays the attempt, within the call's own limits.
        if s.share_retry_after && s.respect_retry_after_header {
            if let Some(&until) = first.and_then(|server| holds.get(&server)) {
                if until > *clock {
                    let past_deadline = deadline.is_some_and(|d| until >= d);
                    let too_long = until - *clock > s.retry_after_max;
                    if deadline.is_some_and(|d| near(until, d, MARGIN))
                        || near(until - *clock, s.retry_after_max, MARGIN)
                    {
                        return Err(Ambiguous(format!(
                            "call {index}: shared hold near its deadline or retry_after_max"
                        )));
                    }
                    if !past_deadline && !too_long {
                        early += MARGIN;
                        *clock = until;
                    }
                }
            }
        }
        // Rule 8: the shortest limit. Whether the deadline is the one that cuts a hang matters:
        // no retry can follow it. Limits too close to tell apart make the scenario ambiguous.
        let fixed = [
            call.request_timeout,
            scenario.session_timeout,
            s.attempt_timeout,
        ]
        .into_iter()
        .flatten()
        .min();
        let remaining = deadline.map(|d| d.saturating_sub(*clock));
        let limit = [fixed, remaining].into_iter().flatten().min();
        let by_deadline = match (fixed, remaining) {
            (Some(fixed), Some(remaining)) if near(fixed, remaining, MARGIN) => None,
            (fixed, Some(remaining)) => Some(fixed.is_none_or(|fixed| remaining < fixed)),
            (_, None) => Some(false),
        };
        let (mut produced, cut) = attempt(index, call, keyed.as_ref(), &mut seen, arrivals);
        // Rule 8's exception: only a session built with a time limit cuts connects; elsewhere
        // the limit cuts a hanging connect as any other hang, a timeout (the safe side).
        let knows_client = scenario.front.knows_client();
        let cuts_connects = knows_client
            && (scenario.session_timeout.is_some()
                || scenario.settings.attempt_timeout.is_some()
                || scenario.settings.total_timeout.is_some());
        if cut && !cuts_connects {
            if let Produced::NotSent | Produced::Failed(Outcome::RedirectTargetFailed) = produced {
                produced = Produced::Failed(Outcome::Timeout);
            }
        }
        // A session over a client built elsewhere cannot see redirects: a failed connect to a
        // redirect's target is a connect error to it, as one on the first hop.
        if !knows_client {
            if let Produced::Failed(Outcome::RedirectTargetFailed) = produced {
                produced = Produced::NotSent;
            }
        }
        let mut surely_past_deadline = false;
        if cut {
            // The generator never draws a hang without a limit; a shrunk scenario may.
            let Some(limit) = limit else {
                return Err(Ambiguous(format!("call {index}: hangs with no limit")));
            };
            *clock += limit;
            let connecting = matches!(produced, Produced::NotSent)
                || matches!(produced, Produced::Failed(Outcome::RedirectTargetFailed));
            if connecting {
                early += CONNECT_CUT_EARLY;
            } else {
                match by_deadline {
                    None => {
                        return Err(Ambiguous(format!(
                            "call {index}: attempt limit near the deadline"
                        )))
                    }
                    Some(by_deadline) => surely_past_deadline = by_deadline,
                }
            }
        }
        let attempts = retries + 1;
        // Rules 2 and 3: whether the outcome is one to retry, and whether giving up raises.
        let (wanted, raise, hint, final_outcome) = match &produced {
            // ... and so it resends a connect error only as it would any failure after sending.
            Produced::NotSent => (knows_client || may_resend, false, None, Outcome::Connect),
            Produced::Failed(outcome) => {
                if may_resend != allowed {
                    notes.push(if may_resend {
                        "keyed resend"
                    } else {
                        "unkeyed kept"
                    });
                }
                (may_resend, false, None, *outcome)
            }
            Produced::Response {
                status,
                retry_after,
                hints,
                mid_body,
                head,
            } => {
                let status = *status;
                if let (true, true, Some(server), true) = (
                    s.share_retry_after,
                    s.respect_retry_after_header,
                    first,
                    matches!(status, 429 | 503),
                ) {
                    if let Some((wait, _)) =
                        server_wait(s, status, retry_after.as_deref(), hints, true)
                    {
                        let until = *clock + wait.min(s.retry_after_max);
                        let held = holds.entry(server).or_insert(until);
                        *held = (*held).max(until);
                    }
                }
                let outcome = Outcome::Response {
                    status,
                    body_ok: !mid_body || *head,
                };
                let hint = server_wait(s, status, retry_after.as_deref(), hints, false);
                let forced = s.status_forcelist.contains(&status) && may_resend;
                let raise = forced && s.raise_on_status;
                let non_empty = |v: Option<&String>| v.is_some_and(|v| !v.is_empty());
                let asks_to_wait = s.respect_retry_after_header
                    && (non_empty(retry_after.as_ref())
                        || (s.respect_retry_after_ms && non_empty(hints.retry_after_ms.as_ref())));
                let by_retry_after =
                    asks_to_wait && matches!(status, 413 | 429 | 503) && may_resend;
                let told = should_retry(s, hints);
                let rate_limited = s.rate_limit_reset
                    && RATE_LIMITED.contains(&status)
                    && (spent(s, status, hints) || non_empty(retry_after.as_ref()))
                    && may_resend;
                if may_resend != allowed && (forced || by_retry_after) {
                    notes.push(if may_resend {
                        "keyed resend"
                    } else {
                        "unkeyed kept"
                    });
                }
                let (wanted, raise) = match told {
                    Some(false) => {
                        if forced || by_retry_after || rate_limited {
                            notes.push("should-retry false");
                        }
                        (false, false)
                    }
                    _ if forced || by_retry_after => (true, raise),
                    Some(true) if status >= 400 && (keyed.is_some() || may_resend) => {
                        notes.push("should-retry true");
                        (true, false)
                    }
                    _ => {
                        if rate_limited {
                            notes.push("rate limited");
                        }
                        (rate_limited, false)
                    }
                };
                (wanted, raise, hint, outcome)
            }
        };
        // The classifier, asked first: its verdict replaces the rules' wish, not the rails.
        let verdict = verdict(s.classify, &produced, attempts);
        if verdict == Verdict::Stop {
            notes.push("classifier stop");
            return Ok(done(final_outcome, attempts, early, &mut notes));
        }
        if verdict != Verdict::Defer {
            notes.push("classifier retry");
        }
        let (wanted, raise) = match verdict {
            Verdict::Retry | Verdict::RetryAfter(_) => (true, {
                matches!(final_outcome, Outcome::Response { status, .. }
                    if s.status_forcelist.contains(&status))
                    && may_resend
                    && s.raise_on_status
            }),
            _ => (wanted, raise),
        };
        let stop = |outcome: Outcome, notes: &mut Vec<&'static str>| {
            let outcome = match outcome {
                Outcome::Response { status, .. } if raise => Outcome::Raised(status),
                outcome => outcome,
            };
            Ok(done(outcome, attempts, early, notes))
        };
        if !wanted || retries >= s.max_retries || (streaming && !stream_kept) {
            if wanted && retries < s.max_retries && s.replay_limit > 0 {
                notes.push("stream not kept");
            }
            return stop(final_outcome, &mut notes);
        }
        if streaming {
            notes.push("stream replayed");
        }
        // Rules 5 and 6: the wait; a server's (or the classifier's) wait beyond the cap ends
        // the retries.
        let asked = match verdict {
            Verdict::RetryAfter(wait) => Some(wait),
            _ => hint.map(|(wait, source)| {
                if source != "Retry-After" {
                    notes.push(source);
                }
                wait
            }),
        };
        let wait = match asked {
            Some(asked) if asked > s.retry_after_max => {
                notes.push("wait beyond retry_after_max");
                return stop(final_outcome, &mut notes);
            }
            Some(asked) => asked,
            None => backoff(s, retries + 1),
        };
        if let Some(deadline) = deadline {
            if surely_past_deadline {
                return stop(final_outcome, &mut notes);
            }
            if near(*clock + wait, deadline, MARGIN) {
                return Err(Ambiguous(format!(
                    "call {index}: a wait ends near the deadline"
                )));
            }
            if *clock + wait >= deadline {
                return stop(final_outcome, &mut notes);
            }
        }
        *clock += wait;
        retries += 1;
    }
}

/// One attempt: walks the redirect chain as reqwest does, recording what each server receives.
/// Also says whether the attempt hung (a server that never answers, a connect that never
/// completes), so that its limit cut it.
fn attempt(
    index: usize,
    call: &Call,
    keyed: Option<&Key>,
    seen: &mut [usize],
    arrivals: &mut [Vec<Arrival>],
) -> (Produced, bool) {
    let mut method = call.method;
    // `None` once a redirect dropped the body.
    let mut body = Some(&call.body);
    for (hop, step) in call.hops.iter().enumerate() {
        let server = match step.target {
            Target::Server(server) => server,
            Target::Refused | Target::NeverConnects => {
                let produced = if hop == 0 {
                    Produced::NotSent
                } else {
                    Produced::Failed(Outcome::RedirectTargetFailed)
                };
                return (produced, step.target == Target::NeverConnects);
            }
        };
        let arrival = seen[hop];
        seen[hop] += 1;
        arrivals[server].push(Arrival {
            method: method.name(),
            path: Call::path(index, hop),
            body: match body {
                Some(Body::Bytes(bytes) | Body::Stream(bytes)) => bytes.clone(),
                Some(Body::None) | None => Vec::new(),
            },
            keyed: keyed.cloned(),
        });
        match &step.script[arrival.min(step.script.len() - 1)] {
            Behaviour::Hang => return (Produced::Failed(Outcome::Timeout), true),
            Behaviour::Reset => return (Produced::Failed(Outcome::Closed), false),
            Behaviour::Respond {
                status,
                retry_after,
                mid_body,
                hints,
            } => {
                let produced = Produced::Response {
                    status: *status,
                    retry_after: retry_after.clone(),
                    hints: hints.clone(),
                    mid_body: *mid_body,
                    head: method == Method::Head,
                };
                return (produced, false);
            }
            Behaviour::Redirect(status) => {
                // tower-http's FollowRedirect, which reqwest uses.
                match status {
                    301 | 302 if method == Method::Post => {
                        method = Method::Get;
                        body = None;
                    }
                    303 => {
                        if method != Method::Head {
                            method = Method::Get;
                        }
                        body = None;
                    }
                    _ => {}
                }
                // A stream cannot be sent again: the redirect itself is the response.
                if matches!(body, Some(Body::Stream(_))) {
                    let produced = Produced::Response {
                        status: *status,
                        retry_after: None,
                        hints: Hints::default(),
                        mid_body: false,
                        head: method == Method::Head,
                    };
                    return (produced, false);
                }
            }
        }
    }
    unreachable!("the last hop of a chain never redirects")
}
