//! `circuit_breaker`: a host that keeps failing is left alone for a while; what the server
//! received is counted by the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use api_toolkit::{CallRecord, CircuitBreaker, ErrorKind, GiveUp, RetrySettings, Session};
use testkit::{Reply, TestServer};

fn breaker(min_attempts: u32, break_ms: u64) -> CircuitBreaker {
    CircuitBreaker {
        failure_ratio: 0.5,
        min_attempts,
        window: Duration::from_secs(10),
        break_duration: Duration::from_millis(break_ms),
        ..CircuitBreaker::default()
    }
}

fn session(breaker: CircuitBreaker) -> Session {
    Session::new(RetrySettings {
        circuit_breaker: Some(breaker),
        ..RetrySettings::default()
    })
    .unwrap()
}

/// Sends calls until one is refused; panics after `most`.
async fn open(session: &Session, url: &str, most: usize) {
    for _ in 0..most {
        if let Err(error) = session.get(url).send().await {
            if error.is_circuit_open() {
                return;
            }
        }
    }
    panic!("the breaker did not open within {most} calls");
}

#[tokio::test]
async fn opens_at_the_ratio_with_the_minimum_attempts_and_sends_nothing_while_open() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = session(breaker(4, 60_000));
    for n in 1..=4 {
        let response = session.get(server.url("/")).send().await.unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(
            server.count(),
            n,
            "sent while fewer than 4 attempts were counted"
        );
    }
    let error = session.get(server.url("/")).send().await.unwrap_err();
    assert_eq!(server.count(), 4, "nothing sent while open");
    assert_eq!(error.kind(), ErrorKind::CircuitOpen);
    assert!(error.is_circuit_open());
    assert_eq!(error.attempt_count(), 0);
    assert_eq!(error.record().give_up(), Some(GiveUp::CircuitOpen));
    assert!(
        error
            .to_string()
            .starts_with("circuit breaker open for http://127.0.0.1:"),
        "{error}"
    );
    let stats = session.stats();
    assert_eq!(
        (stats.calls, stats.attempts, stats.circuit_refusals),
        (4, 4, 1),
        "a refused call is no call"
    );
    assert_eq!(stats.circuit_opened, 1);
}

#[tokio::test]
async fn stays_closed_below_the_ratio() {
    // One failure in three, each after two successes: never half.
    let server = TestServer::handle(|_, n| Reply::status(if n % 3 == 2 { 503 } else { 200 })).await;
    let session = session(breaker(3, 60_000));
    for _ in 0..30 {
        session.get(server.url("/")).send().await.unwrap();
    }
    assert_eq!(server.count(), 30);
    assert_eq!(session.stats().circuit_opened, 0);
}

#[tokio::test]
async fn statuses_outside_the_forcelist_are_successes() {
    let server = TestServer::start(vec![Reply::status(404)]).await;
    let session = session(breaker(2, 60_000));
    for _ in 0..10 {
        assert_eq!(
            session.get(server.url("/")).send().await.unwrap().status(),
            404
        );
    }
    assert_eq!(server.count(), 10);
}

#[tokio::test]
async fn half_open_probes_are_bounded_and_close_the_breaker_when_they_succeed() {
    // Four failures open it; then slow successes, so that the probes are still in flight while
    // the other calls arrive.
    let server = TestServer::handle(|_, n| {
        if n < 4 {
            Reply::status(503)
        } else {
            Reply::status(200).delay(Duration::from_millis(300))
        }
    })
    .await;
    let session = session(CircuitBreaker {
        half_open_probes: 2,
        ..breaker(4, 100)
    });
    open(&session, &server.url("/"), 5).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let (session, url) = (session.clone(), server.url("/"));
            tokio::spawn(async move { session.get(url).send().await })
        })
        .collect();
    let mut refused = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(response) => assert_eq!(response.status(), 200),
            Err(error) => {
                assert!(error.is_circuit_open(), "{error}");
                refused += 1;
            }
        }
    }
    assert_eq!(
        server.count(),
        4 + 2,
        "only the two probes reached the server"
    );
    assert_eq!(refused, 8);
    let stats = session.stats();
    assert_eq!(
        (
            stats.circuit_opened,
            stats.circuit_half_opened,
            stats.circuit_closed
        ),
        (1, 1, 1)
    );
    // Closed: every call is sent again.
    for _ in 0..3 {
        session.get(server.url("/")).send().await.unwrap();
    }
    assert_eq!(server.count(), 9);
}

#[tokio::test]
async fn a_failed_probe_opens_the_breaker_again() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = session(breaker(2, 100));
    open(&session, &server.url("/"), 3).await;
    assert_eq!(server.count(), 2);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let probe = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(probe.status(), 503, "the probe is sent");
    let error = session.get(server.url("/")).send().await.unwrap_err();
    assert!(error.is_circuit_open(), "open again at once");
    assert_eq!(server.count(), 3);
    assert_eq!(session.stats().circuit_opened, 2);
}

#[tokio::test]
async fn one_host_s_failures_never_open_another_host_s_breaker() {
    let failing = TestServer::start(vec![Reply::status(503)]).await;
    let healthy = TestServer::start(vec![Reply::status(200)]).await;
    let session = session(breaker(2, 60_000));
    open(&session, &failing.url("/"), 3).await;
    for _ in 0..5 {
        let response = session.get(healthy.url("/")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(healthy.count(), 5);
}

#[tokio::test]
async fn clones_share_the_breaker() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = session(breaker(2, 60_000));
    let clone = session.clone();
    for _ in 0..2 {
        clone.get(server.url("/")).send().await.unwrap();
    }
    let error = session.get(server.url("/")).send().await.unwrap_err();
    assert!(error.is_circuit_open());
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn a_call_can_leave_the_breaker_out() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = session(breaker(2, 60_000));
    open(&session, &server.url("/"), 3).await;
    let sent = server.count();
    let response = session
        .get(server.url("/health"))
        .no_circuit_breaker()
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let own = RetrySettings {
        circuit_breaker: None,
        ..session.retry_settings()
    };
    session
        .get(server.url("/"))
        .retry_settings(own)
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.count(),
        sent + 2,
        "both sent while the breaker is open"
    );
    assert!(session
        .get(server.url("/"))
        .send()
        .await
        .unwrap_err()
        .is_circuit_open());
}

