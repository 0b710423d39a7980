//! `keyed_retries`: POST and PATCH are sent again after they may have reached the server exactly
//! when they carry an `Idempotency-Key` (the caller's or a generated one), whatever
//! `allowed_methods` says; `RetrySettings::idempotent()` is that with the idempotent methods.
//!
//! Asserted at the server: how many requests of each method arrived, the key each carried, and,
//! against a payments API that applies a POST once per key (`testkit::payments`), how many
//! charges were applied.

use std::time::Duration;

use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::{
    statuses, AttemptOutcome, CallRecord, GiveUp, Method, RetrySettings, Session,
    DEFAULT_ALLOWED_METHODS,
};
use testkit::payments::{Payments, Step};
use testkit::{refused_url, Reply, TestServer};

fn session(settings: RetrySettings) -> Session {
    Session::new(settings).unwrap()
}

/// `keyed_retries` with POST and PATCH still in `allowed_methods` (the default list).
fn keyed() -> RetrySettings {
    RetrySettings {
        max_retries: 2,
        backoff_factor: 0.0,
        keyed_retries: true,
        ..RetrySettings::default()
    }
}

/// `RetrySettings::idempotent()` without waits.
fn idempotent() -> RetrySettings {
    RetrySettings {
        backoff_factor: 0.0,
        ..RetrySettings::idempotent()
    }
}

fn methods(server: &TestServer) -> Vec<String> {
    server.received().into_iter().map(|r| r.method).collect()
}

fn keys(server: &TestServer) -> Vec<Option<String>> {
    server
        .received()
        .iter()
        .map(|r| r.header("idempotency-key").map(str::to_owned))
        .collect()
}

fn key(value: &str) -> Option<String> {
    Some(value.to_owned())
}

#[tokio::test]
async fn keyed_retries_unkeyed_post_in_allowed_methods_not_retried_after_503() {
    assert!(keyed().allowed_methods.contains(&Method::POST));
    let server = TestServer::start(vec![Reply::status(503), Reply::status(201)]).await;
    let response = session(keyed())
        .post(server.url("/charges"))
        .body("amount=1999")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(methods(&server), ["POST"]);
    assert_eq!(keys(&server), [None]);
}

#[tokio::test]
async fn keyed_retries_unkeyed_post_not_retried_after_closed_connection() {
    let server = TestServer::start(vec![Reply::Close, Reply::status(201)]).await;
    let error = session(keyed())
        .post(server.url("/charges"))
        .body("amount=1999")
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_connect(), "the request had reached the server");
    assert_eq!(error.attempts(), 1);
    assert_eq!(methods(&server), ["POST"]);
}

#[tokio::test]
async fn keyed_retries_unkeyed_patch_not_retried_after_503() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let response = session(keyed())
        .patch(server.url("/charges/1"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(methods(&server), ["PATCH"]);
}

#[tokio::test]
async fn keyed_retries_keyed_post_retried_with_the_same_key() {
    let server = TestServer::start(vec![
        Reply::status(503),
        Reply::status(500),
        Reply::status(201),
    ])
    .await;
    let response = session(keyed())
        .post(server.url("/charges"))
        .header("Idempotency-Key", "order-77")
        .body("amount=1999")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(methods(&server), ["POST", "POST", "POST"]);
    assert_eq!(keys(&server), vec![key("order-77"); 3]);
    for request in server.received() {
        assert_eq!(request.body, b"amount=1999");
    }
}

#[tokio::test]
async fn keyed_retries_keyed_post_retried_after_closed_connection() {
    let server = TestServer::start(vec![Reply::Close, Reply::status(201)]).await;
    let response = session(keyed())
        .post(server.url("/charges"))
        .header("Idempotency-Key", "order-78")
        .body("amount=1999")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(keys(&server), [key("order-78"), key("order-78")]);
    assert_eq!(
        CallRecord::of(&response).attempts()[0].outcome(),
        AttemptOutcome::Closed
    );
}

#[tokio::test]
async fn keyed_retries_unkeyed_post_not_retried_after_timeout() {
    let server = TestServer::start(vec![
        Reply::status(201).delay(Duration::from_secs(3)),
        Reply::status(201),
    ])
    .await;
    let settings = RetrySettings {
        attempt_timeout: Some(Duration::from_millis(300)),
        ..keyed()
    };
    let error = session(settings)
        .post(server.url("/charges"))
        .body("amount=1999")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout());
    assert_eq!(methods(&server), ["POST"]);
}

#[tokio::test]
async fn keyed_retries_keyed_post_retried_after_timeout() {
    let server = TestServer::start(vec![
        Reply::status(201).delay(Duration::from_secs(3)),
        Reply::status(201),
    ])
    .await;
    let settings = RetrySettings {
        attempt_timeout: Some(Duration::from_millis(300)),
        ..keyed()
    };
    let response = session(settings)
        .post(server.url("/charges"))
        .header("Idempotency-Key", "order-80")
        .body("amount=1999")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(keys(&server), [key("order-80"), key("order-80")]);
    assert_eq!(
        CallRecord::of(&response).attempts()[0].outcome(),
        AttemptOutcome::Timeout
    );
}

