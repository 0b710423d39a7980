//! Rule 2 across redirects: an attempt counts as never having reached a server only if no hop of
//! it delivered the request. reqwest follows redirects inside one attempt, so a connect error
//! from a redirect's target comes after the first hop received the request.

use std::time::Duration;

use api_toolkit::reqwest::redirect::Policy;
use api_toolkit::{AttemptOutcome, Method, RetrySettings, Session};
use testkit::dns::{self, NO_SUCH_HOST};
use testkit::{refused_url, Reply, TestServer};

fn settings(allowed_methods: Vec<Method>) -> RetrySettings {
    RetrySettings {
        max_retries: 2,
        backoff_factor: 0.0,
        allowed_methods,
        idempotency_key: true,
        ..RetrySettings::default()
    }
}

fn session(allowed_methods: Vec<Method>) -> Session {
    Session::builder()
        .retry_settings(settings(allowed_methods))
        .client_builder(dns::client_builder())
        .build()
        .unwrap()
}

/// A server that takes the POST and redirects it with `status` to `location`.
async fn redirecting(status: u16, location: &str) -> TestServer {
    TestServer::start(vec![Reply::status(status).header("location", location)]).await
}

#[tokio::test]
async fn post_not_resent_when_a_redirect_target_refuses_the_connection() {
    let dead = refused_url("/paid").await;
    for status in [301, 302, 303, 307, 308] {
        for allowed in [vec![Method::GET], vec![Method::GET, Method::PUT]] {
            let server = redirecting(status, &dead).await;
            let session = session(allowed.clone());
            let error = session
                .post(server.url("/pay"))
                .body("amount=100")
                .send()
                .await
                .unwrap_err();
            let received = server.received();
            assert_eq!(
                received.len(),
                1,
                "{status} with {allowed:?}: the server took the POST once"
            );
            assert_eq!(received[0].body, b"amount=100");
            assert_eq!(error.attempt_count(), 1, "{status}");
            assert!(!error.is_connect(), "{status}: the POST reached a server");
            assert_eq!(
                error.record().attempts()[0].outcome(),
                AttemptOutcome::ConnectAfterRedirect
            );
            assert_eq!(session.stats().attempts, 1);
        }
    }
}

#[tokio::test]
async fn post_not_resent_when_a_redirect_target_does_not_resolve() {
    let server = redirecting(307, &format!("http://{NO_SUCH_HOST}/paid")).await;
    let error = session(vec![Method::GET])
        .post(server.url("/pay"))
        .body("amount=100")
        .send()
        .await
        .unwrap_err();
    assert_eq!(server.count(), 1, "no second charge");
    assert_eq!(error.attempt_count(), 1);
    assert!(!error.is_connect(), "{error:?}");
}

#[tokio::test]
async fn allowed_method_retried_after_a_redirect_target_refuses() {
    let dead = refused_url("/gone").await;
    let server = redirecting(302, &dead).await;
    let session = session(vec![Method::GET]);
    let error = session.get(server.url("/a")).send().await.unwrap_err();
    assert_eq!(server.count(), 3, "GET is allowed: every attempt re-sent");
    assert_eq!(error.attempt_count(), 3);
    let stats = session.stats();
    assert_eq!(
        (stats.retries_on_connect, stats.retries_on_closed),
        (0, 2),
        "counted as failures after sending"
    );
}

#[tokio::test]
async fn post_refused_at_its_first_hop_still_retried_for_any_method() {
    let session = session(vec![Method::GET]);
    let error = session
        .post(refused_url("/pay").await)
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect());
    assert_eq!(error.attempt_count(), 3);
    assert!(error
        .record()
        .attempts()
        .iter()
        .all(|a| a.outcome() == AttemptOutcome::Connect));
}

#[tokio::test]
async fn a_redirected_post_that_succeeds_is_sent_once_with_its_key() {
    let target = TestServer::start(vec![Reply::status(201)]).await;
    let server = redirecting(307, &target.url("/paid")).await;
    let response = session(vec![Method::GET, Method::POST])
        .post(server.url("/pay"))
        .body("amount=100")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let (first, second) = (&server.received()[0], &target.received()[0]);
    assert_eq!(second.body, b"amount=100", "307 keeps method and body");
    assert!(first.header("idempotency-key").is_some());
    assert_eq!(
        first.header("idempotency-key"),
        second.header("idempotency-key")
    );
}

#[tokio::test]
async fn a_redirect_policy_set_on_the_session_builder_is_followed() {
    let target = TestServer::start(vec![Reply::status(200)]).await;
    let server = redirecting(302, &target.url("/b")).await;
    let session = Session::builder().redirect(Policy::none()).build().unwrap();
    let response = session.get(server.url("/a")).send().await.unwrap();
    assert_eq!(response.status(), 302, "not followed");
    assert_eq!(target.count(), 0);
}

#[tokio::test]
async fn a_redirect_policy_on_a_given_client_builder_is_refused_with_a_clear_error() {
    let builder = api_toolkit::reqwest::Client::builder().redirect(Policy::limited(2));
    let error = Session::builder()
        .client_builder(builder)
        .build()
        .unwrap_err();
    assert!(error.is_invalid_settings(), "{error:?}");
    assert_eq!(error.settings_error().unwrap().field(), "redirect");
    assert!(
        error.to_string().contains("SessionBuilder::redirect"),
        "{error}"
    );
    // Other options of a given builder are fine.
    let builder = api_toolkit::reqwest::Client::builder().timeout(Duration::from_secs(5));
    assert!(Session::builder().client_builder(builder).build().is_ok());
}
