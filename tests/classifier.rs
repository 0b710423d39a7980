//! The classifier: a rule of the user's own, asked after every attempt. Each test is named by
//! its rule and checked at the server.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_toolkit::reqwest::Body;
use api_toolkit::{
    Attempt, AttemptOutcome, CallRecord, Classifier, Decider, ErrorKind, GiveUp, Method,
    RetryBudget, RetrySettings, Session, Verdict, WaitSource,
};
use testkit::{Reply, TestServer};

/// A 409 whose body says `lock_timeout` is retried; everything else defers.
fn lock_timeouts(attempt: &Attempt<'_>) -> Verdict {
    let locked = attempt.body().windows(12).any(|w| w == b"lock_timeout");
    match attempt.status().map(|s| s.as_u16()) {
        Some(409) if locked => Verdict::Retry,
        _ => Verdict::Defer,
    }
}

fn session(settings: RetrySettings) -> Session {
    Session::new(settings).unwrap()
}

fn quick(max_retries: u32) -> RetrySettings {
    RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    }
}

fn methods(server: &TestServer) -> Vec<String> {
    server.received().into_iter().map(|r| r.method).collect()
}

#[tokio::test]
async fn a_classifier_retries_on_an_error_code_in_the_body() {
    let locked = br#"{"error":{"code":"lock_timeout"}}"#;
    let server = TestServer::start(vec![
        Reply::status(409).body(locked.to_vec()),
        Reply::status(200).body("done"),
    ])
    .await;
    let s = session(RetrySettings {
        classify: Some(Classifier::from_fn(lock_timeouts)),
        classify_body_bytes: 256,
        ..quick(2)
    });
    let response = s.put(server.url("/orders/1")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let record = CallRecord::of(&response).clone();
    assert_eq!(record.attempt_count(), 2);
    assert_eq!(record.attempts()[0].decided_by(), Decider::Classifier);
    assert_eq!(response.text().await.unwrap(), "done");
    assert_eq!(methods(&server), ["PUT", "PUT"]);
}

#[tokio::test]
async fn without_body_bytes_the_classifier_sees_no_body() {
    let server = TestServer::start(vec![
        Reply::status(409).body(br#"{"error":{"code":"lock_timeout"}}"#.to_vec())
    ])
    .await;
    let s = session(RetrySettings {
        classify: Some(Classifier::from_fn(lock_timeouts)),
        ..quick(2)
    });
    let response = s.put(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn the_caller_receives_the_whole_body_byte_for_byte_after_the_classifier_read_part_of_it() {
    let long: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for (body, limit) in [
        (long.clone(), 1000),
        (b"short".to_vec(), 1000),
        (long.clone(), 65_536),
        (Vec::new(), 10),
    ] {
        let server = TestServer::start(vec![Reply::status(404).body(body.clone())]).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_by = Arc::clone(&seen);
        let s = session(RetrySettings {
            classify: Some(Classifier::new(move |attempt| {
                seen_by.lock().unwrap().extend_from_slice(attempt.body());
                Verdict::Defer
            })),
            classify_body_bytes: limit,
            ..quick(1)
        });
        let response = s.get(server.url("/")).send().await.unwrap();
        assert_eq!(response.content_length(), Some(body.len() as u64));
        assert_eq!(response.url().as_str(), server.url("/"), "the URL is kept");
        let received = response.bytes().await.unwrap();
        assert_eq!(received.len(), body.len());
        assert!(
            received[..] == body[..],
            "the body is whole ({} bytes, limit {limit})",
            body.len()
        );
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen[..],
            body[..body.len().min(limit)],
            "the classifier saw the first bytes"
        );
    }
}

#[tokio::test]
async fn a_slow_body_is_bounded_by_the_attempt_limit_and_its_error_left_to_the_caller() {
    let server = TestServer::start(vec![Reply::StallMidBody(500)]).await;
    let seen = Arc::new(AtomicU32::new(0));
    let seen_by = Arc::clone(&seen);
    let s = session(RetrySettings {
        classify: Some(Classifier::new(move |a| {
            seen_by.fetch_add(a.body().len() as u32, Ordering::SeqCst);
            Verdict::Defer
        })),
        classify_body_bytes: 65_536,
        attempt_timeout: Some(Duration::from_millis(300)),
        allowed_methods: vec![Method::GET],
        ..quick(1)
    });
    let started = Instant::now();
    let response = s.get(server.url("/")).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        response.status(),
        500,
        "a response, as without a classifier"
    );
    assert_eq!(server.count(), 2, "the 500 is retried by the rules");
    assert!(
        seen.load(Ordering::SeqCst) > 0,
        "the classifier saw what arrived"
    );
    let error = response.bytes().await.unwrap_err();
    assert!(
        error.is_timeout() || error.is_body() || error.is_decode(),
        "{error}"
    );
}

#[tokio::test]
async fn a_body_cut_short_while_the_classifier_reads_it_is_the_callers_to_read() {
    for method in [Method::GET, Method::PATCH] {
        let server = TestServer::start(vec![Reply::CloseMidBody]).await;
        let s = session(RetrySettings {
            classify: Some(Classifier::new(|_| Verdict::Defer)),
            classify_body_bytes: 64 * 1024,
            ..quick(2)
        });
        let response = s
            .request(method.clone(), server.url("/"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(server.count(), 1, "{method}: answered, so not sent again");
        assert!(
            response.bytes().await.is_err(),
            "the read fails where the caller reads"
        );
    }
}

#[tokio::test]
async fn a_classifier_may_retry_a_keyed_post_outside_allowed_methods_and_the_record_says_so() {
    let server = TestServer::start(vec![Reply::status(502), Reply::status(201)]).await;
    let keyed_posts = |attempt: &Attempt<'_>| {
        let failed = attempt.status().is_some_and(|s| s.is_server_error());
        if failed && attempt.idempotency_key().is_some() {
            Verdict::Retry
        } else {
            Verdict::Defer
        }
    };
    let s = session(RetrySettings {
        allowed_methods: vec![Method::GET],
        idempotency_key: true,
        classify: Some(Classifier::new(keyed_posts)),
        ..quick(2)
    });
    let response = s
        .post(server.url("/charges"))
        .body("amount=5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        CallRecord::of(&response).attempts()[0].decided_by(),
        Decider::Classifier
    );
    let received = server.received();
    assert_eq!(received.len(), 2);
    let key = received[0]
        .header("idempotency-key")
        .expect("a generated key");
    assert_eq!(
        received[1].header("idempotency-key"),
        Some(key),
        "the same key on the retry"
    );

    let unkeyed = TestServer::start(vec![Reply::status(502), Reply::status(201)]).await;
    let plain = session(RetrySettings {
        allowed_methods: vec![Method::GET],
        classify: Some(Classifier::new(keyed_posts)),
        ..quick(2)
    });
    let response = plain.post(unkeyed.url("/charges")).send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(unkeyed.count(), 1, "an unkeyed POST is sent once");
}

#[tokio::test]
async fn a_classifier_stop_returns_the_response_as_ok_even_with_raise_on_status() {
    let server = TestServer::start(vec![Reply::status(503).body("busy")]).await;
    let s = session(RetrySettings {
        raise_on_status: true,
        classify: Some(Classifier::new(|_| Verdict::Stop)),
        ..quick(3)
    });
    let response = s.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        CallRecord::of(&response).attempts()[0].decided_by(),
        Decider::Classifier
    );
    assert_eq!(response.text().await.unwrap(), "busy");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_classifier_never_makes_more_than_one_plus_max_retries_attempts() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let s = session(RetrySettings {
        classify: Some(Classifier::new(|_| Verdict::Retry)),
        ..quick(3)
    });
    let response = s.post(server.url("/")).send().await.unwrap();
    assert_eq!(server.count(), 4);
    assert_eq!(CallRecord::of(&response).give_up(), Some(GiveUp::Exhausted));
}

#[tokio::test]
async fn a_classifier_wait_beyond_retry_after_max_ends_the_retries_at_once() {
    let server = TestServer::start(vec![Reply::status(500)]).await;
    let s = session(RetrySettings {
        retry_after_max: Duration::from_secs(1),
        classify: Some(Classifier::new(|_| {
            Verdict::RetryAfter(Duration::from_secs(30))
        })),
        ..quick(3)
    });
    let started = Instant::now();
    let response = s.get(server.url("/")).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        CallRecord::of(&response).give_up(),
        Some(GiveUp::RetryAfterTooLong)
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_classifier_wait_is_kept_and_recorded() {
    let server = TestServer::start(vec![Reply::status(500), Reply::status(200)]).await;
    let s = session(RetrySettings {
        classify: Some(Classifier::new(|a| match a.number() {
            1 => Verdict::RetryAfter(Duration::from_millis(300)),
            _ => Verdict::Defer,
        })),
        ..quick(3)
    });
    let response = s.get(server.url("/")).send().await.unwrap();
    let received = server.received();
    let gap = received[1].at - received[0].at;
    assert!(gap >= Duration::from_millis(300), "{gap:?}");
    let second = CallRecord::of(&response).attempts()[1];
    assert_eq!(second.wait_source(), WaitSource::Classifier);
    assert_eq!(second.wait_before(), Duration::from_millis(300));
}

#[tokio::test]
async fn a_classifier_never_passes_total_timeout() {
    let server = TestServer::start(vec![Reply::status(500)]).await;
    let s = session(RetrySettings {
        total_timeout: Some(Duration::from_millis(800)),
        classify: Some(Classifier::new(|_| {
            Verdict::RetryAfter(Duration::from_millis(300))
        })),
        ..quick(10)
    });
    let started = Instant::now();
    let response = s.get(server.url("/")).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(CallRecord::of(&response).give_up(), Some(GiveUp::Deadline));
    assert!(server.count() <= 3, "{}", server.count());
}

#[tokio::test]
async fn a_classifier_never_resends_a_streaming_body() {
    let server = TestServer::start(vec![Reply::status(500)]).await;
    let s = session(RetrySettings {
        classify: Some(Classifier::new(|a| {
            assert!(!a.body_replayable());
            Verdict::Retry
        })),
        ..quick(3)
    });
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(b"a".to_vec()), Ok(b"b".to_vec())];
    let stream = futures_util::stream::iter(chunks);
    let response = s
        .post(server.url("/"))
        .body(Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(
        CallRecord::of(&response).give_up(),
        Some(GiveUp::BodyNotReplayable)
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn the_retry_budget_still_applies_to_a_classifier() {
    let server = TestServer::start(vec![Reply::status(500)]).await;
    let s = session(RetrySettings {
        retry_budget: Some(RetryBudget {
            ratio: 0.0,
            min_per_second: 0,
            ..RetryBudget::default()
        }),
        classify: Some(Classifier::new(|_| Verdict::Retry)),
        ..quick(3)
    });
    let response = s.get(server.url("/")).send().await.unwrap();
    assert_eq!(CallRecord::of(&response).give_up(), Some(GiveUp::Budget));
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_classifier_that_panics_ends_the_call_with_its_own_error_and_sends_nothing_again() {
    let server = TestServer::start(vec![Reply::status(500), Reply::status(200)]).await;
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let s = session(RetrySettings {
        classify: Some(Classifier::new(move |_| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("rule bug");
            }
            Verdict::Defer
        })),
        ..quick(3)
    });
    let error = s.post(server.url("/")).body("x").send().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Classifier);
    assert!(error.is_classifier());
    assert!(error.to_string().contains("rule bug"), "{error}");
    assert_eq!(error.attempt_count(), 1);
    assert_eq!(server.count(), 1, "nothing re-sent");
    // The session is not poisoned: the next call runs.
    let response = s.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_classifier_sees_the_request_the_attempt_and_the_outcome() {
    let server = TestServer::start(vec![
        Reply::status(500).header("x-trace", "t1"),
        Reply::Close,
        Reply::status(200),
    ])
    .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let s = session(RetrySettings {
        classify: Some(Classifier::new(move |a| {
            log.lock().unwrap().push((
                a.method().clone(),
                a.url().path().to_owned(),
                a.request_headers().get("x-tenant").cloned(),
                a.number(),
                a.body_replayable(),
                a.outcome(),
                a.response_headers().and_then(|h| h.get("x-trace").cloned()),
            ));
            Verdict::Defer
        })),
        ..quick(3)
    });
    s.put(server.url("/items/9"))
        .header("x-tenant", "acme")
        .body("v")
        .send()
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].0, Method::PUT);
    assert_eq!(seen[0].1, "/items/9");
    assert_eq!(seen[0].2.as_ref().unwrap(), "acme");
    assert_eq!(seen.iter().map(|s| s.3).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(seen[0].4);
    assert_eq!(seen[0].6.as_ref().unwrap(), "t1");
    assert_eq!(seen[1].5, AttemptOutcome::Closed);
    assert!(seen[1].6.is_none());
}

#[tokio::test]
async fn a_classifier_set_per_request_or_per_session_applies_to_its_calls() {
    let server = TestServer::start(vec![Reply::status(418)]).await;
    let teapots = || {
        Classifier::new(|a| {
            if a.status().is_some_and(|s| s == 418) {
                Verdict::Retry
            } else {
                Verdict::Defer
            }
        })
    };
    let plain = session(quick(1));
    plain.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.count(), 1, "no classifier: 418 is final");
    plain
        .get(server.url("/"))
        .classify(teapots())
        .send()
        .await
        .unwrap();
    assert_eq!(server.count(), 3, "the request's classifier");
    plain
        .get(server.url("/"))
        .classify(teapots())
        .no_retry()
        .send()
        .await
        .unwrap();
    assert_eq!(server.count(), 4, "no_retry still sends once");
    plain
        .get(server.url("/"))
        .classify(teapots())
        .retry_settings(quick(2))
        .send()
        .await
        .unwrap();
    assert_eq!(server.count(), 7, "kept with the call's own settings");
    let built = Session::builder()
        .retry_settings(quick(1))
        .classify(teapots())
        .build()
        .unwrap();
    built.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.count(), 9, "the session's classifier");
    built
        .get(server.url("/"))
        .classify(Classifier::new(|_| Verdict::Stop))
        .send()
        .await
        .unwrap();
    assert_eq!(server.count(), 10, "the request's replaces the session's");
}

mod per_type {
    use super::*;
    use api_toolkit::{ApiConnector, Connector};

    /// The README's connector: a 409 `lock_timeout` is retried, a 413 never.
    fn shop_rules(attempt: &Attempt<'_>) -> Verdict {
        match attempt.status().map(|s| s.as_u16()) {
            Some(409) if attempt.body().windows(12).any(|w| w == b"lock_timeout") => Verdict::Retry,
            Some(413) => Verdict::Stop,
            _ => Verdict::Defer,
        }
    }

    #[derive(Connector)]
    #[retry(max_retries = 3, backoff_factor = 0, status_forcelist = [429, 500..=599])]
    #[retry(classify = shop_rules, classify_body_bytes = 1024, keyed_retries = true)]
    struct Shop {
        session: Session,
    }

    #[tokio::test]
    async fn a_classifier_declared_on_the_type_decides_for_its_sessions() {
        let shop = Shop {
            session: Shop::new_session().unwrap(),
        };
        let settings = shop.get_retry_settings();
        assert_eq!(
            settings.status_forcelist,
            (429..=429).chain(500..=599).collect::<Vec<u16>>()
        );
        assert_eq!(settings.classify, Some(Classifier::from_fn(shop_rules)));
        assert_eq!(
            Shop::default_retry_settings(),
            settings,
            "a function compares equal to itself"
        );

        let locked = TestServer::start(vec![
            Reply::status(409).body(r#"{"error":{"code":"lock_timeout"}}"#),
            Reply::status(200),
        ])
        .await;
        let response = shop
            .session()
            .put(locked.url("/stock/1"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(locked.count(), 2);

        let too_large =
            TestServer::start(vec![Reply::status(413).header("retry-after", "1")]).await;
        let response = shop
            .session()
            .put(too_large.url("/upload"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(
            too_large.count(),
            1,
            "a 413 is never retried, Retry-After or not"
        );

        let failing = TestServer::start(vec![Reply::status(502), Reply::status(201)]).await;
        let response = shop
            .session()
            .post(failing.url("/orders"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 502);
        assert_eq!(failing.count(), 1, "an unkeyed POST is sent once");
        let failing = TestServer::start(vec![Reply::status(502), Reply::status(201)]).await;
        let response = shop
            .session()
            .post(failing.url("/orders"))
            .header("idempotency-key", "order-7")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let keys: Vec<_> = failing
            .received()
            .iter()
            .map(|r| r.header("idempotency-key").map(str::to_owned))
            .collect();
        assert_eq!(
            keys,
            [Some("order-7".to_owned()), Some("order-7".to_owned())]
        );
    }
}

#[tokio::test]
async fn a_call_dropped_while_a_classifier_wait_runs_sends_nothing_more() {
    let server = TestServer::start(vec![Reply::status(500)]).await;
    let s = session(RetrySettings {
        classify: Some(Classifier::new(|_| {
            Verdict::RetryAfter(Duration::from_millis(400))
        })),
        ..quick(3)
    });
    let call = s.post(server.url("/")).send();
    let dropped = tokio::time::timeout(Duration::from_millis(150), call).await;
    assert!(dropped.is_err(), "still waiting when dropped");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(server.count(), 1, "no attempt after the drop");
}
