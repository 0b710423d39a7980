//! The rules, written a second time: what the servers must receive and how each call must end.
//!
//! Time is nominal: an answer takes no time, a hang lasts until the attempt's limit, a wait
//! lasts what it says. Where the real outcome would depend on which of two nearly equal
//! instants comes first (a wait ending close to the deadline), the model does not guess: it
//! says the scenario is [`Ambiguous`] and the generator draws another one.

use std::collections::HashMap;
use std::time::Duration;

use super::scenario::{Behaviour, Body, Call, Method, Scenario, Settings, Target};

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
    /// `Some(call)`: the request carries that call's `Idempotency-Key`; `None`: no key.
    pub keyed: Option<usize>,
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
    /// with `raise_on_status`.
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
    let done = |outcome, attempts, early| CallExpectation {
        outcome,
        attempts,
        nominal: Duration::ZERO,
        early,
    };
    if call.unbuildable {
        return Ok(done(Outcome::Builder, 0, Duration::ZERO));
    }
    let start = *clock;
    let deadline = s.total_timeout.map(|total| start + total);
    let allowed = s.allowed_methods.contains(&call.method);
    let streaming = matches!(call.body, Body::Stream(_));
    let keyed = (s.idempotency_key
        && matches!(call.method, Method::Post | Method::Patch)
        && s.max_retries > 0
        && allowed
        && !streaming)
        .then_some(index);
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
        let (mut produced, cut) = attempt(index, call, keyed, &mut seen, arrivals);
        // Rule 8's exception: only a session built with a time limit cuts connects; elsewhere
        // the limit cuts a hanging connect as any other hang, a timeout (the safe side).
        let cuts_connects = scenario.session_timeout.is_some()
            || scenario.settings.attempt_timeout.is_some()
            || scenario.settings.total_timeout.is_some();
        if cut && !cuts_connects {
            if let Produced::NotSent | Produced::Failed(Outcome::RedirectTargetFailed) = produced {
                produced = Produced::Failed(Outcome::Timeout);
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
        let (wanted, raise, retry_after, final_outcome) = match &produced {
            Produced::NotSent => (true, false, None, Outcome::Connect),
            Produced::Failed(outcome) => (allowed, false, None, *outcome),
            Produced::Response {
                status,
                retry_after,
                mid_body,
                head,
            } => {
                let status = *status;
                if let (true, true, Some(server), Some(value)) = (
                    s.share_retry_after,
                    s.respect_retry_after_header,
                    first,
                    retry_after.as_deref(),
                ) {
                    if matches!(status, 429 | 503) {
                        if let Some(wait) = retry_after_wait(value) {
                            let until = *clock + wait.min(s.retry_after_max);
                            let held = holds.entry(server).or_insert(until);
                            *held = (*held).max(until);
                        }
                    }
                }
                let forced = s.status_forcelist.contains(&status) && allowed;
                let by_retry_after = s.respect_retry_after_header
                    && retry_after.as_deref().is_some_and(|v| !v.is_empty())
                    && matches!(status, 413 | 429 | 503)
                    && allowed;
                let outcome = Outcome::Response {
                    status,
                    body_ok: !mid_body || *head,
                };
                (
                    forced || by_retry_after,
                    forced && s.raise_on_status,
                    retry_after.clone().filter(|_| s.respect_retry_after_header),
                    outcome,
                )
            }
        };
        let stop = |outcome: Outcome| {
            let outcome = match outcome {
                Outcome::Response { status, .. } if raise => Outcome::Raised(status),
                outcome => outcome,
            };
            Ok(done(outcome, attempts, early))
        };
        if !wanted || retries >= s.max_retries || streaming {
            return stop(final_outcome);
        }
        // Rules 5 and 6: the wait; a `Retry-After` beyond the cap ends the retries.
        let wait = match retry_after.as_deref().and_then(retry_after_wait) {
            Some(asked) if asked > s.retry_after_max => return stop(final_outcome),
            Some(asked) => asked,
            None => backoff(s, retries + 1),
        };
        if let Some(deadline) = deadline {
            if surely_past_deadline {
                return stop(final_outcome);
            }
            if near(*clock + wait, deadline, MARGIN) {
                return Err(Ambiguous(format!(
                    "call {index}: a wait ends near the deadline"
                )));
            }
            if *clock + wait >= deadline {
                return stop(final_outcome);
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
    keyed: Option<usize>,
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
            keyed,
        });
        match &step.script[arrival.min(step.script.len() - 1)] {
            Behaviour::Hang => return (Produced::Failed(Outcome::Timeout), true),
            Behaviour::Reset => return (Produced::Failed(Outcome::Closed), false),
            Behaviour::Respond {
                status,
                retry_after,
                mid_body,
            } => {
                let produced = Produced::Response {
                    status: *status,
                    retry_after: retry_after.clone(),
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
