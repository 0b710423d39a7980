// Every key at once, with seconds as integers and as floats, and several `#[retry]`s merged.
use std::time::Duration;

use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::{
    ApiConnector, Attempt, CircuitBreaker, Classifier, Connector, Hedging, Method, Pacing,
    RateLimitReset, ResetForm, RetryBudget, RetrySettings, Session, Throttling, Verdict,
};

fn rules(_: &Attempt<'_>) -> Verdict {
    Verdict::Defer
}

#[derive(Connector)]
#[retry(
    max_retries = 5,
    backoff_factor = 2,
    status_forcelist = [429, 503],
    allowed_methods = ["GET", "HEAD", "PURGE", "!#$%&'*+-.^_`|~09azAZ"],
    raise_on_status = true,
    error_for_status = true,
    backoff_max = 30,
    respect_retry_after_header = false,
    retry_after_max = 60,
    total_timeout = 300,
    attempt_timeout = 10,
    backoff_jitter = 1,
    idempotency_key = true,
    retry_budget = 1000,
    share_retry_after = true,
    respect_retry_after_ms = true,
    should_retry_header = "x-should-retry",
    rate_limit_reset = "x-ratelimit-reset",
    keyed_retries = true,
    classify = rules,
    classify_body_bytes = 4096,
    replay_limit = 1048576,
    circuit_breaker(
        failure_ratio = 1,
        min_attempts = 50,
        window = 30,
        break_duration = 60,
        half_open_probes = 1000,
        count_statuses = false,
        count_connection_failures = false,
        count_timeouts = false,
    ),
    throttling(
        k = 3,
        window = 60,
        count_statuses = false,
        count_connection_failures = true,
        count_timeouts = false,
    ),
    pacing(spread = true),
    hedging(delay_ms = 5, max_hedged = 10, quantile = 0.95),
)]
struct Integers {
    session: Session,
}

#[derive(Connector)]
#[retry(max_retries = 100_000, backoff_factor = 0.125, status_forcelist = [])]
#[retry(allowed_methods = ["DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "POST", "PUT"])]
#[retry(
    raise_on_status = false,
    error_for_status = false,
    backoff_max = 1.5,
    respect_retry_after_header = true
)]
#[retry(retry_after_max = 0.25)]
#[retry(total_timeout = 2.5, attempt_timeout = 0.75, backoff_jitter = 0.5)]
#[retry(idempotency_key = false, retry_budget = 0.1, share_retry_after = false)]
#[retry(
    respect_retry_after_ms = false,
    keyed_retries = false,
    classify_body_bytes = 0,
    replay_limit = 0
)]
#[retry(rate_limit_reset(
    header = "ratelimit-reset",
    form = "delta_seconds",
    remaining_header = "ratelimit-remaining",
    statuses = [429]
))]
#[retry(circuit_breaker(failure_ratio = 0.25, window = 0.01, break_duration = 1e-9))]
#[retry(throttling(k = 1.5, window = 0.5))]
#[retry(pacing)]
#[retry(hedging(delay = 0.25))]
struct Floats {
    session: Session,
}

#[derive(Connector)]
#[retry(
    max_retries = 0x10,
    replay_limit = 0x1000_0000,
    backoff_factor = 1e-3,
    backoff_max = 0.0,
    retry_after_max = 0,
    total_timeout = 18446744073709551615,
    attempt_timeout = 1e-9,
    backoff_jitter = 0,
    retry_budget = 0.0,
    circuit_breaker(),
    throttling(),
    pacing(),
    hedging()
)]
struct Odd {
    session: Session,
}

