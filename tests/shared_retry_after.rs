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

fn sharing(settings: RetrySettings) -> Session {
    Session::new(RetrySettings {
        share_retry_after: true,
        backoff_factor: 0.0,
        ..settings
    })
    .unwrap()
}

#[tokio::test]
async fn a_call_that_ignores_retry_after_neither_closes_the_host_nor_waits_for_it() {
    let server = TestServer::start(vec![
        Reply::status(503).header("Retry-After", "2"),
        Reply::status(200),
    ])
    .await;
    let session = sharing(RetrySettings {
        max_retries: 1,
        respect_retry_after_header: false,
        ..RetrySettings::default()
    });
    let first = session.get(server.url("/a")).send().await.unwrap();
    let next = session.get(server.url("/b")).send().await.unwrap();
    let received = server.received();
    assert_eq!(received.len(), 3);
    let took = received[2].at - received[0].at;
    assert!(took < Duration::from_millis(800), "{took:?}");
    for response in [&first, &next] {
        let record = api_toolkit::CallRecord::of(response);
        assert!(record
            .attempts()
            .iter()
            .all(|a| a.wait_source() != WaitSource::SharedRetryAfter));
    }
}

#[tokio::test]
async fn no_shared_wait_lasts_past_the_calls_own_retry_after_max() {
    let server = TestServer::start(vec![
        Reply::status(503).header("Retry-After", "2"),
        Reply::status(200),
    ])
    .await;
    let session = sharing(RetrySettings::default()); // max_retries 0: the 503 is returned
    assert_eq!(
        session.get(server.url("/a")).send().await.unwrap().status(),
        503
    );
    let impatient = RetrySettings {
        retry_after_max: Duration::from_secs(1),
        ..session.retry_settings()
    };
    let quick = session
        .get(server.url("/b"))
        .retry_settings(impatient)
        .send()
        .await
        .unwrap();
    let patient = session.get(server.url("/c")).send().await.unwrap();
    let received = server.received();
    let after = |n: usize| received[n].at - received[0].at;
    assert!(
        after(1) < Duration::from_millis(800),
        "sent at once: {:?}",
        after(1)
    );
    assert_eq!(
        api_toolkit::CallRecord::of(&quick).attempts()[0].wait_source(),
        WaitSource::None
    );
    assert!(after(2) >= Duration::from_millis(1900), "{:?}", after(2));
    assert_eq!(
        api_toolkit::CallRecord::of(&patient).attempts()[0].wait_source(),
        WaitSource::SharedRetryAfter
    );
}

#[tokio::test]
async fn a_retry_after_through_a_redirect_holds_back_the_origin_the_call_was_sent_to() {
    let limited = TestServer::start(vec![
        Reply::status(429).header("Retry-After", "1"),
        Reply::status(200),
    ])
    .await;
    let front = TestServer::start(vec![
        Reply::status(302).header("location", &limited.url("/y")),
        Reply::status(200),
    ])
    .await;
    let session = sharing(RetrySettings::default());
    let first = session.get(front.url("/x")).send().await.unwrap();
    assert_eq!(first.status(), 429);
    // The limited origin itself is not held: the hold is where the call was sent.
    session.get(limited.url("/direct")).send().await.unwrap();
    let direct = limited.received()[1].at - limited.received()[0].at;
    assert!(direct < Duration::from_millis(800), "{direct:?}");
    // The origin the call was sent to is held.
    session.get(front.url("/again")).send().await.unwrap();
    let held = front.received()[1].at - front.received()[0].at;
    assert!(held >= Duration::from_millis(950), "{held:?}");
}
