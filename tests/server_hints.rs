//! Server hints, seen from the server: `retry-after-ms` (OpenAI, Azure), a should-retry header
//! (`x-should-retry`, `Stripe-Should-Retry`) and a rate-limit reset (GitHub's
//! `x-ratelimit-reset`), each read only when its setting is on.
//!
//! Each test is named by its rule and asserts what the server received: how many requests,
//! with which method and `Idempotency-Key`, and when. Timings are bounds with generous margins.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use api_toolkit::reqwest::header::HeaderName;
use api_toolkit::reqwest::Response;
use api_toolkit::{
    statuses, CallRecord, Decider, GiveUp, HintHeader, Method, RateLimitReset, RetrySettings,
    WaitSource, IDEMPOTENT_METHODS,
};
use testkit::{call, Received, Reply, TestServer};

/// `GET path` from a session with `settings` to a server that answers with `script`: the
/// response, and the server for what it received.
async fn get(settings: RetrySettings, script: Vec<Reply>, path: &str) -> (Response, TestServer) {
    let (response, server) = call(settings, script, |s, server| s.get(server.url(path))).await;
    (response.unwrap(), server)
}

/// `POST path` with the body `{}`, as [`get`].
async fn post(settings: RetrySettings, script: Vec<Reply>, path: &str) -> (Response, TestServer) {
    let (response, server) = call(settings, script, |s, server| {
        s.post(server.url(path)).body("{}")
    })
    .await;
    (response.unwrap(), server)
}

/// The wait between two requests the server received.
fn gap(received: &[Received], from: usize) -> Duration {
    received[from + 1].at - received[from].at
}

