//! OpenAI-style hints, `retry-after-ms` and `x-should-retry`, against a demo API that this
//! example starts on 127.0.0.1.
//!
//! Run it with `cargo run --example openai`. It takes under a second.

// examples/common/mod.rs: the demo API's server and the printing of a call's attempts.
mod common;

use std::time::Duration;

use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::{statuses, CallRecord, RetrySettings, Session};
use common::{print_attempts, start_demo_api, Reply, Request};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = start_demo_api(demo_reply).await?;
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
        print_attempts(CallRecord::of(&response));
        println!("  -> {}\n", response.status());
    }
    Ok(())
}

/// What the demo API answers: each path fails once as its name says, then answers 200.
fn demo_reply(request: &Request) -> Reply {
    if request.nth > 1 {
        return Reply::json("200 OK", "{}");
    }
    match request.path.as_str() {
        "/v1/limited" => Reply::json("429 Too Many Requests", "{}")
            .header("retry-after-ms", 250)
            .header("retry-after", 1)
            .header("x-should-retry", true),
        "/v1/invalid" => {
            Reply::json("500 Internal Server Error", "{}").header("x-should-retry", false)
        }
        "/v1/quota" => Reply::json("429 Too Many Requests", "{}").header("retry-after-ms", 300000),
        _ => Reply::json("404 Not Found", "{}"),
    }
}
