//! `total_timeout` bounds the whole call, waits included; `attempt_timeout` each attempt.

use std::time::{Duration, Instant};

use api_toolkit::{AttemptOutcome, CallRecord, GiveUp, Method, RetrySettings, Session};
use testkit::{Reply, TestServer};

fn session(settings: RetrySettings) -> Session {
    Session::new(settings).unwrap()
}

#[tokio::test]
async fn deadline_shorter_than_next_wait_returns_promptly_with_last_outcome() {
    let server = TestServer::start(vec![Reply::status(503).body("busy")]).await;
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 4.0, // 2 s before retry 1
        total_timeout: Some(Duration::from_secs(1)),
        ..RetrySettings::default()
    };
    let started = Instant::now();
    let response = session(settings).get(server.url("/")).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.status(), 503);
    assert_eq!(CallRecord::of(&response).give_up(), Some(GiveUp::Deadline));
    assert_eq!(response.text().await.unwrap(), "busy");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn attempt_in_flight_cut_at_deadline() {
    let server = TestServer::start(vec![Reply::status(200).delay(Duration::from_secs(5))]).await;
    let settings = RetrySettings {
        max_retries: 3,
        total_timeout: Some(Duration::from_millis(300)),
        ..RetrySettings::default()
    };
    let started = Instant::now();
    let error = session(settings)
        .get(server.url("/"))
        .send()
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(290) && elapsed < Duration::from_millis(1500),
        "{elapsed:?}"
    );
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn deadline_spans_retries_and_waits() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let settings = RetrySettings {
        max_retries: 100,
        backoff_factor: 0.1, // 50, 100, 200, 400 ms…
        total_timeout: Some(Duration::from_millis(700)),
        ..RetrySettings::default()
    };
    let started = Instant::now();
    session(settings).get(server.url("/")).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(700 + 500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        (2..=5).contains(&server.count()),
        "{} attempts",
        server.count()
    );
}

#[tokio::test]
async fn attempt_timeout_counts_as_retryable_timeout() {
    let slow = Reply::status(200).delay(Duration::from_secs(3));
    let server = TestServer::start(vec![slow.clone(), slow, Reply::status(200).body("fast")]).await;
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 0.0,
        attempt_timeout: Some(Duration::from_millis(200)),
        ..RetrySettings::default()
    };
    let response = session(settings).get(server.url("/")).send().await.unwrap();
    let outcomes: Vec<_> = CallRecord::of(&response)
        .attempts()
        .iter()
        .map(|a| a.outcome())
        .collect();
    assert_eq!(
        outcomes[..2],
        [AttemptOutcome::Timeout, AttemptOutcome::Timeout]
    );
    assert_eq!(response.text().await.unwrap(), "fast");
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn attempt_timeout_not_retried_for_method_not_allowed() {
    let server = TestServer::start(vec![Reply::status(200).delay(Duration::from_secs(3))]).await;
    let settings = RetrySettings {
        max_retries: 3,
        allowed_methods: vec![Method::GET],
        attempt_timeout: Some(Duration::from_millis(200)),
        ..RetrySettings::default()
    };
    let error = session(settings)
        .post(server.url("/"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout());
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn error_says_the_deadline_stopped_the_retries() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 4.0,
        raise_on_status: true,
        total_timeout: Some(Duration::from_secs(1)),
        ..RetrySettings::default()
    };
    let error = session(settings)
        .get(server.url("/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "HTTP status 503 Service Unavailable after 1 attempt (total_timeout reached)"
    );
}

/// A GET against a server that never answers, with the session's timeout at 300 ms and `more`
/// set on the settings: how many requests the server saw, and how long the call took.
#[allow(deprecated)] // `SessionBuilder::timeout`: deprecated, and still kept working
async fn silent_server_with_session_timeout(more: RetrySettings) -> (usize, Duration) {
    let server = TestServer::start(vec![Reply::status(200).delay(Duration::from_secs(10))]).await;
    let session = Session::builder()
        .retry_settings(RetrySettings {
            max_retries: 2,
            backoff_factor: 0.0,
            ..more
        })
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = session.get(server.url("/")).send().await.unwrap_err();
    let took = started.elapsed();
    assert!(error.is_timeout(), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("request timed out after 3 attempts"),
        "{error}"
    );
    (server.count(), took)
}

#[tokio::test]
async fn session_timeout_still_cuts_attempts_when_total_timeout_is_set() {
    let (received, took) = silent_server_with_session_timeout(RetrySettings {
        total_timeout: Some(Duration::from_secs(4)),
        ..RetrySettings::default()
    })
    .await;
    assert_eq!(received, 3, "three attempts of 0.3 s, not one of 4 s");
    assert!(
        took >= Duration::from_millis(850) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn session_timeout_still_cuts_attempts_when_attempt_timeout_is_longer() {
    let (received, took) = silent_server_with_session_timeout(RetrySettings {
        attempt_timeout: Some(Duration::from_secs(3)),
        ..RetrySettings::default()
    })
    .await;
    assert_eq!(received, 3);
    assert!(
        took >= Duration::from_millis(850) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
#[allow(deprecated)] // `SessionBuilder::timeout`: deprecated, and still kept working
async fn the_shortest_of_request_session_and_attempt_limits_cuts_each_attempt() {
    let server = TestServer::start(vec![Reply::status(200).delay(Duration::from_secs(10))]).await;
    let session = Session::builder()
        .retry_settings(RetrySettings {
            attempt_timeout: Some(Duration::from_secs(3)),
            ..RetrySettings::default()
        })
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    // How long a call with the request's own `timeout` took to time out.
    let timed_out_after = async |own: Duration| {
        let started = Instant::now();
        let error = session
            .get(server.url("/"))
            .timeout(own)
            .send()
            .await
            .unwrap_err();
        assert!(error.is_timeout());
        started.elapsed()
    };
    assert!(
        timed_out_after(Duration::from_millis(200)).await < Duration::from_millis(900),
        "the request's own 0.2 s"
    );
    let took = timed_out_after(Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(2900),
        "a request's own limit does not lift the session's: {took:?}"
    );
}
