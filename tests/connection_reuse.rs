//! A retried response's body is drained, up to 64 KiB and briefly, so that its connection goes
//! back to the pool and the retry does not open a new one; a longer body, or one that does not
//! arrive in time, is dropped with its connection.

use std::time::{Duration, Instant};

use api_toolkit::{RetrySettings, Session};
use testkit::{Reply, TestServer};

fn session(backoff_factor: f64) -> Session {
    Session::new(RetrySettings {
        max_retries: 1,
        backoff_factor,
        ..RetrySettings::default()
    })
    .unwrap()
}

fn unavailable(body_len: usize) -> Reply {
    Reply::status(503).body(vec![b'e'; body_len])
}

#[tokio::test]
async fn retried_response_drained_and_its_connection_reused() {
    let server = TestServer::start(vec![unavailable(48 * 1024), Reply::status(200)]).await;
    let response = session(0.0).get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
    assert_eq!(server.connections(), 1, "the retry reused the connection");
}

#[tokio::test]
async fn body_beyond_64_kib_dropped_with_its_connection() {
    let server = TestServer::start(vec![unavailable(256 * 1024), Reply::status(200)]).await;
    let response = session(0.0).get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        server.connections(),
        2,
        "not read: the retry used a new connection"
    );
}

#[tokio::test]
async fn stalled_body_delays_a_zero_wait_retry_only_briefly() {
    let server = TestServer::start(vec![Reply::StallMidBody(503), Reply::status(200)]).await;
    let started = Instant::now();
    let response = session(0.0).get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // 10 ms of draining; the bound is loose for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        server.connections(),
        2,
        "the stalled connection was dropped"
    );
}

#[tokio::test]
async fn draining_happens_within_the_backoff_wait() {
    let server = TestServer::start(vec![Reply::StallMidBody(503), Reply::status(200)]).await;
    // The first retry waits backoff_factor / 2 = 150 ms; the stalled body is drained meanwhile.
    let response = session(0.3).get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let received = server.received();
    let gap = received[1].at - received[0].at;
    assert!(gap >= Duration::from_millis(150), "{gap:?}");
    assert!(gap < Duration::from_millis(400), "{gap:?}");
}
