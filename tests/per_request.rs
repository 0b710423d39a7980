//! Per-request control: `.retry_settings(..)` and `.no_retry()` change one call only.

use api_toolkit::{RetrySettings, Session};
use testkit::{Reply, TestServer};

fn session(max_retries: u32) -> Session {
    Session::new(RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    })
    .unwrap()
}

#[tokio::test]
async fn per_request_settings_override_session_only_for_that_call() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = session(1);
    let patient = RetrySettings {
        max_retries: 4,
        ..session.retry_settings()
    };
    session
        .get(server.url("/"))
        .retry_settings(patient)
        .send()
        .await
        .unwrap();
    assert_eq!(server.count(), 5, "this call: 1 + 4 attempts");
    session.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.count(), 7, "the next call: the session's 1 + 1");
    assert_eq!(session.retry_settings().max_retries, 1);
}

#[tokio::test]
async fn no_retry_sends_once() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = session(3);
    let response = session
        .get(server.url("/"))
        .no_retry()
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.count(), 1);
    session.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.count(), 5);
}

#[tokio::test]
async fn invalid_per_request_settings_reported_by_send() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let bad = RetrySettings {
        status_forcelist: vec![700],
        ..RetrySettings::default()
    };
    let error = session(1)
        .get(server.url("/"))
        .retry_settings(bad)
        .send()
        .await
        .unwrap_err();
    assert!(error.is_invalid_settings());
    assert_eq!(error.settings_error().unwrap().value(), "700");
    assert_eq!(server.count(), 0, "nothing was sent");
}
