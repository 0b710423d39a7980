//! Rules 1 and 3: which responses are retried, and what a call returns when retries run out.

use api_toolkit::{Method, RetrySettings, Session, StatusCode};
use testkit::{Reply, TestServer};

fn session(settings: RetrySettings) -> Session {
    Session::new(RetrySettings {
        backoff_factor: 0.0,
        ..settings
    })
    .unwrap()
}

fn retrying(max_retries: u32) -> RetrySettings {
    RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    }
}

#[tokio::test]
async fn one_call_makes_at_most_one_plus_max_retries_attempts() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let response = session(retrying(3))
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn forced_status_retried_until_success() {
    let server = TestServer::start(vec![
        Reply::status(500),
        Reply::status(502),
        Reply::status(200).body("ok"),
    ])
    .await;
    let response = session(retrying(5))
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn status_not_in_forcelist_not_retried() {
    let server = TestServer::start(vec![Reply::status(404), Reply::status(200)]).await;
    let response = session(retrying(3))
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn post_not_retried_when_not_allowed() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let settings = RetrySettings {
        allowed_methods: vec![Method::GET],
        raise_on_status: true,
        ..retrying(3)
    };
    let response = session(settings)
        .post(server.url("/charge"))
        .body("once")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        503,
        "a status of a method not allowed is returned as Ok"
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn post_retried_by_default_like_the_original() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(201)]).await;
    let response = session(retrying(1))
        .post(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn zero_max_retries_makes_one_attempt() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let response = session(retrying(0))
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn exhausted_forced_status_returned_as_ok_without_raise_on_status() {
    let server = TestServer::start(vec![Reply::status(503).body("busy")]).await;
    let response = session(retrying(2))
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.unwrap(), "busy");
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn exhausted_forced_status_raised_with_raise_on_status_and_body_readable() {
    let server = TestServer::start(vec![Reply::status(500).body("try later")]).await;
    let settings = RetrySettings {
        raise_on_status: true,
        ..retrying(2)
    };
    let error = session(settings)
        .get(server.url("/"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_status());
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(error.attempt_count(), 3);
    assert_eq!(
        error.to_string(),
        "HTTP status 500 Internal Server Error after 3 attempts"
    );
    let response = error.into_response().expect("the final response");
    assert_eq!(response.text().await.unwrap(), "try later");
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn status_not_retryable_returned_as_ok_even_with_raise_on_status() {
    let server = TestServer::start(vec![Reply::status(404)]).await;
    let settings = RetrySettings {
        raise_on_status: true,
        ..retrying(2)
    };
    let response = session(settings).get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn retry_after_makes_429_retryable_outside_forcelist() {
    let server = TestServer::start(vec![
        Reply::status(429).header("Retry-After", "0"),
        Reply::status(200),
    ])
    .await;
    let settings = RetrySettings {
        status_forcelist: vec![500],
        ..retrying(1)
    };
    let response = session(settings).get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn retry_after_route_closed_once_retries_run_out() {
    let server = TestServer::start(vec![Reply::status(429).header("Retry-After", "0")]).await;
    let settings = RetrySettings {
        status_forcelist: vec![500],
        raise_on_status: true,
        ..retrying(1)
    };
    let response = session(settings).get(server.url("/")).send().await.unwrap();
    assert_eq!(
        response.status(),
        429,
        "outside the forcelist: Ok even with raise_on_status"
    );
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn redirects_followed_within_one_attempt() {
    let server = TestServer::start(vec![
        Reply::status(302).header("Location", "/b"),
        Reply::status(503),
        Reply::status(302).header("Location", "/b"),
        Reply::status(200),
    ])
    .await;
    let response = session(retrying(1))
        .get(server.url("/a"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let paths: Vec<String> = server.received().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/a", "/b", "/a", "/b"],
        "two attempts of two hops each"
    );
}

/// `error_for_status`: any final status >= 400 is an `Err` holding the response, whose body and
/// record stay readable.
mod error_for_status {
    use api_toolkit::{CallRecord, GiveUp, Method, RetrySettings, StatusCode};
    use testkit::{Reply, TestServer};

    use super::{retrying, session};

    fn on(settings: RetrySettings) -> RetrySettings {
        RetrySettings {
            error_for_status: true,
            ..settings
        }
    }

    #[tokio::test]
    async fn a_final_4xx_is_an_error_holding_the_response_and_its_record() {
        let server = TestServer::start(vec![Reply::status(404).body("no such order")]).await;
        let error = session(on(retrying(3)))
            .get(server.url("/orders/7"))
            .send()
            .await
            .unwrap_err();
        assert!(error.is_status());
        assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(error.attempt_count(), 1, "404 is not retried");
        assert_eq!(
            error.to_string(),
            "HTTP status 404 Not Found after 1 attempt"
        );
        let response = error.into_response().expect("the response");
        assert_eq!(CallRecord::of(&response).attempt_count(), 1);
        assert_eq!(response.text().await.unwrap(), "no such order");
        assert_eq!(server.methods(), ["GET"]);
    }

    #[tokio::test]
    async fn retries_come_first_and_the_record_survives_into_response() {
        let server = TestServer::start(vec![Reply::status(503).body("busy")]).await;
        let settings = on(RetrySettings {
            status_forcelist: vec![503],
            ..retrying(2)
        });
        let error = session(settings)
            .get(server.url("/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(server.count(), 3, "retried as without the setting");
        assert_eq!(error.attempt_count(), 3);
        let response = error.into_response().expect("the response");
        let record = CallRecord::of(&response);
        assert_eq!(record.attempt_count(), 3);
        assert_eq!(record.attempts().len(), 3);
        assert_eq!(record.give_up(), Some(GiveUp::Exhausted));
        assert_eq!(response.text().await.unwrap(), "busy");
    }

    #[tokio::test]
    async fn a_post_is_not_retried_to_get_its_error() {
        let server = TestServer::start(vec![Reply::status(500)]).await;
        let settings = on(RetrySettings {
            allowed_methods: vec![Method::GET],
            ..retrying(3)
        });
        let error = session(settings)
            .post(server.url("/charges"))
            .body("amount=100")
            .send()
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
        assert_eq!(server.methods(), ["POST"], "sent once");
    }

    #[tokio::test]
    async fn success_and_redirect_statuses_stay_ok() {
        for status in [200, 201, 204, 304] {
            let server = TestServer::start(vec![Reply::status(status)]).await;
            let response = session(on(retrying(1)))
                .get(server.url("/"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status);
        }
    }

    #[tokio::test]
    async fn off_by_default_a_4xx_is_ok() {
        let server = TestServer::start(vec![Reply::status(404)]).await;
        let response = session(retrying(1))
            .get(server.url("/"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }

    #[tokio::test]
    async fn into_response_keeps_the_record_with_raise_on_status_too() {
        let server = TestServer::start(vec![Reply::status(500)]).await;
        let settings = RetrySettings {
            raise_on_status: true,
            ..retrying(1)
        };
        let error = session(settings)
            .get(server.url("/"))
            .send()
            .await
            .unwrap_err();
        let response = error.into_response().unwrap();
        assert_eq!(CallRecord::of(&response).attempt_count(), 2);
    }
}
