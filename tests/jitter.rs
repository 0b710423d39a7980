//! `backoff_jitter` adds a uniform random `[0, jitter)` to each computed wait, capped at
//! `backoff_max`.

use std::time::Duration;

use api_toolkit::{CallRecord, RetrySettings, Session};
use testkit::{Reply, TestServer};

async fn waits(settings: RetrySettings) -> Vec<Duration> {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let response = Session::new(settings)
        .unwrap()
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    CallRecord::of(&response)
        .attempts()
        .iter()
        .skip(1)
        .map(|a| a.wait_before())
        .collect()
}

#[tokio::test]
async fn jitter_spreads_waits_within_its_range() {
    let settings = RetrySettings {
        max_retries: 6,
        backoff_factor: 0.02, // 10, 20, 40, 80, 160, 320 ms
        backoff_jitter: Duration::from_millis(50),
        ..RetrySettings::default()
    };
    let base = settings.backoff_schedule();
    let waits = waits(settings).await;
    assert_eq!(waits.len(), 6);
    for (wait, base) in waits.iter().zip(&base) {
        assert!(
            *wait >= *base && *wait < *base + Duration::from_millis(50),
            "{wait:?} vs {base:?}"
        );
    }
    assert!(
        waits.iter().zip(&base).any(|(w, b)| w != b),
        "some jitter was drawn"
    );
}

#[tokio::test]
async fn jittered_wait_never_exceeds_backoff_max() {
    let settings = RetrySettings {
        max_retries: 4,
        backoff_factor: 0.0,
        backoff_jitter: Duration::from_secs(10),
        backoff_max: Duration::from_millis(30),
        ..RetrySettings::default()
    };
    for wait in waits(settings).await {
        assert!(wait <= Duration::from_millis(30), "{wait:?}");
    }
}
