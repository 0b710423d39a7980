//! A fleet through a real Redis (`redis-server`, started by the tests; skipped with a note
//! where it is not installed, required in CI): what the workers share, asserted at the HTTP
//! server and in Redis; the figures of many worker processes; Redis down, slow or wrong.
//!
//! Several workers in one test are several fleets (each its own connections), as several
//! processes would be; the figures start real processes: this test binary again, in the
//! `fleet_worker` role.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_toolkit::reqwest;
use api_toolkit::{
    ApiConnector, CircuitBreaker, Connector, ErrorKind, Fleet, Pacing, RetryBudget, RetrySettings,
    Session,
};
use testkit::quota::QuotaServer;
use testkit::redis::{free_port, RedisServer};
use testkit::{Reply, TestServer};

async fn fleet(redis: &RedisServer, name: &str) -> Fleet {
    Fleet::redis(&redis.url())
        .name(name)
        .connect()
        .await
        .expect("the fleet connects")
}

fn session(fleet: &Fleet, settings: RetrySettings) -> Session {
    Session::builder()
        .retry_settings(settings)
        .fleet(fleet)
        .build()
        .expect("valid settings")
}

fn paced() -> RetrySettings {
    RetrySettings {
        pacing: Some(Pacing::default()),
        share_retry_after: true,
        ..RetrySettings::default()
    }
}

