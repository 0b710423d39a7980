//! `pacing`: a host's rate-limit headers hold the session's calls to it once nothing remains,
//! so that the client avoids the 429 rather than meets it; what the servers received is
//! counted by the servers. Timings are bounds with margin.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api_toolkit::{
    CallRecord, ErrorKind, GiveUp, Pacing, RateLimitReset, ResetForm, RetrySettings,
    RetrySettingsPatch, Session, WaitSource,
};
use testkit::{Reply, TestServer};
use tokio::time::Instant;

fn paced(spread: bool) -> RetrySettings {
    RetrySettings {
        pacing: Some(Pacing { spread }),
        ..RetrySettings::default()
    }
}

/// A server with a quota of `limit` requests per `window` (fixed windows from its start) that
/// answers 429 past it, and says so in the IETF draft's fields (`t` rounded up to whole
/// seconds, as an integer field must be).
struct Quota {
    start: std::time::Instant,
    window: Duration,
    limit: u64,
    /// The window's number and the requests it has served.
    used: Mutex<(u128, u64)>,
    ok: AtomicU64,
    refused: AtomicU64,
}

impl Quota {
    fn new(limit: u64, window: Duration) -> Arc<Quota> {
        Arc::new(Quota {
            start: std::time::Instant::now(),
            window,
            limit,
            used: Mutex::new((0, 0)),
            ok: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
    }

    fn reply(&self) -> Reply {
        let elapsed = self.start.elapsed();
        let index = elapsed.as_nanos() / self.window.as_nanos();
        let mut used = self.used.lock().unwrap();
        if used.0 != index {
            *used = (index, 0);
        }
        let ends = self.window.as_nanos() * (index + 1);
        let left = Duration::from_nanos((ends - elapsed.as_nanos()) as u64);
        let t = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        let policy = format!("\"default\";q={};w={}", self.limit, self.window.as_secs());
        if used.1 >= self.limit {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Reply::status(429)
                .header("ratelimit", &format!("\"default\";r=0;t={t}"))
                .header("ratelimit-policy", &policy);
        }
        used.1 += 1;
        self.ok.fetch_add(1, Ordering::Relaxed);
        let r = self.limit - used.1;
        Reply::status(200)
            .header("ratelimit", &format!("\"default\";r={r};t={t}"))
            .header("ratelimit-policy", &policy)
    }

    async fn serve(self: &Arc<Quota>) -> TestServer {
        let quota = Arc::clone(self);
        TestServer::handle(move |_, _| quota.reply()).await
    }
}

/// The issue's figure: 4 concurrent tasks on one session against a quota of 50 requests per
/// 5 s window: no 429 in 30 s, and at least 270 of the 300 requests the quota allows.
/// `PACING_FIGURE_SECS` shortens or lengthens the run (the bound scales with it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_tasks_stay_within_the_quota_without_a_429() {
    let secs: u64 = std::env::var("PACING_FIGURE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let quota = Quota::new(50, Duration::from_secs(5));
    let server = quota.serve().await;
    let session = Session::new(paced(false)).unwrap();
    let end = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (session, url) = (session.clone(), server.url("/items"));
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while let Ok(result) = tokio::time::timeout_at(end, session.get(&url).send()).await
                {
                    statuses.push(result.expect("no call fails").status().as_u16());
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.extend(task.await.unwrap());
    }
    let (ok, refused) = (
        quota.ok.load(Ordering::Relaxed),
        quota.refused.load(Ordering::Relaxed),
    );
    let possible = 50 * secs.div_ceil(5);
    println!(
        "pacing figure: {ok} of {possible} possible in {secs} s, {refused} 429s; paced attempts {}, paced time {:?}",
        session.stats().paced_attempts,
        session.stats().paced_time
    );
    assert_eq!(refused, 0, "the server answered 429");
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert!(ok * 10 >= possible * 9, "{ok} of {possible}: below 90%");
    if secs > 5 {
        assert!(
            session.stats().paced_attempts > 0,
            "held at each window's end"
        );
    }
}

/// Four tasks race for the last two units: the server receives two of them before the reset,
/// not four, and never answers 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_calls_do_not_overshoot_the_last_units() {
    let quota = Quota::new(3, Duration::from_secs(2));
    let server = quota.serve().await;
    let session = Session::new(paced(false)).unwrap();
    // Wait for the start of a window with time to spare in it.
    session.get(server.url("/")).send().await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (session, url) = (session.clone(), server.url("/"));
            tokio::spawn(async move { session.get(&url).send().await.unwrap().status() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(quota.refused.load(Ordering::Relaxed), 0);
    assert_eq!(server.count(), 5);
}

fn epoch_in(secs: u64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    (now.as_secs() + secs).to_string()
}

/// A family's name, the fields of a response that spends the quota, and `rate_limit_reset`.
type Family = (
    &'static str,
    Vec<(&'static str, String)>,
    Option<RateLimitReset>,
);

/// Each family of fields, saying that nothing remains for about 1 s: the next call is held,
/// then sent; its record says pacing held it.
#[tokio::test]
async fn each_header_family_is_parsed_and_honoured() {
    let delta = RateLimitReset {
        form: ResetForm::DeltaSeconds,
        ..RateLimitReset::github()
    };
    let families: [Family; 5] = [
        (
            "RateLimit",
            vec![
                ("ratelimit", "\"default\";r=0;t=1".into()),
                ("ratelimit-policy", "\"default\";q=10;w=1".into()),
            ],
            None,
        ),
        (
            "RateLimit-Remaining/-Reset",
            vec![
                ("ratelimit-limit", "10".into()),
                ("ratelimit-remaining", "0".into()),
                ("ratelimit-reset", "1".into()),
            ],
            None,
        ),
        (
            "X-RateLimit epoch",
            vec![
                ("x-ratelimit-limit", "10".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "epoch+2".into()),
            ],
            None,
        ),
        (
            "X-RateLimit epoch, GitHub's setting",
            vec![
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "epoch+2".into()),
            ],
            Some(RateLimitReset::github()),
        ),
        (
            "X-RateLimit delta",
            vec![
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "1".into()),
            ],
            Some(delta),
        ),
    ];
    for (family, headers, reset) in families {
        let mut spent = Reply::status(200);
        for (name, value) in &headers {
            // An instant in epoch seconds, 1 to 2 s from now.
            let value = if value == "epoch+2" {
                epoch_in(2)
            } else {
                value.clone()
            };
            spent = spent.header(name, &value);
        }
        let server = TestServer::start(vec![spent, Reply::status(200)]).await;
        let session = Session::new(RetrySettings {
            rate_limit_reset: reset,
            ..paced(false)
        })
        .unwrap();
        session.get(server.url("/")).send().await.unwrap();
        let started = Instant::now();
        let response = session.get(server.url("/")).send().await.unwrap();
        let held = started.elapsed();
        assert!(
            held >= Duration::from_millis(500) && held < Duration::from_secs(5),
            "{family}: held {held:?}"
        );
        let attempt = CallRecord::of(&response).attempts()[0];
        assert_eq!(attempt.wait_source(), WaitSource::Pacing, "{family}");
        assert!(
            attempt.wait_before() >= Duration::from_millis(500),
            "{family}"
        );
        assert_eq!(server.count(), 2, "{family}");
        let stats = session.stats();
        assert_eq!(stats.paced_attempts, 1, "{family}");
        assert!(stats.paced_time >= Duration::from_millis(500), "{family}");
    }
}

/// A host whose quota is spent holds only its own calls: another host's are sent at once,
/// while the first host's call waits for its reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_on_one_host_never_stalls_another() {
    let limited = TestServer::start(vec![
        Reply::status(200).header("ratelimit", "\"default\";r=0;t=2"),
        Reply::status(200),
    ])
    .await;
    let free = TestServer::handle(|_, _| Reply::status(200)).await;
    let session = Session::new(paced(false)).unwrap();
    session.get(limited.url("/")).send().await.unwrap();
    let held = tokio::spawn({
        let (session, url) = (session.clone(), limited.url("/"));
        async move {
            let started = Instant::now();
            session.get(&url).send().await.unwrap();
            started.elapsed()
        }
    });
    let started = Instant::now();
    for _ in 0..20 {
        session.get(free.url("/")).send().await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(free.count(), 20);
    assert_eq!(limited.count(), 1, "the limited host's call is still held");
    let held = held.await.unwrap();
    assert!(held >= Duration::from_millis(1500), "{held:?}");
    assert_eq!(limited.count(), 2);
}

/// A reset later than `retry_after_max`: the call ends at once, nothing sent, with a kind and
/// a give-up reason of its own.
#[tokio::test]
async fn a_hold_past_retry_after_max_ends_the_call_unsent() {
    let (captured, _guard) = testkit::capture_tracing();
    let server = TestServer::start(vec![
        Reply::status(200).header("ratelimit", "\"d\";r=0;t=60")
    ])
    .await;
    let session = Session::new(RetrySettings {
        retry_after_max: Duration::from_secs(10),
        ..paced(false)
    })
    .unwrap();
    session.get(server.url("/")).send().await.unwrap();
    let started = Instant::now();
    let error = session.get(server.url("/")).send().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.count(), 1, "nothing sent");
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert!(error.is_rate_limited() && !error.is_circuit_open());
    assert_eq!(error.attempt_count(), 0);
    assert_eq!(error.record().give_up(), Some(GiveUp::RateLimited));
    assert!(
        error
            .to_string()
            .starts_with("rate limit of http://127.0.0.1:"),
        "{error}"
    );
    let stats = session.stats();
    assert_eq!(
        (stats.calls, stats.pacing_refusals),
        (1, 1),
        "a refused call is no call"
    );
    let log = captured.text();
    assert!(
        log.contains("rate limit spent: calls held until the reset"),
        "{log}"
    );
    assert!(log.contains("rate limit spent: not sent"), "{log}");
}

/// A reset at or after the call's deadline: the call ends at once, nothing sent.
#[tokio::test]
async fn a_hold_past_the_deadline_ends_the_call_unsent() {
    let server =
        TestServer::start(vec![Reply::status(200).header("ratelimit", "\"d\";r=0;t=5")]).await;
    let session = Session::new(paced(false)).unwrap();
    session.get(server.url("/")).send().await.unwrap();
    let started = Instant::now();
    let error = session
        .get(server.url("/"))
        .retry_settings(RetrySettings {
            total_timeout: Some(Duration::from_secs(2)),
            ..paced(false)
        })
        .send()
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(error.is_rate_limited());
    assert_eq!((error.attempt_count(), server.count()), (0, 1));
}

/// A 429 whose quota resets later than `retry_after_max`: the retry is not sent; the call
/// ends as exhaustion would, with the 429 in hand and the reason in its record.
#[tokio::test]
async fn a_retry_held_too_long_ends_the_call_as_exhaustion_would() {
    let server = TestServer::start(vec![
        Reply::status(429).header("ratelimit", "\"d\";r=0;t=60"),
        Reply::status(200),
    ])
    .await;
    let session = Session::new(RetrySettings {
        max_retries: 2,
        backoff_factor: 0.0,
        retry_after_max: Duration::from_secs(10),
        ..paced(false)
    })
    .unwrap();
    let response = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let record = CallRecord::of(&response);
    assert_eq!(record.give_up(), Some(GiveUp::RateLimited));
    assert_eq!(record.attempt_count(), 1);
    assert_eq!(server.count(), 1);
    assert_eq!(session.stats().pacing_refusals, 1);
    // With raise_on_status, the same as exhaustion: an error holding the 429.
    let error = session
        .get(server.url("/"))
        .retry_settings(RetrySettings {
            raise_on_status: true,
            max_retries: 2,
            retry_after_max: Duration::from_secs(120),
            ..paced(false)
        })
        .no_pacing()
        .send()
        .await;
    assert!(error.is_ok(), "no_pacing: sent, and the script's 200");
}

/// `no_pacing`: sent at once whatever the quota says.
#[tokio::test]
async fn no_pacing_sends_at_once() {
    let server = TestServer::start(vec![
        Reply::status(200).header("ratelimit", "\"d\";r=0;t=60"),
        Reply::status(200),
        Reply::status(200),
    ])
    .await;
    let session = Session::new(RetrySettings {
        retry_after_max: Duration::from_secs(10),
        ..paced(false)
    })
    .unwrap();
    session.get(server.url("/")).send().await.unwrap();
    let started = Instant::now();
    session
        .get(server.url("/"))
        .no_pacing()
        .send()
        .await
        .unwrap();
    session
        .get(server.url("/"))
        .no_retry()
        .no_pacing()
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.count(), 3);
    assert!(session
        .get(server.url("/"))
        .send()
        .await
        .unwrap_err()
        .is_rate_limited());
}

