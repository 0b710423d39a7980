//! A derived connector against a flaky demo API that this example starts on 127.0.0.1.
//!
//! Run it with `cargo run --example quickstart`. The demo server prints every attempt it
//! receives, its status and how long the client waited since the previous attempt; the client's
//! `tracing` output (target `api_toolkit`) shows each retry and each give-up as it decides them.

// examples/common/mod.rs: the demo API's server, shared by the examples.
mod common;

use api_toolkit::{reqwest::Response, ApiConnector, CallRecord, Connector, RetrySettings, Session};
use common::{start_demo_api, Reply, Request};

/// A client for the demo shop API: GET and PUT are retried on 500 and 503, three times at most.
#[derive(Connector)]
#[retry(max_retries = 3, backoff_factor = 0.5, status_forcelist = [500, 503],
        allowed_methods = ["GET", "PUT"], raise_on_status = true)]
pub struct Shop {
    session: Session,
    base_url: String,
}

impl Shop {
    /// A client of the shop at `base_url`.
    pub fn new(base_url: &str) -> api_toolkit::Result<Self> {
        Ok(Self {
            session: Self::new_session()?,
            base_url: base_url.to_owned(),
        })
    }

    /// Fetches an order.
    pub async fn order(&self, id: u64) -> api_toolkit::Result<Response> {
        self.session()
            .get(format!("{}/orders/{id}", self.base_url))
            .send()
            .await
    }

    /// Charges a card: a POST, which this connector never retries once it may have arrived.
    pub async fn charge(&self, cents: u64) -> api_toolkit::Result<Response> {
        let url = format!("{}/charges", self.base_url);
        self.session()
            .post(url)
            .json(&serde_json::json!({ "amount": cents }))
            .send()
            .await
    }

    /// Fetches the catalogue, which is rate limited.
    pub async fn catalogue(&self) -> api_toolkit::Result<Response> {
        self.session()
            .get(format!("{}/catalogue", self.base_url))
            .send()
            .await
    }

    /// Fetches a report from an endpoint that is down.
    pub async fn report(&self) -> api_toolkit::Result<Response> {
        self.session()
            .get(format!("{}/report", self.base_url))
            .send()
            .await
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    show_tracing();
    let base_url = start_demo_api(demo_reply).await?;
    println!("demo API on {base_url}\n");

    let shop = Shop::new(&base_url)?;
    let settings = shop.get_retry_settings();
    println!(
        "Shop's retry settings: {}",
        serde_json::to_string(&settings)?
    );
    println!(
        "waits before retries 1..=3: {:?}\n",
        settings.backoff_schedule()
    );

    println!("GET /orders/42 (503 twice, then 200):");
    let response = shop.order(42).await?;
    let retries = CallRecord::of(&response).retries();
    println!(
        "  -> {} after {retries} retries: {}\n",
        response.status(),
        response.text().await?
    );

    println!("POST /charges (503; POST is not in allowed_methods, so it is not retried):");
    let response = shop.charge(1999).await?;
    println!("  -> {} returned as Ok, sent once\n", response.status());

    println!("GET /catalogue (429 with Retry-After: 1, then 200):");
    let response = shop.catalogue().await?;
    println!("  -> {} {}\n", response.status(), response.text().await?);

    println!("GET /report (always 500; raise_on_status = true):");
    match shop.report().await {
        Ok(response) => println!("  -> {}", response.status()),
        Err(error) => {
            println!("  -> error: {error}");
            if let Some(response) = error.into_response() {
                println!(
                    "     its body is still readable: {}\n",
                    response.text().await?
                );
            }
        }
    }

    println!("Struct update syntax overrides the per-type defaults (Python's **kwargs):");
    let patient = Session::new(RetrySettings {
        max_retries: 5,
        ..Shop::default_retry_settings()
    })?;
    println!(
        "  max_retries = {}, status_forcelist = {:?}",
        patient.retry_settings().max_retries,
        patient.retry_settings().status_forcelist
    );
    Ok(())
}

/// Prints api-toolkit's DEBUG events (one per retry) and WARNs (a call giving up).
fn show_tracing() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;

    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .without_time()
        .with_target(false)
        .compact()
        .finish()
        .with(Targets::new().with_target("api_toolkit", tracing::Level::DEBUG));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
}

/// What the flaky demo API answers to a request.
fn demo_reply(request: &Request) -> Reply {
    match (request.path.as_str(), request.nth) {
        ("/orders/42", 1 | 2) => Reply::text("503 Service Unavailable", "busy"),
        ("/orders/42", _) => Reply::json("200 OK", r#"{"id":42,"total":1999}"#),
        ("/charges", _) => Reply::text("503 Service Unavailable", "busy"),
        ("/catalogue", 1) => {
            Reply::text("429 Too Many Requests", "slow down").header("retry-after", 1)
        }
        ("/catalogue", _) => Reply::json("200 OK", r#"["tea","cups"]"#),
        ("/report", _) => Reply::text("500 Internal Server Error", "report service is down"),
        _ => Reply::text("404 Not Found", "no such page"),
    }
}
