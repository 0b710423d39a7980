//! `--blocking`: throughput of api-toolkit's blocking Session against `reqwest::blocking`, with
//! 1 and 8 threads each making sequential `GET /small` calls (issue 15's target: at least
//! 0.95× reqwest's). Each round runs both clients for each thread count, in alternating order;
//! the report gives each one's median calls per second and the ratio of the medians.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_toolkit::RetrySettings;

use crate::server::{self, Server};

/// Calls per second made by `threads` threads calling `call` for `duration` (after a warm-up).
fn throughput(
    threads: usize,
    duration: Duration,
    call: Arc<dyn Fn() -> bool + Send + Sync>,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, counting, calls, call) = (
                Arc::clone(&stop),
                Arc::clone(&counting),
                Arc::clone(&calls),
                Arc::clone(&call),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let ok = call();
                    assert!(ok, "a benchmark call failed");
                    if counting.load(Ordering::Relaxed) {
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(duration / 4);
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(duration);
    let made = calls.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("a worker thread");
    }
    made as f64 / elapsed.as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs the comparison and prints a table.
pub(crate) fn run(server: &Server, rounds: usize, duration: Duration) {
    let url = server.url(server::SMALL);
    let raw = reqwest::blocking::Client::new();
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    };
    let toolkit = api_toolkit::blocking::Session::new(settings).expect("the session builds");
    let raw_call: Arc<dyn Fn() -> bool + Send + Sync> = {
        let url = url.clone();
        Arc::new(move || match raw.get(&url).send() {
            Ok(response) => response.status() == 200 && response.bytes().is_ok(),
            Err(_) => false,
        })
    };
    let toolkit_call: Arc<dyn Fn() -> bool + Send + Sync> =
        Arc::new(move || match toolkit.get(&url).send() {
            Ok(response) => response.status() == 200 && response.bytes().is_ok(),
            Err(_) => false,
        });
    println!("| threads | reqwest::blocking calls/s | api-toolkit blocking calls/s | ratio |");
    println!("|---|---|---|---|");
    for threads in [1, 8] {
        let (mut raws, mut toolkits) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            if round % 2 == 0 {
                raws.push(throughput(threads, duration, Arc::clone(&raw_call)));
                toolkits.push(throughput(threads, duration, Arc::clone(&toolkit_call)));
            } else {
                toolkits.push(throughput(threads, duration, Arc::clone(&toolkit_call)));
                raws.push(throughput(threads, duration, Arc::clone(&raw_call)));
            }
        }
        let (raw, toolkit) = (median(raws), median(toolkits));
        println!(
            "| {threads} | {raw:.0} | {toolkit:.0} | {:.3} |",
            toolkit / raw
        );
    }
}
