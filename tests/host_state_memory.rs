//! What a session keeps per host is bounded: calls to 100,000 distinct origins, each with the
//! per-host state switched on, leave the live heap where a few thousand left it. A binary of its
//! own: its counting allocator sees every thread.
//!
//! The origins are loopback addresses on a closed port (all of 127.0.0.0/8 is loopback on
//! Linux), so each call is a refused connection: a failure every per-host state records.

use std::time::Instant;

use api_toolkit::{CircuitBreaker, Pacing, RetrySettings, Session, Throttling};
use futures_util::stream::{self, StreamExt};
use testkit::heap;

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

const HOSTS: u32 = 100_000;
/// Calls in flight at once.
const CONCURRENCY: usize = 64;

/// The `i`-th distinct origin: `http://127.a.b.c:9/` (port 9, discard, is closed here).
fn origin(i: u32) -> String {
    let [_, a, b, c] = (i + 1).to_be_bytes();
    format!("http://127.{a}.{b}.{c}:9/")
}

async fn call_hosts(session: &Session, hosts: std::ops::Range<u32>) {
    stream::iter(hosts)
        .for_each_concurrent(CONCURRENCY, |i| async move {
            let error = session.get(origin(i)).send().await.unwrap_err();
            assert!(error.is_connect(), "{error:?}");
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_state_for_100_000_hosts_stays_bounded() {
    let session = Session::new(RetrySettings {
        max_retries: 0,
        circuit_breaker: Some(CircuitBreaker::default()),
        throttling: Some(Throttling::default()),
        pacing: Some(Pacing::default()),
        ..RetrySettings::default()
    })
    .unwrap();
    let started = Instant::now();
    // Past the cap of tracked origins twice over, so the stores are full and have evicted.
    call_hosts(&session, 0..10_000).await;
    let full = heap::live();
    // The live heap after each further step: a store without a bound would grow with each.
    let mut most = full;
    for step in (10_000..HOSTS).step_by(15_000) {
        call_hosts(&session, step..(step + 15_000).min(HOSTS)).await;
        most = most.max(heap::live());
    }
    let grew = most.saturating_sub(full);
    println!(
        "live heap after 10,000 hosts: {} KiB; at most {} KiB (+{} KiB) up to {HOSTS} hosts, \
         {} KiB at the end; {:.1} s",
        full / 1024,
        most / 1024,
        grew / 1024,
        heap::live() / 1024,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(session.stats().calls, u64::from(HOSTS));
    // 90,000 more origins tracked without a bound would take several MiB (a breaker, a quota
    // and their keys per origin); the bound leaves room only for allocator noise and for each
    // store's table growing once (its evictions leave tombstones): about 256 KiB per store.
    assert!(
        grew < 1024 * 1024,
        "the live heap grew by {grew} bytes over 90,000 new hosts"
    );
}