#[tokio::test]
async fn keyed_retries_keyed_post_outside_allowed_methods_retried() {
    let server = TestServer::start(vec![Reply::status(502), Reply::status(201)]).await;
    let settings = RetrySettings {
        allowed_methods: vec![Method::GET],
        ..keyed()
    };
    session(settings)
        .post(server.url("/charges"))
        .header("Idempotency-Key", "order-79")
        .send()
        .await
        .unwrap();
    assert_eq!(keys(&server), [key("order-79"), key("order-79")]);
}

#[tokio::test]
async fn keyed_retries_with_idempotency_key_every_post_keyed_and_retried() {
    let server =
        TestServer::start(vec![Reply::status(503), Reply::Close, Reply::status(201)]).await;
    let settings = RetrySettings {
        idempotency_key: true,
        ..keyed()
    };
    let session = session(settings);
    let response = session
        .post(server.url("/charges"))
        .body("amount=1999")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let keys = keys(&server);
    assert_eq!(keys.len(), 3);
    assert!(keys[0].is_some(), "a generated key");
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
}

#[tokio::test]
async fn keyed_retries_leave_idempotent_methods_to_allowed_methods() {
    let server =
        TestServer::start(vec![Reply::status(503), Reply::Close, Reply::status(200)]).await;
    let response = session(keyed())
        .put(server.url("/orders/1"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(methods(&server), ["PUT", "PUT", "PUT"]);
    assert_eq!(keys(&server), [None, None, None]);
}

#[tokio::test]
async fn keyed_retries_unkeyed_post_retried_when_the_connection_was_refused() {
    // Nothing listens: the request never left, so sending it again is safe for any method.
    let error = session(keyed())
        .post(refused_url("/charges").await)
        .body("amount=1999")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect());
    assert_eq!(error.attempts(), 3);
}

#[tokio::test]
async fn keyed_retries_off_by_default_unkeyed_post_retried() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(201)]).await;
    let settings = RetrySettings {
        keyed_retries: false,
        ..keyed()
    };
    let response = session(settings)
        .post(server.url("/charges"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(methods(&server), ["POST", "POST"]);
}

// ---------------------------------------------------------------------------------------------
// RetrySettings::idempotent()

#[test]
fn idempotent_preset_fields() {
    let settings = RetrySettings::idempotent();
    assert_eq!(settings.max_retries, 3);
    assert!(settings.keyed_retries);
    assert!(!settings.idempotency_key);
    assert_eq!(
        settings.allowed_methods,
        [
            Method::HEAD,
            Method::GET,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
            Method::TRACE
        ]
    );
    assert_eq!(
        RetrySettings {
            max_retries: 0,
            allowed_methods: DEFAULT_ALLOWED_METHODS.to_vec(),
            keyed_retries: false,
            ..settings
        },
        RetrySettings::default()
    );
}

#[tokio::test]
async fn idempotent_preset_get_retried_three_times() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let response = session(idempotent())
        .get(server.url("/orders/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(methods(&server), ["GET"; 4]);
    assert_eq!(CallRecord::of(&response).give_up(), Some(GiveUp::Exhausted));
}

#[tokio::test]
async fn idempotent_preset_unkeyed_post_sent_once() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(201)]).await;
    let response = session(idempotent())
        .post(server.url("/charges"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(methods(&server), ["POST"]);
    assert_eq!(keys(&server), [None]);
}

#[tokio::test]
async fn idempotent_preset_keyed_post_and_patch_retried() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let session = session(idempotent());
    session
        .post(server.url("/charges"))
        .header("Idempotency-Key", "k-post")
        .send()
        .await
        .unwrap();
    // The script's last reply repeats: the PATCH succeeds at once.
    session
        .patch(server.url("/charges/1"))
        .header("Idempotency-Key", "k-patch")
        .send()
        .await
        .unwrap();
    assert_eq!(methods(&server), ["POST", "POST", "PATCH"]);
    assert_eq!(
        keys(&server),
        [key("k-post"), key("k-post"), key("k-patch")]
    );
}

#[tokio::test]
async fn idempotent_preset_with_idempotency_key_gives_every_post_a_key() {
    let server = TestServer::start(vec![Reply::status(500), Reply::status(201)]).await;
    let settings = RetrySettings {
        idempotency_key: true,
        ..idempotent()
    };
    let response = session(settings)
        .post(server.url("/charges"))
        .json(&[1999])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let keys = keys(&server);
    assert_eq!(keys.len(), 2);
    assert!(keys[0].is_some() && keys[0] == keys[1], "{keys:?}");
}

// ---------------------------------------------------------------------------------------------
// Against a payments API that applies a POST once per key (the Stripe example's scenarios)

