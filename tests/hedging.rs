//! `hedging`: a copy of a slow attempt, the first acceptable answer wins. What each test asserts
//! is what the server received (how many requests, which methods and keys) and which
//! connections the client closed before their answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_toolkit::reqwest::{self, Body};
use api_toolkit::{
    AttemptOutcome, CallRecord, GiveUp, Hedging, Method, RetryBudget, RetrySettings, Session,
    StatusCode, WaitSource,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use testkit::{capture_tracing, read_request, Received};

/// What the server does with one request: answer `status` after `delay`.
#[derive(Clone, Copy, Debug)]
struct Answer {
    status: u16,
    delay: Duration,
}

fn ok(ms: u64) -> Answer {
    Answer {
        status: 200,
        delay: Duration::from_millis(ms),
    }
}

fn status(status: u16, ms: u64) -> Answer {
    Answer {
        status,
        delay: Duration::from_millis(ms),
    }
}

type Plan = Box<dyn Fn(&Received, usize) -> Answer + Send + Sync>;

struct State {
    plan: Plan,
    received: Mutex<Vec<Received>>,
    /// Requests whose connection the client closed before the answer was due.
    cancelled: AtomicUsize,
}

/// An HTTP/1.1 server on 127.0.0.1 that answers each request as `plan` says, given the request
/// and how many came before it, and notices a client that closes the connection while it waits.
struct Server {
    addr: std::net::SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(plan: impl Fn(&Received, usize) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            plan: Box::new(plan),
            received: Mutex::default(),
            cancelled: AtomicUsize::new(0),
        });
        let accepting = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(BufReader::new(stream), Arc::clone(&accepting)));
            }
        });
        Server { addr, state, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.state.received.lock().unwrap().len()
    }

    fn count_path(&self, path: &str) -> usize {
        self.received().iter().filter(|r| r.path == path).count()
    }

    fn cancelled(&self) -> usize {
        self.state.cancelled.load(Ordering::SeqCst)
    }

    /// Waits (at most 2 s) until the server has seen `n` connections closed before their answer.
    async fn cancelled_reaches(&self, n: usize) -> usize {
        let until = Instant::now() + Duration::from_secs(2);
        while self.cancelled() < n && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.cancelled()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut reader: BufReader<tokio::net::TcpStream>, state: Arc<State>) {
    while let Some(request) = read_request(&mut reader).await {
        let answer = {
            let mut received = state.received.lock().unwrap();
            let answer = (state.plan)(&request, received.len());
            received.push(request);
            answer
        };
        // The client closing the connection while the answer is due: a cancelled copy.
        let closed = async {
            loop {
                match reader.fill_buf().await {
                    Ok([]) | Err(_) => return,
                    Ok(_) => std::future::pending::<()>().await,
                }
            }
        };
        tokio::select! {
            () = tokio::time::sleep(answer.delay) => {}
            () = closed => {
                state.cancelled.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
        let head = format!(
            "HTTP/1.1 {} Whatever\r\ncontent-length: 0\r\n\r\n",
            answer.status
        );
        if reader.get_mut().write_all(head.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn hedging(delay_ms: u64, max_hedged: u32) -> Option<Hedging> {
    Some(Hedging {
        delay: Duration::from_millis(delay_ms),
        max_hedged,
        quantile: None,
    })
}

/// Retries allowed, one copy after 20 ms, and a short backoff.
fn settings() -> RetrySettings {
    RetrySettings {
        max_retries: 3,
        backoff_factor: 0.01,
        hedging: hedging(20, 1),
        ..RetrySettings::default()
    }
}

fn session(settings: RetrySettings) -> Session {
    Session::new(settings).unwrap()
}

/// Slow (500 ms) for the first request to each path, fast after.
fn first_per_path_slow() -> impl Fn(&Received, usize) -> Answer + Send + Sync + 'static {
    let seen = Mutex::new(std::collections::HashSet::new());
    move |request: &Received, _| {
        if seen.lock().unwrap().insert(request.path.clone()) {
            ok(500)
        } else {
            ok(0)
        }
    }
}

fn outcomes(record: &CallRecord) -> Vec<(AttemptOutcome, WaitSource)> {
    record
        .attempts()
        .iter()
        .map(|a| (a.outcome(), a.wait_source()))
        .collect()
}

const OK: AttemptOutcome = AttemptOutcome::Status(StatusCode::OK);

#[tokio::test]
async fn a_slow_get_is_hedged_the_copy_wins_and_the_first_is_cancelled() {
    let server = Server::start(first_per_path_slow()).await;
    let session = session(settings());
    let started = Instant::now();
    let response = session.get(server.url("/slow")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), 200);
    assert!(took < Duration::from_millis(400), "took {took:?}");
    assert_eq!(server.count(), 2, "the attempt and one copy");
    let record = CallRecord::of(&response);
    assert_eq!(
        outcomes(record),
        [
            (AttemptOutcome::Cancelled, WaitSource::None),
            (OK, WaitSource::Hedge)
        ]
    );
    let copy = record.attempts()[1].wait_before();
    assert!(copy >= Duration::from_millis(20), "{copy:?}");
    assert_eq!(record.give_up(), None);
    let stats = session.stats();
    assert_eq!(
        (stats.calls, stats.attempts, stats.hedges, stats.hedges_won),
        (1, 2, 1, 1)
    );
    assert_eq!(stats.retries(), 0, "a copy is no retry");
    assert_eq!(
        server.cancelled_reaches(1).await,
        1,
        "the slow attempt's connection was closed before its answer"
    );
}

#[tokio::test]
async fn fast_answers_send_no_copy() {
    let server = Server::start(|_, _| ok(0)).await;
    let session = session(settings());
    for _ in 0..20 {
        let response = session.get(server.url("/fast")).send().await.unwrap();
        assert_eq!(CallRecord::of(&response).attempt_count(), 1);
    }
    assert_eq!(server.count(), 20);
    assert_eq!(session.stats().hedges, 0);
    assert_eq!(server.cancelled(), 0);
}

#[tokio::test]
async fn only_idempotent_methods_of_allowed_methods_and_keyed_posts_are_hedged() {
    let server = Server::start(first_per_path_slow()).await;
    let session = session(settings());
    let hedged = [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::PUT,
        Method::DELETE,
    ];
    for method in hedged {
        let path = format!("/{method}");
        let response = session
            .request(method.clone(), server.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(server.count_path(&path), 2, "{method} hedged");
    }
    for method in [Method::POST, Method::PATCH] {
        let path = format!("/{method}/unkeyed");
        session
            .request(method.clone(), server.url(&path))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(server.count_path(&path), 1, "{method} without a key");

        let path = format!("/{method}/keyed");
        session
            .request(method.clone(), server.url(&path))
            .header("idempotency-key", "\"order-7\"")
            .body("{}")
            .send()
            .await
            .unwrap();
        let keys: Vec<_> = server
            .received()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| {
                (
                    r.header("idempotency-key").map(str::to_owned),
                    r.body.clone(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            vec![(Some("\"order-7\"".to_owned()), b"{}".to_vec()); 2],
            "{method} with a key: hedged, the same key and body on both"
        );
    }
    // A method outside allowed_methods, and a method that is not idempotent.
    let only_get = RetrySettings {
        allowed_methods: vec![Method::GET, Method::POST, Method::CONNECT],
        ..settings()
    };
    let path = "/PUT/not-allowed";
    session
        .put(server.url(path))
        .retry_settings(only_get.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(server.count_path(path), 1, "PUT outside allowed_methods");
    let path = "/POST/allowed-unkeyed";
    session
        .post(server.url(path))
        .retry_settings(only_get)
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.count_path(path),
        1,
        "POST in allowed_methods without a key"
    );
}

#[tokio::test]
async fn a_generated_idempotency_key_is_the_same_on_every_copy() {
    let server = Server::start(first_per_path_slow()).await;
    let session = session(RetrySettings {
        idempotency_key: true,
        ..settings()
    });
    session
        .post(server.url("/charges"))
        .body("amount=500")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = server
        .received()
        .iter()
        .map(|r| r.header("idempotency-key").map(str::to_owned))
        .collect();
    assert_eq!(keys.len(), 2, "hedged once keyed");
    assert!(keys[0].is_some() && keys[0] == keys[1], "{keys:?}");
}

#[tokio::test]
async fn a_streaming_body_is_never_hedged_whatever_replay_limit_says() {
    let server = Server::start(first_per_path_slow()).await;
    let session = session(RetrySettings {
        replay_limit: 1 << 20,
        ..settings()
    });
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(b"a"), Ok(b"b")];
    let response = session
        .put(server.url("/stream"))
        .body(Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 1);
    assert_eq!(session.stats().hedges, 0);
}

#[tokio::test]
async fn a_retryable_answer_does_not_win_the_attempt_still_in_flight_does() {
    // The attempt answers 200 after 200 ms; its copy answers 503 at once.
    let server = Server::start(|_, n| if n == 0 { ok(200) } else { status(503, 0) }).await;
    let session = session(settings());
    let response = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        server.count(),
        2,
        "no retry: the attempt was still in flight"
    );
    let record = CallRecord::of(&response);
    assert_eq!(
        outcomes(record),
        [
            (
                AttemptOutcome::Status(StatusCode::SERVICE_UNAVAILABLE),
                WaitSource::Hedge
            ),
            (OK, WaitSource::None),
        ]
    );
    let stats = session.stats();
    assert_eq!((stats.hedges, stats.hedges_won, stats.retries()), (1, 0, 0));
    assert_eq!(server.cancelled(), 0);
}

#[tokio::test]
async fn when_every_attempt_of_a_round_is_retryable_the_usual_rules_retry() {
    // The attempt: 503 after 100 ms; its copy: 503 at once; the retry: 200 at once.
    let server = Server::start(|_, n| match n {
        0 => status(503, 100),
        1 => status(503, 0),
        _ => ok(0),
    })
    .await;
    let session = session(settings());
    let response = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 3);
    let record = CallRecord::of(&response);
    let unavailable = AttemptOutcome::Status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        outcomes(record),
        [
            (unavailable, WaitSource::Hedge),
            (unavailable, WaitSource::None),
            (OK, WaitSource::Backoff),
        ]
    );
    let stats = session.stats();
    assert_eq!((stats.attempts, stats.hedges, stats.retries()), (3, 1, 1));
    assert_eq!(stats.hedges_won, 0, "the retry answered");

    // The copies took the retries: the last one is sent alone, and its answer is no copy's win.
    let server = Server::start(|_, n| match n {
        0 => status(503, 100),
        1 => status(503, 0),
        _ => ok(0),
    })
    .await;
    let session = Session::new(RetrySettings {
        max_retries: 2,
        ..settings()
    })
    .unwrap();
    let response = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 3);
    let stats = session.stats();
    assert_eq!((stats.attempts, stats.hedges, stats.hedges_won), (3, 1, 0));
}

#[tokio::test]
async fn copies_count_against_max_retries() {
    let server = Server::start(|_, _| status(503, 100)).await;
    // One retry allowed, three copies asked for: one copy, then the retries are spent.
    let session = session(RetrySettings {
        max_retries: 1,
        hedging: hedging(10, 3),
        ..settings()
    });
    let response = session.get(server.url("/a")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        server.count_path("/a"),
        2,
        "1 + max_retries attempts in all"
    );
    let record = CallRecord::of(&response);
    assert_eq!(record.attempt_count(), 2);
    assert_eq!(record.give_up(), Some(GiveUp::Exhausted));

    // No retry: no copy.
    let started = Instant::now();
    let response = session
        .get(server.url("/b"))
        .no_retry()
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(server.count_path("/b"), 1);
    let none = Session::new(RetrySettings {
        max_retries: 0,
        ..settings()
    })
    .unwrap();
    none.get(server.url("/c")).send().await.unwrap();
    assert_eq!(server.count_path("/c"), 1, "max_retries 0");
    assert_eq!(none.stats().hedges, 0);
}

#[tokio::test]
async fn copies_count_against_the_retry_budget() {
    let server = Server::start(first_per_path_slow()).await;
    let session = session(RetrySettings {
        retry_budget: Some(RetryBudget {
            ratio: 0.0,
            min_per_second: 0,
            ..RetryBudget::default()
        }),
        ..settings()
    });
    let started = Instant::now();
    let response = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(500), "no copy");
    assert_eq!(server.count(), 1, "the budget refused the copy");
    assert_eq!(session.stats().hedges, 0);

    // With room in the budget, the copy goes.
    let server = Server::start(first_per_path_slow()).await;
    let session = Session::new(RetrySettings {
        retry_budget: Some(RetryBudget {
            ratio: 0.0,
            min_per_second: 1,
            ..RetryBudget::default()
        }),
        ..settings()
    })
    .unwrap();
    session.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn no_hedging_leaves_one_call_unhedged() {
    let server = Server::start(first_per_path_slow()).await;
    let session = session(settings());
    let response = session
        .get(server.url("/opt-out"))
        .no_hedging()
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count_path("/opt-out"), 1);
    // Whatever order the per-request adjustments come in.
    session
        .get(server.url("/own-settings"))
        .no_hedging()
        .retry_settings(settings())
        .send()
        .await
        .unwrap();
    session
        .get(server.url("/classified"))
        .no_hedging()
        .no_circuit_breaker()
        .classify(api_toolkit::Classifier::new(|_| {
            api_toolkit::Verdict::Defer
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(server.count_path("/own-settings"), 1);
    assert_eq!(server.count_path("/classified"), 1);
    // The same session hedges its other calls.
    session.get(server.url("/hedged")).send().await.unwrap();
    assert_eq!(server.count_path("/hedged"), 2);
}

#[tokio::test]
async fn without_hedging_nothing_changes() {
    let server = Server::start(first_per_path_slow()).await;
    let session = session(RetrySettings {
        hedging: None,
        ..settings()
    });
    let started = Instant::now();
    let response = session.get(server.url("/")).send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(server.count(), 1);
    let record = CallRecord::of(&response);
    assert_eq!(outcomes(record), [(OK, WaitSource::None)]);
    let stats = session.stats();
    assert_eq!((stats.attempts, stats.hedges, stats.hedges_won), (1, 0, 0));
}

#[tokio::test]
async fn losers_are_cancelled_and_the_server_sees_at_most_one_plus_max_hedged() {
    // Three slow answers, then fast ones: the attempt, two copies, and a third copy that wins.
    let server = Server::start(|_, n| if n < 3 { ok(800) } else { ok(0) }).await;
    let session = session(RetrySettings {
        max_retries: 5,
        hedging: hedging(15, 3),
        ..settings()
    });
    let response = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 4, "1 + max_hedged");
    let record = CallRecord::of(&response);
    assert_eq!(
        outcomes(record),
        [
            (AttemptOutcome::Cancelled, WaitSource::None),
            (AttemptOutcome::Cancelled, WaitSource::Hedge),
            (AttemptOutcome::Cancelled, WaitSource::Hedge),
            (OK, WaitSource::Hedge),
        ]
    );
    assert_eq!(
        server.cancelled_reaches(3).await,
        3,
        "every loser's connection closed"
    );
    let stats = session.stats();
    assert_eq!((stats.hedges, stats.hedges_won), (3, 1));

    // All slow: never more than 1 + max_hedged at once, whatever the wait.
    let server = Server::start(|_, _| ok(300)).await;
    let response = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn an_adaptive_delay_follows_the_hosts_recent_latency() {
    // Answers spread over 10..=28 ms, and 300 ms for every 20th request.
    let server = Server::start(|_, n| {
        if n % 20 == 19 {
            ok(300)
        } else {
            ok(10 + 2 * (n as u64 % 10))
        }
    })
    .await;
    let url = server.url("/adaptive");
    // A fixed 2 ms delay: a copy for nearly every call.
    let fixed = session(RetrySettings {
        hedging: hedging(2, 1),
        ..settings()
    });
    for _ in 0..20 {
        fixed.get(&url).send().await.unwrap();
    }
    assert!(fixed.stats().hedges >= 15, "{:?}", fixed.stats());

    // The host's 90th percentile, at least 2 ms: once 20 latencies are known, copies go only to
    // the slowest calls.
    let adaptive = session(RetrySettings {
        hedging: Some(Hedging {
            quantile: Some(0.9),
            ..hedging(2, 1).unwrap()
        }),
        ..settings()
    });
    for _ in 0..30 {
        adaptive.get(&url).send().await.unwrap();
    }
    let before = adaptive.stats().hedges;
    let (mut slowest, mut copy_waits) = (Duration::ZERO, Vec::new());
    for _ in 0..60 {
        let started = Instant::now();
        let response = adaptive.get(&url).send().await.unwrap();
        slowest = slowest.max(started.elapsed());
        let record = CallRecord::of(&response);
        copy_waits.extend(
            record
                .attempts()
                .iter()
                .filter(|a| a.wait_source() == WaitSource::Hedge)
                .map(|a| a.wait_before()),
        );
    }
    let copies = adaptive.stats().hedges - before;
    assert!(copies <= 20, "{copies} copies for 60 calls");
    assert!(!copy_waits.is_empty(), "the 300 ms answers were hedged");
    assert!(
        copy_waits.iter().all(|w| *w >= Duration::from_millis(10)),
        "each copy waited about the host's p90, not the 2 ms floor: {copy_waits:?}"
    );
    assert!(slowest < Duration::from_millis(200), "{slowest:?}");
}

#[tokio::test]
async fn each_copy_sent_is_an_event_of_the_call_span() {
    let server = Server::start(first_per_path_slow()).await;
    let (captured, _guard) = capture_tracing();
    let session = session(settings());
    session.get(server.url("/traced")).send().await.unwrap();
    let output = captured.text();
    let hedging: Vec<_> = output.lines().filter(|l| l.contains("hedging")).collect();
    assert_eq!(hedging.len(), 1, "{output}");
    assert!(hedging[0].contains("DEBUG"), "{output}");
    assert!(hedging[0].contains("http.client.request"), "{output}");
    assert!(hedging[0].contains("attempt=2"), "{output}");
    assert!(hedging[0].contains("in_flight=2"), "{output}");
}

#[tokio::test]
async fn settings_out_of_range_name_the_field() {
    for (hedging, field) in [
        (
            Hedging {
                delay: Duration::ZERO,
                max_hedged: 1,
                quantile: None,
            },
            "hedging.delay",
        ),
        (
            Hedging {
                delay: Duration::from_secs(7200),
                max_hedged: 1,
                quantile: None,
            },
            "hedging.delay",
        ),
        (
            Hedging {
                delay: Duration::from_millis(5),
                max_hedged: 0,
                quantile: None,
            },
            "hedging.max_hedged",
        ),
        (
            Hedging {
                delay: Duration::from_millis(5),
                max_hedged: 1000,
                quantile: None,
            },
            "hedging.max_hedged",
        ),
    ] {
        let settings = RetrySettings {
            hedging: Some(hedging),
            ..settings()
        };
        let error = Session::new(settings.clone()).unwrap_err();
        assert_eq!(error.settings_error().unwrap().field(), field);
        assert!(error.to_string().contains(field), "{error}");
        let json = serde_json::to_string(&settings).unwrap();
        let error = serde_json::from_str::<RetrySettings>(&json).unwrap_err();
        assert!(error.to_string().contains(field), "{error}");
    }
    let error = serde_json::from_str::<RetrySettings>(r#"{"hedging": {"delay": "0s"}}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("`hedging.delay` = 0"), "{error}");
}

#[tokio::test]
async fn the_tower_and_blocking_front_ends_hedge_the_middleware_does_not() {
    let server = Server::start(first_per_path_slow()).await;
    // A session over a tower service sends copies through clones of the service.
    let service = tower::ServiceBuilder::new().service(reqwest::Client::new());
    let over_service = Session::from_service(service, settings()).unwrap();
    over_service.get(server.url("/tower")).send().await.unwrap();
    assert_eq!(server.count_path("/tower"), 2);

    // A middleware chain's rest runs one attempt at a time: no copies.
    let middleware = api_toolkit::middleware::RetryMiddleware::new(settings()).unwrap();
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build();
    client.get(server.url("/middleware")).send().await.unwrap();
    assert_eq!(server.count_path("/middleware"), 1);

    let url = server.url("/blocking");
    let opt_out = server.url("/blocking-opt-out");
    tokio::task::spawn_blocking(move || {
        let session = api_toolkit::blocking::Session::new(settings()).unwrap();
        session.get(url).send().unwrap();
        session.get(opt_out).no_hedging().send().unwrap();
    })
    .await
    .unwrap();
    assert_eq!(server.count_path("/blocking"), 2);
    assert_eq!(server.count_path("/blocking-opt-out"), 1);
}

/// The p-th percentile (0..=100) of `sorted`.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// Sequential calls against a server whose answers take 1 ms, and 100 ms for every 20th
/// request: the latencies, sorted, and how many requests the server received.
async fn latencies(calls: usize, hedging: Option<Hedging>) -> (Vec<Duration>, usize) {
    let server = Server::start(|_, n| if n % 20 == 19 { ok(100) } else { ok(1) }).await;
    let session = session(RetrySettings {
        max_retries: 2,
        hedging,
        ..RetrySettings::default()
    });
    let url = server.url("/figure");
    let mut took = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let response = session.get(&url).send().await.unwrap();
        took.push(started.elapsed());
        assert_eq!(response.status(), 200);
    }
    took.sort();
    (took, server.count())
}

/// The issue's figure: 5% of answers take 100 ms; with a copy after 5 ms, p99 is at most 10 ms
/// (about 100 ms without), for at most 10% more requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figure_p99_within_10ms_with_a_5ms_hedge_for_at_most_10_percent_more_requests() {
    let (without, sent) = latencies(200, None).await;
    assert_eq!(sent, 200);
    let calls = 400;
    let (with, sent) = latencies(calls, hedging(5, 1)).await;
    let (p50, p99) = (percentile(&with, 50), percentile(&with, 99));
    let (p50_without, p99_without) = (percentile(&without, 50), percentile(&without, 99));
    eprintln!(
        "without hedging: p50 {p50_without:?} p99 {p99_without:?}; with a 5 ms hedge: p50 {p50:?} \
         p99 {p99:?}, {} extra requests for {calls} calls",
        sent - calls
    );
    assert!(p99_without >= Duration::from_millis(100), "{p99_without:?}");
    let extra = (sent - calls) as f64 / calls as f64;
    assert!(extra <= 0.10, "{} extra requests", sent - calls);
    // The bound is the issue's, plus what a loaded machine adds to every call (its p50 over
    // the server's 1 ms): the point is 10 ms rather than 100.
    let slack = p50.saturating_sub(Duration::from_millis(2));
    assert!(
        p99 <= Duration::from_millis(10) + slack * 2,
        "p99 {p99:?} (p50 {p50:?})"
    );
}

/// Between two features: a copy's cancelled loser ended for the call's sake, not the host's.
/// Throttling counts it so: a healthy host with a slow tail, hedged on every call, is not shed.
/// (Counted as a request and never as an answer, each loser would push the host toward being
/// throttled: with `k = 1.5`, after about as many hedged calls as answered ones.)
#[tokio::test]
async fn cancelled_copies_never_make_a_healthy_host_look_refusing() {
    // `/warm` answers at once; each `/tail/..` path is slow the first time.
    let slow = first_per_path_slow();
    let server = Server::start(move |request, n| {
        if request.path == "/warm" {
            ok(0)
        } else {
            slow(request, n)
        }
    })
    .await;
    let session = session(RetrySettings {
        throttling: Some(api_toolkit::Throttling {
            k: 1.5,
            ..api_toolkit::Throttling::default()
        }),
        ..settings()
    });
    // Answered calls first, so that no copy is ever the host's first request in flight.
    for _ in 0..10 {
        let response = session.get(server.url("/warm")).send().await;
        assert_eq!(response.unwrap().status(), 200);
    }
    for i in 0..40 {
        let response = session.get(server.url(&format!("/tail/{i}"))).send().await;
        assert_eq!(response.unwrap().status(), 200);
    }
    let stats = session.stats();
    assert_eq!(stats.throttle_refusals, 0, "{stats:?}");
    assert!(stats.hedges >= 40, "{stats:?}");
}
