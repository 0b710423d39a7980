//! Rule 5: a valid `Retry-After` on a retried response replaces the computed wait; one beyond
//! `retry_after_max` ends the retries at once; a malformed one is ignored.

use std::time::{Duration, Instant, SystemTime};

use api_toolkit::{RetrySettings, Session};
use testkit::{Reply, TestServer};

fn session(settings: RetrySettings) -> Session {
    Session::new(settings).unwrap()
}

fn gap(server: &TestServer) -> Duration {
    let received = server.received();
    received[1].at - received[0].at
}

/// A backoff that would be noticed: 20 s before retry 1.
fn slow_backoff() -> RetrySettings {
    RetrySettings {
        max_retries: 1,
        backoff_factor: 40.0,
        ..RetrySettings::default()
    }
}

#[tokio::test]
async fn retry_after_seconds_replaces_backoff() {
    let server = TestServer::start(vec![
        Reply::status(503).header("Retry-After", "1"),
        Reply::status(200),
    ])
    .await;
    let response = session(slow_backoff())
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let waited = gap(&server);
    assert!(
        waited >= Duration::from_millis(995) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test]
async fn retry_after_http_date_replaces_backoff() {
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let server = TestServer::start(vec![
        Reply::status(429).header("Retry-After", &date),
        Reply::status(200),
    ])
    .await;
    let response = session(slow_backoff())
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // HTTP dates have whole seconds: the wait is between 1 and 2 s, plus scheduling.
    let waited = gap(&server);
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test]
async fn retry_after_beyond_cap_returns_now_as_exhausted() {
    let server = TestServer::start(vec![Reply::status(503)
        .header("Retry-After", "3600")
        .body("later")])
    .await;
    let settings = RetrySettings {
        max_retries: 3,
        retry_after_max: Duration::from_secs(60),
        ..RetrySettings::default()
    };
    let started = Instant::now();
    let response = session(settings).get(server.url("/")).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.unwrap(), "later");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn retry_after_beyond_cap_raises_with_raise_on_status() {
    let server = TestServer::start(vec![Reply::status(503).header("Retry-After", "3600")]).await;
    let settings = RetrySettings {
        max_retries: 3,
        raise_on_status: true,
        ..RetrySettings::default()
    };
    let error = session(settings)
        .get(server.url("/"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_status());
    assert_eq!(error.attempts(), 1);
}

#[tokio::test]
async fn retry_after_malformed_uses_backoff() {
    let server = TestServer::start(vec![
        Reply::status(503).header("Retry-After", "soon"),
        Reply::status(200),
    ])
    .await;
    let settings = RetrySettings {
        max_retries: 1,
        backoff_factor: 0.2,
        ..RetrySettings::default()
    };
    session(settings).get(server.url("/")).send().await.unwrap();
    let waited = gap(&server);
    assert!(
        waited >= Duration::from_millis(95) && waited < Duration::from_millis(900),
        "{waited:?}"
    );
}

#[tokio::test]
async fn retry_after_zero_uses_backoff() {
    let server = TestServer::start(vec![
        Reply::status(503).header("Retry-After", "0"),
        Reply::status(200),
    ])
    .await;
    let settings = RetrySettings {
        max_retries: 1,
        backoff_factor: 0.2,
        ..RetrySettings::default()
    };
    session(settings).get(server.url("/")).send().await.unwrap();
    let waited = gap(&server);
    assert!(
        waited >= Duration::from_millis(95) && waited < Duration::from_millis(900),
        "{waited:?}"
    );
}

#[tokio::test]
async fn retry_after_ignored_when_not_respected() {
    let server = TestServer::start(vec![
        Reply::status(503).header("Retry-After", "3600"),
        Reply::status(200),
    ])
    .await;
    let settings = RetrySettings {
        max_retries: 1,
        backoff_factor: 0.0,
        respect_retry_after_header: false,
        ..RetrySettings::default()
    };
    let response = session(settings).get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
}