/// Malformed fields are ignored: every call is sent at once.
#[tokio::test]
async fn malformed_headers_are_ignored() {
    let bad = [
        ("ratelimit", "\"default\";r=zero;t=30"),
        ("ratelimit", "\"default\";r=-1;t=30"),
        ("ratelimit", "\"unterminated;r=0;t=30"),
        ("ratelimit", "r=0, t=30"),
        ("ratelimit-remaining", "none"),
        ("ratelimit-remaining", "-0"),
        ("x-ratelimit-remaining", "0x0"),
        ("x-ratelimit-remaining", "1e0"),
    ];
    let script: Vec<Reply> = bad
        .iter()
        .map(|(name, value)| {
            Reply::status(200)
                .header(name, value)
                .header("ratelimit-reset", "30")
        })
        .chain([
            // Nothing remains, but no reset to wait for, or one that is not plausible.
            Reply::status(200).header("ratelimit-remaining", "0"),
            Reply::status(200)
                .header("ratelimit-remaining", "0")
                .header("ratelimit-reset", "soon"),
            Reply::status(200)
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", "99999999999999999999"),
            Reply::status(200),
        ])
        .collect();
    let calls = script.len();
    let server = TestServer::start(script).await;
    let session = Session::new(paced(true)).unwrap();
    let started = Instant::now();
    for _ in 0..calls {
        session.get(server.url("/")).send().await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.count(), calls);
    assert_eq!(session.stats().paced_attempts, 0);
}

