//! Rule 5: a valid `Retry-After` on a retried response replaces the computed wait; one beyond
//! `retry_after_max` ends the retries at once; a malformed one is ignored.

use std::time::{Duration, Instant, SystemTime};

use api_toolkit::{RetrySettings, Session};
use testkit::{Reply, TestServer};

fn session(settings: RetrySettings) -> Session {
    Session::new(settings).unwrap()
}

/// Answers `status` with this `Retry-After`, then 200; returns the wait between the attempts.
async fn wait_after(status: u16, retry_after: &str, settings: RetrySettings) -> Duration {
    let server = TestServer::start(vec![
        Reply::status(status).header("Retry-After", retry_after),
        Reply::status(200),
    ])
    .await;
    let response = session(settings).get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let received = server.received();
    received[1].at - received[0].at
}

fn assert_between(waited: Duration, min_ms: u64, max_ms: u64) {
    let (min, max) = (Duration::from_millis(min_ms), Duration::from_millis(max_ms));
    assert!(
        waited >= min && waited < max,
        "waited {waited:?}, expected {min:?}..{max:?}"
    );
}

/// A backoff that would be noticed: 20 s before retry 1.
fn slow_backoff() -> RetrySettings {
    RetrySettings {
        max_retries: 1,
        backoff_factor: 40.0,
        ..RetrySettings::default()
    }
}

/// A backoff of 100 ms before retry 1.
fn quick_backoff() -> RetrySettings {
    RetrySettings {
        max_retries: 1,
        backoff_factor: 0.2,
        ..RetrySettings::default()
    }
}

#[tokio::test]
async fn retry_after_seconds_replaces_backoff() {
    assert_between(wait_after(503, "1", slow_backoff()).await, 995, 3000);
}

#[tokio::test]
async fn retry_after_http_date_replaces_backoff() {
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    // HTTP dates have whole seconds: the wait is between 1 and 2 s, plus scheduling.
    assert_between(wait_after(429, &date, slow_backoff()).await, 900, 4000);
}

#[tokio::test]
async fn retry_after_malformed_uses_backoff() {
    assert_between(wait_after(503, "soon", quick_backoff()).await, 95, 900);
}

#[tokio::test]
async fn retry_after_zero_uses_backoff() {
    assert_between(wait_after(503, "0", quick_backoff()).await, 95, 900);
}

#[tokio::test]
async fn retry_after_past_date_uses_backoff() {
    let date = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(60));
    assert_between(wait_after(503, &date, quick_backoff()).await, 95, 900);
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
    assert_eq!(error.attempt_count(), 1);
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
