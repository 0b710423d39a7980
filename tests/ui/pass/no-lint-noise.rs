//! The expansion adds no lint noise: not under `deny(warnings)`, `missing_docs` or clippy's
//! pedantic lints. (Also compiled as a module of `tests/ui.rs`, which clippy checks.)
#![deny(warnings, missing_docs, clippy::all, clippy::pedantic)]

use api_toolkit::{ApiConnector, Attempt, Connector, Session, Verdict};

/// A classifier.
#[must_use]
pub fn rules(attempt: &Attempt<'_>) -> Verdict {
    if attempt
        .status()
        .is_some_and(|status| status.as_u16() == 409)
    {
        Verdict::Retry
    } else {
        Verdict::Defer
    }
}

/// A connector whose expansion uses every kind of value.
#[derive(Connector)]
#[retry(max_retries = 1000000, backoff_factor = 0.5, status_forcelist = [500, 503])]
#[retry(allowed_methods = ["GET", "PURGE"], raise_on_status = true, backoff_max = 1.5)]
#[retry(respect_retry_after_header = false, retry_after_max = 120)]
#[retry(total_timeout = 1000000, attempt_timeout = 0.5, retry_budget = 0.2)]
#[retry(
    should_retry_header = "x-should-retry",
    rate_limit_reset = "x-ratelimit-reset"
)]
#[retry(classify = rules, classify_body_bytes = 65536, replay_limit = 268435456)]
#[retry(circuit_breaker(failure_ratio = 0.5, window = 3600, break_duration = 0.25))]
#[retry(pacing(spread = true))]
#[retry(hedging(delay_ms = 1_000, max_hedged = 2))]
pub struct Documented {
    session: Session,
}

/// Ranges in status lists, and `rate_limit_reset(...)` with some of its keys.
#[derive(Connector)]
#[retry(status_forcelist = [429, 500..=599, 503])]
#[retry(rate_limit_reset(form = "delta_seconds", statuses = [403, 429..=429]))]
pub struct Ranges {
    session: Session,
}

/// Every key given: the expansion has no `..RetrySettings::default()`.
#[derive(Connector)]
#[retry(max_retries = 3, backoff_factor = 1, status_forcelist = [], allowed_methods = ["GET"])]
#[retry(
    raise_on_status = false,
    error_for_status = false,
    backoff_max = 10,
    respect_retry_after_header = true
)]
#[retry(retry_after_max = 0.5, total_timeout = 60, attempt_timeout = 2.5)]
#[retry(backoff_jitter = 0.25, idempotency_key = true, retry_budget = 1000)]
#[retry(
    share_retry_after = true,
    respect_retry_after_ms = true,
    keyed_retries = true
)]
#[retry(should_retry_header = "stripe-should-retry", classify = self::rules)]
#[retry(classify_body_bytes = 1024, replay_limit = 1_048_576)]
#[retry(circuit_breaker(min_attempts = 1_000_000, half_open_probes = 3, count_timeouts = true))]
#[retry(hedging(delay = 0.125, max_hedged = 1))]
#[retry(rate_limit_reset(
    header = "ratelimit-reset",
    form = "epoch_seconds",
    remaining_header = "ratelimit-remaining",
    statuses = [429, 500..=504]
))]
pub struct Complete<'a, T: Clone> {
    /// The session.
    #[session]
    pub http: Session,
    /// Borrowed data.
    pub data: &'a T,
}

/// A tuple connector without `#[retry(...)]`.
#[derive(Connector)]
pub struct Tuple(#[session] pub Session);

/// Uses the connectors.
///
/// # Panics
///
/// If a session cannot be built.
pub fn main() {
    let documented = Documented {
        session: Documented::new_session().unwrap(),
    };
    assert_eq!(documented.get_retry_settings().max_retries, 1_000_000);
    assert_eq!(Ranges::default_retry_settings().status_forcelist.len(), 101);
    let complete = Complete {
        http: Complete::<u8>::new_session().unwrap(),
        data: &1_u8,
    };
    assert_eq!(*complete.data, 1);
    assert_eq!(complete.get_retry_settings().max_retries, 3);
    assert!(complete.get_retry_settings().share_retry_after);
    let tuple = Tuple(Tuple::new_session().unwrap());
    assert_eq!(tuple.get_retry_settings().max_retries, 0);
}
