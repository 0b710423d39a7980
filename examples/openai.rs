//! OpenAI-style hints, `retry-after-ms` and `x-should-retry`, against a demo API that this
//! example starts on 127.0.0.1.
//!
//! Run it with `cargo run --example openai`. It takes under a second.

use std::time::Duration;

use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::{statuses, CallRecord, RetrySettings, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = start_demo_api().await?;
    let session = Session::builder()
        .retry_settings(RetrySettings {
            max_retries: 2,
            backoff_factor: 1.0, // 0.5 s before retry 1, 1 s before retry 2
            backoff_max: Duration::from_secs(8),
            status_forcelist: statuses![408, 409, 429, 500..=599],
            // Wait the milliseconds of `retry-after-ms` (it wins over `Retry-After`).
            respect_retry_after_ms: true,
            retry_after_max: Duration::from_secs(60),
            // `x-should-retry: true` retries, `false` returns at once, whatever the status.
            should_retry_header: Some(HeaderName::from_static("x-should-retry")),
            ..RetrySettings::default()
        })
        .build()?;

    for (what, path) in [
        ("429, retry-after-ms: 250 (and Retry-After: 1)", "/limited"),
        ("500 with x-should-retry: false", "/invalid"),
        (
            "429, retry-after-ms: 300000 (beyond retry_after_max)",
            "/quota",
        ),
    ] {
        println!("POST /v1{path}: {what}");
        let response = session
            .post(format!("{base_url}/v1{path}"))
            .json(&serde_json::json!({ "model": "demo", "input": "hi" }))
            .send()
            .await?;
        let record = CallRecord::of(&response);
        for attempt in record.attempts() {
            println!(
                "  {} after waiting {:.2} s ({}); then decided by {}",
                attempt.outcome(),
                attempt.wait_before().as_secs_f64(),
                attempt.wait_source(),
                attempt.decided_by()
            );
        }
        if let Some(hint) = record.last_hint() {
            println!("  last hint: {hint}");
        }
        if let Some(reason) = record.give_up() {
            println!("  gave up: {reason}");
        }
        println!("  -> {}\n", response.status());
    }
    Ok(())
}

/// Starts the demo API: each path fails once as its name says, then answers 200.
async fn start_demo_api() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let mut seen = std::collections::HashSet::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let Some(path) = read_path(&mut stream).await else {
                continue;
            };
            let (status, extra) = match path.as_str() {
                _ if !seen.insert(path.clone()) => ("200 OK", ""),
                "/v1/limited" => (
                    "429 Too Many Requests",
                    "retry-after-ms: 250\r\nretry-after: 1\r\nx-should-retry: true\r\n",
                ),
                "/v1/invalid" => ("500 Internal Server Error", "x-should-retry: false\r\n"),
                "/v1/quota" => ("429 Too Many Requests", "retry-after-ms: 300000\r\n"),
                _ => ("404 Not Found", ""),
            };
            println!("  [server] POST {path}: {status}");
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n{extra}\r\n{{}}"
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    Ok(base_url)
}

/// Reads one request (head and JSON body) and returns its path.
async fn read_path(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok().filter(|&n| n > 0)?;
        bytes.extend_from_slice(&buf[..n]);
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap_or(0));
        if bytes.len() >= end + 4 + length {
            return head.split_whitespace().nth(1).map(str::to_owned);
        }
    }
}
