//! `tracing` output: one span per call with OpenTelemetry HTTP semantic-convention fields, a
//! DEBUG event per retry and a WARN when a call gives up. Never header values or bodies; the URL
//! is recorded without its query, fragment or credentials.

use std::time::Duration;

use reqwest::{Method, Url};
use tracing::field::Empty;
use tracing::Span;

use crate::policy::Wait;
use crate::record::{AttemptOutcome, Decider, GiveUp};
use crate::redact::redacted;
use crate::state::breaker::Transition;
use crate::state::throttle::Shedding;

/// The call's span, disabled when no subscriber wants it.
///
/// Out of line: `info_span!` expands to much code, which would sit among the code every call
/// runs and take room in the instruction cache; its own first check is the level, so a call
/// without a subscriber pays for little more than the function call.
#[inline(never)]
pub(crate) fn call_span(method: &Method, url: &Url) -> Span {
    let span = tracing::info_span!(
        target: "api_toolkit",
        "http.client.request",
        "otel.kind" = "client",
        "http.request.method" = %method,
        "server.address" = Empty,
        "server.port" = Empty,
        "url.full" = Empty,
        "http.response.status_code" = Empty,
        "http.request.resend_count" = Empty,
        "error.type" = Empty,
    );
    if !span.is_disabled() {
        if let Some(host) = url.host_str() {
            span.record("server.address", host);
        }
        if let Some(port) = url.port_or_known_default() {
            span.record("server.port", port);
        }
        span.record("url.full", redacted(url).as_str());
    }
    span
}

/// Records the `error.type` of a call that ended with `outcome`, as the HTTP client conventions
/// say: a status of 400 or more as its number, a failure without a response as a short
/// identifier, nothing for a success.
fn record_error_type(span: &Span, outcome: AttemptOutcome) {
    let failure = match outcome {
        AttemptOutcome::Status(status) => {
            if status.as_u16() >= 400 {
                span.record("error.type", tracing::field::display(status.as_u16()));
            }
            return;
        }
        AttemptOutcome::Connect | AttemptOutcome::ConnectAfterRedirect => "connect",
        AttemptOutcome::Timeout => "timeout",
        AttemptOutcome::Closed => "closed",
        AttemptOutcome::Other => "request",
        AttemptOutcome::Service => "service",
        AttemptOutcome::Cancelled => "cancelled",
    };
    span.record("error.type", failure);
}

// Cold: the events' code stays out of the success path's.
#[cold]
pub(crate) fn retrying(
    span: &Span,
    attempt: usize,
    outcome: AttemptOutcome,
    wait: Wait,
    decided_by: Decider,
) {
    tracing::debug!(
        target: "api_toolkit",
        parent: span,
        attempt,
        reason = %outcome,
        decided_by = %decided_by,
        wait_ms = wait.duration.as_millis() as u64,
        wait_source = %wait.source,
        "retrying",
    );
}

#[cold]
pub(crate) fn gave_up(span: &Span, attempts: usize, outcome: AttemptOutcome, reason: GiveUp) {
    tracing::warn!(target: "api_toolkit", parent: span, attempts, last = %outcome, reason = %reason, "giving up");
}

/// Records the call's outcome on its span; only the check that it is enabled is inlined.
#[inline]
pub(crate) fn finished(span: &Span, outcome: AttemptOutcome, retries: usize) {
    if !span.is_disabled() {
        record_finished(span, outcome, retries);
    }
}

#[inline(never)]
fn record_finished(span: &Span, outcome: AttemptOutcome, retries: usize) {
    if let AttemptOutcome::Status(status) = outcome {
        span.record("http.response.status_code", status.as_u16());
    }
    record_error_type(span, outcome);
    if retries > 0 {
        span.record("http.request.resend_count", retries);
    }
}

/// A host's circuit breaker changed state: WARN when it opens (calls to the host now fail at
/// once), INFO when it lets probes through or closes. Not tied to a call's span: the state is
/// the session's.
#[cold]
pub(crate) fn circuit(origin: &str, change: Transition) {
    match change {
        Transition::Opened => {
            tracing::warn!(target: "api_toolkit", origin, state = "open", "circuit breaker opened")
        }
        Transition::HalfOpened => {
            tracing::info!(target: "api_toolkit", origin, state = "half_open", "circuit breaker half-open")
        }
        Transition::Closed => {
            tracing::info!(target: "api_toolkit", origin, state = "closed", "circuit breaker closed")
        }
    }
}

/// A host's throttling started (WARN: some calls to it now fail at once) or stopped (INFO).
/// Not tied to a call's span: the state is the session's.
#[cold]
pub(crate) fn throttling(origin: &str, change: Shedding) {
    match change {
        Shedding::Started => {
            tracing::warn!(target: "api_toolkit", origin, throttling = true, "throttling started: the host keeps refusing")
        }
        Shedding::Stopped => {
            tracing::info!(target: "api_toolkit", origin, throttling = false, "throttling stopped")
        }
    }
}

/// A call refused at once by throttling: DEBUG, as many are while it lasts.
#[cold]
pub(crate) fn throttle_refused(span: &Span, origin: &str) {
    tracing::debug!(target: "api_toolkit", parent: span, origin, "throttled: not sent");
}

/// A host's rate-limit headers said that nothing remains: the session's calls to it are held
/// until the reset. INFO, once per window that runs out; not tied to a call's span.
#[cold]
pub(crate) fn quota_spent(origin: &str, resets_in: std::time::Duration) {
    tracing::info!(target: "api_toolkit", origin, resets_in = ?resets_in, "rate limit spent: calls held until the reset");
}

/// Another worker of the fleet found a host failing: this session's breaker of it opens too.
/// INFO; not tied to a call's span.
#[cold]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn fleet_opened(origin: &str, for_: std::time::Duration) {
    tracing::info!(target: "api_toolkit", origin, open_for = ?for_, "circuit opened by the fleet");
}

/// A call held by pacing before an attempt (`refused`: longer than it may wait, so it ends).
#[cold]
pub(crate) fn paced(span: &Span, origin: &str, hold: std::time::Duration, refused: bool) {
    if refused {
        tracing::debug!(target: "api_toolkit", parent: span, origin, hold = ?hold, "rate limit spent: not sent");
    } else {
        tracing::debug!(target: "api_toolkit", parent: span, origin, hold = ?hold, "rate limit: held");
    }
}

/// A call refused at once by an open breaker: DEBUG, since every call to the host does so
/// while it is open (the WARN was its opening).
#[cold]
pub(crate) fn circuit_refused(span: &Span, origin: &str) {
    tracing::debug!(target: "api_toolkit", parent: span, origin, "circuit breaker open: not sent");
}

/// A hedged copy of an attempt was sent: DEBUG, like a retry.
#[cold]
pub(crate) fn hedging(span: &Span, attempt: usize, waited: Duration, in_flight: usize) {
    tracing::debug!(
        target: "api_toolkit",
        parent: span,
        attempt,
        waited_ms = waited.as_millis() as u64,
        in_flight,
        "hedging",
    );
}
