//! Rule 7 at scale: many calls dropped at once — mid-wait (backoff, `Retry-After`, another
//! call's shared `Retry-After`) or mid-attempt — send nothing more, checked at the server after
//! the waits would have ended; a dropped attempt's connection is closed, not left hanging.

use std::future::Future;
use std::time::{Duration, Instant};

use api_toolkit::{RetrySettings, Session};
use testkit::chaos::{Chaos, ChaosServer, Fault};
use testkit::{Reply, TestServer};
use tokio::task::JoinHandle;

const CALLS: usize = 64;

fn session(backoff_factor: f64) -> Session {
    Session::new(RetrySettings {
        max_retries: 3,
        backoff_factor,
        share_retry_after: true,
        ..RetrySettings::default()
    })
    .unwrap()
}

fn spawn_calls<F>(call: impl Fn() -> F) -> Vec<JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    (0..CALLS).map(|_| tokio::spawn(call())).collect()
}

/// Drops every call (aborting its task drops its future) and checks that none had finished.
async fn drop_all<T: std::fmt::Debug>(calls: Vec<JoinHandle<T>>) {
    for call in &calls {
        call.abort();
    }
    for call in calls {
        assert!(call.await.unwrap_err().is_cancelled(), "still running");
    }
}

/// Waits until `done` holds; panics after 10 s.
async fn until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_calls_dropped_during_backoff_wait_send_nothing_more() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = session(3.2); // retry 1 would start 1.6 s after the 503
    let url = server.url("/");
    let calls = spawn_calls(|| session.get(&url).send());
    until("every first attempt arrived", || server.count() == CALLS).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop_all(calls).await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(server.count(), CALLS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_calls_dropped_during_retry_after_wait_send_nothing_more() {
    let server = TestServer::start(vec![Reply::status(429).header("Retry-After", "1")]).await;
    let session = Session::new(RetrySettings {
        max_retries: 3,
        ..RetrySettings::default()
    })
    .unwrap();
    let url = server.url("/");
    let calls = spawn_calls(|| session.get(&url).send());
    until("every first attempt arrived", || server.count() == CALLS).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop_all(calls).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.count(), CALLS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_calls_dropped_mid_attempt_send_nothing_more_and_close_their_connections() {
    let server = ChaosServer::start(
        Chaos::new()
            .rate(Fault::Slow, 1.0)
            .slow_by(Duration::from_secs(2)),
    )
    .await;
    let session = session(0.0); // a retry would follow the late reply at once
    let url = server.url("/");
    let calls = spawn_calls(|| session.get(&url).send());
    until("every attempt arrived", || {
        server.requests() == CALLS as u64
    })
    .await;
    assert_eq!(server.live_connections(), CALLS);
    drop_all(calls).await;
    until("the abandoned connections closed", || {
        server.live_connections() == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2200)).await; // past the late replies
    assert_eq!(server.requests(), CALLS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_held_back_by_a_shared_retry_after_dropped_send_nothing() {
    let server = TestServer::start(vec![Reply::status(503).header("Retry-After", "1")]).await;
    let session = session(0.0);
    let url = server.url("/");
    // A call that does not retry: it only closes the host for a second.
    let first = session.get(&url).no_retry().send().await.unwrap();
    assert_eq!(first.status(), 503);
    let calls = spawn_calls(|| session.get(&url).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.count(), 1, "the others are held back");
    drop_all(calls).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // past the host's reopening
    assert_eq!(server.count(), 1);
}
