//! Rule 6 with `replay_limit`: a streaming body is kept while it is sent, up to the limit, and a
//! retry sends exactly the kept bytes; a body longer than the limit, a stream that fails, or one
//! longer than its `Content-Length` is never sent again, partial or empty. A stream the first
//! attempt never read (its connection was never established) is sent as it is, whatever its size.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use api_toolkit::reqwest::dns::{Addrs, Name, Resolve, Resolving};
use api_toolkit::reqwest::{self, Body};
use api_toolkit::{AttemptOutcome, CallRecord, GiveUp, RetrySettings, Session};
use bytes::Bytes;
use testkit::{Reply, TestServer};

fn settings(replay_limit: usize) -> RetrySettings {
    RetrySettings {
        max_retries: 2,
        backoff_factor: 0.0,
        replay_limit,
        ..RetrySettings::default()
    }
}

/// `bytes` as a stream of chunks of `chunk` bytes (the last one shorter).
fn stream(bytes: &[u8], chunk: usize) -> Body {
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Body::wrap_stream(futures_util::stream::iter(chunks))
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn stream_within_the_limit_resent_byte_identical() {
    let server = TestServer::start(vec![
        Reply::status(503),
        Reply::status(502),
        Reply::status(200),
    ])
    .await;
    let body = payload(100_000);
    let session = Session::new(settings(100_000)).unwrap();
    let response = session
        .put(server.url("/blob"))
        .body(stream(&body, 8192))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let received = server.received();
    assert_eq!(received.len(), 3);
    for request in &received {
        assert_eq!(request.body, body, "byte-identical on every attempt");
        assert_eq!(
            request.header("transfer-encoding"),
            Some("chunked"),
            "framed as the first attempt was"
        );
    }
}

/// Sizes around the limit, in chunks of several sizes, failed by a status and by a connection
/// closed after the request was read: the server receives the whole body on every attempt, or
/// no second attempt at all.
#[tokio::test]
async fn exactly_the_limit_is_replayed_one_byte_more_is_not() {
    const LIMIT: usize = 1000;
    for len in [LIMIT - 1, LIMIT, LIMIT + 1, 3 * LIMIT] {
        for chunk in [1, 7, 100, LIMIT, 4 * LIMIT] {
            for failure in [Reply::status(503), Reply::Close] {
                let server = TestServer::start(vec![failure.clone(), Reply::status(200)]).await;
                let body = payload(len);
                let result = Session::new(settings(LIMIT))
                    .unwrap()
                    .post(server.url("/upload"))
                    .body(stream(&body, chunk))
                    .send()
                    .await;
                let case = format!("{len} bytes in chunks of {chunk}, {failure:?}");
                let received = server.received();
                assert!(received.iter().all(|r| r.body == body), "{case}");
                let record = match &result {
                    Ok(response) => CallRecord::of(response).clone(),
                    Err(error) => error.record().clone(),
                };
                if len <= LIMIT {
                    assert_eq!(received.len(), 2, "{case}");
                    assert_eq!(result.unwrap().status(), 200, "{case}");
                } else {
                    assert_eq!(received.len(), 1, "{case}");
                    assert_eq!(record.attempt_count(), 1, "{case}");
                    assert_eq!(record.give_up(), Some(GiveUp::BodyTooLarge), "{case}");
                }
            }
        }
    }
}

#[tokio::test]
async fn limit_zero_keeps_streams_sent_once() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let response = Session::new(settings(0))
        .unwrap()
        .post(server.url("/upload"))
        .body(stream(b"small", 2))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.count(), 1);
    assert_eq!(
        CallRecord::of(&response).give_up(),
        Some(GiveUp::BodyNotReplayable)
    );
}

#[tokio::test]
async fn stream_failing_midway_ends_the_call_with_its_error() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![
        Ok("part one, "),
        Err(std::io::Error::other("the disk went away")),
        Ok("part two"),
    ];
    let error = Session::new(settings(1 << 20))
        .unwrap()
        .put(server.url("/upload"))
        .body(Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap_err();
    assert!(
        chain(&error).contains("the disk went away"),
        "the stream's error: {}",
        chain(&error)
    );
    assert_eq!(error.attempt_count(), 1, "nothing sent again");
    assert_eq!(error.record().give_up(), Some(GiveUp::BodyNotReplayable));
    // The server never received a whole request.
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn stream_longer_than_its_content_length_fails_and_is_not_resent() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![Ok("aaa"), Ok("bbb")];
    let error = Session::new(settings(1 << 20))
        .unwrap()
        .put(server.url("/upload"))
        .header("content-length", "4")
        .body(Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap_err();
    assert!(
        chain(&error).contains("longer than its Content-Length of 4 bytes"),
        "{}",
        chain(&error)
    );
    assert_eq!(error.attempt_count(), 1);
    assert_eq!(server.count(), 0, "no truncated body taken as whole");
}

#[tokio::test]
async fn stream_of_its_content_length_is_replayed() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![Ok("aaa"), Ok("bbb")];
    let response = Session::new(settings(1 << 20))
        .unwrap()
        .put(server.url("/upload"))
        .header("content-length", "6")
        .body(Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let received = server.received();
    assert_eq!(received.len(), 2);
    for request in received {
        assert_eq!(request.body, b"aaabbb");
        assert_eq!(request.header("content-length"), Some("6"));
    }
}

/// Resolves `flaky.test` to a refused port the first time, to the server after.
struct RefuseFirst {
    refused: SocketAddr,
    server: SocketAddr,
    asked: Arc<AtomicUsize>,
}

impl Resolve for RefuseFirst {
    fn resolve(&self, _: Name) -> Resolving {
        let addr = if self.asked.fetch_add(1, Ordering::SeqCst) == 0 {
            self.refused
        } else {
            self.server
        };
        Box::pin(async move { Ok(Box::new(std::iter::once(addr)) as Addrs) })
    }
}

async fn refuse_first(replay_limit: usize, server: &TestServer) -> Session {
    let port = |url: String| -> SocketAddr {
        url.trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap()
    };
    let resolver = RefuseFirst {
        refused: port(testkit::refused_url("/").await),
        server: port(server.url("/")),
        asked: Arc::default(),
    };
    Session::builder()
        .retry_settings(settings(replay_limit))
        .client_builder(reqwest::Client::builder().dns_resolver(resolver))
        .build()
        .unwrap()
}

#[tokio::test]
async fn stream_never_read_is_sent_as_it_is_whatever_its_size() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let body = payload(1 << 20);
    // The URL has no port: the resolver's port is used.
    let response = refuse_first(1024, &server)
        .await
        .post("http://flaky.test/upload")
        .body(stream(&body, 16 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let attempts = CallRecord::of(&response).attempts();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].outcome(), AttemptOutcome::Connect);
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, body, "1 MiB, with a limit of 1 KiB");
}

#[tokio::test]
async fn stream_never_read_is_not_resent_with_limit_zero() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let error = refuse_first(0, &server)
        .await
        .post("http://flaky.test/upload")
        .body(stream(b"payload", 3))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(error.attempt_count(), 1, "as before replay_limit");
    assert_eq!(server.count(), 0);
}

/// The error and its sources, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
