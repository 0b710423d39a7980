//! Soak: thousands of calls at concurrency 64 against the chaos server, in rounds.
//!
//! Every call ends within its computed worst case; no call makes more than `1 + max_retries`
//! attempts, and a method not in `allowed_methods` never reaches the server twice; replayed
//! bodies are byte-identical; nothing panics; no socket or task outlives the session, and memory
//! does not grow from round to round.
//!
//! The default size takes a few seconds. The full run, about 20,000 calls:
//!
//! ```sh
//! SOAK_CALLS=20000 cargo test --release --test soak -- --nocapture
//! ```
//!
//! This file holds one test on purpose: it counts the process's open files and memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_toolkit::{AttemptOutcome, CallRecord, GiveUp, Method, RetrySettings, Session};
use testkit::chaos::{digest, Chaos, ChaosServer, Fault, CALL_ID};

const CONCURRENCY: usize = 64;
const DEFAULT_ROUNDS: usize = 5;
const DEFAULT_CALLS: usize = 1_500;
/// What a loaded 2-core machine may add to a call's worst case (scheduling, the timer).
const SLACK: Duration = Duration::from_secs(2);
/// How much the resident memory may grow from the second round to the last.
const RSS_TOLERANCE_KIB: u64 = 8 * 1024;

fn settings() -> RetrySettings {
    RetrySettings {
        max_retries: 3,
        backoff_factor: 0.01, // 5, 10, 20 ms
        backoff_max: Duration::from_millis(50),
        backoff_jitter: Duration::from_millis(5),
        allowed_methods: vec![Method::GET, Method::PUT],
        retry_after_max: Duration::from_secs(1),
        attempt_timeout: Some(Duration::from_millis(300)),
        ..RetrySettings::default()
    }
}

fn chaos() -> Chaos {
    Chaos::new()
        .rate(Fault::Status5xx, 0.04)
        .rate(Fault::RetryAfterSeconds, 0.004)
        .rate(Fault::RetryAfterDate, 0.004)
        .rate(Fault::RetryAfterMalformed, 0.01)
        .rate(Fault::RetryAfterHuge, 0.005)
        .rate(Fault::Reset, 0.02)
        .rate(Fault::CloseMidBody, 0.01)
        .rate(Fault::Slow, 0.01)
        .rate(Fault::DropOnReuse, 0.02)
        .rate(Fault::Refused, 0.005)
        .slow_by(Duration::from_secs(1))
}

/// The longest a call may take: every attempt cut by its timeout, every wait at its longest
/// (the jittered backoff, or a `Retry-After` up to `retry_after_max`).
fn worst_case(s: &RetrySettings) -> Duration {
    let attempt = s.attempt_timeout.expect("the soak bounds each attempt");
    let waits = s
        .backoff_schedule()
        .into_iter()
        .map(|wait| {
            (wait + s.backoff_jitter)
                .min(s.backoff_max)
                .max(s.retry_after_max)
        })
        .sum::<Duration>();
    attempt * (1 + s.max_retries) + waits
}

/// Call `n`: GET and PUT may be retried, POST may not.
fn method(n: usize) -> Method {
    match n % 4 {
        0 | 1 => Method::GET,
        2 => Method::PUT,
        _ => Method::POST,
    }
}

/// The body of call `n`: up to 4 KiB of bytes that differ from call to call.
fn body(n: usize) -> Vec<u8> {
    if method(n) == Method::GET {
        return Vec::new();
    }
    let len = (n * 37) % 4096;
    (0..len).map(|i| (i.wrapping_mul(n) % 251) as u8).collect()
}

/// How one call ended, as the client saw it.
#[derive(Debug)]
struct Ended {
    n: usize,
    elapsed: Duration,
    attempts: u32,
    outcomes: Vec<AttemptOutcome>,
    give_up: Option<GiveUp>,
    end: End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    Status(u16),
    BodyError,
    Timeout,
    Connect,
    Closed,
}

async fn call(session: &Session, server: &ChaosServer, n: usize) -> Ended {
    let started = Instant::now();
    let result = session
        .request(method(n), server.call_url(&format!("/soak/{n}")))
        .header(CALL_ID, n.to_string())
        .body(body(n))
        .send()
        .await;
    let (record, end) = match result {
        Ok(response) => {
            let record = CallRecord::of(&response).clone();
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => (record, End::Status(status)),
                Err(_) => (record, End::BodyError),
            }
        }
        Err(error) => {
            let end = if error.is_timeout() {
                End::Timeout
            } else if error.is_connect() {
                End::Connect
            } else if error.is_status() {
                End::Status(error.status().map_or(0, |s| s.as_u16()))
            } else {
                End::Closed
            };
            (error.record().clone(), end)
        }
    };
    Ended {
        n,
        elapsed: started.elapsed(),
        attempts: record.attempt_count(),
        outcomes: record.attempts().iter().map(|a| a.outcome()).collect(),
        give_up: record.give_up(),
        end,
    }
}

/// Runs calls `range` at [`CONCURRENCY`].
async fn round(
    session: &Session,
    server: &Arc<ChaosServer>,
    range: std::ops::Range<usize>,
) -> Vec<Ended> {
    let next = Arc::new(AtomicUsize::new(range.start));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (session, server, next) = (session.clone(), Arc::clone(server), Arc::clone(&next));
            let end = range.end;
            tokio::spawn(async move {
                let mut ended = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= end {
                        return ended;
                    }
                    ended.push(call(&session, &server, n).await);
                }
            })
        })
        .collect();
    let mut ended = Vec::with_capacity(range.len());
    for worker in workers {
        ended.extend(worker.await.expect("no worker panicked"));
    }
    ended
}

