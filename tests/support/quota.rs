//! A quota-limited API on 127.0.0.1, as rate-limited APIs are: a fixed number of requests per
//! fixed window, each answer stating what remains (`RateLimit-Limit`, `RateLimit-Remaining`,
//! `RateLimit-Reset` in seconds, rounded up), a 429 with `Retry-After` once it is spent. It
//! counts what it answered, for the fleet's tests and `examples/fleet.rs`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{Reply, TestServer};

/// The server and its counts.
pub struct QuotaServer {
    server: TestServer,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    limited: AtomicU64,
}

impl QuotaServer {
    /// Starts a server that allows `limit` requests per `window`.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub async fn start(limit: u64, window: Duration) -> QuotaServer {
        let counts = Arc::new(Counts::default());
        let counted = Arc::clone(&counts);
        let started = Instant::now();
        // (the window's number, requests allowed in it)
        let current = Mutex::new((0u128, 0u64));
        let server = TestServer::handle(move |_, _| {
            let elapsed = started.elapsed();
            let number = elapsed.as_nanos() / window.as_nanos();
            let left = window.as_nanos() - elapsed.as_nanos() % window.as_nanos();
            let reset_secs = left.div_ceil(1_000_000_000).to_string();
            let mut current = current.lock().unwrap();
            if current.0 != number {
                *current = (number, 0);
            }
            if current.1 < limit {
                current.1 += 1;
                counted.ok.fetch_add(1, Relaxed);
                Reply::status(200)
                    .header("RateLimit-Limit", &limit.to_string())
                    .header("RateLimit-Remaining", &(limit - current.1).to_string())
                    .header("RateLimit-Reset", &reset_secs)
            } else {
                counted.limited.fetch_add(1, Relaxed);
                Reply::status(429)
                    .header("Retry-After", &reset_secs)
                    .header("RateLimit-Limit", &limit.to_string())
                    .header("RateLimit-Remaining", "0")
                    .header("RateLimit-Reset", &reset_secs)
            }
        })
        .await;
        QuotaServer { server, counts }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// Requests answered 200, within the quota.
    pub fn ok(&self) -> u64 {
        self.counts.ok.load(Relaxed)
    }

    /// Requests answered 429, past the quota.
    pub fn limited(&self) -> u64 {
        self.counts.limited.load(Relaxed)
    }
}
