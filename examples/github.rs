//! A GitHub REST client that waits for rate limits the way GitHub documents them, against a
//! demo API that this example starts on 127.0.0.1.
//!
//! Run it with `cargo run --example github`. It takes about three seconds.
//!
//! GitHub answers a spent *primary* rate limit with `403` (or `429`),
//! `x-ratelimit-remaining: 0` and `x-ratelimit-reset: <epoch seconds>`: the client waits until
//! that instant, then retries. A *secondary* limit comes with `Retry-After`: the client waits
//! that long. Everything else keeps the usual rules: a `404` is returned at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use api_toolkit::reqwest::Response;
use api_toolkit::{statuses, ApiConnector, CallRecord, RateLimitReset, RetrySettings, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A client of the GitHub REST API.
pub struct GitHub {
    session: Session,
    base_url: String,
}

impl ApiConnector for GitHub {
    fn session(&self) -> &Session {
        &self.session
    }

    /// Server errors retried with backoff; a spent rate limit waited for until its reset, at
    /// most a minute (a later reset ends the call at once: `GiveUp::RetryAfterTooLong`).
    fn default_retry_settings() -> RetrySettings {
        RetrySettings {
            max_retries: 2,
            backoff_factor: 0.5,
            status_forcelist: statuses![500, 502..=504],
            rate_limit_reset: Some(RateLimitReset::github()),
            retry_after_max: Duration::from_secs(60),
            ..RetrySettings::default()
        }
    }
}

impl GitHub {
    /// A client of the API at `base_url`.
    pub fn new(base_url: &str) -> api_toolkit::Result<Self> {
        Ok(Self {
            session: Self::new_session()?,
            base_url: base_url.to_owned(),
        })
    }

    /// `GET {path}` with GitHub's media type.
    pub async fn get(&self, path: &str) -> api_toolkit::Result<Response> {
        self.session()
            .get(format!("{}{path}", self.base_url))
            .header("accept", "application/vnd.github+json")
            .send()
            .await
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = start_demo_api().await?;
    println!("demo GitHub API on {base_url}\n");
    let github = GitHub::new(&base_url)?;

    println!(
        "GET /repos/octo/hello/issues (primary limit: 403, nothing remaining, reset in ~1 s):"
    );
    let response = github.get("/repos/octo/hello/issues").await?;
    show(&response);

    println!("GET /search/code (secondary limit: 429 with Retry-After: 1):");
    let response = github.get("/search/code?q=retry").await?;
    show(&response);

    println!("GET /repos/octo/missing (404: not retried):");
    let response = github.get("/repos/octo/missing").await?;
    show(&response);
    Ok(())
}

/// Prints the call's attempts as the client recorded them.
fn show(response: &Response) {
    let record = CallRecord::of(response);
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
    println!("  -> {}\n", response.status());
}

/// Per path: how many requests so far, and when the last one arrived.
type Seen = Arc<Mutex<HashMap<String, (u32, Instant)>>>;

/// Starts the demo API and returns its base URL.
async fn start_demo_api() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let seen = Seen::default();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let Some(head) = read_request(&mut stream).await else {
                    return;
                };
                let path = head.split_whitespace().nth(1).unwrap_or("?").to_owned();
                let route = path.split('?').next().unwrap_or("").to_owned();
                let (attempt, since) = {
                    let mut seen = seen.lock().unwrap();
                    let entry = seen.entry(route.clone()).or_insert((0, Instant::now()));
                    let since = entry.1.elapsed();
                    *entry = (entry.0 + 1, Instant::now());
                    (entry.0, since)
                };
                let (status, extra, body) = demo_reply(&route, attempt);
                let waited = if attempt == 1 {
                    String::new()
                } else {
                    format!(" (client waited {:.2} s)", since.as_secs_f64())
                };
                println!("  [server] GET {path} request {attempt}: {status}{waited}");
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    Ok(base_url)
}

/// Reads one request's head (these requests have no body).
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut buf = [0; 4096];
    while !bytes.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok().filter(|&n| n > 0)?;
        bytes.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// What the demo API answers to request `attempt` of `route`, with GitHub's headers.
fn demo_reply(route: &str, attempt: u32) -> (&'static str, String, &'static str) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    // Whole epoch seconds, as GitHub sends them: the next second but one is 1 to 2 s away; the
    // next one is about 1 s away unless this second has just begun.
    let reset = if now.subsec_millis() < 500 {
        now.as_secs() + 1
    } else {
        now.as_secs() + 2
    };
    match (route, attempt) {
        ("/repos/octo/hello/issues", 1) => (
            "403 Forbidden",
            format!(
                "x-ratelimit-limit: 60\r\nx-ratelimit-remaining: 0\r\nx-ratelimit-used: 60\r\nx-ratelimit-reset: {reset}\r\n"
            ),
            r#"{"message":"API rate limit exceeded for 127.0.0.1."}"#,
        ),
        ("/repos/octo/hello/issues", _) => (
            "200 OK",
            format!("x-ratelimit-limit: 60\r\nx-ratelimit-remaining: 59\r\nx-ratelimit-reset: {}\r\n", reset + 3600),
            r#"[{"number":1,"title":"Found a bug"}]"#,
        ),
        ("/search/code", 1) => (
            "429 Too Many Requests",
            "retry-after: 1\r\nx-ratelimit-remaining: 9\r\n".to_owned(),
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        ),
        ("/search/code", _) => (
            "200 OK",
            String::new(),
            r#"{"total_count":0,"items":[]}"#,
        ),
        _ => (
            "404 Not Found",
            String::new(),
            r#"{"message":"Not Found"}"#,
        ),
    }
}
