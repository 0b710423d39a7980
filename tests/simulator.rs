//! The policy simulator: the engine's own decision and waits on a virtual clock, with a
//! scripted outcome per attempt. The differential test against a real session is in
//! `tests/simulator_vs_session.rs`.

use std::time::{Duration, Instant};

use api_toolkit::simulate::{Ending, ScriptError, Step, START_UNIX_SECS};
use api_toolkit::{
    AttemptOutcome, ErrorKind, GiveUp, Method, RetrySettings, StatusCode, WaitSource,
};

fn seed_table() -> RetrySettings {
    RetrySettings {
        max_retries: 5,
        backoff_factor: 2.0,
        status_forcelist: vec![503],
        ..RetrySettings::default()
    }
}

fn slow(status: u16) -> Step {
    Step::status(status).after(Duration::from_secs(5))
}

/// No real sleeping: 61 s of virtual time take a moment. (The figure — about 20 µs a run in a
/// release build — is the closing note's; this bound only proves nothing sleeps.)
#[test]
fn the_seed_s_table_without_sleeping() {
    let script = || {
        [
            slow(503),
            slow(503),
            slow(503),
            slow(503),
            slow(503),
            slow(200),
        ]
    };
    // The first run of a process sets up tokio's thread-locals; time the ones after it.
    seed_table().simulate(Method::GET, script()).unwrap();
    let runs = 200u32;
    let started = Instant::now();
    for _ in 0..runs {
        let simulation = seed_table().simulate(Method::GET, script()).unwrap();
        assert_eq!(simulation.elapsed(), Duration::from_secs(61));
    }
    let each = started.elapsed() / runs;
    println!("simulate(seed table): {each:?} of real time per run");
    assert!(each < Duration::from_millis(50), "{each:?}");
}

#[test]
fn the_record_is_the_engine_s() {
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 0.5,
        allowed_methods: vec![Method::GET],
        ..RetrySettings::default()
    };
    let script = [
        Step::connect_error(),
        Step::status(429).header("retry-after", "7"),
        Step::closed(),
        Step::status(200),
    ];
    let simulation = settings.simulate(Method::GET, script).unwrap();
    let seen: Vec<_> = simulation
        .record()
        .attempts()
        .iter()
        .map(|a| (a.outcome(), a.wait_before(), a.wait_source()))
        .collect();
    assert_eq!(
        seen,
        [
            (AttemptOutcome::Connect, Duration::ZERO, WaitSource::None),
            (
                AttemptOutcome::Status(StatusCode::TOO_MANY_REQUESTS),
                Duration::from_millis(250),
                WaitSource::Backoff
            ),
            (
                AttemptOutcome::Closed,
                Duration::from_secs(7),
                WaitSource::RetryAfter
            ),
            (
                AttemptOutcome::Status(StatusCode::OK),
                Duration::from_secs(1),
                WaitSource::Backoff
            ),
        ]
    );
    assert_eq!(simulation.ending(), Ending::Response(StatusCode::OK));
}

#[test]
fn a_post_that_may_have_arrived_is_not_resent() {
    let settings = RetrySettings {
        max_retries: 3,
        allowed_methods: vec![Method::GET],
        ..RetrySettings::default()
    };
    let simulation = settings
        .simulate(Method::POST, [Step::connect_error(), Step::closed()])
        .unwrap();
    assert_eq!(
        simulation.record().attempt_count(),
        2,
        "the connect error is retried"
    );
    assert_eq!(
        simulation.ending(),
        Ending::Error {
            kind: ErrorKind::Request,
            status: None
        }
    );
}

#[test]
fn a_retry_after_date_is_read_on_the_virtual_wall_clock() {
    let at =
        httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(START_UNIX_SECS + 30));
    let settings = RetrySettings {
        max_retries: 1,
        ..RetrySettings::default()
    };
    let script = [
        Step::status(503).header("retry-after", &at),
        Step::status(200),
    ];
    let simulation = settings.simulate(Method::GET, script).unwrap();
    assert_eq!(
        simulation.record().attempts()[1].wait_before(),
        Duration::from_secs(30)
    );
    assert_eq!(simulation.elapsed(), Duration::from_secs(30));
}

