//! `Session::from_client` and `SessionBuilder::client`: a session over a `reqwest::Client` the
//! application already has. Checked at the server: the pool is shared, the client's own options
//! apply, and what the session cannot see of the client is handled on the safe side.

use std::time::{Duration, Instant};

use api_toolkit::reqwest::header::{HeaderMap, HeaderValue};
use api_toolkit::reqwest::{self, redirect::Policy};
use api_toolkit::{
    AttemptOutcome, CallRecord, ErrorKind, Method, RetrySettings, Session, SessionBuilder,
};
use testkit::{refused_url, Reply, TestServer};

fn retrying(max_retries: u32) -> RetrySettings {
    RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    }
}

#[tokio::test]
async fn a_session_from_a_client_shares_its_connection_pool() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let client = reqwest::Client::new();
    client
        .get(server.url("/direct"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let session = Session::from_client(client.clone(), retrying(2)).unwrap();
    for _ in 0..3 {
        let response = session.get(server.url("/through")).send().await.unwrap();
        response.bytes().await.unwrap();
    }
    assert_eq!(server.count(), 4);
    assert_eq!(server.connections(), 1, "one pool, one connection");
}

#[tokio::test]
async fn the_clients_own_options_apply_on_every_attempt() {
    let server = TestServer::start(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::status(200),
    ])
    .await;
    let mut headers = HeaderMap::new();
    headers.insert("x-app", HeaderValue::from_static("billing"));
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .user_agent("billing/1.0")
        .build()
        .unwrap();
    let session = Session::from_client(client, retrying(2)).unwrap();
    let response = session.get(server.url("/invoices")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(CallRecord::of(&response).attempt_count(), 3);
    for request in server.received() {
        assert_eq!(request.header("x-app"), Some("billing"));
        assert_eq!(request.header("user-agent"), Some("billing/1.0"));
    }
}

#[tokio::test]
async fn a_post_redirected_to_a_refused_port_is_sent_once() {
    let dead = refused_url("/paid").await;
    let server = TestServer::start(vec![Reply::status(307).header("location", &dead)]).await;
    // The client follows redirects; the session cannot see them.
    let settings = RetrySettings {
        allowed_methods: vec![Method::GET],
        ..retrying(2)
    };
    let session = Session::from_client(reqwest::Client::new(), settings).unwrap();
    let error = session
        .post(server.url("/pay"))
        .body("amount=5")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        server.count(),
        1,
        "the POST the first server took is not sent again"
    );
    assert!(error.record().give_up().is_none());
}

#[tokio::test]
async fn a_connect_error_is_retried_only_for_allowed_methods() {
    let dead = refused_url("/").await;
    let settings = RetrySettings {
        allowed_methods: vec![Method::GET],
        ..retrying(2)
    };
    let session = Session::from_client(reqwest::Client::new(), settings).unwrap();
    let get = session.get(&dead).send().await.unwrap_err();
    assert_eq!(get.attempt_count(), 3, "GET is allowed: retried");
    let post = session.post(&dead).send().await.unwrap_err();
    assert_eq!(
        post.attempt_count(),
        1,
        "a connect error may follow a redirect the session cannot see"
    );
    assert_eq!(
        post.record().attempts()[0].outcome(),
        AttemptOutcome::Connect
    );
    assert!(post.is_connect());
}

#[tokio::test]
#[allow(deprecated)] // `SessionBuilder::timeout`: deprecated, and still kept working
async fn the_session_timeout_takes_part_in_every_attempt_with_a_given_client() {
    let server = TestServer::start(vec![Reply::status(200).delay(Duration::from_secs(3))]).await;
    let session = Session::builder()
        .client(reqwest::Client::new())
        .timeout(Duration::from_millis(300))
        .retry_settings(RetrySettings {
            attempt_timeout: Some(Duration::from_secs(10)),
            ..retrying(1)
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let error = session.get(server.url("/slow")).send().await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.attempt_count(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_settings_hook_and_stats_work_as_for_a_built_session() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let hooked = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = std::sync::Arc::clone(&hooked);
    let session = Session::builder()
        .client(reqwest::Client::new())
        .retry_settings(retrying(2))
        .on_retry(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .build()
        .unwrap();
    session.get(server.url("/")).send().await.unwrap();
    assert_eq!(hooked.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(session.stats().attempts, 2);
    session.set_retry_settings(retrying(0)).unwrap();
    assert_eq!(session.retry_settings().max_retries, 0);
}

/// Sets one client option on a builder.
type Configure = fn(SessionBuilder) -> SessionBuilder;

#[test]
fn client_options_and_bad_settings_are_refused_with_a_given_client() {
    let given = || Session::builder().client(reqwest::Client::new());
    let options: [(&str, Configure); 6] = [
        ("user_agent", |b| b.user_agent("x")),
        ("default_headers", |b| b.default_headers(HeaderMap::new())),
        ("connect_timeout", |b| {
            b.connect_timeout(Duration::from_secs(1))
        }),
        ("read_timeout", |b| b.read_timeout(Duration::from_secs(1))),
        ("redirect", |b| b.redirect(Policy::none())),
        ("client_builder", |b| {
            b.client_builder(reqwest::Client::builder())
        }),
    ];
    for (name, set) in options {
        let error = set(given()).build().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidSettings, "{name}");
        let settings = error.settings_error().unwrap();
        assert_eq!(settings.field(), "client");
        assert_eq!(settings.value(), name);
    }
    let bad = RetrySettings {
        backoff_factor: -1.0,
        ..RetrySettings::default()
    };
    let error = Session::from_client(reqwest::Client::new(), bad).unwrap_err();
    assert_eq!(error.settings_error().unwrap().field(), "backoff_factor");
}
