//! Rule 4: the wait before retry n is `backoff_factor × 2^(n−2)` seconds, capped at
//! `backoff_max` (the seed's documented table, not urllib3's formula).

use std::time::Duration;

use api_toolkit::{RetrySettings, Session};
use testkit::{Reply, TestServer};

fn secs(waits: &[Duration]) -> Vec<f64> {
    waits.iter().map(Duration::as_secs_f64).collect()
}

#[test]
fn backoff_schedule_matches_seed_table() {
    let settings = RetrySettings {
        max_retries: 5,
        backoff_factor: 2.0,
        ..RetrySettings::default()
    };
    let waits = settings.backoff_schedule();
    assert_eq!(secs(&waits), [1.0, 2.0, 4.0, 8.0, 16.0]);
    let waited: Duration = waits.iter().sum();
    assert_eq!(waited.as_secs(), 31);
    // The seed's example: 5 s per request, six requests.
    assert_eq!((waited + Duration::from_secs(5 * 6)).as_secs(), 61);
}

#[test]
fn backoff_schedule_capped_at_backoff_max() {
    let settings = RetrySettings {
        max_retries: 6,
        backoff_factor: 2.0,
        backoff_max: Duration::from_secs(10),
        ..RetrySettings::default()
    };
    assert_eq!(
        secs(&settings.backoff_schedule()),
        [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    );
}

#[test]
fn backoff_schedule_empty_without_retries() {
    assert!(RetrySettings::default().backoff_schedule().is_empty());
}

/// Small factors; bounds loose enough for a loaded 2-core machine.
#[tokio::test]
async fn waits_between_attempts_follow_backoff_formula() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 0.2,
        ..RetrySettings::default()
    };
    Session::new(settings)
        .unwrap()
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    let arrivals: Vec<_> = server.received().iter().map(|r| r.at).collect();
    assert_eq!(arrivals.len(), 4);
    for (gap, expected) in arrivals
        .windows(2)
        .map(|w| w[1] - w[0])
        .zip([0.1, 0.2, 0.4])
    {
        let gap = gap.as_secs_f64();
        assert!(
            gap >= expected - 0.005,
            "waited {gap} s, expected {expected} s"
        );
        assert!(
            gap < expected + 0.5,
            "waited {gap} s, expected {expected} s"
        );
    }
}

#[tokio::test]
async fn backoff_max_caps_real_waits() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let settings = RetrySettings {
        max_retries: 2,
        backoff_factor: 100.0,
        backoff_max: Duration::from_millis(100),
        ..RetrySettings::default()
    };
    let started = std::time::Instant::now();
    Session::new(settings)
        .unwrap()
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(server.count(), 3);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
