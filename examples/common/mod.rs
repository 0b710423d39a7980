//! What the examples share, and nothing API-specific: printing what a call recorded, and a
//! demo API on 127.0.0.1 that answers each request as its example says and prints what it
//! received. Each example keeps its settings, its scenario and its demo API's replies.
//!
//! This is a module of each example (`mod common;`), not an example of its own: cargo runs only
//! `examples/*.rs` and `examples/*/main.rs`.

// Each example uses part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_toolkit::CallRecord;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Prints a call's attempts as the client recorded them (what each came to, the wait before
/// it and what decided that wait, what decided after it), the last hint the server gave and
/// why the client gave up, if it did.
pub(crate) fn print_attempts(record: &CallRecord) {
    for (n, attempt) in record.attempts().iter().enumerate() {
        println!(
            "  attempt {}: {} after waiting {:.2} s ({}); then decided by {}",
            n + 1,
            attempt.outcome(),
            attempt.wait_before().as_secs_f64(),
            attempt.wait_source(),
            attempt.decided_by(),
        );
    }
    match record.last_hint() {
        Some(hint) => println!("  last hint: {hint}"),
        None => println!("  last hint: none"),
    }
    if let Some(reason) = record.give_up() {
        println!("  gave up: {reason}");
    }
}

/// A request as the demo API received it.
pub(crate) struct Request {
    /// The method.
    pub(crate) method: String,
    /// The path without its query.
    pub(crate) path: String,
    /// Header names (lower case) and values.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: String,
    /// Which request to this path it is: 1 for the first.
    pub(crate) nth: u32,
}

impl Request {
    /// The value of a header, by lower-case name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let mut headers = self.headers.iter();
        headers.find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the demo API answers.
#[derive(Clone)]
pub(crate) struct Reply {
    /// The status line's code and reason, as `429 Too Many Requests`.
    pub(crate) status: &'static str,
    /// Header names and values.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: String,
    /// Said after the status in the demo API's line for this request.
    pub(crate) note: String,
}

impl Reply {
    /// A reply with this status and a JSON body.
    pub(crate) fn json(status: &'static str, body: impl Into<String>) -> Reply {
        Reply::text(status, body).header("content-type", "application/json")
    }

    /// A reply with this status and a body.
    pub(crate) fn text(status: &'static str, body: impl Into<String>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            note: String::new(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub(crate) fn header(mut self, name: &str, value: impl ToString) -> Reply {
        self.headers.push((name.to_owned(), value.to_string()));
        self
    }

    /// Whether the reply has this header.
    pub(crate) fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(n, _)| n == name)
    }

    /// Adds a note to the demo API's line for this request.
    #[must_use]
    pub(crate) fn note(mut self, note: impl Into<String>) -> Reply {
        self.note = note.into();
        self
    }
}

/// Starts a demo API that answers each request with what `answer` returns for it, and returns
/// its base URL. For each request it prints a line: the method, the path, which request to
/// that path it is, the status, and how long after the previous request to that path it came
/// (how long the client waited before a retry).
pub(crate) async fn start_demo_api(
    answer: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let answer = Arc::new(answer);
    // Per path: how many requests so far, and when the last one arrived.
    let seen: Arc<Mutex<HashMap<String, (u32, Instant)>>> = Arc::default();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (answer, seen) = (Arc::clone(&answer), Arc::clone(&seen));
            tokio::spawn(async move {
                let Some(mut request) = read_request(&mut stream).await else {
                    return;
                };
                let since = {
                    let mut seen = seen.lock().unwrap();
                    let entry = seen
                        .entry(request.path.clone())
                        .or_insert((0, Instant::now()));
                    let since = entry.1.elapsed();
                    *entry = (entry.0 + 1, Instant::now());
                    request.nth = entry.0;
                    since
                };
                let reply = answer(&request);
                println!(
                    "  [server] {} {} request {}: {}{}{}",
                    request.method,
                    request.path,
                    request.nth,
                    reply.status,
                    waited(request.nth, since),
                    reply.note,
                );
                let _ = stream.write_all(&response_bytes(&reply)).await;
            });
        }
    });
    Ok(base_url)
}

/// ` (0.52 s after the previous one)`, or nothing for the first request to a path.
fn waited(nth: u32, since: Duration) -> String {
    if nth == 1 {
        String::new()
    } else {
        format!(" ({:.2} s after the previous one)", since.as_secs_f64())
    }
}

/// The reply as HTTP/1.1, closing the connection.
fn response_bytes(reply: &Reply) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    [head.into_bytes(), reply.body.clone().into_bytes()].concat()
}

/// Reads one request: its head and a body of `content-length` bytes.
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut bytes = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok().filter(|&n| n > 0)?;
        bytes.extend_from_slice(&buf[..n]);
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let mut lines = head.lines();
        let mut words = lines.next()?.split_whitespace();
        let method = words.next()?.to_owned();
        let path = words.next()?.split('?').next()?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .map_or(0, |(_, value)| value.parse().unwrap_or(0));
        if bytes.len() >= end + 4 + length {
            let body = String::from_utf8_lossy(&bytes[end + 4..end + 4 + length]).into_owned();
            return Some(Request {
                method,
                path,
                headers,
                body,
                nth: 0,
            });
        }
    }
}