/// Checks a round's calls against what the server saw; returns the violations.
fn check(ended: &[Ended], server: &ChaosServer, settings: &RetrySettings) -> Vec<String> {
    let bound = worst_case(settings) + SLACK;
    let max_attempts = 1 + settings.max_retries;
    let logs = server.take_calls();
    let mut violations = Vec::new();
    for call in ended {
        let n = call.n;
        if call.elapsed > bound {
            violations.push(format!("call {n} took {:?} > {bound:?}", call.elapsed));
        }
        if call.attempts > max_attempts {
            violations.push(format!("call {n}: {} attempts (client)", call.attempts));
        }
        let Some(log) = logs.get(&n.to_string()) else {
            if !call.outcomes.iter().all(|o| *o == AttemptOutcome::Connect) {
                violations.push(format!("call {n} never reached the server: {call:?}"));
            }
            continue;
        };
        if log.attempts > max_attempts {
            violations.push(format!("call {n}: {} attempts (server)", log.attempts));
        }
        if !settings.allowed_methods.contains(&method(n)) && log.attempts > 1 {
            violations.push(format!(
                "call {n}: {} not allowed but received {} times: {:?}",
                log.method, log.attempts, log.faults
            ));
        }
        if log.attempts > call.attempts {
            violations.push(format!(
                "call {n}: the server saw {} attempts, the client made {}",
                log.attempts, call.attempts
            ));
        }
        if !log.identical || log.body != digest(&body(n)) {
            violations.push(format!("call {n}: the bodies differ"));
        }
    }
    violations
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits until `done` holds, for at most `limit`.
async fn settle(limit: Duration, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_under_chaos_every_call_ends_within_bounds_and_nothing_leaks() {
    let total = env_or("SOAK_CALLS", DEFAULT_CALLS);
    let rounds = env_or("SOAK_ROUNDS", DEFAULT_ROUNDS).max(2);
    let panics = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&panics);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let (fds_before, tasks_before) = (open_fds(), alive_tasks());
    let settings = settings();
    let server = Arc::new(ChaosServer::start(chaos()).await);
    let session = Session::new(settings.clone()).unwrap();
    let started = Instant::now();
    let per_round = total.div_ceil(rounds);
    let (mut violations, mut rss, mut ends) = (Vec::new(), Vec::new(), BTreeMap::new());
    let (mut give_ups, mut max_elapsed) = (BTreeMap::new(), Duration::ZERO);
    let (mut attempts, mut connect_failures) = (0u64, 0u64);
    for r in 0..rounds {
        let range = (r * per_round).min(total)..((r + 1) * per_round).min(total);
        let ended = round(&session, &server, range).await;
        violations.extend(check(&ended, &server, &settings));
        for call in &ended {
            *ends.entry(call.end).or_insert(0u64) += 1;
            if let Some(reason) = call.give_up {
                *give_ups.entry(format!("{reason:?}")).or_insert(0u64) += 1;
            }
            max_elapsed = max_elapsed.max(call.elapsed);
            attempts += u64::from(call.attempts);
            connect_failures += call
                .outcomes
                .iter()
                .filter(|o| **o == AttemptOutcome::Connect)
                .count() as u64;
        }
        drop(ended);
        rss.push(rss_kib());
    }
    let elapsed = started.elapsed();
    let (requests, connections, injected) =
        (server.requests(), server.connections(), server.injected());

    drop(session);
    settle(Duration::from_secs(5), || server.live_connections() == 0).await;
    let server_connections_left = server.live_connections();
    drop(server);
    settle(Duration::from_secs(5), || {
        open_fds() <= fds_before && alive_tasks() <= tasks_before
    })
    .await;
    let (fds_after, tasks_after) = (open_fds(), alive_tasks());

    let bound = worst_case(&settings);
    println!("soak: {total} calls in {rounds} rounds at concurrency {CONCURRENCY}: {elapsed:.1?}");
    println!("  injected: {injected:?}");
    println!(
        "  server: {requests} requests on {connections} connections; client: {attempts} attempts \
         ({:.3} per call), {connect_failures} of them refused",
        attempts as f64 / total as f64
    );
    println!("  ends: {ends:?}");
    println!("  give-ups: {give_ups:?}");
    println!("  max call time {max_elapsed:.2?}, worst case {bound:.2?} (+{SLACK:?} slack)");
    println!(
        "  open fds {fds_before} before, {fds_after} after; tasks {tasks_before} before, \
         {tasks_after} after; connections left open at the server: {server_connections_left}"
    );
    println!("  RSS by round (KiB): {rss:?}");

    assert!(
        violations.is_empty(),
        "{} violations, the first: {:#?}",
        violations.len(),
        &violations[..violations.len().min(10)]
    );
    assert_eq!(panics.load(Ordering::SeqCst), 0, "no panic, in any task");
    assert_eq!(
        server_connections_left, 0,
        "the dropped session closed its sockets"
    );
    assert!(fds_after <= fds_before, "no leaked file descriptors");
    assert!(tasks_after <= tasks_before, "no leaked tasks");
    let growth = rss[rounds - 1].saturating_sub(rss[1]);
    assert!(
        growth <= RSS_TOLERANCE_KIB,
        "memory grew by {growth} KiB from round 2 to round {rounds}: {rss:?}"
    );
    assert_eq!(
        requests,
        attempts - connect_failures,
        "every attempt that connected reached the server once: no hidden resend"
    );
}