/// The Stripe example's settings, without waits: `RetrySettings::idempotent()`, 409 retried,
/// and Stripe's should-retry header.
fn stripe() -> RetrySettings {
    RetrySettings {
        max_retries: 2,
        backoff_factor: 0.0,
        status_forcelist: statuses![409, 429, 500, 502..=504],
        should_retry_header: Some(HeaderName::from_static("stripe-should-retry")),
        ..RetrySettings::idempotent()
    }
}

#[tokio::test]
async fn stripe_keyed_post_retried_after_500_charged_once() {
    // The charge is applied, then the response is lost to a 500 that says "retry".
    let api = Payments::start(vec![
        Step::ChargeThen(Reply::status(500).header("stripe-should-retry", "true")),
        Step::Charge,
    ])
    .await;
    let response = session(stripe())
        .post(api.url("/v1/charges"))
        .header("Idempotency-Key", "order-1001")
        .form(&[("amount", "1999"), ("currency", "usd")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers().get("idempotent-replayed").unwrap(),
        "true"
    );
    assert_eq!(response.text().await.unwrap(), r#"{"id":"ch_1"}"#);
    assert_eq!(api.charges(), 1);
    assert_eq!(keys(&api.server), [key("order-1001"), key("order-1001")]);
}

#[tokio::test]
async fn stripe_keyed_post_retried_after_closed_connection_charged_once() {
    let api = Payments::start(vec![Step::ChargeThen(Reply::Close), Step::Charge]).await;
    let response = session(stripe())
        .post(api.url("/v1/charges"))
        .header("Idempotency-Key", "order-1002")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(api.charges(), 1);
    assert_eq!(api.server.count(), 2);
}

#[tokio::test]
async fn stripe_generated_key_charged_once() {
    let api = Payments::start(vec![
        Step::ChargeThen(Reply::status(500).header("stripe-should-retry", "true")),
        Step::Charge,
    ])
    .await;
    let settings = RetrySettings {
        idempotency_key: true,
        ..stripe()
    };
    let response = session(settings)
        .post(api.url("/v1/charges"))
        .form(&[("amount", "1999")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(api.charges(), 1);
    assert_eq!(api.server.count(), 2);
}

#[tokio::test]
async fn stripe_unkeyed_post_not_retried() {
    let api = Payments::start(vec![
        Step::ChargeThen(Reply::status(500).header("stripe-should-retry", "true")),
        Step::Charge,
    ])
    .await;
    let response = session(stripe())
        .post(api.url("/v1/charges"))
        .form(&[("amount", "1999")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(api.server.count(), 1, "sent once");
    assert_eq!(api.charges(), 1, "not charged twice");
}

#[tokio::test]
async fn stripe_should_retry_false_409_not_retried() {
    let api = Payments::start(vec![
        Step::Refuse(
            Reply::status(409)
                .header("stripe-should-retry", "false")
                .body(r#"{"error":{"type":"idempotency_error"}}"#),
        ),
        Step::Charge,
    ])
    .await;
    let response = session(stripe())
        .post(api.url("/v1/charges"))
        .header("Idempotency-Key", "order-1003")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(api.server.count(), 1);
    assert_eq!(api.charges(), 0);
}

#[tokio::test]
async fn stripe_should_retry_true_unkeyed_post_not_retried() {
    // The server says retry, but without a key a second POST could charge twice.
    let api = Payments::start(vec![
        Step::Refuse(Reply::status(409).header("stripe-should-retry", "true")),
        Step::Charge,
    ])
    .await;
    let response = session(stripe())
        .post(api.url("/v1/charges"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(api.server.count(), 1);
    assert_eq!(api.charges(), 0);
}

#[tokio::test]
async fn stripe_get_retried_without_a_key() {
    let server = TestServer::start(vec![Reply::status(500), Reply::status(200)]).await;
    let response = session(stripe())
        .get(server.url("/v1/charges/ch_1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(methods(&server), ["GET", "GET"]);
    assert_eq!(keys(&server), [None, None]);
}

#[tokio::test]
async fn stripe_should_retry_false_stops_a_keyed_503() {
    let api = Payments::start(vec![
        Step::Refuse(Reply::status(503).header("stripe-should-retry", "false")),
        Step::Charge,
    ])
    .await;
    let response = session(stripe())
        .post(api.url("/v1/charges"))
        .header("Idempotency-Key", "order-1004")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(api.server.count(), 1);
    assert_eq!(api.charges(), 0);
}

#[tokio::test]
async fn stripe_keyed_post_retried_after_a_lock_timeout_charged_once() {
    // A 409 that Stripe says to retry (a concurrent request held the key's lock).
    let api = Payments::start(vec![
        Step::Refuse(Reply::status(409).header("stripe-should-retry", "true")),
        Step::Charge,
    ])
    .await;
    let started = std::time::Instant::now();
    let response = session(stripe())
        .post(api.url("/v1/charges"))
        .header("Idempotency-Key", "order-1005")
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(response.status(), 201);
    assert_eq!(api.charges(), 1);
    assert_eq!(keys(&api.server), [key("order-1005"), key("order-1005")]);
}
