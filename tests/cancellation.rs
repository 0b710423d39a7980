//! Rule 7: dropping the future returned by `send()` stops the loop: no attempt starts after the
//! drop, whether it is dropped mid-wait or mid-request.

use std::time::Duration;

use api_toolkit::{RetrySettings, Session};
use testkit::{Reply, TestServer};

/// Starts a call, drops it `after` the server has seen its first attempt, then counts what
/// arrived until well after the next attempt would have started.
async fn drop_after_first_attempt(reply: Reply, backoff_factor: f64, after: Duration) -> usize {
    let server = TestServer::start(vec![reply]).await;
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor,
        ..RetrySettings::default()
    };
    let session = Session::new(settings).unwrap();
    let call = tokio::spawn(session.get(server.url("/")).send());
    while server.count() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(after).await;
    call.abort(); // drops the future
    assert!(call.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_millis(900)).await;
    server.count()
}

#[tokio::test]
async fn dropped_during_backoff_wait_sends_nothing_more() {
    // The 503 comes at once; retry 1 would start 0.4 s later: at 0.15 s the call is waiting.
    let after = Duration::from_millis(150);
    assert_eq!(
        drop_after_first_attempt(Reply::status(503), 0.8, after).await,
        1
    );
}

#[tokio::test]
async fn dropped_during_attempt_sends_nothing_more() {
    // The reply comes after 0.3 s; retry 1 would follow at once: at 0.05 s the call is sending.
    let slow = Reply::status(503).delay(Duration::from_millis(300));
    assert_eq!(
        drop_after_first_attempt(slow, 0.0, Duration::from_millis(50)).await,
        1
    );
}
