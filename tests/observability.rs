//! What a call tells: its record, the `on_retry` hook, the session's stats, and tracing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_toolkit::{
    AttemptOutcome, CallRecord, GiveUp, Method, RetrySettings, Session, StatusCode, WaitSource,
};
use testkit::{capture_tracing, refused_url, Reply, TestServer};

fn settings(max_retries: u32) -> RetrySettings {
    RetrySettings {
        max_retries,
        backoff_factor: 0.02,
        ..RetrySettings::default()
    }
}

#[tokio::test]
async fn record_of_a_successful_call_in_response_extensions() {
    let server = TestServer::start(vec![
        Reply::status(503).header("Retry-After", "1"),
        Reply::status(502),
        Reply::status(200),
    ])
    .await;
    let response = Session::new(settings(3))
        .unwrap()
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    let record = CallRecord::of(&response);
    assert_eq!(record.attempt_count(), 3);
    let seen: Vec<_> = record
        .attempts()
        .iter()
        .map(|a| (a.outcome(), a.wait_before(), a.wait_source()))
        .collect();
    let status = |code| AttemptOutcome::Status(StatusCode::from_u16(code).unwrap());
    assert_eq!(
        seen,
        [
            (status(503), Duration::ZERO, WaitSource::None),
            (
                status(200 + 302),
                Duration::from_secs(1),
                WaitSource::RetryAfter
            ),
            (status(200), Duration::from_millis(20), WaitSource::Backoff),
        ]
    );
    assert_eq!(record.give_up(), None);
}

#[tokio::test]
async fn record_of_a_failed_call_in_the_error() {
    let error = Session::new(settings(2))
        .unwrap()
        .get(refused_url("/").await)
        .send()
        .await
        .unwrap_err();
    let record = error.record();
    assert_eq!(record.attempt_count(), 3);
    assert!(record
        .attempts()
        .iter()
        .all(|a| a.outcome() == AttemptOutcome::Connect));
    assert_eq!(record.give_up(), Some(GiveUp::Exhausted));
}

#[tokio::test]
async fn on_retry_hook_called_before_each_wait() {
    let server = TestServer::start(vec![
        Reply::status(500),
        Reply::status(500),
        Reply::status(200),
    ])
    .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let session = Session::builder()
        .retry_settings(settings(3))
        .on_retry(move |event| {
            let last = event.record().attempts().last().unwrap().outcome();
            log.lock().unwrap().push((
                event.record().attempt_count(),
                last,
                event.wait(),
                event.url().path().to_owned(),
            ));
        })
        .build()
        .unwrap();
    session.get(server.url("/orders")).send().await.unwrap();
    let status = AttemptOutcome::Status(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (1, status, Duration::from_millis(10), "/orders".to_owned()),
            (2, status, Duration::from_millis(20), "/orders".to_owned()),
        ]
    );
}

#[tokio::test]
async fn stats_add_up_to_what_the_server_counted() {
    let server = TestServer::start(vec![
        Reply::status(503),
        Reply::status(200),
        Reply::status(429),
        Reply::status(404),
    ])
    .await;
    let session = Session::new(RetrySettings {
        backoff_factor: 0.0,
        ..settings(1)
    })
    .unwrap();
    session.get(server.url("/")).send().await.unwrap(); // 503, 200
    session.get(server.url("/")).send().await.unwrap(); // 429, 404
    session.get(server.url("/")).send().await.unwrap(); // 404
    let _ = session.post(refused_url("/").await).send().await; // connect error, retried, gives up
    let stats = session.stats();
    assert_eq!(stats.calls, 4);
    assert_eq!(stats.attempts, server.count() as u64 + 2);
    assert_eq!(stats.retries_by_status.get(&503), Some(&1));
    assert_eq!(stats.retries_by_status.get(&429), Some(&1));
    assert_eq!(stats.retries_on_connect, 1);
    assert_eq!(stats.retries(), 3);
    assert_eq!(stats.give_ups, 1);
    assert_eq!(stats.attempts, stats.calls + stats.retries());
}

#[tokio::test]
async fn tracing_span_fields_retry_events_and_give_up_warning_without_secrets() {
    let server = TestServer::start(vec![Reply::status(503).body("secret-body")]).await;
    let (captured, _guard) = capture_tracing();
    let session = Session::new(RetrySettings {
        max_retries: 2,
        backoff_factor: 0.0,
        raise_on_status: true,
        ..RetrySettings::default()
    })
    .unwrap();
    let url = server.url("/orders?token=secret-query");
    let _ = session
        .request(Method::GET, url.clone())
        .bearer_auth("secret-token")
        .body("secret-payload")
        .send()
        .await;
    let output = captured.text();
    println!("{output}");
    assert!(output.contains("http.request.method=GET"), "{output}");
    // The OpenTelemetry HTTP client conventions: the kind, the server, the error's type.
    let port = url
        .split(':')
        .nth(2)
        .and_then(|rest| rest.split('/').next())
        .unwrap();
    assert!(output.contains("otel.kind=\"client\""), "{output}");
    assert!(output.contains("server.address=\"127.0.0.1\""), "{output}");
    assert!(output.contains(&format!("server.port={port}")), "{output}");
    assert!(output.contains("error.type=503"), "{output}");
    assert!(
        output.contains(&format!("url.full=\"{}\"", server.url("/orders"))),
        "{output}"
    );
    assert_eq!(
        output.matches("api_toolkit: retrying").count(),
        2,
        "one event per retry: {output}"
    );
    assert!(
        output.contains("http.response.status_code=503")
            && output.contains("http.request.resend_count=2"),
        "{output}"
    );
    assert!(
        output.contains("retrying") && output.contains("reason=status 503"),
        "{output}"
    );
    assert!(
        output.contains("WARN")
            && output.contains("giving up")
            && output.contains("retries exhausted"),
        "{output}"
    );
    assert!(
        !output.contains("secret"),
        "no header values, bodies or query: {output}"
    );
}

#[tokio::test]
async fn a_failure_without_a_response_has_a_short_error_type() {
    let (captured, _guard) = capture_tracing();
    // One retry, so that the give-up warning shows the span's fields as the call ended.
    let session = Session::new(settings(1)).unwrap();
    let _ = session
        .get(refused_url("/").await)
        .send()
        .await
        .unwrap_err();
    let output = captured.text();
    let warning = output.lines().find(|line| line.contains("giving up"));
    assert!(
        warning.is_some_and(
            |line| line.contains("error.type=\"connect\"") && !line.contains("status_code")
        ),
        "{output}"
    );
}
