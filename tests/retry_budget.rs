//! `retry_budget`: under a sustained 100% failure, retries stay within a share of the calls.

use std::time::Duration;

use api_toolkit::{GiveUp, RetryBudget, RetrySettings, Session};
use testkit::{Reply, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_caps_retries_under_sustained_failure() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let budget = RetryBudget {
        ratio: 0.2,
        min_per_second: 0,
        window: Duration::from_secs(60),
    };
    let settings = RetrySettings {
        max_retries: 3,
        backoff_factor: 0.0,
        retry_budget: Some(budget),
        ..RetrySettings::default()
    };
    let session = Session::new(settings).unwrap();
    let calls = 200;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (session, url) = (session.clone(), server.url("/"));
            tokio::spawn(async move {
                let mut refused = 0;
                for _ in 0..calls / 8 {
                    let response = session.get(&url).send().await.unwrap();
                    let record = api_toolkit::CallRecord::of(&response);
                    refused += usize::from(record.give_up() == Some(GiveUp::Budget));
                }
                refused
            })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        refused += task.await.unwrap();
    }
    let attempts = server.count();
    println!("{calls} calls, {attempts} attempts seen by the server, {refused} retries refused");
    assert!(
        attempts <= calls + calls / 5,
        "at most 20% extra load: {attempts} attempts for {calls} calls"
    );
    assert!(
        attempts >= calls + calls / 5 - 1,
        "the budget is spent, not hoarded: {attempts}"
    );
    let stats = session.stats();
    assert_eq!(stats.budget_refusals as usize, refused);
    assert_eq!(stats.attempts as usize, attempts);
}

#[tokio::test]
async fn budget_floor_allows_retries_for_a_quiet_client() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let budget = RetryBudget {
        ratio: 0.0,
        min_per_second: 1,
        ..RetryBudget::default()
    };
    let settings = RetrySettings {
        max_retries: 1,
        backoff_factor: 0.0,
        retry_budget: Some(budget),
        ..RetrySettings::default()
    };
    let response = Session::new(settings)
        .unwrap()
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn budget_refusal_raises_like_exhaustion() {
    let server = TestServer::start(vec![Reply::status(500)]).await;
    let budget = RetryBudget {
        ratio: 0.0,
        min_per_second: 0,
        ..RetryBudget::default()
    };
    let settings = RetrySettings {
        max_retries: 3,
        raise_on_status: true,
        retry_budget: Some(budget),
        ..RetrySettings::default()
    };
    let error = Session::new(settings)
        .unwrap()
        .get(server.url("/"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_status());
    assert_eq!(error.record().give_up(), Some(GiveUp::Budget));
    assert_eq!(server.count(), 1);
}
