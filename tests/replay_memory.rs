//! The memory a streaming call keeps for its replay is bounded by `replay_limit`: a body of
//! 100 × the limit, made lazily by a stream, is sent while a counting allocator watches the
//! peak of the process's live heap. A binary of its own: its allocator counts every thread.
//! The server reads and discards the body, hashing it.

use std::time::Duration;

use api_toolkit::reqwest::Body;
use api_toolkit::{CallRecord, GiveUp, RetrySettings, Session};
use bytes::Bytes;
use testkit::heap;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

const MIB: usize = 1 << 20;
const CHUNK: usize = 64 * 1024;

/// A stream of `total` bytes in fresh chunks of [`CHUNK`], made as they are asked for.
fn lazy_body(total: usize) -> Body {
    let chunks = (0..total.div_ceil(CHUNK)).map(move |i| {
        let len = CHUNK.min(total - i * CHUNK);
        Ok::<_, std::io::Error>(Bytes::from(vec![(i % 251) as u8; len]))
    });
    Body::wrap_stream(futures_util::stream::iter(chunks))
}

/// A server that reads each request's chunked body, counting its bytes without keeping them,
/// and answers 503 (a status the call would retry) with the count.
async fn discarding_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/upload", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut reader = BufReader::with_capacity(CHUNK, stream);
                let mut line = String::new();
                loop {
                    // The head.
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut received = 0u64;
                    loop {
                        line.clear();
                        reader.read_line(&mut line).await.unwrap();
                        let size = u64::from_str_radix(line.trim(), 16).unwrap();
                        let mut chunk = (&mut reader).take(size + 2);
                        let copied = tokio::io::copy(&mut chunk, &mut tokio::io::sink())
                            .await
                            .unwrap();
                        assert_eq!(copied, size + 2);
                        received += size;
                        if size == 0 {
                            break;
                        }
                    }
                    let body = received.to_string();
                    let reply = format!(
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    reader.get_mut().write_all(reply.as_bytes()).await.unwrap();
                }
            });
        }
    });
    url
}

/// Sends a body of 100 × `limit` (100 MiB when `limit` is 0) and returns the peak of the live
/// heap above what was live before the call.
async fn peak_above_baseline(
    session: &Session,
    url: &str,
    body_len: usize,
    give_up: GiveUp,
) -> usize {
    // Settle what a first call allocates once (the connection, the pool).
    session
        .post(url)
        .body(lazy_body(10))
        .no_retry()
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let baseline = heap::live();
    heap::reset_peak();
    let response = session
        .post(url)
        .body(lazy_body(body_len))
        .send()
        .await
        .unwrap();
    let peak = heap::peak();
    assert_eq!(response.status(), 503);
    let record = CallRecord::of(&response).clone();
    let received: usize = response.text().await.unwrap().parse().unwrap();
    assert_eq!(received, body_len, "the whole body reached the server");
    assert_eq!(record.attempt_count(), 1, "too large to send again");
    assert_eq!(record.give_up(), Some(give_up));
    peak.saturating_sub(baseline)
}

#[test]
fn memory_kept_for_a_body_of_100_times_the_limit_stays_under_twice_the_limit() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = discarding_server().await;
        let session = |replay_limit| {
            Session::new(RetrySettings {
                max_retries: 2,
                backoff_factor: 0.0,
                replay_limit,
                ..RetrySettings::default()
            })
            .unwrap()
        };
        let body_len = 100 * MIB;
        let without =
            peak_above_baseline(&session(0), &url, body_len, GiveUp::BodyNotReplayable).await;
        let with = peak_above_baseline(&session(MIB), &url, body_len, GiveUp::BodyTooLarge).await;
        println!(
            "peak above baseline for a 100 MiB stream: {:.2} MiB with replay_limit = 1 MiB, \
             {:.2} MiB with replay_limit = 0",
            with as f64 / MIB as f64,
            without as f64 / MIB as f64
        );
        assert!(with < 2 * MIB, "{with} bytes above the baseline");
    });
}