fn main() {
    assert_eq!(
        Integers::default_retry_settings(),
        RetrySettings {
            max_retries: 5,
            backoff_factor: 2.0,
            status_forcelist: vec![429, 503],
            allowed_methods: vec![
                Method::GET,
                Method::HEAD,
                Method::from_bytes(b"PURGE").unwrap(),
                Method::from_bytes(b"!#$%&'*+-.^_`|~09azAZ").unwrap(),
            ],
            raise_on_status: true,
            error_for_status: true,
            backoff_max: Duration::from_secs(30),
            respect_retry_after_header: false,
            retry_after_max: Duration::from_secs(60),
            total_timeout: Some(Duration::from_secs(300)),
            attempt_timeout: Some(Duration::from_secs(10)),
            backoff_jitter: Duration::from_secs(1),
            idempotency_key: true,
            retry_budget: Some(RetryBudget {
                ratio: 1000.0,
                ..RetryBudget::default()
            }),
            share_retry_after: true,
            respect_retry_after_ms: true,
            should_retry_header: Some(HeaderName::from_static("x-should-retry")),
            rate_limit_reset: Some(RateLimitReset {
                header: HeaderName::from_static("x-ratelimit-reset"),
                ..RateLimitReset::default()
            }),
            keyed_retries: true,
            classify: Some(Classifier::from_fn(rules)),
            classify_body_bytes: 4096,
            replay_limit: 1 << 20,
            circuit_breaker: Some(CircuitBreaker {
                failure_ratio: 1.0,
                min_attempts: 50,
                window: Duration::from_secs(30),
                break_duration: Duration::from_secs(60),
                half_open_probes: 1000,
                count_statuses: false,
                count_connection_failures: false,
                count_timeouts: false,
            }),
            throttling: Some(Throttling {
                k: 3.0,
                window: Duration::from_secs(60),
                count_statuses: false,
                count_connection_failures: true,
                count_timeouts: false,
            }),
            pacing: Some(Pacing { spread: true }),
            hedging: Some(Hedging {
                delay: Duration::from_millis(5),
                max_hedged: 10,
                quantile: Some(0.95),
            }),
        }
    );
    assert_eq!(
        Floats::default_retry_settings(),
        RetrySettings {
            max_retries: 100_000,
            backoff_factor: 0.125,
            status_forcelist: vec![],
            allowed_methods: vec![
                Method::DELETE,
                Method::CONNECT,
                Method::OPTIONS,
                Method::TRACE,
                Method::PATCH,
                Method::POST,
                Method::PUT,
            ],
            raise_on_status: false,
            error_for_status: false,
            backoff_max: Duration::from_millis(1500),
            respect_retry_after_header: true,
            retry_after_max: Duration::from_millis(250),
            total_timeout: Some(Duration::from_millis(2500)),
            attempt_timeout: Some(Duration::from_millis(750)),
            backoff_jitter: Duration::from_millis(500),
            idempotency_key: false,
            retry_budget: Some(RetryBudget {
                ratio: 0.1,
                ..RetryBudget::default()
            }),
            share_retry_after: false,
            respect_retry_after_ms: false,
            should_retry_header: None,
            rate_limit_reset: Some(RateLimitReset {
                header: HeaderName::from_static("ratelimit-reset"),
                form: ResetForm::DeltaSeconds,
                remaining_header: HeaderName::from_static("ratelimit-remaining"),
                statuses: vec![429],
            }),
            keyed_retries: false,
            classify: None,
            classify_body_bytes: 0,
            replay_limit: 0,
            circuit_breaker: Some(CircuitBreaker {
                failure_ratio: 0.25,
                window: Duration::from_millis(10),
                break_duration: Duration::from_nanos(1),
                ..CircuitBreaker::default()
            }),
            throttling: Some(Throttling {
                k: 1.5,
                window: Duration::from_millis(500),
                ..Throttling::default()
            }),
            pacing: Some(Pacing::default()),
            hedging: Some(Hedging {
                delay: Duration::from_millis(250),
                ..Hedging::default()
            }),
        }
    );
    assert_eq!(
        Odd::default_retry_settings(),
        RetrySettings {
            max_retries: 16,
            replay_limit: 256 << 20,
            backoff_factor: 0.001,
            backoff_max: Duration::ZERO,
            retry_after_max: Duration::ZERO,
            total_timeout: Some(Duration::from_secs(u64::MAX)),
            attempt_timeout: Some(Duration::from_nanos(1)),
            backoff_jitter: Duration::ZERO,
            retry_budget: Some(RetryBudget {
                ratio: 0.0,
                ..RetryBudget::default()
            }),
            circuit_breaker: Some(CircuitBreaker::default()),
            throttling: Some(Throttling::default()),
            pacing: Some(Pacing::default()),
            hedging: Some(Hedging::default()),
            ..RetrySettings::default()
        }
    );
    for settings in [
        Integers::default_retry_settings(),
        Floats::default_retry_settings(),
        Odd::default_retry_settings(),
    ] {
        assert_eq!(settings.validate(), Ok(()));
    }
    let integers = Integers {
        session: Integers::new_session().unwrap(),
    };
    let floats = Floats {
        session: Floats::new_session().unwrap(),
    };
    let odd = Odd {
        session: Odd::new_session().unwrap(),
    };
    assert_eq!(integers.get_retry_settings().max_retries, 5);
    assert_eq!(floats.get_retry_settings().max_retries, 100_000);
    assert_eq!(odd.get_retry_settings().max_retries, 16);
    // `retry_budget = <ratio>` sets only the ratio: the budget's other fields keep their defaults.
    let budget = floats.get_retry_settings().retry_budget.unwrap();
    assert_eq!(budget.min_per_second, RetryBudget::default().min_per_second);
    assert_eq!(budget.window, RetryBudget::default().window);
}
