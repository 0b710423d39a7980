//! Settings at their extremes — `u32::MAX` retries, the longest durations `validate()` accepts —
//! and servers that ask for the longest waits never make a call panic.

use std::time::Duration;

use api_toolkit::{CallRecord, GiveUp, RetrySettings, Session};
use testkit::{Reply, TestServer};

/// The longest duration there is; `validate()` accepts it for every duration field.
const FOREVER: Duration = Duration::MAX;

async fn status_after_one_call(settings: RetrySettings, reply: Reply) -> (u16, Option<GiveUp>) {
    let server = TestServer::start(vec![reply]).await;
    settings.validate().expect("valid settings");
    let response = Session::new(settings)
        .unwrap()
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    let give_up = CallRecord::of(&response).give_up();
    (response.status().as_u16(), give_up)
}

#[tokio::test]
async fn longest_total_timeout_does_not_panic() {
    let settings = RetrySettings {
        total_timeout: Some(FOREVER),
        ..RetrySettings::default()
    };
    let (status, _) = status_after_one_call(settings, Reply::status(200)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn longest_attempt_timeout_does_not_panic() {
    let settings = RetrySettings {
        attempt_timeout: Some(FOREVER),
        ..RetrySettings::default()
    };
    let (status, _) = status_after_one_call(settings, Reply::status(200)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn longest_retry_after_shared_with_uncapped_retry_after_max_does_not_panic() {
    // The server asks for u64::MAX seconds; nothing caps it, and other calls are told to wait.
    let settings = RetrySettings {
        retry_after_max: FOREVER,
        share_retry_after: true,
        ..RetrySettings::default()
    };
    let reply = Reply::status(503).header("Retry-After", "99999999999999999999");
    let (status, give_up) = status_after_one_call(settings, reply).await;
    assert_eq!((status, give_up), (503, Some(GiveUp::Exhausted)));
}

#[tokio::test]
async fn most_retries_and_longest_caps_end_on_the_first_success() {
    let settings = RetrySettings {
        max_retries: u32::MAX,
        backoff_factor: 0.0,
        backoff_max: FOREVER,
        backoff_jitter: Duration::ZERO,
        total_timeout: Some(FOREVER),
        ..RetrySettings::default()
    };
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let response = Session::new(settings)
        .unwrap()
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn longest_retry_after_wait_does_not_panic() {
    // A retry is due after u64::MAX seconds and nothing caps it: the call waits "forever"
    // (until dropped) instead of overflowing the clock.
    let settings = RetrySettings {
        max_retries: 1,
        retry_after_max: FOREVER,
        ..RetrySettings::default()
    };
    let server = TestServer::start(vec![
        Reply::status(503).header("Retry-After", "99999999999999999999")
    ])
    .await;
    let session = Session::new(settings).unwrap();
    let call = session.get(server.url("/")).send();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), call)
            .await
            .is_err(),
        "still waiting"
    );
    assert_eq!(server.count(), 1);
}
