//! A fleet: several worker processes share one API's quota through one Redis.
//!
//! Run it with `cargo run --example fleet` (it needs `redis-server`: `apt-get install
//! redis-server`). It starts a quota-limited API on 127.0.0.1 (20 requests per 4 s, then 429
//! with `Retry-After`) and a Redis without persistence, then runs this program again as four
//! worker processes that call the API for 8 s: first each on its own, then as one fleet.
//! Each worker prints what it saw; the API prints what it answered.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use api_toolkit::{ApiConnector, Connector, Session};
use testkit::quota::QuotaServer;
use testkit::redis::RedisServer;

/// A client of the catalogue API: its rate limit is paced, a host's `Retry-After` holds every
/// call of the session (and, in a fleet, of every worker); a 429 is not retried, so that each
/// one shows.
#[derive(Connector)]
#[retry(max_retries = 0, share_retry_after = true, pacing)]
struct Catalogue {
    session: Session,
}

const WORKERS: usize = 4;
const SECONDS: u64 = 8;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Ok(url) = std::env::var("FLEET_EXAMPLE_SERVER") {
        return worker(&url, std::env::var("FLEET_EXAMPLE_REDIS").ok()).await;
    }
    let Some(redis) = RedisServer::start() else {
        println!("this example needs redis-server (apt-get install redis-server)");
        return Ok(());
    };
    for fleet in [false, true] {
        let api = QuotaServer::start(20, Duration::from_secs(4)).await;
        println!(
            "\n== {WORKERS} workers, {SECONDS} s, a quota of 20 requests per 4 s: {}",
            if fleet {
                "one fleet through Redis"
            } else {
                "each on its own"
            }
        );
        let url = api.url("/items");
        let redis_url = fleet.then(|| redis.url());
        let outputs = tokio::task::spawn_blocking(move || run_workers(&url, redis_url)).await?;
        for (n, output) in outputs.iter().enumerate() {
            println!("worker {n}: {output}");
        }
        println!(
            "the API answered {} requests 200 and {} requests 429",
            api.ok(),
            api.limited()
        );
    }
    Ok(())
}

/// Starts the workers and returns what each printed.
fn run_workers(url: &str, redis: Option<String>) -> Vec<String> {
    let exe = std::env::current_exe().expect("this program's path");
    let children: Vec<_> = (0..WORKERS)
        .map(|_| {
            let mut command = Command::new(&exe);
            command
                .env("FLEET_EXAMPLE_SERVER", url)
                .stdout(Stdio::piped());
            if let Some(redis) = &redis {
                command.env("FLEET_EXAMPLE_REDIS", redis);
            }
            command.spawn().expect("a worker process")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("the worker's output");
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        })
        .collect()
}

/// One worker: calls the API for [`SECONDS`], with the fleet if there is one.
async fn worker(url: &str, redis: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Catalogue::session_builder();
    let fleet = match redis {
        // Named after the connector's type: "Catalogue".
        Some(redis) => Some(Catalogue::fleet(&redis).connect().await?),
        None => None,
    };
    if let Some(fleet) = &fleet {
        builder = builder.fleet(fleet);
    }
    let catalogue = Catalogue {
        session: builder.build()?,
    };
    let started = Instant::now();
    let (mut ok, mut limited) = (0, 0);
    while started.elapsed() < Duration::from_secs(SECONDS) {
        match catalogue.session().get(url).send().await?.status().as_u16() {
            200 => ok += 1,
            _ => limited += 1,
        }
    }
    let stats = catalogue.session().stats();
    println!(
        "{ok} answered, {limited} refused with 429, held {:.1} s by pacing, {} fleet fallbacks",
        stats.paced_time.as_secs_f64(),
        stats.fleet_fallbacks
    );
    Ok(())
}
