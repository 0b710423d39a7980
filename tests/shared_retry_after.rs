//! `share_retry_after`: after a 429/503 with `Retry-After` from a host, the session's other calls
//! to that host wait until then instead of each hitting the limit.

use std::sync::Arc;
use std::time::Duration;

use api_toolkit::{RetrySettings, Session, WaitSource};
use testkit::{Reply, TestServer};
use tokio::sync::Notify;

/// A session that notifies `waiting` when a call starts a wait.
fn session(share_retry_after: bool, waiting: Arc<Notify>) -> Session {
    let settings = RetrySettings {
        max_retries: 2,
        backoff_factor: 0.0,
        share_retry_after,
        ..RetrySettings::default()
    };
    Session::builder()
        .retry_settings(settings)
        .on_retry(move |_| waiting.notify_one())
        .build()
        .unwrap()
}

async fn second_call_delay(share: bool) -> (Duration, Option<WaitSource>) {
    let server = TestServer::start(vec![
        Reply::status(429).header("Retry-After", "1"),
        Reply::status(200),
    ])
    .await;
    let waiting = Arc::new(Notify::new());
    let session = session(share, Arc::clone(&waiting));
    let first = tokio::spawn(session.get(server.url("/a")).send());
    waiting.notified().await; // the first call got its 429 and is in its wait
    let second = session.get(server.url("/b")).send().await.unwrap();
    first.await.unwrap().unwrap();
    let received = server.received();
    let b = received.iter().find(|r| r.path == "/b").unwrap();
    let source = api_toolkit::CallRecord::of(&second).attempts()[0].wait_source();
    (b.at - received[0].at, Some(source))
}

#[tokio::test]
async fn shared_retry_after_delays_a_second_concurrent_call() {
    let (delay, source) = second_call_delay(true).await;
    assert!(
        delay >= Duration::from_millis(950) && delay < Duration::from_secs(3),
        "{delay:?}"
    );
    assert_eq!(source, Some(WaitSource::SharedRetryAfter));
}

#[tokio::test]
async fn retry_after_not_shared_by_default() {
    let (delay, source) = second_call_delay(false).await;
    assert!(delay < Duration::from_millis(800), "{delay:?}");
    assert_eq!(source, Some(WaitSource::None));
}