#[test]
fn limits_cut_slow_and_silent_steps_and_the_deadline_ends_the_call() {
    let settings = RetrySettings {
        max_retries: 5,
        backoff_factor: 0.0,
        attempt_timeout: Some(Duration::from_secs(2)),
        total_timeout: Some(Duration::from_secs(5)),
        allowed_methods: vec![Method::GET],
        ..RetrySettings::default()
    };
    let script = [
        Step::silent(),
        Step::status(200).after(Duration::from_secs(3)),
        Step::silent(),
        Step::status(200),
    ];
    let simulation = settings.simulate(Method::GET, script).unwrap();
    let outcomes: Vec<_> = simulation
        .record()
        .attempts()
        .iter()
        .map(|a| a.outcome())
        .collect();
    // 2 s, 2 s, then the 1 s left before the deadline.
    assert_eq!(outcomes, [AttemptOutcome::Timeout; 3]);
    assert_eq!(simulation.elapsed(), Duration::from_secs(5));
    assert_eq!(simulation.record().give_up(), Some(GiveUp::Deadline));
}

#[test]
fn raise_on_status_and_error_for_status_end_as_errors_holding_the_status() {
    let settings = RetrySettings {
        max_retries: 1,
        backoff_factor: 0.0,
        raise_on_status: true,
        ..RetrySettings::default()
    };
    let simulation = settings
        .simulate(Method::GET, [Step::status(503), Step::status(503)])
        .unwrap();
    assert_eq!(
        simulation.ending(),
        Ending::Error {
            kind: ErrorKind::Status,
            status: Some(StatusCode::SERVICE_UNAVAILABLE)
        }
    );
    assert_eq!(simulation.record().give_up(), Some(GiveUp::Exhausted));
    let settings = RetrySettings {
        error_for_status: true,
        ..RetrySettings::default()
    };
    let simulation = settings.simulate(Method::GET, [Step::status(404)]).unwrap();
    assert_eq!(simulation.status(), Some(StatusCode::NOT_FOUND));
    assert!(matches!(
        simulation.ending(),
        Ending::Error {
            kind: ErrorKind::Status,
            ..
        }
    ));
}

#[test]
fn jitter_is_drawn_from_a_fixed_seed() {
    let settings = RetrySettings {
        max_retries: 3,
        backoff_jitter: Duration::from_secs(1),
        ..seed_table()
    };
    let script = || {
        [
            Step::status(503),
            Step::status(503),
            Step::status(503),
            Step::status(200),
        ]
    };
    let first = settings.simulate(Method::GET, script()).unwrap();
    let second = settings.simulate(Method::GET, script()).unwrap();
    assert_eq!(first, second);
    assert_ne!(
        first.record().attempts()[1].wait_before(),
        Duration::from_secs(1)
    );
}

#[test]
fn impossible_scripts_are_clear_errors() {
    let cases: [(RetrySettings, Vec<Step>, &str); 5] = [
        (seed_table(), vec![Step::status(99)], "script step 1: status 99 is outside 100..=599"),
        (
            seed_table(),
            vec![Step::status(503), Step::status(200).header("bad header", "x")],
            "script step 2: \"bad header\" is not a header name",
        ),
        (
            seed_table(),
            vec![Step::connect_error().header("retry-after", "1")],
            "script step 1: only a response has headers",
        ),
        (
            seed_table(),
            vec![Step::silent()],
            "script step 1: a silent server with neither `attempt_timeout` nor `total_timeout` would hold the call forever",
        ),
        (
            seed_table(),
            vec![Step::status(503)],
            "the call made more attempts than the script's 1 steps",
        ),
    ];
    for (settings, script, message) in cases {
        let error = settings.simulate(Method::GET, script).unwrap_err();
        assert!(error.to_string().starts_with(message), "{error}");
    }
    let invalid = RetrySettings {
        backoff_factor: -1.0,
        ..RetrySettings::default()
    };
    let error = invalid
        .simulate(Method::GET, [Step::status(200)])
        .unwrap_err();
    assert!(matches!(error, ScriptError::Settings(ref e) if e.field() == "backoff_factor"));
}

#[tokio::test]
async fn from_async_code_too() {
    let simulation = seed_table()
        .simulate(Method::GET, [Step::status(503), Step::status(200)])
        .unwrap();
    assert_eq!(simulation.elapsed(), Duration::from_secs(1));
}
