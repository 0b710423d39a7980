//! A payments client in Stripe's style, against a demo API that this example starts on
//! 127.0.0.1: a POST is retried only when it carries an `Idempotency-Key`, and the server's
//! `Stripe-Should-Retry` header has the last word.
//!
//! Run it with `cargo run --example stripe`. It takes well under a second.
//!
//! The demo API applies a POST once per `Idempotency-Key`: a request repeating a key gets the
//! stored response again (`Idempotent-Replayed: true`) and charges nothing. It counts the
//! charges it applied, so you can see that the retried charge was made once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::reqwest::Response;
use api_toolkit::{statuses, ApiConnector, CallRecord, RetrySettings, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A client of the payments API.
pub struct Payments {
    session: Session,
    base_url: String,
}

impl ApiConnector for Payments {
    fn session(&self) -> &Session {
        &self.session
    }

    /// `RetrySettings::idempotent()`: GET, PUT, DELETE… retried as usual; POST and PATCH only
    /// with an `Idempotency-Key`. A 409 (a concurrent request holds the key) is retried too,
    /// and `Stripe-Should-Retry: true|false` overrides the statuses either way.
    fn default_retry_settings() -> RetrySettings {
        RetrySettings {
            max_retries: 2,
            backoff_factor: 0.25,
            status_forcelist: statuses![409, 429, 500, 502..=504],
            should_retry_header: Some(HeaderName::from_static("stripe-should-retry")),
            ..RetrySettings::idempotent()
        }
    }
}

impl Payments {
    /// A client of the API at `base_url`.
    pub fn new(base_url: &str) -> api_toolkit::Result<Self> {
        Ok(Self {
            session: Self::new_session()?,
            base_url: base_url.to_owned(),
        })
    }

    /// Creates a charge; with `key`, the API applies it once however often it is sent.
    pub async fn charge(&self, cents: u64, key: Option<&str>) -> api_toolkit::Result<Response> {
        let mut request = self
            .session()
            .post(format!("{}/v1/charges", self.base_url))
            .form(&[("amount", cents.to_string()), ("currency", "usd".into())]);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (base_url, charges) = start_demo_api().await?;
    println!("demo payments API on {base_url}\n");
    let payments = Payments::new(&base_url)?;

    println!("POST /v1/charges with Idempotency-Key order-1001 (charged, then a 500 says retry):");
    let response = payments.charge(1999, Some("order-1001")).await?;
    show(response).await?;
    println!(
        "  charges applied by the server so far: {}\n",
        charges.count()
    );

    println!("POST /v1/charges without a key (the same 500): sent once, never charged twice:");
    let response = payments.charge(2999, None).await?;
    show(response).await?;
    println!(
        "  charges applied by the server so far: {}\n",
        charges.count()
    );

    println!("POST /v1/charges reusing order-1001 with another amount (409, Stripe-Should-Retry: false):");
    let response = payments.charge(500, Some("order-1001")).await?;
    show(response).await?;
    println!(
        "  charges applied by the server so far: {}",
        charges.count()
    );
    Ok(())
}

/// Prints the call's attempts as the client recorded them, then the response.
async fn show(response: Response) -> Result<(), Box<dyn std::error::Error>> {
    let record = CallRecord::of(&response);
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
    let status = response.status();
    println!("  -> {status} {}", response.text().await?);
    Ok(())
}

/// What the demo API keeps.
#[derive(Default)]
struct Books {
    /// Per idempotency key: the request's body and the response stored for it.
    stored: HashMap<String, (String, Reply)>,
    /// How many charges were applied.
    charges: u32,
}

/// The demo API's books, shared with `main`.
#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<Books>>);

impl Ledger {
    fn count(&self) -> u32 {
        self.0.lock().unwrap().charges
    }
}

/// A status line, extra header lines and a body.
type Reply = (&'static str, String, String);

/// Starts the demo API and returns its base URL and its ledger.
async fn start_demo_api() -> std::io::Result<(String, Ledger)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let ledger = Ledger::default();
    let serving = ledger.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let ledger = serving.clone();
            tokio::spawn(async move {
                let Some((head, body)) = read_request(&mut stream).await else {
                    return;
                };
                let key = head.lines().find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("idempotency-key")
                        .then(|| value.trim().to_owned())
                });
                let (status, extra, reply) = handle(&ledger, key.as_deref(), &body);
                let replayed = if extra.contains("idempotent-replayed") {
                    " (a replay: nothing charged)"
                } else {
                    ""
                };
                println!(
                    "  [server] POST /v1/charges key {}: {status}{replayed}",
                    key.as_deref().unwrap_or("(none)")
                );
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{reply}",
                    reply.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    Ok((base_url, ledger))
}

/// A charge: applied once per key. The first charge of all is applied, then its response is
/// lost to a 500 saying "retry" (as when the API fails after the charge went through).
fn handle(ledger: &Ledger, key: Option<&str>, body: &str) -> Reply {
    let mut books = ledger.0.lock().unwrap();
    let Books { stored, charges } = &mut *books;
    if let Some((amount, reply)) = key.and_then(|key| stored.get(key)) {
        if amount != body {
            return (
                "409 Conflict",
                "stripe-should-retry: false\r\n".to_owned(),
                r#"{"error":{"type":"idempotency_error","message":"Keys can only be reused with the same parameters."}}"#.to_owned(),
            );
        }
        let (status, extra, reply) = reply.clone();
        return (status, extra + "idempotent-replayed: true\r\n", reply);
    }
    *charges += 1;
    let created: Reply = (
        "200 OK",
        String::new(),
        format!(r#"{{"id":"ch_{charges}","status":"succeeded"}}"#),
    );
    if let Some(key) = key {
        stored.insert(key.to_owned(), (body.to_owned(), created.clone()));
    }
    if key.is_none() || *charges == 1 {
        return (
            "500 Internal Server Error",
            "stripe-should-retry: true\r\n".to_owned(),
            r#"{"error":{"type":"api_error"}}"#.to_owned(),
        );
    }
    created
}

/// Reads one request and returns its head and body.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(String, String)> {
    let mut bytes = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok().filter(|&n| n > 0)?;
        bytes.extend_from_slice(&buf[..n]);
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        if bytes.len() >= end + 4 + length {
            let body = String::from_utf8_lossy(&bytes[end + 4..end + 4 + length]).into_owned();
            return Some((head, body));
        }
    }
}
