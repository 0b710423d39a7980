//! Errors print their cause once (C-GOOD-ERR): `Display` describes the error itself and the cause
//! is its `source()`, so a reporter that walks the chain, as anyhow's `{:#}` does, shows each
//! message once.

use std::time::Duration;

use api_toolkit::{reqwest, Method, RetrySettings, Session};
use testkit::{refused_url, Reply, TestServer};

/// Every message of the chain, outermost first.
fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut messages = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        messages.push(cause.to_string());
        source = cause.source();
    }
    messages
}

/// No message of the chain repeats the text of a message below it.
fn assert_each_message_once(error: api_toolkit::Error) {
    let messages = chain(&error);
    for (n, outer) in messages.iter().enumerate() {
        for inner in &messages[n + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{outer:?} repeats its cause {inner:?}; chain: {messages:#?}"
            );
        }
    }
    // As an application prints it: each message once, outermost first.
    let report = format!("{:#}", anyhow::Error::from(error));
    for message in &messages {
        assert_eq!(
            report.matches(message.as_str()).count(),
            1,
            "{message:?} in {report:?}"
        );
    }
}

fn retrying(max_retries: u32) -> RetrySettings {
    RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        allowed_methods: vec![Method::GET],
        ..RetrySettings::default()
    }
}

#[tokio::test]
async fn a_connect_error_prints_its_cause_once() {
    let session = Session::new(retrying(1)).unwrap();
    let error = session
        .get(refused_url("/").await)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "request failed after 2 attempts");
    assert!(
        std::error::Error::source(&error).is_some(),
        "reqwest's error"
    );
    assert_each_message_once(error);
}

#[tokio::test]
async fn a_timeout_says_that_it_timed_out_once() {
    let server = TestServer::start(vec![Reply::status(200).delay(Duration::from_secs(5))]).await;
    let session = Session::new(RetrySettings {
        attempt_timeout: Some(Duration::from_millis(50)),
        ..retrying(0)
    })
    .unwrap();
    let error = session.get(server.url("/slow")).send().await.unwrap_err();
    assert!(error.is_timeout());
    assert_eq!(error.to_string(), "request timed out after 1 attempt");
    assert_each_message_once(error);
}

#[tokio::test]
async fn a_request_not_sent_prints_why_once() {
    let session = Session::new(retrying(0)).unwrap();
    let error = session.get("ftp://127.0.0.1/").send().await.unwrap_err();
    assert_eq!(error.attempt_count(), 0);
    assert_eq!(error.to_string(), "request not sent");
    assert_each_message_once(error);
}

#[tokio::test]
async fn a_status_error_has_no_cause_to_repeat() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let settings = RetrySettings {
        status_forcelist: vec![503],
        raise_on_status: true,
        ..retrying(1)
    };
    let session = Session::new(settings).unwrap();
    let error = session.get(server.url("/")).send().await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "HTTP status 503 Service Unavailable after 2 attempts"
    );
    assert_each_message_once(error);
}

#[test]
fn refused_settings_print_field_and_value_once() {
    let settings = RetrySettings {
        backoff_factor: -1.0,
        ..RetrySettings::default()
    };
    let error = Session::new(settings).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("`backoff_factor` = -1"), "{message}");
    assert_each_message_once(error);
}

#[tokio::test]
async fn a_service_error_is_the_source_not_the_message() {
    use tower::{service_fn, BoxError};
    let service = service_fn(|_request: reqwest::Request| async {
        Err::<reqwest::Response, BoxError>("the signing key is missing".into())
    });
    let session = Session::from_service(service, retrying(2)).unwrap();
    let error = session.get("http://127.0.0.1:9/").send().await.unwrap_err();
    assert!(error.is_service());
    assert_eq!(error.to_string(), "the service failed after 1 attempt");
    assert_eq!(
        std::error::Error::source(&error).map(ToString::to_string),
        Some("the signing key is missing".to_owned())
    );
    assert_each_message_once(error);
}
