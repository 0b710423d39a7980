//! Rule 2: failures without a response. A connection that could not be established is retried
//! for any method; a failure after the request may have reached the server only for
//! `allowed_methods`.

use std::time::Duration;

use api_toolkit::{Method, RetrySettings, Session};
use testkit::{refused_url, Reply, TestServer};

fn settings(max_retries: u32, allowed_methods: Vec<Method>) -> RetrySettings {
    RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        allowed_methods,
        ..RetrySettings::default()
    }
}

#[allow(deprecated)] // `SessionBuilder::timeout`: deprecated, and still kept working
fn with_timeout(settings: RetrySettings, timeout: Duration) -> Session {
    Session::builder()
        .retry_settings(settings)
        .timeout(timeout)
        .build()
        .unwrap()
}

#[tokio::test]
async fn connection_refused_retried_for_any_method() {
    let session = Session::new(settings(2, vec![Method::GET])).unwrap();
    let error = session
        .post(refused_url("/").await)
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(
        error.attempt_count(),
        3,
        "POST is not allowed, but it never left: retried"
    );
    assert!(
        std::error::Error::source(&error).is_some(),
        "the reqwest error is the source"
    );
}

#[tokio::test]
async fn read_timeout_retried_for_allowed_method() {
    let server = TestServer::start(vec![Reply::status(200).delay(Duration::from_secs(2))]).await;
    let session = with_timeout(settings(2, vec![Method::GET]), Duration::from_millis(200));
    let error = session.get(server.url("/")).send().await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(error.attempt_count(), 3);
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn read_timeout_not_retried_for_method_not_allowed() {
    let server = TestServer::start(vec![Reply::status(200).delay(Duration::from_secs(2))]).await;
    let session = with_timeout(settings(2, vec![Method::GET]), Duration::from_millis(200));
    let error = session
        .post(server.url("/charge"))
        .body("once")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout());
    assert_eq!(error.attempt_count(), 1);
    assert_eq!(
        server.count(),
        1,
        "the server may have charged: never re-sent"
    );
}

#[tokio::test]
async fn connection_closed_before_response_retried_for_allowed_method() {
    let server = TestServer::start(vec![Reply::Close, Reply::Close, Reply::status(200)]).await;
    let session = Session::new(settings(2, vec![Method::PUT])).unwrap();
    let response = session
        .put(server.url("/"))
        .body("same")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn connection_closed_before_response_not_retried_for_method_not_allowed() {
    let server = TestServer::start(vec![Reply::Close, Reply::status(200)]).await;
    let session = Session::new(settings(2, vec![Method::GET])).unwrap();
    let error = session
        .patch(server.url("/"))
        .body("once")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.attempt_count(), 1);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn exhausted_on_errors_returns_last_error_with_attempt_count() {
    let server = TestServer::start(vec![Reply::Close]).await;
    let session = Session::new(settings(3, vec![Method::GET])).unwrap();
    let error = session.get(server.url("/")).send().await.unwrap_err();
    assert_eq!(error.attempt_count(), 4);
    assert!(
        error
            .to_string()
            .starts_with("request failed after 4 attempts"),
        "{error}"
    );
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn error_while_reading_body_is_the_callers() {
    let server = TestServer::start(vec![Reply::CloseMidBody, Reply::status(200)]).await;
    let session = Session::new(settings(3, vec![Method::GET])).unwrap();
    let response = session.get(server.url("/")).send().await.unwrap();
    assert!(response.text().await.is_err());
    assert_eq!(
        server.count(),
        1,
        "the body is read after send() returned: no retry"
    );
}

#[tokio::test]
async fn invalid_url_reported_without_attempts() {
    let session = Session::new(settings(3, vec![Method::GET])).unwrap();
    let error = session.get("not a url").send().await.unwrap_err();
    assert!(error.is_builder(), "{error:?}");
    assert_eq!(error.attempt_count(), 0);
}

/// A POST (not in `allowed_methods`) to a host whose connect hangs, on a session made by
/// `builder` with `settings`: the error, how many attempts, and how long it took.
async fn post_to_a_hanging_host(
    builder: api_toolkit::SessionBuilder,
    settings: RetrySettings,
) -> (api_toolkit::Error, Duration) {
    let session = builder.retry_settings(settings).build().unwrap();
    let started = std::time::Instant::now();
    let error = session
        .post(format!("http://{}/pay", testkit::dns::HANGING_HOST))
        .body("amount=100")
        .send()
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(session.stats().retries_on_connect, 2, "{error:?}");
    (error, took)
}

fn hanging() -> api_toolkit::SessionBuilder {
    Session::builder().client_builder(testkit::dns::client_builder())
}

#[tokio::test]
async fn a_connect_cut_by_attempt_timeout_is_a_connect_error_retried_for_any_method() {
    let (error, took) = post_to_a_hanging_host(
        hanging(),
        RetrySettings {
            attempt_timeout: Some(Duration::from_millis(200)),
            ..settings(2, vec![Method::GET])
        },
    )
    .await;
    assert!(error.is_connect(), "nothing was sent: {error:?}");
    assert!(error.is_timeout(), "it was cut by a limit: {error:?}");
    assert_eq!(error.attempt_count(), 3);
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
#[allow(deprecated)] // `SessionBuilder::timeout`: deprecated, and still kept working
async fn connect_timeout_and_every_attempt_limit_classify_a_hanging_connect_alike() {
    let limit = Duration::from_millis(150);
    let builders = [
        (
            "connect_timeout",
            hanging().connect_timeout(limit),
            settings(2, vec![Method::GET]),
        ),
        (
            "session timeout",
            hanging().timeout(limit),
            settings(2, vec![Method::GET]),
        ),
        (
            "total_timeout",
            hanging(),
            RetrySettings {
                total_timeout: Some(Duration::from_secs(10)),
                attempt_timeout: Some(limit),
                ..settings(2, vec![Method::GET])
            },
        ),
    ];
    for (name, builder, settings) in builders {
        let (error, _) = post_to_a_hanging_host(builder, settings).await;
        assert!(error.is_connect(), "{name}: {error:?}");
        assert_eq!(error.attempt_count(), 3, "{name}");
        assert!(error
            .record()
            .attempts()
            .iter()
            .all(|a| a.outcome() == api_toolkit::AttemptOutcome::Connect));
    }
}

#[tokio::test]
async fn a_scheme_reqwest_does_not_send_makes_no_attempt() {
    let session = Session::new(settings(3, vec![Method::GET])).unwrap();
    let error = session
        .get("ftp://127.0.0.1/file")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_builder(), "{error:?}");
    assert_eq!(error.attempt_count(), 0);
    assert!(error.to_string().starts_with("request not sent"), "{error}");
    let stats = session.stats();
    assert_eq!((stats.calls, stats.attempts), (0, 0), "{stats:?}");
}

#[tokio::test]
async fn on_a_session_built_without_a_time_limit_a_request_timeout_cuts_a_hanging_connect_as_a_timeout(
) {
    // Cutting connects costs every request of a session: only sessions built with a limit
    // (their timeout, attempt_timeout or total_timeout) pay for it. Elsewhere the cut is a
    // timeout, the safe side: a POST outside allowed_methods is not re-sent.
    let session = hanging()
        .retry_settings(settings(2, vec![Method::GET]))
        .build()
        .unwrap();
    let error = session
        .post(format!("http://{}/pay", testkit::dns::HANGING_HOST))
        .body("amount=100")
        .timeout(Duration::from_millis(150))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout() && !error.is_connect(), "{error:?}");
    assert_eq!(error.attempt_count(), 1);
}
