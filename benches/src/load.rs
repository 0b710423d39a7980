//! One measured segment: `concurrency` tasks calling one URL in a loop for a while, on the
//! client's current-thread runtime, after a warm-up that fills the connection pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::drivers::Driver;
use crate::server::{Counts, Server};

/// What one segment measured.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    /// Calls completed (logical calls: retries inside a call are not counted).
    pub(crate) calls: u64,
    /// Calls whose final status was 200.
    pub(crate) ok: u64,
    pub(crate) elapsed: Duration,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    /// What the server saw during the measured part.
    pub(crate) server: Counts,
    /// Settings replacements made during the segment (the churn workload).
    pub(crate) swaps: u64,
    /// CPU time the client used during the measured part (user and kernel), if known.
    pub(crate) client_cpu: Option<Duration>,
}

impl Sample {
    pub(crate) fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    /// Attempts the server received per logical call.
    pub(crate) fn attempts_per_call(&self) -> f64 {
        self.server.requests as f64 / self.calls.max(1) as f64
    }

    /// The retries made: attempts beyond the first of each call.
    pub(crate) fn retries(&self) -> u64 {
        self.server.requests.saturating_sub(self.calls)
    }

    /// The client's CPU time per call.
    pub(crate) fn cpu_per_call(&self) -> Option<Duration> {
        Some(self.client_cpu? / u32::try_from(self.calls.max(1)).unwrap_or(u32::MAX))
    }
}

/// The CPU time this thread has used (on Linux: `/proc/thread-self/schedstat`, nanoseconds).
/// The client's runtime is current-thread, so this is the client's CPU time, steal excluded.
pub(crate) fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Runs `driver` against `url` with `concurrency` tasks: `warmup`, then `duration` measured.
/// `during` runs alongside the measured part (the settings churn) and returns a count.
pub(crate) async fn run<D: Driver>(
    driver: &Arc<D>,
    server: &Server,
    url: &str,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    during: Option<Box<dyn FnOnce(Instant) -> tokio::task::JoinHandle<u64>>>,
) -> Sample {
    let url: Arc<str> = url.into();
    phase(driver, &url, concurrency, warmup, 0).await;
    let before = server.counts();
    let cpu_before = thread_cpu();
    let start = Instant::now();
    let end = start + duration;
    let helper = during.map(|spawn| spawn(end));
    // Room for the latencies, so that growing the vectors costs nothing while measuring.
    let latencies = phase(driver, &url, concurrency, duration, 1 << 16).await;
    let elapsed = start.elapsed();
    let client_cpu = thread_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let server_counts = server.counts() - before;
    let swaps = match helper {
        Some(handle) => handle.await.unwrap_or(0),
        None => 0,
    };
    let (calls, ok, mut all) = latencies;
    all.sort_unstable();
    Sample {
        calls,
        ok,
        elapsed,
        p50: quantile(&all, 0.50),
        p99: quantile(&all, 0.99),
        server: server_counts,
        swaps,
        client_cpu,
    }
}

/// The tasks of one phase; returns calls, successes and every latency (nanoseconds).
async fn phase<D: Driver>(
    driver: &Arc<D>,
    url: &Arc<str>,
    concurrency: usize,
    duration: Duration,
    capacity: usize,
) -> (u64, u64, Vec<u32>) {
    let end = Instant::now() + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (driver, url) = (Arc::clone(driver), Arc::clone(url));
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(capacity / concurrency);
                let mut ok = 0u64;
                loop {
                    let started = Instant::now();
                    ok += u64::from(driver.call(&url).await);
                    let now = Instant::now();
                    latencies.push(u32::try_from((now - started).as_nanos()).unwrap_or(u32::MAX));
                    if now >= end {
                        return (ok, latencies);
                    }
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut ok = 0;
    for task in tasks {
        let (task_ok, latencies) = task.await.expect("a load task panicked");
        ok += task_ok;
        all.extend(latencies);
    }
    (all.len() as u64, ok, all)
}

fn quantile(sorted: &[u32], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    Duration::from_nanos(u64::from(sorted[index]))
}

/// Heap allocations and bytes per call: `calls` calls after a warm-up, counted on this (the
/// client's) thread. The calls are sequential, or made by `concurrency` tasks at once (on this
/// thread: the client's runtime has one).
pub(crate) async fn allocations<D: Driver + 'static>(
    driver: &Arc<D>,
    url: &str,
    calls: u64,
    concurrency: u64,
) -> (f64, f64) {
    let url: Arc<str> = url.into();
    let each = calls.div_ceil(concurrency);
    let calls = each * concurrency;
    for _ in 0..calls / 4 {
        driver.call(&url).await;
    }
    let (allocs, bytes) = crate::alloc::this_thread();
    let ok = if concurrency == 1 {
        // In place: a spawned task's wake-ups would add their own allocations.
        let mut ok = 0u64;
        for _ in 0..calls {
            ok += u64::from(driver.call(&url).await);
        }
        ok
    } else {
        concurrently(driver, &url, each, concurrency).await
    };
    let (allocs_after, bytes_after) = crate::alloc::this_thread();
    assert_eq!(ok, calls, "every call of the allocation count succeeds");
    (
        (allocs_after - allocs) as f64 / calls as f64,
        (bytes_after - bytes) as f64 / calls as f64,
    )
}

/// Makes `each` calls in each of `concurrency` tasks; returns how many succeeded.
async fn concurrently<D: Driver + 'static>(
    driver: &Arc<D>,
    url: &Arc<str>,
    each: u64,
    concurrency: u64,
) -> u64 {
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (driver, url) = (Arc::clone(driver), Arc::clone(url));
            tokio::spawn(async move {
                let mut ok = 0u64;
                for _ in 0..each {
                    ok += u64::from(driver.call(&url).await);
                }
                ok
            })
        })
        .collect();
    let mut ok = 0u64;
    for task in tasks {
        ok += task.await.expect("an allocation-count task panicked");
    }
    ok
}
