//! A GitHub REST client that waits for rate limits the way GitHub documents them, against a
//! demo API that this example starts on 127.0.0.1.
//!
//! Run it with `cargo run --example github`. It takes about three seconds.
//!
//! GitHub answers a spent *primary* rate limit with `403` (or `429`),
//! `x-ratelimit-remaining: 0` and `x-ratelimit-reset: <epoch seconds>`: the client waits until
//! that instant, then retries. A *secondary* limit comes with `Retry-After`: the client waits
//! that long. Everything else keeps the usual rules: a `404` is returned at once.

// examples/common/mod.rs: the demo API's server and the printing of a call's attempts.
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api_toolkit::reqwest::Response;
use api_toolkit::{statuses, ApiConnector, CallRecord, RateLimitReset, RetrySettings, Session};
use common::{print_attempts, start_demo_api, Reply, Request};

/// A client of the GitHub REST API.
pub struct GitHub {
    session: Session,
    base_url: String,
}

impl ApiConnector for GitHub {
    type Session = Session;

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
    let base_url = start_demo_api(demo_reply).await?;
    println!("demo GitHub API on {base_url}\n");
    let github = GitHub::new(&base_url)?;

    println!(
        "GET /repos/octo/hello/issues (primary limit: 403, nothing remaining, reset in ~1 s):"
    );
    let response = github.get("/repos/octo/hello/issues").await?;
    print_attempts(CallRecord::of(&response));
    println!("  -> {}\n", response.status());

    println!("GET /search/code (secondary limit: 429 with Retry-After: 1):");
    let response = github.get("/search/code?q=retry").await?;
    print_attempts(CallRecord::of(&response));
    println!("  -> {}\n", response.status());

    println!("GET /repos/octo/missing (404: not retried):");
    let response = github.get("/repos/octo/missing").await?;
    print_attempts(CallRecord::of(&response));
    println!("  -> {}\n", response.status());
    Ok(())
}

/// What the demo API answers to a request, with GitHub's headers: the first request to each
/// path hits a rate limit, the next ones succeed.
fn demo_reply(request: &Request) -> Reply {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    // Whole epoch seconds, as GitHub sends them: the next second but one is 1 to 2 s away; the
    // next one is about 1 s away unless this second has just begun.
    let reset = if now.subsec_millis() < 500 {
        now.as_secs() + 1
    } else {
        now.as_secs() + 2
    };
    match (request.path.as_str(), request.nth) {
        ("/repos/octo/hello/issues", 1) => Reply::json(
            "403 Forbidden",
            r#"{"message":"API rate limit exceeded for 127.0.0.1."}"#,
        )
        .header("x-ratelimit-limit", 60)
        .header("x-ratelimit-remaining", 0)
        .header("x-ratelimit-used", 60)
        .header("x-ratelimit-reset", reset),
        ("/repos/octo/hello/issues", _) => {
            Reply::json("200 OK", r#"[{"number":1,"title":"Found a bug"}]"#)
                .header("x-ratelimit-limit", 60)
                .header("x-ratelimit-remaining", 59)
                .header("x-ratelimit-reset", reset + 3600)
        }
        ("/search/code", 1) => Reply::json(
            "429 Too Many Requests",
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        )
        .header("retry-after", 1)
        .header("x-ratelimit-remaining", 9),
        ("/search/code", _) => Reply::json("200 OK", r#"{"total_count":0,"items":[]}"#),
        _ => Reply::json("404 Not Found", r#"{"message":"Not Found"}"#),
    }
}