#[tokio::test]
async fn bad_input_is_a_clear_error_when_the_fleet_connects() {
    // Nothing listens: refused at once, named, within the connect timeout.
    let started = Instant::now();
    let nobody = format!("redis://127.0.0.1:{}/", free_port());
    let error = Fleet::redis(&nobody).connect().await.unwrap_err();
    let settings = error.settings_error().expect("a settings error");
    assert_eq!(settings.field(), "fleet.url");
    assert!(error.to_string().contains("127.0.0.1"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));

    for (url, field) in [
        ("http://127.0.0.1/", "fleet.url"),
        ("not a url", "fleet.url"),
    ] {
        let error = Fleet::redis(url).connect().await.unwrap_err();
        assert_eq!(
            error.settings_error().map(|e| e.field()),
            Some(field),
            "{url}"
        );
    }
    let error = Fleet::redis(&nobody)
        .name("a{b}")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(
        error.settings_error().map(|e| (e.field(), e.value())),
        Some(("fleet.name", "a{b}"))
    );
    let error = Fleet::redis(&nobody)
        .timeout(Duration::ZERO)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(
        error.settings_error().map(|e| e.field()),
        Some("fleet.timeout")
    );

    // A server that accepts the connection and never answers: cut at the connect timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", silent.local_addr().unwrap());
    let started = Instant::now();
    let error = Fleet::redis(&url)
        .connect_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap_err();
    assert_eq!(error.settings_error().map(|e| e.field()), Some("fleet.url"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // A wrong password: refused by the server, named, and never shown.
    let Some(redis) = RedisServer::start_with(Some("right-one")) else {
        return;
    };
    let wrong = format!("redis://:wrong-one@127.0.0.1:{}/", redis.port());
    let error = Fleet::redis(&wrong).connect().await.unwrap_err();
    let text = error.to_string();
    assert_eq!(error.settings_error().map(|e| e.field()), Some("fleet.url"));
    assert!(
        !text.contains("wrong-one"),
        "the password is not shown: {text}"
    );
    assert!(text.to_lowercase().contains("pass"), "{text}");
    assert!(Fleet::redis(&redis.url()).connect().await.is_ok());
}

#[tokio::test]
async fn a_connectors_fleet_is_named_after_its_type() {
    #[derive(Connector)]
    #[retry(share_retry_after = true)]
    struct Payments {
        session: Session,
    }
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let fleet = Payments::fleet(&redis.url()).connect().await.unwrap();
    assert_eq!(fleet.name(), "Payments");
    let payments = Payments {
        session: Payments::session_builder().fleet(&fleet).build().unwrap(),
    };
    assert!(payments.get_retry_settings().share_retry_after);
}

/// A server that answers `/limited` with a 429 asking for a pause of 2 s, anything else 200.
async fn asks_for_a_pause() -> TestServer {
    TestServer::handle(|received, _| match received.path.as_str() {
        "/limited" => Reply::status(429).header("Retry-After", "2"),
        _ => Reply::status(200),
    })
    .await
}

/// One attempt per call; a host's pause holds the session's calls.
fn shares_pauses() -> RetrySettings {
    RetrySettings {
        share_retry_after: true,
        max_retries: 0,
        ..RetrySettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_a_host_asks_of_one_worker_holds_every_worker() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = asks_for_a_pause().await;
    let settings = shares_pauses();
    let (a, b) = (fleet(&redis, "pause").await, fleet(&redis, "pause").await);
    let (worker_a, worker_b) = (session(&a, settings.clone()), session(&b, settings));
    let asked = Instant::now();
    let response = worker_a.get(server.url("/limited")).send().await.unwrap();
    assert_eq!(response.status(), 429);
    // The news reaches the other worker within a round trip.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let hold = redis
        .keys()
        .into_iter()
        .find(|(key, _)| key.ends_with(":hold"))
        .expect("a hold key");
    assert_eq!(hold.0, format!("atk:{{pause|{}}}:hold", server.url("")));
    worker_b.get(server.url("/ok")).send().await.unwrap();
    let waited = asked.elapsed();
    assert!(
        waited >= Duration::from_millis(1800),
        "the other worker held its call: {waited:?}"
    );
    assert!(waited < Duration::from_secs(4), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_front_end_is_held_by_the_fleets_pause() {
    use tower::{Service, ServiceExt};
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = asks_for_a_pause().await;
    let settings = shares_pauses();
    let (a, b, c) = (
        fleet(&redis, "fronts").await,
        fleet(&redis, "fronts").await,
        fleet(&redis, "fronts").await,
    );
    let mut layered = tower::ServiceBuilder::new()
        .layer(
            api_toolkit::tower::RetryLayer::new(settings.clone())
                .unwrap()
                .fleet(&b),
        )
        .service(reqwest::Client::new());
    let chain = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(api_toolkit::middleware::RetryMiddleware::with_fleet(settings.clone(), &c).unwrap())
        .build();
    let asked = Instant::now();
    session(&a, settings)
        .get(server.url("/limited"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let get = reqwest::Request::new(reqwest::Method::GET, server.url("/layer").parse().unwrap());
    layered.ready().await.unwrap().call(get).await.unwrap();
    let through_layer = asked.elapsed();
    chain.get(server.url("/middleware")).send().await.unwrap();
    for waited in [through_layer, asked.elapsed()] {
        assert!(waited >= Duration::from_millis(1800), "{waited:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_one_worker_opens_is_open_in_every_worker() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let settings = RetrySettings {
        max_retries: 0,
        circuit_breaker: Some(CircuitBreaker {
            min_attempts: 4,
            break_duration: Duration::from_secs(10),
            ..CircuitBreaker::default()
        }),
        ..RetrySettings::default()
    };
    let (a, b) = (
        fleet(&redis, "breaker").await,
        fleet(&redis, "breaker").await,
    );
    let (worker_a, worker_b) = (session(&a, settings.clone()), session(&b, settings));
    for _ in 0..4 {
        let _ = worker_a.get(server.url("/a")).send().await;
    }
    assert_eq!(worker_a.stats().circuit_opened, 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let error = worker_b.get(server.url("/b")).send().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CircuitOpen, "{error}");
    let to_b = server.received().iter().filter(|r| r.path == "/b").count();
    assert_eq!(
        to_b, 0,
        "the other worker sent nothing into the open breaker"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_share_a_hosts_quota_and_never_overshoot_it() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = Arc::new(QuotaServer::start(20, Duration::from_secs(3)).await);
    let mut workers = Vec::new();
    for _ in 0..3 {
        let fleet = fleet(&redis, "quota").await;
        let server = Arc::clone(&server);
        workers.push(tokio::spawn(async move {
            let session = session(&fleet, paced());
            for _ in 0..12 {
                let response = session.get(server.url("/q")).send().await.unwrap();
                assert_eq!(response.status(), 200);
            }
            fleet.fallbacks()
        }));
    }
    for worker in workers {
        assert_eq!(worker.await.unwrap(), 0, "no fallback");
    }
    // 36 calls, 20 a window: the fleet waited for the next windows instead of meeting a 429.
    assert_eq!((server.ok(), server.limited()), (36, 0));
}

/// A response with its quota: `remaining` of 10, the window ending in `reset` seconds.
fn quota_reply(remaining: u64, reset: u64) -> Reply {
    Reply::status(200)
        .header("RateLimit-Limit", "10")
        .header("RateLimit-Remaining", &remaining.to_string())
        .header("RateLimit-Reset", &reset.to_string())
}

/// The fleet's quota key of `server`'s host, with its time to live in ms, if there is one.
fn quota_key(redis: &RedisServer, server: &TestServer) -> Option<(String, i64)> {
    let origin = server.url("");
    let origin = origin.trim_end_matches('/');
    redis
        .keys()
        .into_iter()
        .find(|(key, _)| key.contains(origin) && key.ends_with(":quota"))
}

/// Rule: the fleet keeps the later reset of a window, as a session does. A reset in whole
/// seconds ends the fleet's window up to a second after the host's: an answer from the host's
/// next window in that second must keep the fleet from opening that window again as if empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_reset_keeps_the_fleets_window_open() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = TestServer::start(vec![quota_reply(5, 1), quota_reply(4, 3)]).await;
    let fleet = fleet(&redis, "later").await;
    let session = session(&fleet, paced());
    for _ in 0..2 {
        session.get(server.url("/")).send().await.unwrap();
        // The observation is written behind the call.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let (_, ttl) = quota_key(&redis, &server).expect("the fleet knows the window");
    assert!(ttl > 2_000, "the later reset (3 s) kept: {ttl} ms left");
    assert_eq!(fleet.fallbacks(), 0);
}

/// Rule: a fleet's window starts only from the answer to an attempt sent while the fleet knew
/// none. An answer that arrives after its window ended (the attempt was sent in it) speaks of
/// that window: it does not open the next one with what was left of the last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_from_a_window_that_ended_does_not_open_the_next() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = TestServer::start(vec![
        quota_reply(5, 1),
        quota_reply(9, 1).delay(Duration::from_millis(1_300)),
    ])
    .await;
    let fleet = fleet(&redis, "ended").await;
    let session = session(&fleet, paced());
    session.get(server.url("/")).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        quota_key(&redis, &server).is_some(),
        "the probe's answer opened a window"
    );
    // Sent in that window, answered after it ended.
    session.get(server.url("/")).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        quota_key(&redis, &server),
        None,
        "the late answer opened no window"
    );
    assert_eq!(server.count(), 2);
    assert_eq!(fleet.fallbacks(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_draw_on_one_retry_budget() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = TestServer::start(vec![Reply::status(503)]).await;
    // No ratio, a floor of 1 a second over 10 s: 10 retries for the whole fleet.
    let settings = RetrySettings {
        max_retries: 1,
        backoff_factor: 0.0,
        retry_budget: Some(RetryBudget {
            ratio: 0.0,
            min_per_second: 1,
            window: Duration::from_secs(10),
        }),
        ..RetrySettings::default()
    };
    let (a, b) = (fleet(&redis, "budget").await, fleet(&redis, "budget").await);
    let (worker_a, worker_b) = (session(&a, settings.clone()), session(&b, settings));
    for _ in 0..20 {
        let _ = worker_a.get(server.url("/")).send().await;
        let _ = worker_b.get(server.url("/")).send().await;
    }
    let retries = worker_a.stats().retries() + worker_b.stats().retries();
    assert_eq!(
        retries, 10,
        "one budget: each worker's own would allow 20 in all"
    );
    assert_eq!(server.count(), 40 + 10, "counted at the server");
    assert_eq!(worker_a.stats().fleet_fallbacks, 0);
}

/// A scenario of workers sharing a quota, drawn from a seed.
#[derive(Debug)]
struct Scenario {
    quota: u64,
    window_ms: u64,
    /// Per worker: when it starts (ms), how many tasks share its session, calls per task.
    workers: Vec<(u64, usize, usize)>,
    budget: bool,
    breaker: bool,
    spread: bool,
}

impl Scenario {
    fn draw(rng: &mut u64) -> Scenario {
        let mut next = |n: u64| {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            *rng % n
        };
        let quota = 6 + next(20);
        let window_ms = 1000 + 250 * next(5);
        let count = 2 + next(4) as usize;
        let workers: Vec<_> = (0..count)
            .map(|_| (next(80), 1 + next(3) as usize, 0))
            .collect();
        let tasks: usize = workers.iter().map(|w| w.1).sum();
        // Enough calls for two or three windows.
        let calls = (quota as usize * (2 + next(2) as usize))
            .div_ceil(tasks)
            .max(1);
        Scenario {
            quota,
            window_ms,
            workers: workers
                .into_iter()
                .map(|(at, n, _)| (at, n, calls))
                .collect(),
            budget: next(2) == 0,
            breaker: next(2) == 0,
            spread: next(3) == 0,
        }
    }
}

/// Generated scenarios (workers that start at different times, several tasks per session,
/// windows of 1 to 2 s, quotas of 6 to 25, with or without a budget, a breaker, `spread`): no
/// worker ever meets a 429, and every call is answered. `FLEET_SEED=<n>` replays one seed,
/// `FLEET_CASES` sets how many.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_scenarios_never_overshoot_the_shared_quota() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let seed: u64 = std::env::var("FLEET_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f1ee7);
    let cases: u64 = std::env::var("FLEET_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    for case in 0..cases {
        let mut rng = seed.wrapping_add(case).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let scenario = Scenario::draw(&mut rng);
        let server = Arc::new(
            QuotaServer::start(scenario.quota, Duration::from_millis(scenario.window_ms)).await,
        );
        let settings = RetrySettings {
            max_retries: 0,
            pacing: Some(Pacing {
                spread: scenario.spread,
            }),
            retry_budget: scenario.budget.then(RetryBudget::default),
            circuit_breaker: scenario.breaker.then(CircuitBreaker::default),
            ..paced()
        };
        let name = format!("gen{case}");
        let mut tasks = Vec::new();
        for &(at, n, calls) in &scenario.workers {
            let session = session(&fleet(&redis, &name).await, settings.clone());
            for _ in 0..n {
                let (session, server) = (session.clone(), Arc::clone(&server));
                tasks.push(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(at)).await;
                    for _ in 0..calls {
                        let status = session.get(server.url("/")).send().await.unwrap().status();
                        assert_eq!(status, 200);
                    }
                }));
            }
        }
        for task in tasks {
            if let Err(panic) = task.await {
                panic!("seed {seed} case {case}: {scenario:?}: {panic}");
            }
        }
        assert_eq!(
            server.limited(),
            0,
            "seed {seed} case {case}: {scenario:?} met {} 429s",
            server.limited()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_success_path_makes_no_redis_round_trip() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let fleet = fleet(&redis, "quiet").await;
    let session = session(
        &fleet,
        RetrySettings {
            share_retry_after: true,
            pacing: Some(Pacing::default()),
            circuit_breaker: Some(CircuitBreaker::default()),
            retry_budget: Some(RetryBudget::default()),
            ..RetrySettings::default()
        },
    );
    let before = redis.scripts_run();
    let started = Instant::now();
    for _ in 0..300 {
        session.get(server.url("/")).send().await.unwrap();
    }
    let elapsed = started.elapsed();
    // Let the last batch of budget deposits go.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let scripts = redis.scripts_run() - before;
    // The first call asks the fleet, its answer marks the host as stating no quota; then only
    // the budget's calls go, in one batch per 100 ms at most.
    let batches = (elapsed + Duration::from_millis(250)).as_millis() as u64 / 100 + 2;
    assert!(
        scripts <= batches + 2,
        "{scripts} operations for 300 calls in {elapsed:?}: at most {batches} batches"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_expires_and_carries_its_hosts_hash_tag() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let quota = QuotaServer::start(10, Duration::from_secs(30)).await;
    let fleet = fleet(&redis, "keys").await;
    let session = session(
        &fleet,
        RetrySettings {
            retry_budget: Some(RetryBudget::default()),
            max_retries: 1,
            backoff_factor: 0.0,
            respect_retry_after_header: false,
            ..paced()
        },
    );
    for _ in 0..5 {
        session.get(quota.url("/")).send().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let keys = redis.keys();
    let origin = quota.url("");
    for what in ["quota", "budget"] {
        assert!(
            keys.iter().any(|(key, _)| key.ends_with(what)),
            "a {what} key: {keys:?}"
        );
    }
    for (key, ttl) in &keys {
        assert!(*ttl > 0, "{key} expires: {ttl}");
        assert!(
            key.starts_with(&format!("atk:{{keys|{origin}}}:")) || key == "atk:{keys}:budget",
            "{key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_is_shared_as_a_time_to_live_so_worker_clocks_never_meet() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = TestServer::start(vec![Reply::status(503).header("Retry-After", "3")]).await;
    let fleet = fleet(&redis, "clocks").await;
    let session = session(
        &fleet,
        RetrySettings {
            share_retry_after: true,
            max_retries: 0,
            ..RetrySettings::default()
        },
    );
    session.get(server.url("/")).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let key = format!("atk:{{clocks|{}}}:hold", server.url(""));
    // The value holds no instant of any worker's clock: Redis's own expiry is the pause.
    assert_eq!(redis.cli(&["GET", &key]).as_deref(), Some("1"));
    let ttl: i64 = redis.cli(&["PTTL", &key]).unwrap().parse().unwrap();
    assert!((2500..=3000).contains(&ttl), "{ttl}");
}

/// Calls in a loop for `for_`, every one to a quota server; `(calls, failed)`.
async fn keep_calling(session: &Session, url: &str, for_: Duration) -> (u64, u64) {
    let (mut calls, mut failed) = (0, 0);
    let started = Instant::now();
    while started.elapsed() < for_ {
        let call = Instant::now();
        match session.get(url).send().await {
            Ok(response) if response.status() == 200 => {}
            _ => failed += 1,
        }
        assert!(call.elapsed() < Duration::from_secs(2), "no call hangs");
        calls += 1;
    }
    (calls, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_fails_no_call() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let quota = QuotaServer::start(100_000, Duration::from_secs(60)).await;
    let fleet = fleet(&redis, "killed").await;
    let session = session(
        &fleet,
        RetrySettings {
            retry_budget: Some(RetryBudget::default()),
            circuit_breaker: Some(CircuitBreaker::default()),
            ..paced()
        },
    );
    let url = quota.url("/");
    let run = keep_calling(&session, &url, Duration::from_secs(3));
    let kill = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        redis.kill();
    };
    let ((calls, failed), ()) = tokio::join!(run, kill);
    let fallbacks = session.stats().fleet_fallbacks;
    eprintln!("redis killed after 1 s of 3: {calls} calls, {failed} failed, {fallbacks} fallbacks");
    assert_eq!(failed, 0);
    assert!(fallbacks > 0, "the fallbacks are counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_redis_costs_a_call_its_bound_at_most() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let quota = QuotaServer::start(100_000, Duration::from_secs(60)).await;
    let fleet = fleet(&redis, "slow").await;
    let session = session(&fleet, paced());
    let url = quota.url("/");
    session.get(&url).send().await.unwrap();
    // Redis answers nothing for 2 s (scripted latency).
    let port = redis.port().to_string();
    let sleeper = std::thread::spawn(move || {
        Command::new("redis-cli")
            .args(["-p", &port, "DEBUG", "SLEEP", "2"])
            .output()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let call = Instant::now();
        assert_eq!(session.get(&url).send().await.unwrap().status(), 200);
        slowest = slowest.max(call.elapsed());
    }
    sleeper.join().unwrap().unwrap();
    let fallbacks = session.stats().fleet_fallbacks;
    eprintln!("slow Redis: slowest call {slowest:?}, {fallbacks} fallbacks");
    assert!(fallbacks >= 1);
    assert!(slowest < Duration::from_millis(500), "{slowest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_another_type_is_a_counted_fallback() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let quota = QuotaServer::start(100_000, Duration::from_secs(60)).await;
    let key = format!("atk:{{typed|{}}}:quota", quota.url(""));
    redis.cli(&["RPUSH", &key, "not", "a", "counter"]).unwrap();
    let fleet = fleet(&redis, "typed").await;
    let session = session(&fleet, paced());
    for _ in 0..5 {
        assert_eq!(
            session.get(quota.url("/")).send().await.unwrap().status(),
            200
        );
    }
    assert!(session.stats().fleet_fallbacks >= 1);
    assert_eq!(
        redis.cli(&["TYPE", &key]).as_deref(),
        Some("list"),
        "left alone"
    );
}

// The figures: worker processes (this binary again) against one server and one Redis.

/// The role of a worker process, when this binary is started as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_worker() {
    let Ok(role) = std::env::var("ATK_FLEET_WORKER") else {
        return;
    };
    let url = std::env::var("ATK_SERVER").unwrap();
    let seconds: u64 = std::env::var("ATK_SECONDS").unwrap().parse().unwrap();
    let redis = std::env::var("ATK_REDIS").ok().filter(|r| !r.is_empty());
    let fleet = match &redis {
        Some(redis) => Some(Fleet::redis(redis).name(&role).connect().await.unwrap()),
        None => None,
    };
    let settings = match role.as_str() {
        "quota" => paced(),
        _ => RetrySettings {
            max_retries: 3,
            backoff_factor: 0.0,
            retry_budget: Some(RetryBudget {
                ratio: 0.1,
                min_per_second: 5,
                window: Duration::from_secs(10),
            }),
            ..RetrySettings::default()
        },
    };
    let mut builder = Session::builder().retry_settings(settings);
    if let Some(fleet) = &fleet {
        builder = builder.fleet(fleet);
    }
    let session = builder.build().unwrap();
    let started = Instant::now();
    let (mut calls, mut errors) = (0u64, 0u64);
    while started.elapsed() < Duration::from_secs(seconds) {
        match session.get(&url).send().await {
            Ok(_) => {}
            Err(_) => errors += 1,
        }
        calls += 1;
        if role == "storm" {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let stats = session.stats();
    println!(
        "RESULT calls={calls} errors={errors} attempts={} fallbacks={}",
        stats.attempts, stats.fleet_fallbacks
    );
}

/// What one worker process reported.
#[derive(Debug, Default)]
struct Report {
    calls: u64,
    errors: u64,
    fallbacks: u64,
}

/// Starts `n` worker processes in `role` against `server`, with Redis or without; their
/// reports once they end.
fn workers(n: usize, role: &str, server: &str, redis: Option<&str>, seconds: u64) -> Vec<Report> {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(&exe)
                .args(["fleet_worker", "--exact", "--nocapture", "--test-threads=1"])
                .env("ATK_FLEET_WORKER", role)
                .env("ATK_SERVER", server)
                .env("ATK_SECONDS", seconds.to_string())
                .env("ATK_REDIS", redis.unwrap_or(""))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            let line = text
                .lines()
                .find_map(|l| l.find("RESULT ").map(|at| &l[at..]))
                .unwrap_or_else(|| panic!("a worker's report: {text}"));
            let field = |name: &str| -> u64 {
                line.split(' ')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            Report {
                calls: field("calls"),
                errors: field("errors"),
                fallbacks: field("fallbacks"),
            }
        })
        .collect()
}

fn seconds() -> u64 {
    std::env::var("ATK_FLEET_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_workers_share_a_quota_of_100_per_10_s() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let seconds = seconds();
    let (shared, alone) = (
        QuotaServer::start(100, Duration::from_secs(10)).await,
        QuotaServer::start(100, Duration::from_secs(10)).await,
    );
    let (with, without) = {
        let (s, a, r) = (shared.url("/"), alone.url("/"), redis.url());
        let with = tokio::task::spawn_blocking(move || workers(8, "quota", &s, Some(&r), seconds));
        let without = tokio::task::spawn_blocking(move || workers(8, "quota", &a, None, seconds));
        (with.await.unwrap(), without.await.unwrap())
    };
    let share = |server: &QuotaServer| {
        let all = server.ok() + server.limited();
        (
            server.limited(),
            all,
            server.limited() as f64 / all.max(1) as f64,
        )
    };
    let (limited, all, ratio) = share(&shared);
    let (limited_alone, all_alone, ratio_alone) = share(&alone);
    eprintln!(
        "quota 100/10 s, 8 workers, {seconds} s: with Redis {limited} of {all} responses 429 \
         ({:.2}%); without {limited_alone} of {all_alone} ({:.2}%)",
        ratio * 100.0,
        ratio_alone * 100.0
    );
    let fallbacks: u64 = with.iter().map(|r| r.fallbacks).sum();
    eprintln!("  the fleet's workers fell back {fallbacks} times");
    assert!(with.iter().all(|r| r.errors == 0), "{with:?}");
    assert!(without.iter().all(|r| r.calls > 0));
    assert!(ratio <= 0.01, "at most 1% of responses are 429: {ratio}");
    assert!(shared.ok() >= 100 * (seconds / 10) / 2, "the quota is used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_storm_across_eight_workers_is_bounded_by_the_fleets_budget() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (shared, alone) = (
        TestServer::start(vec![Reply::status(503)]).await,
        TestServer::start(vec![Reply::status(503)]).await,
    );
    let (with, without) = {
        let (s, a, r) = (shared.url("/"), alone.url("/"), redis.url());
        let with = tokio::task::spawn_blocking(move || workers(8, "storm", &s, Some(&r), 3));
        let without = tokio::task::spawn_blocking(move || workers(8, "storm", &a, None, 3));
        (with.await.unwrap(), without.await.unwrap())
    };
    let amplification = |reports: &[Report], server: &TestServer| {
        let calls: u64 = reports.iter().map(|r| r.calls).sum();
        server.count() as f64 / calls.max(1) as f64
    };
    let (fleet_wide, local) = (
        amplification(&with, &shared),
        amplification(&without, &alone),
    );
    eprintln!(
        "retry storm, 8 workers, 3 s: amplification {fleet_wide:.3} with the fleet's budget, \
         {local:.3} with each its own"
    );
    let fallbacks: u64 = with.iter().map(|r| r.fallbacks).sum();
    eprintln!("  the fleet's workers fell back {fallbacks} times");
    assert!(fleet_wide <= 1.2, "{fleet_wide}");
}
