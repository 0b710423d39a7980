//! Rule 6: every attempt sends byte-identical bodies; a streaming body is sent once and never
//! retried — never re-sent empty or partial.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use api_toolkit::reqwest::Body;
use api_toolkit::{RetrySettings, Session};
use testkit::{Reply, TestServer};

fn retrying(max_retries: u32) -> Session {
    Session::new(RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        raise_on_status: true,
        ..RetrySettings::default()
    })
    .unwrap()
}

fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

fn body_hashes(server: &TestServer) -> Vec<u64> {
    server.received().iter().map(|r| hash(&r.body)).collect()
}

#[tokio::test]
async fn replayed_bytes_body_identical_on_every_attempt() {
    let server = TestServer::start(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::status(200),
    ])
    .await;
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    retrying(3)
        .put(server.url("/blob"))
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(body_hashes(&server), vec![hash(&payload); 3]);
}

#[tokio::test]
async fn replayed_json_body_and_headers_identical_on_every_attempt() {
    let server = TestServer::start(vec![Reply::status(500), Reply::status(201)]).await;
    let order = serde_json::json!({ "sku": "A-1", "quantity": 2 });
    retrying(3)
        .post(server.url("/orders"))
        .json(&order)
        .bearer_auth("t0k3n")
        .send()
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 2);
    for request in &received {
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&request.body).unwrap(),
            order
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("authorization"), Some("Bearer t0k3n"));
    }
    assert_eq!(received[0].body, received[1].body);
}

#[tokio::test]
async fn streaming_body_sent_once_never_retried() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![Ok("part one, "), Ok("part two")];
    let body = Body::wrap_stream(futures_util::stream::iter(chunks));
    let error = retrying(3)
        .post(server.url("/upload"))
        .body(body)
        .send()
        .await
        .unwrap_err();
    assert!(
        error.is_status(),
        "exhausted at once on a forced status: {error:?}"
    );
    assert_eq!(error.attempt_count(), 1);
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, b"part one, part two");
}