/// Without pacing (the default), the fields change nothing: calls are sent at once.
#[tokio::test]
async fn without_pacing_nothing_changes() {
    let server =
        TestServer::handle(|_, _| Reply::status(200).header("ratelimit", "\"d\";r=0;t=60")).await;
    let session = Session::new(RetrySettings::default()).unwrap();
    let started = Instant::now();
    for _ in 0..5 {
        let response = session.get(server.url("/")).send().await.unwrap();
        let attempt = CallRecord::of(&response).attempts()[0];
        assert_eq!(attempt.wait_source(), WaitSource::None);
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.count(), 5);
    let stats = session.stats();
    assert_eq!((stats.paced_attempts, stats.pacing_refusals), (0, 0));
    assert_eq!(stats.paced_time, Duration::ZERO);
}

/// With `spread`, what remains is spread over the time left: ten units over 2 s, one call at
/// a time, take at least about a second and a half, without a 429.
#[tokio::test]
async fn spread_spaces_calls_over_the_window() {
    let quota = Quota::new(10, Duration::from_secs(2));
    let server = quota.serve().await;
    let session = Session::new(paced(true)).unwrap();
    let started = Instant::now();
    for _ in 0..8 {
        session.get(server.url("/")).send().await.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(quota.refused.load(Ordering::Relaxed), 0);
    // Seven gaps of (time left / remaining): at least 7 × 2 s / 10 less the first response's
    // share of the window, with margin.
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(session.stats().paced_attempts >= 6);
}

/// Settings errors name the field, in serde and in a patch.
#[test]
fn settings_errors_name_the_field() {
    for (json, needle) in [
        (
            r#"{"pacing": {"spread": "yes"}}"#,
            "invalid retry setting `pacing.spread`",
        ),
        (
            r#"{"pacing": {"spred": true}}"#,
            "unknown retry setting `pacing.spred`",
        ),
        (r#"{"pacing": 1}"#, "invalid retry setting `pacing`"),
    ] {
        let error = serde_json::from_str::<RetrySettings>(json)
            .unwrap_err()
            .to_string();
        assert!(error.contains(needle), "{json}: {error}");
        let error = serde_json::from_str::<RetrySettingsPatch>(json)
            .unwrap_err()
            .to_string();
        assert!(error.contains(needle), "{json}: {error}");
    }
    let settings: RetrySettings = serde_json::from_str(r#"{"pacing": {"spread": true}}"#).unwrap();
    assert_eq!(settings.pacing, Some(Pacing { spread: true }));
    assert!(Session::new(settings).is_ok());
}

/// The blocking front end: the same engine, so the same hold and refusal; `no_pacing` too.
#[test]
fn blocking_calls_are_paced_and_can_opt_out() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TestServer::start(vec![
        Reply::status(200)
            .header("ratelimit-remaining", "0")
            .header("ratelimit-reset", "60"),
        Reply::status(200),
    ]));
    let session = api_toolkit::blocking::Session::new(RetrySettings {
        retry_after_max: Duration::from_secs(10),
        ..paced(false)
    })
    .unwrap();
    session.get(server.url("/")).send().unwrap();
    let error = session.get(server.url("/")).send().unwrap_err();
    assert!(error.is_rate_limited());
    assert_eq!(server.count(), 1, "nothing sent");
    session.get(server.url("/")).no_pacing().send().unwrap();
    assert_eq!(server.count(), 2);
    drop(server);
}
