//! `throttling`: Google SRE's adaptive client-side throttling. A host that keeps refusing gets
//! a trickle of requests instead of the whole load, counted at the server; a host that accepts
//! is never throttled; one host's refusals never shed calls to another.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use api_toolkit::{ErrorKind, GiveUp, RetrySettings, Session, Throttling};
use testkit::{capture_tracing, Reply, TestServer};

fn throttling(k: f64, window: Duration) -> Throttling {
    Throttling {
        k,
        window,
        ..Throttling::default()
    }
}

fn session(throttling: Throttling, max_retries: u32) -> Session {
    Session::new(RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        throttling: Some(throttling),
        ..RetrySettings::default()
    })
    .unwrap()
}

#[tokio::test]
async fn a_host_that_accepts_is_never_throttled() {
    // Two of three answers accepted, more than `1 / k`: the formula never refuses.
    let server = TestServer::handle(|_, n| Reply::status(if n % 3 == 2 { 503 } else { 200 })).await;
    let session = session(throttling(2.0, Duration::from_secs(30)), 0);
    for _ in 0..300 {
        session.get(server.url("/")).send().await.unwrap();
    }
    assert_eq!(server.count(), 300, "every call reached the server");
    let stats = session.stats();
    assert_eq!((stats.throttle_refusals, stats.throttling_started), (0, 0));
}

#[tokio::test]
async fn a_host_that_refuses_everything_gets_a_trickle_and_refused_calls_send_nothing() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = session(throttling(2.0, Duration::from_secs(30)), 0);
    let (mut answered, mut refused) = (0, 0);
    for _ in 0..400 {
        match session.get(server.url("/")).send().await {
            Ok(response) => {
                assert_eq!(response.status(), 503);
                answered += 1;
            }
            Err(error) => {
                assert_eq!(error.kind(), ErrorKind::Throttled);
                assert!(error.is_throttled());
                assert_eq!(error.attempt_count(), 0, "nothing sent");
                assert_eq!(error.record().give_up(), Some(GiveUp::Throttled));
                let message = error.to_string();
                assert!(
                    message.starts_with("throttled: http://127.0.0.1:"),
                    "{message}"
                );
                refused += 1;
            }
        }
    }
    assert_eq!(
        server.count(),
        answered,
        "the server saw exactly the calls not refused"
    );
    // With no accept, the n-th request goes with probability 1 / n: about ln(400) + 1 ≈ 7.
    assert!(
        answered <= 40,
        "{answered} of 400 reached a host that refuses everything"
    );
    let stats = session.stats();
    assert_eq!(stats.throttle_refusals, refused as u64);
    assert_eq!(stats.calls, answered as u64, "a refused call is no call");
    assert_eq!(stats.throttling_started, 1);
}

#[tokio::test]
async fn a_retry_it_refuses_ends_the_call_as_exhaustion_does() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    for raise_on_status in [false, true] {
        let session = Session::new(RetrySettings {
            max_retries: 3,
            backoff_factor: 0.0,
            raise_on_status,
            throttling: Some(throttling(1.0, Duration::from_secs(30))),
            ..RetrySettings::default()
        })
        .unwrap();
        let mut ended_by_throttling = 0;
        for _ in 0..100 {
            let (record, status) = match session.get(server.url("/")).send().await {
                Ok(response) => (
                    api_toolkit::CallRecord::of(&response).clone(),
                    Some(response.status()),
                ),
                Err(error) => (
                    error.record().clone(),
                    error.status().filter(|_| error.kind() == ErrorKind::Status),
                ),
            };
            if record.give_up() == Some(GiveUp::Throttled) && record.attempt_count() > 0 {
                ended_by_throttling += 1;
                // The last response is the call's, as with exhausted retries.
                assert_eq!(status.map(|s| s.as_u16()), Some(503));
                assert!(record.attempt_count() <= 4);
            }
        }
        assert!(ended_by_throttling > 0, "raise_on_status {raise_on_status}");
    }
}

#[tokio::test]
async fn a_call_without_throttling_is_sent_and_not_counted() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let session = session(throttling(1.0, Duration::from_secs(30)), 0);
    for _ in 0..100 {
        let _ = session.get(server.url("/")).send().await;
    }
    let before = (server.count(), session.stats().throttle_refusals);
    for _ in 0..20 {
        let response = session
            .get(server.url("/health"))
            .no_throttling()
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
    }
    assert_eq!(server.count(), before.0 + 20, "each reached the server");
    assert_eq!(session.stats().throttle_refusals, before.1);
    // Also with settings of its own, given before or after.
    let own = RetrySettings {
        throttling: Some(Throttling::default()),
        ..RetrySettings::default()
    };
    for request in [
        session
            .get(server.url("/"))
            .no_throttling()
            .retry_settings(own.clone()),
        session
            .get(server.url("/"))
            .retry_settings(own)
            .no_throttling(),
    ] {
        assert_eq!(request.send().await.unwrap().status(), 503);
    }
    assert_eq!(server.count(), before.0 + 22);
}

