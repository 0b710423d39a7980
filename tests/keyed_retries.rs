//! `keyed_retries`: POST and PATCH are sent again after they may have reached the server exactly
//! when they carry an `Idempotency-Key` (the caller's or a generated one), whatever
//! `allowed_methods` says; `RetrySettings::idempotent()` is that with the idempotent methods.
//!
//! Asserted at the server: how many requests of each method arrived, the key each carried, and,
//! against a payments API that applies a POST once per key (`testkit::payments`), how many
//! charges were applied.

use std::time::Duration;

use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::reqwest::Response;
use api_toolkit::{
    statuses, AttemptOutcome, CallRecord, GiveUp, Method, RequestBuilder, RetrySettings, Session,
    DEFAULT_ALLOWED_METHODS,
};
use testkit::payments::{Payments, Step};
use testkit::{call, refused_url, Reply, TestServer};

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

fn key(value: &str) -> Option<String> {
    Some(value.to_owned())
}

/// The request with an `Idempotency-Key` when one is given.
fn with_key(request: RequestBuilder, key: Option<&str>) -> RequestBuilder {
    match key {
        Some(key) => request.header("Idempotency-Key", key),
        None => request,
    }
}

/// `POST /charges` with the body `amount=1999` and, when given, an `Idempotency-Key`: from a
/// session with `settings` to a server that answers with `script`.
async fn charge(
    settings: RetrySettings,
    script: Vec<Reply>,
    key: Option<&str>,
) -> (api_toolkit::Result<Response>, TestServer) {
    call(settings, script, |s, server| {
        with_key(s.post(server.url("/charges")).body("amount=1999"), key)
    })
    .await
}

/// The first attempt's reply, never answered within 300 ms, the attempts' timeout; then a 201.
fn too_slow() -> (RetrySettings, Vec<Reply>) {
    let settings = RetrySettings {
        attempt_timeout: Some(Duration::from_millis(300)),
        ..keyed()
    };
    let script = vec![
        Reply::status(201).delay(Duration::from_secs(3)),
        Reply::status(201),
    ];
    (settings, script)
}

#[tokio::test]
async fn keyed_retries_unkeyed_post_in_allowed_methods_not_retried_after_503() {
    assert!(keyed().allowed_methods.contains(&Method::POST));
    let script = vec![Reply::status(503), Reply::status(201)];
    let (response, server) = charge(keyed(), script, None).await;
    assert_eq!(response.unwrap().status(), 503);
    assert_eq!(server.methods(), ["POST"]);
    assert_eq!(server.idempotency_keys(), [None]);
}

#[tokio::test]
async fn keyed_retries_unkeyed_post_not_retried_after_closed_connection() {
    let script = vec![Reply::Close, Reply::status(201)];
    let (result, server) = charge(keyed(), script, None).await;
    let error = result.unwrap_err();
    assert!(!error.is_connect(), "the request had reached the server");
    assert_eq!(error.attempt_count(), 1);
    assert_eq!(server.methods(), ["POST"]);
}

#[tokio::test]
async fn keyed_retries_unkeyed_patch_not_retried_after_503() {
    let script = vec![Reply::status(503), Reply::status(200)];
    let (response, server) = call(keyed(), script, |s, server| {
        s.patch(server.url("/charges/1")).body("{}")
    })
    .await;
    assert_eq!(response.unwrap().status(), 503);
    assert_eq!(server.methods(), ["PATCH"]);
}

#[tokio::test]
async fn keyed_retries_keyed_post_retried_with_the_same_key() {
    let script = vec![Reply::status(503), Reply::status(500), Reply::status(201)];
    let (response, server) = charge(keyed(), script, Some("order-77")).await;
    assert_eq!(response.unwrap().status(), 201);
    assert_eq!(server.methods(), ["POST", "POST", "POST"]);
    assert_eq!(server.idempotency_keys(), vec![key("order-77"); 3]);
    for request in server.received() {
        assert_eq!(request.body, b"amount=1999");
    }
}

#[tokio::test]
async fn keyed_retries_keyed_post_retried_after_closed_connection() {
    let script = vec![Reply::Close, Reply::status(201)];
    let (response, server) = charge(keyed(), script, Some("order-78")).await;
    let response = response.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        server.idempotency_keys(),
        [key("order-78"), key("order-78")]
    );
    assert_eq!(
        CallRecord::of(&response).attempts()[0].outcome(),
        AttemptOutcome::Closed
    );
}

#[tokio::test]
async fn keyed_retries_unkeyed_post_not_retried_after_timeout() {
    let (settings, script) = too_slow();
    let (result, server) = charge(settings, script, None).await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(server.methods(), ["POST"]);
}

