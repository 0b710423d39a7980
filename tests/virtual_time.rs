//! Every wait and deadline of the engine runs on tokio's clock: under `tokio::time::pause`, a
//! connector test that backs off for a minute finishes at once, and the record is the same.

use std::time::{Duration, Instant};

use api_toolkit::{CallRecord, Method, RetrySettings, Session, WaitSource};
use testkit::{Reply, TestServer};

/// The seed's table: `backoff_factor = 2`, five retries (1, 2, 4, 8, 16 s), each request
/// taking 5 s: 61 s in all.
fn seed_table() -> RetrySettings {
    RetrySettings {
        max_retries: 5,
        backoff_factor: 2.0,
        status_forcelist: vec![503],
        allowed_methods: vec![Method::GET],
        ..RetrySettings::default()
    }
}

#[tokio::test(start_paused = true)]
async fn the_seed_s_61_seconds_pass_in_virtual_time() {
    let slow = |status| Reply::status(status).delay(Duration::from_secs(5));
    let script = vec![
        slow(503),
        slow(503),
        slow(503),
        slow(503),
        slow(503),
        slow(200),
    ];
    let server = TestServer::start(script).await;
    let session = Session::new(seed_table()).unwrap();
    let (real, virtual_start) = (Instant::now(), tokio::time::Instant::now());
    let response = session.get(server.url("/")).send().await.unwrap();
    let (real, virtual_time) = (real.elapsed(), virtual_start.elapsed());
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 6);
    let waits: Vec<_> = CallRecord::of(&response)
        .attempts()
        .iter()
        .map(|a| (a.wait_before().as_secs(), a.wait_source()))
        .collect();
    assert_eq!(
        waits,
        [
            (0, WaitSource::None),
            (1, WaitSource::Backoff),
            (2, WaitSource::Backoff),
            (4, WaitSource::Backoff),
            (8, WaitSource::Backoff),
            (16, WaitSource::Backoff),
        ]
    );
    assert!(
        virtual_time >= Duration::from_secs(61),
        "{virtual_time:?} of virtual time"
    );
    println!("61 s of waits and latency: {real:?} of real time, {virtual_time:?} virtual");
    assert!(real < Duration::from_millis(100), "{real:?} of real time");
}

#[tokio::test(start_paused = true)]
async fn a_deadline_is_on_the_same_clock() {
    // Waits of 1, 2, 4, 8 s against a 10 s deadline: the fourth retry's wait would end past
    // it, so the call gives up after the third, at 7 s of virtual time.
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = Session::new(RetrySettings {
        total_timeout: Some(Duration::from_secs(10)),
        ..seed_table()
    })
    .unwrap();
    let started = tokio::time::Instant::now();
    let response = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.count(), 4);
    assert_eq!(
        CallRecord::of(&response).give_up(),
        Some(api_toolkit::GiveUp::Deadline)
    );
    let took = started.elapsed();
    assert!(
        (Duration::from_secs(7)..Duration::from_secs(8)).contains(&took),
        "{took:?}"
    );
}
