//! `idempotency_key`: one random `Idempotency-Key` per POST/PATCH call, the same on every
//! attempt, never on idempotent methods, never replacing the caller's.

use api_toolkit::{RetrySettings, Session};
use testkit::{Reply, TestServer};

fn session() -> Session {
    let settings = RetrySettings {
        max_retries: 2,
        backoff_factor: 0.0,
        idempotency_key: true,
        ..RetrySettings::default()
    };
    Session::new(settings).unwrap()
}

fn keys(server: &TestServer) -> Vec<Option<String>> {
    server
        .received()
        .iter()
        .map(|r| r.header("idempotency-key").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn idempotency_key_identical_across_attempts_of_one_call() {
    let server = TestServer::start(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::status(201),
    ])
    .await;
    session()
        .post(server.url("/charges"))
        .json(&[1999])
        .send()
        .await
        .unwrap();
    let keys = keys(&server);
    assert_eq!(keys.len(), 3);
    let first = keys[0].clone().expect("a key on the first attempt");
    assert_eq!(first.len(), 34, "a quoted 128-bit hex value: {first}");
    assert!(keys.iter().all(|k| k.as_deref() == Some(first.as_str())));
}

#[tokio::test]
async fn idempotency_key_differs_between_calls() {
    let server = TestServer::start(vec![Reply::status(201)]).await;
    let session = session();
    session.post(server.url("/charges")).send().await.unwrap();
    session
        .patch(server.url("/charges/1"))
        .send()
        .await
        .unwrap();
    let keys = keys(&server);
    assert!(keys[0].is_some() && keys[1].is_some());
    assert_ne!(keys[0], keys[1]);
}

#[tokio::test]
async fn idempotency_key_absent_on_get_and_put() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    session().get(server.url("/")).send().await.unwrap();
    session().put(server.url("/")).send().await.unwrap();
    assert_eq!(keys(&server), [None, None]);
}

#[tokio::test]
async fn idempotency_key_never_overrides_the_callers() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(201)]).await;
    session()
        .post(server.url("/"))
        .header("Idempotency-Key", "order-77")
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys(&server),
        [Some("order-77".to_owned()), Some("order-77".to_owned())]
    );
}

#[tokio::test]
async fn idempotency_key_off_by_default() {
    let server = TestServer::start(vec![Reply::status(201)]).await;
    let session = Session::new(RetrySettings {
        max_retries: 2,
        ..RetrySettings::default()
    })
    .unwrap();
    session.post(server.url("/")).send().await.unwrap();
    assert_eq!(keys(&server), [None]);
}
