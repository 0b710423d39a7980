//! Per-request control: `.retry_settings(..)` and `.no_retry()` change one call only.

use api_toolkit::{reqwest, RetrySettings, Session};
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

#[tokio::test]
async fn builder_methods_apply_to_every_attempt() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let url = reqwest::Url::parse(&server.url("/orders")).unwrap();
    let response = session(1)
        .post(url)
        .header("x-request-source", "test")
        .bearer_auth("token-1")
        .query(&[("page", "2")])
        .json(&serde_json::json!({ "id": 7 }))
        .timeout(std::time::Duration::from_secs(5))
        .version(reqwest::Version::HTTP_11)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let received = server.received();
    assert_eq!(received.len(), 2);
    for attempt in &received {
        assert_eq!(attempt.method, "POST");
        assert_eq!(attempt.path, "/orders?page=2");
        assert_eq!(attempt.header("x-request-source"), Some("test"));
        assert_eq!(attempt.header("authorization"), Some("Bearer token-1"));
        assert_eq!(attempt.header("content-type"), Some("application/json"));
        assert_eq!(attempt.body, br#"{"id":7}"#);
    }
}

#[tokio::test]
async fn a_builder_mistake_is_kept_and_reported_by_send() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let session = session(1);
    let error = session
        .get(server.url("/"))
        .header("bad header name", "x")
        .header("x-after", "y")
        .body("ignored")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_builder(), "{error:?}");
    assert_eq!(error.attempt_count(), 0);
    // reqwest's own error for a URL it cannot send to, not one of this crate's.
    let error = session.get("unix:/run/socket").send().await.unwrap_err();
    assert!(error.is_builder(), "{error:?}");
    let own = reqwest::Client::new().get("unix:/run/socket").build();
    let source = std::error::Error::source(&error).unwrap();
    assert_eq!(source.to_string(), own.unwrap_err().to_string());
    assert_eq!(server.count(), 0, "nothing was sent");
}