fn assert_between(waited: Duration, min_ms: u64, max_ms: u64) {
    let (min, max) = (Duration::from_millis(min_ms), Duration::from_millis(max_ms));
    assert!(
        waited >= min && waited < max,
        "waited {waited:?}, expected {min:?}..{max:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// retry-after-ms

/// One retry after a computed wait of 20 s, which a test would notice; `retry-after-ms` read.
fn ms_settings() -> RetrySettings {
    RetrySettings {
        max_retries: 1,
        backoff_factor: 40.0,
        respect_retry_after_ms: true,
        ..RetrySettings::default()
    }
}

/// A 429 with `retry-after-ms: 50`, then a 200.
fn ms_429() -> Vec<Reply> {
    vec![
        Reply::status(429).header("retry-after-ms", "50"),
        Reply::status(200),
    ]
}

#[tokio::test]
async fn retry_after_ms_wins_over_retry_after() {
    let script = vec![
        Reply::status(429)
            .header("Retry-After", "5")
            .header("retry-after-ms", "300"),
        Reply::status(200),
    ];
    let (response, server) = get(ms_settings(), script, "/v1/chat/completions").await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
    // 300 ms, not the 5 s of Retry-After nor the 20 s of the backoff.
    assert_between(gap(&server.received(), 0), 295, 2500);
    let record = CallRecord::of(&response);
    assert_eq!(record.attempts()[1].wait_source(), WaitSource::RetryAfterMs);
    let hint = record.last_hint().expect("the server's hint");
    assert_eq!(hint.header(), HintHeader::RetryAfterMs);
    assert_eq!(hint.wait(), Duration::from_millis(300));
}

#[tokio::test]
async fn retry_after_ms_makes_429_retryable_outside_forcelist() {
    let settings = RetrySettings {
        status_forcelist: vec![500],
        ..ms_settings()
    };
    let (response, server) = get(settings, ms_429(), "/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
    assert_between(gap(&server.received(), 0), 45, 2500);
}

#[tokio::test]
async fn retry_after_ms_not_read_by_default() {
    let settings = RetrySettings {
        status_forcelist: vec![500],
        respect_retry_after_ms: false,
        ..ms_settings()
    };
    let (response, server) = get(settings, ms_429(), "/").await;
    assert_eq!(response.status(), 429);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn retry_after_ms_beyond_retry_after_max_ends_at_once() {
    let script = vec![
        Reply::status(429).header("retry-after-ms", "600000"),
        Reply::status(200),
    ];
    let settings = RetrySettings {
        max_retries: 3,
        retry_after_max: Duration::from_secs(60),
        ..ms_settings()
    };
    let started = Instant::now();
    let (response, server) = get(settings, script, "/").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(response.status(), 429);
    assert_eq!(server.count(), 1);
    let record = CallRecord::of(&response);
    assert_eq!(record.give_up(), Some(GiveUp::RetryAfterTooLong));
    let hint = record.last_hint().expect("the hint that ended the call");
    assert_eq!(hint.header(), HintHeader::RetryAfterMs);
    assert_eq!(hint.wait(), Duration::from_secs(600));
}

#[tokio::test]
async fn retry_after_ms_past_total_timeout_gives_up_at_once() {
    let script = vec![
        Reply::status(503).header("retry-after-ms", "5000"),
        Reply::status(200),
    ];
    let settings = RetrySettings {
        total_timeout: Some(Duration::from_secs(2)),
        ..ms_settings()
    };
    let started = Instant::now();
    let (response, server) = get(settings, script, "/").await;
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert_eq!(response.status(), 503);
    assert_eq!(server.count(), 1);
    let record = CallRecord::of(&response);
    assert_eq!(record.give_up(), Some(GiveUp::Deadline));
    assert_eq!(
        record.last_hint().map(|h| (h.header(), h.wait())),
        Some((HintHeader::RetryAfterMs, Duration::from_secs(5)))
    );
}

#[tokio::test]
async fn retry_after_ms_ignored_when_retry_after_not_respected() {
    let settings = RetrySettings {
        status_forcelist: vec![500],
        respect_retry_after_header: false,
        ..ms_settings()
    };
    let (response, server) = get(settings, ms_429(), "/").await;
    assert_eq!(response.status(), 429);
    assert_eq!(server.count(), 1);
}

// ---------------------------------------------------------------------------------------------
// A should-retry header

fn should_retry(name: &'static str) -> RetrySettings {
    RetrySettings {
        max_retries: 2,
        backoff_factor: 0.0,
        should_retry_header: Some(HeaderName::from_static(name)),
        ..RetrySettings::default()
    }
}

/// The idempotent methods only: POST and PATCH are outside `allowed_methods`.
fn should_retry_idempotent_only(name: &'static str) -> RetrySettings {
    RetrySettings {
        allowed_methods: IDEMPOTENT_METHODS.to_vec(),
        ..should_retry(name)
    }
}

/// A reply with this status and `x-should-retry: value`, then `then`.
fn hinted(status: u16, value: &str, then: u16) -> Vec<Reply> {
    vec![
        Reply::status(status).header("x-should-retry", value),
        Reply::status(then),
    ]
}

#[tokio::test]
async fn should_retry_true_retries_409_for_get() {
    let script = vec![
        Reply::status(409).header("x-should-retry", "true"),
        Reply::status(200).body("done"),
    ];
    let (response, server) = get(should_retry("x-should-retry"), script, "/").await;
    let record = CallRecord::of(&response).clone();
    assert_eq!(response.text().await.unwrap(), "done");
    assert_eq!(server.methods(), ["GET", "GET"]);
    assert_eq!(record.attempts()[0].decided_by(), Decider::Hint);
    assert_eq!(record.attempts()[1].decided_by(), Decider::Rules);
}

#[tokio::test]
async fn should_retry_value_is_case_insensitive() {
    let script = hinted(409, " TRUE ", 200);
    let (response, server) = get(should_retry("x-should-retry"), script, "/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn should_retry_other_values_ignored() {
    // "yes" says nothing: a 409 stays final, a 503 stays forced.
    let script = hinted(409, "yes", 200);
    let (response, conflict) = get(should_retry("x-should-retry"), script, "/").await;
    assert_eq!(response.status(), 409);
    assert_eq!(conflict.count(), 1);

    let script = hinted(503, "1", 200);
    let (response, busy) = get(should_retry("x-should-retry"), script, "/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(busy.count(), 2);
}

#[tokio::test]
async fn should_retry_true_not_for_a_success() {
    let script = hinted(202, "true", 200);
    let (response, server) = get(should_retry("x-should-retry"), script, "/").await;
    assert_eq!(response.status(), 202);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn should_retry_true_unkeyed_post_outside_allowed_methods_not_retried() {
    let settings = should_retry_idempotent_only("x-should-retry");
    let (response, server) = post(settings, hinted(500, "true", 201), "/v1/responses").await;
    assert_eq!(response.status(), 500);
    assert_eq!(server.methods(), ["POST"]);
    assert_eq!(server.idempotency_keys(), [None]);
}

#[tokio::test]
async fn should_retry_true_keyed_post_outside_allowed_methods_retried() {
    let script = vec![
        Reply::status(500).header("x-should-retry", "true"),
        Reply::status(409).header("x-should-retry", "true"),
        Reply::status(201),
    ];
    let settings = should_retry_idempotent_only("x-should-retry");
    let (response, server) = call(settings, script, |s, server| {
        s.post(server.url("/v1/responses"))
            .header("Idempotency-Key", "req-1")
            .body("{}")
    })
    .await;
    assert_eq!(response.unwrap().status(), 201);
    assert_eq!(server.methods(), ["POST", "POST", "POST"]);
    assert_eq!(server.idempotency_keys(), vec![Some("req-1".to_owned()); 3]);
    for request in server.received() {
        assert_eq!(request.body, b"{}", "the same body on every attempt");
    }
}

#[tokio::test]
async fn should_retry_true_generated_key_makes_post_retried() {
    let settings = RetrySettings {
        idempotency_key: true,
        ..should_retry_idempotent_only("x-should-retry")
    };
    let (response, server) = post(settings, hinted(500, "true", 201), "/").await;
    assert_eq!(response.status(), 201);
    let keys = server.idempotency_keys();
    assert_eq!(keys.len(), 2);
    assert!(keys[0].is_some() && keys[0] == keys[1], "{keys:?}");
}

#[tokio::test]
async fn should_retry_true_unkeyed_post_under_keyed_retries_not_retried() {
    // POST is in allowed_methods, but keyed_retries resends only a keyed one.
    let settings = RetrySettings {
        keyed_retries: true,
        ..should_retry("x-should-retry")
    };
    let script = hinted(409, "true", 201);
    let (response, server) = call(settings, script, |s, server| s.post(server.url("/"))).await;
    assert_eq!(response.unwrap().status(), 409);
    assert_eq!(server.methods(), ["POST"]);
}

#[tokio::test]
async fn should_retry_false_stops_a_forcelisted_503() {
    let script = hinted(503, "false", 200);
    let (response, server) = get(should_retry("x-should-retry"), script, "/").await;
    assert_eq!(response.status(), 503);
    assert_eq!(server.count(), 1);
    let record = CallRecord::of(&response);
    assert_eq!(record.give_up(), None, "not retryable, so nothing given up");
    assert_eq!(record.attempts()[0].decided_by(), Decider::Hint);
}

#[tokio::test]
async fn should_retry_false_stops_a_503_with_retry_after() {
    let script = vec![
        Reply::status(503)
            .header("Retry-After", "1")
            .header("x-should-retry", "False"),
        Reply::status(200),
    ];
    let settings = RetrySettings {
        status_forcelist: vec![],
        ..should_retry("x-should-retry")
    };
    let (response, server) = get(settings, script, "/").await;
    assert_eq!(response.status(), 503);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn should_retry_false_with_raise_on_status_returns_the_response() {
    let script = vec![Reply::status(503).header("x-should-retry", "false")];
    let settings = RetrySettings {
        raise_on_status: true,
        ..should_retry("x-should-retry")
    };
    let (response, server) = get(settings, script, "/").await;
    assert_eq!(response.status(), 503, "final, so not raised as exhausted");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn should_retry_header_name_is_the_configured_one() {
    let script = hinted(409, "true", 200);
    let (response, server) = get(should_retry("stripe-should-retry"), script, "/").await;
    assert_eq!(response.status(), 409);
    assert_eq!(server.count(), 1);
}

// ---------------------------------------------------------------------------------------------
// A rate-limit reset (GitHub)

fn github() -> RetrySettings {
    RetrySettings {
        max_retries: 2,
        // 20 s before retry 1: a computed wait would be noticed.
        backoff_factor: 40.0,
        rate_limit_reset: Some(RateLimitReset::github()),
        ..RetrySettings::default()
    }
}

fn epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A primary rate limit: nothing remains until `reset` (epoch seconds).
fn spent(status: u16, reset: &str) -> Reply {
    Reply::status(status)
        .header("x-ratelimit-limit", "60")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-used", "60")
        .header("x-ratelimit-reset", reset)
        .body(r#"{"message":"API rate limit exceeded"}"#)
}

/// Asserts that the server received its second request in the two seconds from `reset`
/// (epoch seconds).
fn assert_retried_at_reset(server: &TestServer, reset: u64) {
    let at = UNIX_EPOCH + Duration::from_secs(reset);
    let retry = server.received()[1].wall;
    assert!(retry >= at, "the retry came before the reset");
    assert!(
        retry < at + Duration::from_secs(2),
        "the retry came {:?} after the reset",
        retry.duration_since(at).unwrap()
    );
}

#[tokio::test]
async fn rate_limit_reset_waits_until_the_reset_instant() {
    // Whole epoch seconds, as GitHub sends them: 1 to 2 s ahead.
    let reset = epoch_secs() + 2;
    let script = vec![
        spent(403, &reset.to_string()),
        Reply::status(200).body("[]"),
    ];
    let (response, server) = get(github(), script, "/repos/o/r/issues").await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.methods(), ["GET", "GET"]);
    assert_retried_at_reset(&server, reset);
    let record = CallRecord::of(&response);
    assert_eq!(record.attempts()[0].decided_by(), Decider::Hint);
    assert_eq!(
        record.attempts()[1].wait_source(),
        WaitSource::RateLimitReset
    );
    assert_eq!(
        record.last_hint().map(|h| h.header()),
        Some(HintHeader::RateLimitReset)
    );
}

#[tokio::test]
async fn rate_limit_reset_on_429_waits_until_the_reset_instant() {
    let reset = epoch_secs() + 2;
    let script = vec![spent(429, &reset.to_string()), Reply::status(200)];
    let (response, server) = get(github(), script, "/").await;
    assert_eq!(response.status(), 200);
    assert_retried_at_reset(&server, reset);
    assert_eq!(
        CallRecord::of(&response).attempts()[1].wait_source(),
        WaitSource::RateLimitReset
    );
}

#[tokio::test]
async fn rate_limit_remaining_nonzero_403_not_retried() {
    let reset = (epoch_secs() + 2).to_string();
    let script = vec![
        Reply::status(403)
            .header("x-ratelimit-remaining", "12")
            .header("x-ratelimit-reset", &reset)
            .body(r#"{"message":"Must have admin rights to Repository."}"#),
        Reply::status(200),
    ];
    let (response, server) = get(github(), script, "/").await;
    assert_eq!(response.status(), 403);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn rate_limit_secondary_403_with_retry_after_retried_after_it() {
    let script = vec![
        Reply::status(403)
            .header("x-ratelimit-remaining", "4000")
            .header("Retry-After", "1")
            .body(r#"{"message":"You have exceeded a secondary rate limit."}"#),
        Reply::status(200),
    ];
    let (response, server) = get(github(), script, "/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
    assert_between(gap(&server.received(), 0), 995, 3000);
    let record = CallRecord::of(&response);
    assert_eq!(record.attempts()[0].decided_by(), Decider::Hint);
    assert_eq!(record.attempts()[1].wait_source(), WaitSource::RetryAfter);
}

#[tokio::test]
async fn rate_limit_reset_beyond_retry_after_max_gives_up_at_once() {
    let reset = (epoch_secs() + 3600).to_string();
    let settings = RetrySettings {
        retry_after_max: Duration::from_secs(60),
        ..github()
    };
    let started = Instant::now();
    let (response, server) = get(settings, vec![spent(403, &reset), Reply::status(200)], "/").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(response.status(), 403);
    assert_eq!(server.count(), 1);
    let record = CallRecord::of(&response);
    assert_eq!(record.give_up(), Some(GiveUp::RetryAfterTooLong));
    let hint = record.last_hint().expect("the reset that ended the call");
    assert_eq!(hint.header(), HintHeader::RateLimitReset);
    assert!(hint.wait() > Duration::from_secs(3500));
}

#[tokio::test]
async fn rate_limit_reset_beyond_retry_after_max_raises_with_raise_on_status() {
    let reset = (epoch_secs() + 3600).to_string();
    let settings = RetrySettings {
        retry_after_max: Duration::from_secs(60),
        raise_on_status: true,
        ..github()
    };
    let script = vec![spent(429, &reset)];
    let (result, server) = call(settings, script, |s, server| s.get(server.url("/"))).await;
    let error = result.unwrap_err();
    assert!(error.is_status());
    assert_eq!(error.attempt_count(), 1);
    assert_eq!(error.record().give_up(), Some(GiveUp::RetryAfterTooLong));
    assert_eq!(
        error.last_hint().map(|h| h.header()),
        Some(HintHeader::RateLimitReset)
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn rate_limit_reset_past_or_malformed_uses_backoff() {
    for reset in [(epoch_secs() - 60).to_string(), "soon".to_owned()] {
        let settings = RetrySettings {
            backoff_factor: 0.2, // 100 ms before retry 1
            ..github()
        };
        let script = vec![spent(403, &reset), Reply::status(200)];
        let (response, server) = get(settings, script, "/").await;
        assert_eq!(response.status(), 200, "reset {reset}");
        assert_eq!(server.count(), 2);
        assert_between(gap(&server.received(), 0), 95, 2000);
        assert_eq!(
            CallRecord::of(&response).attempts()[1].wait_source(),
            WaitSource::Backoff
        );
    }
}

#[tokio::test]
async fn rate_limit_reset_not_for_a_post_outside_allowed_methods() {
    let reset = (epoch_secs() + 2).to_string();
    let settings = RetrySettings {
        allowed_methods: vec![Method::GET],
        ..github()
    };
    let script = vec![spent(403, &reset), Reply::status(201)];
    let (response, server) = post(settings, script, "/repos/o/r/issues").await;
    assert_eq!(response.status(), 403);
    assert_eq!(server.methods(), ["POST"]);
}

// ---------------------------------------------------------------------------------------------
// The defaults: no hint is read unless asked for

fn defaults_with_retries() -> RetrySettings {
    RetrySettings {
        max_retries: 3,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    }
}

#[tokio::test]
async fn default_settings_403_with_nothing_remaining_not_retried() {
    let reset = (epoch_secs() + 1).to_string();
    let script = vec![spent(403, &reset), Reply::status(200)];
    let (response, server) = get(defaults_with_retries(), script, "/").await;
    assert_eq!(response.status(), 403);
    assert_eq!(server.count(), 1);
    assert_eq!(CallRecord::of(&response).last_hint(), None);
}

#[tokio::test]
async fn default_settings_x_should_retry_true_on_409_not_retried() {
    let script = hinted(409, "true", 200);
    let (response, server) = get(defaults_with_retries(), script, "/").await;
    assert_eq!(response.status(), 409);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn default_settings_x_should_retry_false_on_503_still_retried() {
    let script = hinted(503, "false", 200);
    let (response, server) = get(defaults_with_retries(), script, "/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn default_settings_retry_after_ms_ignored_retry_after_obeyed() {
    let script = vec![
        Reply::status(503)
            .header("retry-after-ms", "5000")
            .header("Retry-After", "1"),
        Reply::status(200),
    ];
    let (response, server) = get(defaults_with_retries(), script, "/").await;
    assert_eq!(response.status(), 200);
    assert_between(gap(&server.received(), 0), 995, 3000);
    assert_eq!(
        CallRecord::of(&response).attempts()[1].wait_source(),
        WaitSource::RetryAfter
    );
}

#[tokio::test]
async fn default_settings_unkeyed_post_still_retried_after_503() {
    let script = vec![Reply::status(503), Reply::status(201)];
    let (response, server) = post(defaults_with_retries(), script, "/").await;
    assert_eq!(response.status(), 201);
    assert_eq!(server.methods(), ["POST", "POST"]);
}

// ---------------------------------------------------------------------------------------------
// The examples' scenarios: examples/github.rs and examples/openai.rs, with their settings

/// examples/github.rs's settings.
fn github_example() -> RetrySettings {
    RetrySettings {
        max_retries: 2,
        backoff_factor: 0.5,
        status_forcelist: statuses![500, 502..=504],
        rate_limit_reset: Some(RateLimitReset::github()),
        retry_after_max: Duration::from_secs(60),
        ..RetrySettings::default()
    }
}

#[tokio::test]
async fn github_primary_limit_403_waits_for_the_reset_then_succeeds() {
    let reset = epoch_secs() + 2;
    let script = vec![
        spent(403, &reset.to_string()),
        Reply::status(200).body("[]"),
        Reply::status(500),
    ];
    let (response, server) = call(github_example(), script, |s, server| {
        s.get(server.url("/repos/octo/hello/issues"))
            .header("accept", "application/vnd.github+json")
    })
    .await;
    assert_eq!(response.unwrap().status(), 200);
    assert_eq!(server.methods(), ["GET", "GET"]);
    assert_retried_at_reset(&server, reset);
}

#[tokio::test]
async fn github_secondary_limit_429_waits_retry_after_then_succeeds() {
    let script = vec![
        Reply::status(429)
            .header("retry-after", "1")
            .header("x-ratelimit-remaining", "9"),
        Reply::status(200),
        Reply::status(500),
    ];
    let (response, server) = get(github_example(), script, "/search/code?q=retry").await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
    assert_between(gap(&server.received(), 0), 995, 3000);
    assert_eq!(
        CallRecord::of(&response).last_hint().map(|h| h.header()),
        Some(HintHeader::RetryAfter)
    );
}

#[tokio::test]
async fn github_404_not_retried() {
    let script = vec![Reply::status(404), Reply::status(200)];
    let (response, server) = get(github_example(), script, "/repos/octo/missing").await;
    assert_eq!(response.status(), 404);
    assert_eq!(server.count(), 1);
    assert_eq!(CallRecord::of(&response).last_hint(), None);
}

/// examples/openai.rs's settings.
fn openai_example() -> RetrySettings {
    RetrySettings {
        max_retries: 2,
        backoff_factor: 1.0,
        backoff_max: Duration::from_secs(8),
        status_forcelist: statuses![408, 409, 429, 500..=599],
        respect_retry_after_ms: true,
        retry_after_max: Duration::from_secs(60),
        should_retry_header: Some(HeaderName::from_static("x-should-retry")),
        ..RetrySettings::default()
    }
}

/// `POST path` with a JSON body, as examples/openai.rs sends it, from a session with
/// [`openai_example`]'s settings.
async fn openai_post(script: Vec<Reply>, path: &str) -> (Response, TestServer) {
    let (response, server) = call(openai_example(), script, |s, server| {
        s.post(server.url(path)).json(&[1])
    })
    .await;
    (response.unwrap(), server)
}

#[tokio::test]
async fn openai_429_waits_retry_after_ms_not_retry_after() {
    let script = vec![
        Reply::status(429)
            .header("retry-after-ms", "250")
            .header("retry-after", "1")
            .header("x-should-retry", "true"),
        Reply::status(200),
    ];
    let (response, server) = openai_post(script, "/v1/limited").await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.methods(), ["POST", "POST"]);
    assert_between(gap(&server.received(), 0), 245, 900);
}

#[tokio::test]
async fn openai_500_with_should_retry_false_not_retried() {
    let (response, server) = openai_post(hinted(500, "false", 200), "/v1/invalid").await;
    assert_eq!(response.status(), 500);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn openai_retry_after_ms_beyond_retry_after_max_ends_at_once() {
    let script = vec![
        Reply::status(429).header("retry-after-ms", "300000"),
        Reply::status(200),
    ];
    let (response, server) = openai_post(script, "/v1/quota").await;
    assert_eq!(response.status(), 429);
    assert_eq!(server.count(), 1);
    let record = CallRecord::of(&response);
    assert_eq!(record.give_up(), Some(GiveUp::RetryAfterTooLong));
    assert_eq!(
        record.last_hint().map(|h| h.header()),
        Some(HintHeader::RetryAfterMs)
    );
}