#[tokio::test]
async fn keyed_retries_keyed_post_retried_after_timeout() {
    let (settings, script) = too_slow();
    let (response, server) = charge(settings, script, Some("order-80")).await;
    let response = response.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        server.idempotency_keys(),
        [key("order-80"), key("order-80")]
    );
    assert_eq!(
        CallRecord::of(&response).attempts()[0].outcome(),
        AttemptOutcome::Timeout
    );
}

#[tokio::test]
async fn keyed_retries_keyed_post_outside_allowed_methods_retried() {
    let settings = RetrySettings {
        allowed_methods: vec![Method::GET],
        ..keyed()
    };
    let script = vec![Reply::status(502), Reply::status(201)];
    let (response, server) = call(settings, script, |s, server| {
        s.post(server.url("/charges"))
            .header("Idempotency-Key", "order-79")
    })
    .await;
    response.unwrap();
    assert_eq!(
        server.idempotency_keys(),
        [key("order-79"), key("order-79")]
    );
}

#[tokio::test]
async fn keyed_retries_with_idempotency_key_every_post_keyed_and_retried() {
    let settings = RetrySettings {
        idempotency_key: true,
        ..keyed()
    };
    let script = vec![Reply::status(503), Reply::Close, Reply::status(201)];
    let (response, server) = charge(settings, script, None).await;
    assert_eq!(response.unwrap().status(), 201);
    let keys = server.idempotency_keys();
    assert_eq!(keys.len(), 3);
    assert!(keys[0].is_some(), "a generated key");
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
}

#[tokio::test]
async fn keyed_retries_leave_idempotent_methods_to_allowed_methods() {
    let script = vec![Reply::status(503), Reply::Close, Reply::status(200)];
    let (response, server) = call(keyed(), script, |s, server| {
        s.put(server.url("/orders/1")).body("{}")
    })
    .await;
    assert_eq!(response.unwrap().status(), 200);
    assert_eq!(server.methods(), ["PUT", "PUT", "PUT"]);
    assert_eq!(server.idempotency_keys(), [None, None, None]);
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
    assert_eq!(error.attempt_count(), 3);
}

#[tokio::test]
async fn keyed_retries_off_by_default_unkeyed_post_retried() {
    let settings = RetrySettings {
        keyed_retries: false,
        ..keyed()
    };
    let script = vec![Reply::status(503), Reply::status(201)];
    let (response, server) =
        call(settings, script, |s, server| s.post(server.url("/charges"))).await;
    assert_eq!(response.unwrap().status(), 201);
    assert_eq!(server.methods(), ["POST", "POST"]);
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
    let script = vec![Reply::status(503)];
    let (response, server) = call(idempotent(), script, |s, server| {
        s.get(server.url("/orders/1"))
    })
    .await;
    let response = response.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.methods(), ["GET"; 4]);
    assert_eq!(CallRecord::of(&response).give_up(), Some(GiveUp::Exhausted));
}

#[tokio::test]
async fn idempotent_preset_unkeyed_post_sent_once() {
    let script = vec![Reply::status(503), Reply::status(201)];
    let (response, server) = call(idempotent(), script, |s, server| {
        s.post(server.url("/charges"))
    })
    .await;
    assert_eq!(response.unwrap().status(), 503);
    assert_eq!(server.methods(), ["POST"]);
    assert_eq!(server.idempotency_keys(), [None]);
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
    assert_eq!(server.methods(), ["POST", "POST", "PATCH"]);
    assert_eq!(
        server.idempotency_keys(),
        [key("k-post"), key("k-post"), key("k-patch")]
    );
}