#[tokio::test]
async fn one_hosts_refusals_never_throttle_another() {
    let refusing = TestServer::start(vec![Reply::status(503)]).await;
    let healthy = TestServer::start(vec![Reply::status(200)]).await;
    let session = session(throttling(1.0, Duration::from_secs(30)), 0);
    for _ in 0..100 {
        let _ = session.get(refusing.url("/")).send().await;
    }
    assert!(session.stats().throttle_refusals > 50);
    for _ in 0..100 {
        let response = session.get(healthy.url("/")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(healthy.count(), 100);
}

#[tokio::test]
async fn a_host_that_recovers_is_no_longer_throttled_after_the_window() {
    let healthy = Arc::new(AtomicBool::new(false));
    let server = {
        let healthy = healthy.clone();
        TestServer::handle(move |_, _| {
            Reply::status(if healthy.load(Ordering::SeqCst) {
                200
            } else {
                503
            })
        })
        .await
    };
    let (captured, _guard) = capture_tracing();
    let session = session(throttling(2.0, Duration::from_millis(200)), 0);
    for _ in 0..100 {
        let _ = session.get(server.url("/")).send().await;
    }
    assert!(session.stats().throttle_refusals > 50);
    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let sent = server.count();
    for _ in 0..100 {
        assert_eq!(
            session.get(server.url("/")).send().await.unwrap().status(),
            200
        );
    }
    assert_eq!(server.count(), sent + 100, "the window forgot the refusals");
    let text = captured.text();
    assert!(text.contains("throttling started"), "{text}");
    assert!(text.contains("WARN"), "{text}");
}

#[tokio::test]
async fn statuses_outside_the_forcelist_are_accepts_and_counting_can_be_narrowed() {
    // A 404 is an answer, not a refusal; with `count_statuses` off, nor is a 503.
    for (status, counted) in [(404, true), (503, false)] {
        let server = TestServer::start(vec![Reply::status(status)]).await;
        let throttling = Throttling {
            k: 1.0,
            count_statuses: counted,
            ..Throttling::default()
        };
        let session = session(throttling, 0);
        for _ in 0..200 {
            session.get(server.url("/")).send().await.unwrap();
        }
        assert_eq!(server.count(), 200, "status {status}");
    }
}

#[tokio::test]
async fn connection_failures_are_refusals() {
    let url = testkit::refused_url("/").await;
    let session = session(throttling(1.0, Duration::from_secs(30)), 0);
    let mut throttled = 0;
    for _ in 0..100 {
        let error = session.get(&url).send().await.unwrap_err();
        throttled += usize::from(error.is_throttled());
    }
    assert!(throttled > 50, "{throttled}");
}

#[test]
fn out_of_range_settings_name_the_field_and_keep_the_previous_ones() {
    let session = Session::new(RetrySettings::default()).unwrap();
    for (bad, field) in [
        (throttling(0.5, Duration::from_secs(1)), "throttling.k"),
        (
            throttling(f64::INFINITY, Duration::from_secs(1)),
            "throttling.k",
        ),
        (throttling(2.0, Duration::ZERO), "throttling.window"),
    ] {
        let settings = RetrySettings {
            throttling: Some(bad),
            ..RetrySettings::default()
        };
        let error = Session::new(settings.clone()).unwrap_err();
        assert_eq!(error.settings_error().unwrap().field(), field);
        assert!(session.set_retry_settings(settings).is_err());
        assert_eq!(session.retry_settings().throttling, None, "kept");
    }
}

#[tokio::test]
async fn every_front_end_sheds_a_refusing_host() {
    use api_toolkit::middleware::RetryMiddleware;
    use api_toolkit::reqwest;
    use api_toolkit::tower::RetryLayer;
    use tower::{Service as _, ServiceBuilder, ServiceExt as _};

    let settings = RetrySettings {
        throttling: Some(throttling(2.0, Duration::from_secs(30))),
        ..RetrySettings::default()
    };
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let mut service = ServiceBuilder::new()
        .layer(RetryLayer::new(settings.clone()).unwrap())
        .service(reqwest::Client::new());
    for _ in 0..200 {
        let get = reqwest::Request::new(reqwest::Method::GET, server.url("/").parse().unwrap());
        let _ = service.ready().await.unwrap().call(get).await;
    }
    let through_tower = server.count();
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(settings).unwrap())
        .build();
    for _ in 0..200 {
        let _ = client.get(server.url("/")).send().await;
    }
    let through_middleware = server.count() - through_tower;
    assert!(
        through_tower <= 30 && through_middleware <= 30,
        "of 200 calls each, {through_tower} (tower) and {through_middleware} (middleware) sent"
    );
}