#[tokio::test]
async fn a_breaker_that_opens_during_a_call_ends_it_as_exhaustion_would() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let settings = RetrySettings {
        max_retries: 5,
        backoff_factor: 0.0,
        circuit_breaker: Some(breaker(2, 60_000)),
        ..RetrySettings::default()
    };
    let session = Session::new(settings.clone()).unwrap();
    // The second attempt opens it: the third is not sent.
    let response = session.get(server.url("/")).send().await.unwrap();
    assert_eq!(
        response.status(),
        503,
        "the last response, as for exhaustion"
    );
    let record = CallRecord::of(&response);
    assert_eq!(
        (record.attempt_count(), record.give_up()),
        (2, Some(GiveUp::CircuitOpen))
    );
    assert_eq!(server.count(), 2);

    // raise_on_status applies as it does for exhaustion.
    let other = TestServer::start(vec![Reply::status(503)]).await;
    let raising = RetrySettings {
        raise_on_status: true,
        ..settings
    };
    let error = session
        .get(other.url("/"))
        .retry_settings(raising)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Status);
    assert!(error.is_circuit_open());
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    let stats = session.stats();
    assert_eq!((stats.give_ups, stats.circuit_refusals), (2, 2));
    assert_eq!(stats.attempts as usize, server.count() + other.count());
}

#[tokio::test]
async fn connection_failures_count() {
    let url = testkit::refused_url("/").await;
    let session = session(breaker(3, 60_000));
    for _ in 0..3 {
        assert!(session.get(&url).send().await.unwrap_err().is_connect());
    }
    assert!(session
        .get(&url)
        .send()
        .await
        .unwrap_err()
        .is_circuit_open());
}

/// The figure of issue 18: 64 callers for 10 s against a host that refuses everything (503)
/// and a healthy second host, on one session, with the default breaker (ratio 0.5 over 10 s, at
/// least 20 attempts, a 5 s break, one probe). Once the breaker opened, the failing host
/// receives only the probes (one per half-open period, plus the attempts already in flight when
/// it opened); the healthy host sees no failed call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_callers_a_failing_host_receives_only_the_probes() {
    let failing = TestServer::start(vec![Reply::status(503)]).await;
    let healthy = TestServer::start(vec![Reply::status(200)]).await;
    let session = session(CircuitBreaker::default());
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..64)
        .map(|_| {
            let (session, stop) = (session.clone(), Arc::clone(&stop));
            let (bad, good) = (failing.url("/"), healthy.url("/"));
            tokio::spawn(async move {
                let mut healthy_failures = 0;
                while !stop.load(Ordering::Relaxed) {
                    let _ = session.get(&bad).send().await;
                    match session.get(&good).send().await {
                        Ok(response) if response.status() == 200 => {}
                        _ => healthy_failures += 1,
                    }
                }
                healthy_failures
            })
        })
        .collect();
    // The count when the breaker first opened.
    let mut at_open = None;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if at_open.is_none() && session.stats().circuit_opened > 0 {
            at_open = Some(failing.count());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut healthy_failures = 0;
    for caller in callers {
        healthy_failures += caller.await.unwrap();
    }
    let at_open = at_open.expect("the breaker opened");
    let stats = session.stats();
    let after = failing.count() - at_open;
    println!(
        "failing host: {at_open} requests until the breaker opened, {after} after \
         ({} half-open periods); healthy host: {} requests, {healthy_failures} failed; \
         {} calls refused",
        stats.circuit_half_opened,
        healthy.count(),
        stats.circuit_refusals
    );
    assert_eq!(healthy_failures, 0, "the healthy host sees no failed call");
    // In flight when it opened: at most one attempt per caller.
    assert!(
        after as u64 <= 64 + stats.circuit_half_opened,
        "after opening, only the probes: {after} requests for {} probes",
        stats.circuit_half_opened
    );
    assert!(stats.circuit_refusals > 1000, "{}", stats.circuit_refusals);
}

#[tokio::test]
async fn every_front_end_is_refused_by_an_open_breaker() {
    use api_toolkit::middleware::RetryMiddleware;
    use api_toolkit::reqwest;
    use api_toolkit::tower::RetryLayer;
    use tower::{Service as _, ServiceBuilder, ServiceExt as _};

    let settings = RetrySettings {
        circuit_breaker: Some(breaker(2, 60_000)),
        ..RetrySettings::default()
    };
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let mut service = ServiceBuilder::new()
        .layer(RetryLayer::new(settings.clone()).unwrap())
        .service(reqwest::Client::new());
    let mut refused = 0;
    for _ in 0..10 {
        let get = reqwest::Request::new(reqwest::Method::GET, server.url("/").parse().unwrap());
        let result = service.ready().await.unwrap().call(get).await;
        refused += usize::from(result.is_err_and(|e| e.is_circuit_open()));
    }
    assert_eq!((server.count(), refused), (2, 8), "through the tower layer");
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(settings).unwrap())
        .build();
    for _ in 0..10 {
        let _ = client.get(server.url("/")).send().await;
    }
    assert_eq!(server.count(), 4, "through the middleware: two, then none");
}