#[tokio::test]
async fn idempotent_preset_with_idempotency_key_gives_every_post_a_key() {
    let settings = RetrySettings {
        idempotency_key: true,
        ..idempotent()
    };
    let script = vec![Reply::status(500), Reply::status(201)];
    let (response, server) = call(settings, script, |s, server| {
        s.post(server.url("/charges")).json(&[1999])
    })
    .await;
    assert_eq!(response.unwrap().status(), 201);
    let keys = server.idempotency_keys();
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

/// A reply with this status and `Stripe-Should-Retry: value`.
fn says(status: u16, value: &str) -> Reply {
    Reply::status(status).header("stripe-should-retry", value)
}

/// `POST /v1/charges` (a form) and, when given, an `Idempotency-Key`: from a session with
/// `settings` to a payments API that takes `steps`. The response, and the API for what it
/// received and charged.
async fn stripe_charge(
    settings: RetrySettings,
    steps: Vec<Step>,
    key: Option<&str>,
) -> (Response, Payments) {
    let api = Payments::start(steps).await;
    let request = session(settings)
        .post(api.url("/v1/charges"))
        .form(&[("amount", "1999"), ("currency", "usd")]);
    let response = with_key(request, key).send().await.unwrap();
    (response, api)
}

#[tokio::test]
async fn stripe_keyed_post_retried_after_500_charged_once() {
    // The charge is applied, then the response is lost to a 500 that says "retry".
    let steps = vec![Step::ChargeThen(says(500, "true")), Step::Charge];
    let (response, api) = stripe_charge(stripe(), steps, Some("order-1001")).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers().get("idempotent-replayed").unwrap(),
        "true"
    );
    assert_eq!(response.text().await.unwrap(), r#"{"id":"ch_1"}"#);
    assert_eq!(api.charges(), 1);
    assert_eq!(
        api.server.idempotency_keys(),
        [key("order-1001"), key("order-1001")]
    );
}

#[tokio::test]
async fn stripe_keyed_post_retried_after_closed_connection_charged_once() {
    let steps = vec![Step::ChargeThen(Reply::Close), Step::Charge];
    let (response, api) = stripe_charge(stripe(), steps, Some("order-1002")).await;
    assert_eq!(response.status(), 201);
    assert_eq!(api.charges(), 1);
    assert_eq!(api.server.count(), 2);
}

#[tokio::test]
async fn stripe_generated_key_charged_once() {
    let settings = RetrySettings {
        idempotency_key: true,
        ..stripe()
    };
    let steps = vec![Step::ChargeThen(says(500, "true")), Step::Charge];
    let (response, api) = stripe_charge(settings, steps, None).await;
    assert_eq!(response.status(), 201);
    assert_eq!(api.charges(), 1);
    assert_eq!(api.server.count(), 2);
}

#[tokio::test]
async fn stripe_unkeyed_post_not_retried() {
    let steps = vec![Step::ChargeThen(says(500, "true")), Step::Charge];
    let (response, api) = stripe_charge(stripe(), steps, None).await;
    assert_eq!(response.status(), 500);
    assert_eq!(api.server.count(), 1, "sent once");
    assert_eq!(api.charges(), 1, "not charged twice");
}

#[tokio::test]
async fn stripe_should_retry_false_409_not_retried() {
    let steps = vec![
        Step::Refuse(says(409, "false").body(r#"{"error":{"type":"idempotency_error"}}"#)),
        Step::Charge,
    ];
    let (response, api) = stripe_charge(stripe(), steps, Some("order-1003")).await;
    assert_eq!(response.status(), 409);
    assert_eq!(api.server.count(), 1);
    assert_eq!(api.charges(), 0);
}

#[tokio::test]
async fn stripe_should_retry_true_unkeyed_post_not_retried() {
    // The server says retry, but without a key a second POST could charge twice.
    let steps = vec![Step::Refuse(says(409, "true")), Step::Charge];
    let (response, api) = stripe_charge(stripe(), steps, None).await;
    assert_eq!(response.status(), 409);
    assert_eq!(api.server.count(), 1);
    assert_eq!(api.charges(), 0);
}

#[tokio::test]
async fn stripe_get_retried_without_a_key() {
    let script = vec![Reply::status(500), Reply::status(200)];
    let (response, server) = call(stripe(), script, |s, server| {
        s.get(server.url("/v1/charges/ch_1"))
    })
    .await;
    assert_eq!(response.unwrap().status(), 200);
    assert_eq!(server.methods(), ["GET", "GET"]);
    assert_eq!(server.idempotency_keys(), [None, None]);
}

#[tokio::test]
async fn stripe_should_retry_false_stops_a_keyed_503() {
    let steps = vec![Step::Refuse(says(503, "false")), Step::Charge];
    let (response, api) = stripe_charge(stripe(), steps, Some("order-1004")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(api.server.count(), 1);
    assert_eq!(api.charges(), 0);
}

#[tokio::test]
async fn stripe_keyed_post_retried_after_a_lock_timeout_charged_once() {
    // A 409 that Stripe says to retry (a concurrent request held the key's lock).
    let steps = vec![Step::Refuse(says(409, "true")), Step::Charge];
    let started = std::time::Instant::now();
    let (response, api) = stripe_charge(stripe(), steps, Some("order-1005")).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(response.status(), 201);
    assert_eq!(api.charges(), 1);
    assert_eq!(
        api.server.idempotency_keys(),
        [key("order-1005"), key("order-1005")]
    );
}
