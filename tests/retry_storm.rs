//! The retry-storm bound: 200 clients call a server of fixed capacity that answers `503` when
//! it is full. Without a retry budget every rejected call comes back up to `max_retries` times,
//! multiplying the load on a server that is already overloaded; with the budget, retries add at
//! most its ratio (plus its small floor). With adaptive throttling instead, the clients shed
//! what the server keeps refusing, retries and first attempts alike.
//!
//! The amplification is what the server received per logical call.

use std::time::{Duration, Instant};

use api_toolkit::{Method, RetryBudget, RetrySettings, Session, Throttling};
use testkit::chaos::{Chaos, ChaosServer, CALL_ID};

const CLIENTS: usize = 200;
const CALLS_PER_CLIENT: usize = 5;
const CAPACITY: usize = 16;
const SERVICE_TIME: Duration = Duration::from_millis(20);
/// Each client starts a call this often: 2,000 calls a second offered to a server that serves 800.
const PERIOD: Duration = Duration::from_millis(100);

/// What one storm did.
struct Storm {
    calls: usize,
    requests: u64,
    succeeded: usize,
    most_attempts: u32,
    elapsed: Duration,
}

impl Storm {
    fn amplification(&self) -> f64 {
        self.requests as f64 / self.calls as f64
    }
}

async fn storm(budget: Option<RetryBudget>, throttling: Option<Throttling>) -> Storm {
    let server = ChaosServer::start(Chaos::new().capacity(CAPACITY, SERVICE_TIME)).await;
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 0.02, // 10, 20, 40 ms
        backoff_jitter: Duration::from_millis(10),
        allowed_methods: vec![Method::GET],
        retry_budget: budget,
        throttling,
        ..RetrySettings::default()
    };
    let session = Session::new(settings).unwrap();
    let started = Instant::now();
    let start = tokio::time::Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (session, url) = (session.clone(), server.url("/work"));
            tokio::spawn(async move {
                let mut succeeded = 0;
                // Arrivals spread evenly over the period, as from independent clients.
                let mut next = start + PERIOD.mul_f64(client as f64 / CLIENTS as f64);
                for call in 0..CALLS_PER_CLIENT {
                    tokio::time::sleep_until(next).await;
                    next += PERIOD;
                    let result = session
                        .get(&url)
                        .header(CALL_ID, format!("{client}-{call}"))
                        .send()
                        .await;
                    // Throttling fails a call it sheds, nothing sent.
                    succeeded += usize::from(result.is_ok_and(|r| r.status() == 200));
                }
                succeeded
            })
        })
        .collect();
    let mut succeeded = 0;
    for client in clients {
        succeeded += client.await.unwrap();
    }
    let elapsed = started.elapsed();
    let calls = server.take_calls();
    Storm {
        calls: CLIENTS * CALLS_PER_CLIENT,
        requests: server.requests(),
        succeeded,
        most_attempts: calls.values().map(|log| log.attempts).max().unwrap_or(0),
        elapsed,
    }
}

fn report(name: &str, storm: &Storm) {
    println!(
        "  {name}: {} requests for {} calls: amplification {:.2}; {} calls succeeded; at most {} \
         attempts for one call; {:.1?}",
        storm.requests,
        storm.calls,
        storm.amplification(),
        storm.succeeded,
        storm.most_attempts,
        storm.elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_budget_bounds_the_load_of_a_retry_storm() {
    let unbounded = storm(None, None).await;
    let budget = RetryBudget {
        ratio: 0.1,
        min_per_second: 1,
        window: Duration::from_secs(10),
    };
    let bounded = storm(Some(budget), None).await;
    println!(
        "retry storm: {CLIENTS} clients x {CALLS_PER_CLIENT} calls, one every {PERIOD:?}, \
         max_retries 3, against a server serving {CAPACITY} requests at once ({SERVICE_TIME:?} \
         each), 503 beyond"
    );
    report("without a retry budget", &unbounded);
    report("with a retry budget of 10% (+1/s)", &bounded);
    assert!(unbounded.most_attempts <= 4 && bounded.most_attempts <= 4);
    assert!(
        bounded.amplification() <= 1.2,
        "with the budget, retries add at most 20% load: {:.2}",
        bounded.amplification()
    );
    assert!(
        unbounded.amplification() > 1.5,
        "the storm is real without the budget: {:.2}",
        unbounded.amplification()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_throttling_bounds_the_load_of_a_retry_storm() {
    let throttled = storm(None, Some(Throttling::default())).await;
    println!("retry storm as above, with adaptive throttling (k = 2, no retry budget):");
    report("with throttling", &throttled);
    assert!(
        throttled.amplification() <= 1.05,
        "with throttling, the server receives at most 5% more than the calls: {:.2}",
        throttled.amplification()
    );
    assert!(throttled.succeeded > 0);
}
