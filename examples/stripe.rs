//! A payments client in Stripe's style, against a demo API that this example starts on
//! 127.0.0.1: a POST is retried only when it carries an `Idempotency-Key`, and the server's
//! `Stripe-Should-Retry` header has the last word.
//!
//! Run it with `cargo run --example stripe`. It takes well under a second.
//!
//! The demo API applies a POST once per `Idempotency-Key`: a request repeating a key gets the
//! stored response again (`Idempotent-Replayed: true`) and charges nothing. It counts the
//! charges it applied, so you can see that the retried charge was made once.

// examples/common/mod.rs: the demo API's server and the printing of a call's attempts.
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::reqwest::Response;
use api_toolkit::{statuses, ApiConnector, CallRecord, RetrySettings, Session};
use common::{print_attempts, start_demo_api, Reply};

/// A client of the payments API.
pub struct Payments {
    session: Session,
    base_url: String,
}

impl ApiConnector for Payments {
    type Session = Session;

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
    let ledger = Ledger::default();
    let serving = ledger.clone();
    let base_url = start_demo_api(move |request| {
        let key = request.header("idempotency-key");
        let reply = serving.handle(key, &request.body);
        let replayed = if reply.has_header("idempotent-replayed") {
            ", a replay: nothing charged"
        } else {
            ""
        };
        reply.note(format!("; key {}{replayed}", key.unwrap_or("none")))
    })
    .await?;
    println!("demo payments API on {base_url}\n");
    let payments = Payments::new(&base_url)?;

    println!("POST /v1/charges with Idempotency-Key order-1001 (charged, then a 500 says retry):");
    let response = payments.charge(1999, Some("order-1001")).await?;
    show(response).await?;
    println!(
        "  charges applied by the server so far: {}\n",
        ledger.count()
    );

    println!("POST /v1/charges without a key (the same 500): sent once, never charged twice:");
    let response = payments.charge(2999, None).await?;
    show(response).await?;
    println!(
        "  charges applied by the server so far: {}\n",
        ledger.count()
    );

    println!("POST /v1/charges reusing order-1001 with another amount (409, Stripe-Should-Retry: false):");
    let response = payments.charge(500, Some("order-1001")).await?;
    show(response).await?;
    println!("  charges applied by the server so far: {}", ledger.count());
    Ok(())
}

/// Prints the call's attempts as the client recorded them, then the response.
async fn show(response: Response) -> Result<(), Box<dyn std::error::Error>> {
    print_attempts(CallRecord::of(&response));
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

    /// A charge: applied once per key. The first charge of all is applied, then its response
    /// is lost to a 500 saying "retry" (as when the API fails after the charge went through).
    fn handle(&self, key: Option<&str>, body: &str) -> Reply {
        let mut books = self.0.lock().unwrap();
        let Books { stored, charges } = &mut *books;
        if let Some((amount, reply)) = key.and_then(|key| stored.get(key)) {
            if amount != body {
                return Reply::json(
                    "409 Conflict",
                    r#"{"error":{"type":"idempotency_error","message":"Keys can only be reused with the same parameters."}}"#,
                )
                .header("stripe-should-retry", false);
            }
            return reply.clone().header("idempotent-replayed", true);
        }
        *charges += 1;
        let created = Reply::json(
            "200 OK",
            format!(r#"{{"id":"ch_{charges}","status":"succeeded"}}"#),
        );
        if let Some(key) = key {
            stored.insert(key.to_owned(), (body.to_owned(), created.clone()));
        }
        if key.is_none() || *charges == 1 {
            return Reply::json(
                "500 Internal Server Error",
                r#"{"error":{"type":"api_error"}}"#,
            )
            .header("stripe-should-retry", true);
        }
        created
    }
}
