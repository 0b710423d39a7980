//! Rule 7: dropping the future returned by `send()` stops the loop: no attempt starts after the
//! drop, whether it is dropped mid-wait or mid-request.

use std::time::Duration;

use api_toolkit::{RetrySettings, Session};
use testkit::{Reply, TestServer};

#[tokio::test]
async fn dropped_during_backoff_wait_sends_nothing_more() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    // Retry 1 would come after 0.4 s.
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 0.8,
        ..RetrySettings::default()
    };
    let session = Session::new(settings).unwrap();
    let call = session.get(server.url("/")).send();
    assert!(
        tokio::time::timeout(Duration::from_millis(150), call)
            .await
            .is_err(),
        "still waiting"
    );
    assert_eq!(server.count(), 1);
    tokio::time::sleep(Duration::from_millis(800)).await; // past when retry 1 would have started
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn dropped_during_attempt_sends_nothing_more() {
    let server =
        TestServer::start(vec![Reply::status(503).delay(Duration::from_millis(300))]).await;
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    };
    let session = Session::new(settings).unwrap();
    let call = session.get(server.url("/")).send();
    assert!(tokio::time::timeout(Duration::from_millis(100), call)
        .await
        .is_err());
    tokio::time::sleep(Duration::from_millis(700)).await; // past the reply and a zero-wait retry
    assert_eq!(server.count(), 1);
}
