//! The front ends over the one engine: a Session over a tower service (the user's layers inside
//! each attempt), `RetryLayer`, and `RetryMiddleware` in a reqwest-middleware chain. Checked at
//! the server, with the faults the issue names: a service that errors, a layer that panics, a
//! middleware that consumes the body, a service that is never ready.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use api_toolkit::middleware::RetryMiddleware;
use api_toolkit::reqwest::{self, Request, Response};
use api_toolkit::tower::RetryLayer;
use api_toolkit::{AttemptOutcome, CallRecord, ErrorKind, Method, RetrySettings, Session};
use testkit::{Reply, TestServer};
use tower::{Service, ServiceBuilder, ServiceExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Retries that never resend a POST once it may have reached the server (the seed's default
/// allows it).
fn retrying(max_retries: u32) -> RetrySettings {
    RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        allowed_methods: vec![Method::GET, Method::PUT],
        ..RetrySettings::default()
    }
}

/// A token-refresh layer: sends with the current token; on a 401, refreshes it and sends the
/// request once more, inside the same attempt.
#[derive(Clone)]
struct RefreshToken<S> {
    inner: S,
    token: Arc<AtomicU32>,
    refreshes: Arc<AtomicU32>,
}

impl<S> Service<Request> for RefreshToken<S>
where
    S: Service<Request, Response = Response, Error = reqwest::Error> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = reqwest::Error;
    type Future = BoxFuture<Result<Response, reqwest::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), reqwest::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let mut inner = self.inner.clone();
        let token = Arc::clone(&self.token);
        let refreshes = Arc::clone(&self.refreshes);
        Box::pin(async move {
            let again = request.try_clone();
            authorize(&mut request, token.load(Ordering::SeqCst));
            let response = inner.call(request).await?;
            match again {
                Some(mut again) if response.status() == 401 => {
                    refreshes.fetch_add(1, Ordering::SeqCst);
                    let fresh = token.fetch_add(1, Ordering::SeqCst) + 1;
                    authorize(&mut again, fresh);
                    inner.ready().await?.call(again).await
                }
                _ => Ok(response),
            }
        })
    }
}

fn authorize(request: &mut Request, token: u32) {
    let value = format!("Bearer t{token}").parse().unwrap();
    request.headers_mut().insert("authorization", value);
}

#[tokio::test]
async fn a_token_refresh_layer_answers_a_401_inside_the_attempt() {
    // t0 is expired; with t1, the server fails once (503), then answers.
    let server =
        TestServer::handle(
            |request, before| match (request.header("authorization"), before) {
                (Some("Bearer t0"), _) => Reply::status(401),
                (Some("Bearer t1"), 1) => Reply::status(503),
                (Some("Bearer t1"), _) => Reply::status(200),
                _ => Reply::status(400),
            },
        )
        .await;
    let refreshes = Arc::new(AtomicU32::new(0));
    let service = RefreshToken {
        inner: reqwest::Client::new(),
        token: Arc::new(AtomicU32::new(0)),
        refreshes: Arc::clone(&refreshes),
    };
    let session = Session::from_service(service, retrying(2)).unwrap();
    let response = session.get(server.url("/orders")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let seen: Vec<_> = server
        .received()
        .iter()
        .map(|r| r.header("authorization").unwrap_or("").to_owned())
        .collect();
    assert_eq!(seen, ["Bearer t0", "Bearer t1", "Bearer t1"]);
    assert_eq!(refreshes.load(Ordering::SeqCst), 1, "one refresh");
    let record = CallRecord::of(&response);
    assert_eq!(
        record.attempt_count(),
        2,
        "the 401 was the layer's, inside attempt 1"
    );
    assert_eq!(
        record.attempts()[0].outcome(),
        AttemptOutcome::Status(reqwest::StatusCode::SERVICE_UNAVAILABLE)
    );
}

#[tokio::test]
async fn a_signing_layer_signs_every_attempt_afresh() {
    let server = TestServer::start(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::status(200),
    ])
    .await;
    let counter = Arc::new(AtomicU32::new(0));
    let signing = {
        let counter = Arc::clone(&counter);
        ServiceBuilder::new()
            .map_request(move |mut request: Request| {
                // The attempt's timestamp, made unique per attempt by a counter.
                let stamp = counter.fetch_add(1, Ordering::SeqCst);
                let signature = format!("{}:{stamp}", request.url().path());
                request
                    .headers_mut()
                    .insert("x-signature", signature.parse().unwrap());
                request
            })
            .service(reqwest::Client::new())
    };
    let session = Session::from_service(signing, retrying(3)).unwrap();
    let response = session
        .put(server.url("/orders/7"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let signatures: Vec<_> = server
        .received()
        .iter()
        .map(|r| r.header("x-signature").unwrap().to_owned())
        .collect();
    assert_eq!(signatures, ["/orders/7:0", "/orders/7:1", "/orders/7:2"]);
    assert!(server.received().iter().all(|r| r.body == b"{}"));
}

#[tokio::test]
async fn the_retry_layer_retries_only_what_the_settings_allow() {
    let server = TestServer::start(vec![Reply::status(503)]).await;
    let mut service = ServiceBuilder::new()
        .layer(RetryLayer::new(retrying(2)).unwrap())
        .service(reqwest::Client::new());
    let get = Request::new(reqwest::Method::GET, server.url("/a").parse().unwrap());
    let response = service.ready().await.unwrap().call(get).await.unwrap();
    assert_eq!(response.status(), 503);
    let post = Request::new(reqwest::Method::POST, server.url("/b").parse().unwrap());
    let response = service.ready().await.unwrap().call(post).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(server.methods(), ["GET", "GET", "GET", "POST"]);
}

#[tokio::test]
async fn the_retry_layer_runs_inner_layers_on_every_attempt_and_outer_ones_once() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let outer = Arc::new(AtomicU32::new(0));
    let inner = Arc::new(AtomicU32::new(0));
    let (o, i) = (Arc::clone(&outer), Arc::clone(&inner));
    let mut service = ServiceBuilder::new()
        .map_request(move |r: Request| {
            o.fetch_add(1, Ordering::SeqCst);
            r
        })
        .layer(RetryLayer::new(retrying(2)).unwrap())
        .map_request(move |r: Request| {
            i.fetch_add(1, Ordering::SeqCst);
            r
        })
        .service(reqwest::Client::new());
    let get = Request::new(reqwest::Method::GET, server.url("/a").parse().unwrap());
    let response = service.ready().await.unwrap().call(get).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
    assert_eq!(outer.load(Ordering::SeqCst), 1);
    assert_eq!(inner.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_middleware_retries_the_rest_of_the_chain() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let inner = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&inner);
    let count = Counting(counted);
    let retry = RetryMiddleware::new(retrying(2)).unwrap();
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(retry.clone())
        .with(count)
        .build();
    let response = client.get(server.url("/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
    assert_eq!(
        inner.load(Ordering::SeqCst),
        2,
        "inner middleware on every attempt"
    );
    assert_eq!(CallRecord::of(&response).attempt_count(), 2);
    assert_eq!(retry.stats().retries(), 1);
    // A POST is not retried on a 503 by default.
    let response = client.post(server.url("/b")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.methods(), ["GET", "GET", "POST"]);
}

#[tokio::test]
async fn the_middleware_returns_reqwest_errors_as_reqwest_errors_with_the_record() {
    let retry = RetryMiddleware::new(retrying(2)).unwrap();
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(retry)
        .build();
    let mut extensions = http::Extensions::new();
    let request = client
        .get(testkit::refused_url("/a").await)
        .build()
        .unwrap();
    let error = client
        .execute_with_extensions(request, &mut extensions)
        .await
        .unwrap_err();
    assert!(matches!(error, reqwest_middleware::Error::Reqwest(ref e) if e.is_connect()));
    let record = extensions.get::<CallRecord>().expect("the record");
    assert_eq!(record.attempt_count(), 3, "connect errors retried");
}

/// A service that fails with an error of its own before sending anything.
#[tokio::test]
async fn a_service_that_errors_ends_the_call_with_a_service_error_and_nothing_is_resent() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let fail = Arc::new(AtomicBool::new(true));
    let service = {
        let fail = Arc::clone(&fail);
        let client = reqwest::Client::new();
        tower::service_fn(move |request: Request| {
            let fail = fail.load(Ordering::SeqCst);
            let client = client.clone();
            async move {
                if fail {
                    return Err::<Response, BoxError>("the signing key is missing".into());
                }
                Ok(client.execute(request).await?)
            }
        })
    };
    let session = Session::from_service(service, retrying(3)).unwrap();
    let error = session
        .post(server.url("/charge"))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Service);
    assert_eq!(error.attempt_count(), 1, "not retried");
    assert_eq!(
        error.record().attempts()[0].outcome(),
        AttemptOutcome::Service
    );
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("the signing key is missing"));
    assert_eq!(server.count(), 0);
    fail.store(false, Ordering::SeqCst);
    let response = session.get(server.url("/after")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the session is usable afterwards");
}

#[tokio::test]
async fn a_reqwest_error_through_a_service_keeps_its_meaning() {
    // Boxed by the service's error type, a connect error is still a connect error: retried for
    // a GET, and reported as one.
    let service = ServiceBuilder::new()
        .map_err(|e: reqwest::Error| -> BoxError { Box::new(e) })
        .service(reqwest::Client::new());
    let session = Session::from_service(service, retrying(2)).unwrap();
    let error = session
        .get(testkit::refused_url("/a").await)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Request);
    assert_eq!(error.attempt_count(), 3);
}

#[tokio::test]
async fn a_layer_that_panics_ends_the_call_and_the_session_stays_usable() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let panic = Arc::new(AtomicBool::new(true));
    let service = {
        let panic = Arc::clone(&panic);
        ServiceBuilder::new()
            .map_request(move |request: Request| {
                assert!(!panic.load(Ordering::SeqCst), "the layer's own bug");
                request
            })
            .service(reqwest::Client::new())
    };
    let session = Session::from_service(service, retrying(3)).unwrap();
    let error = session.get(server.url("/a")).send().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Service);
    assert_eq!(error.attempt_count(), 1);
    assert!(error.to_string().contains("the layer's own bug"), "{error}");
    assert_eq!(server.count(), 0);
    panic.store(false, Ordering::SeqCst);
    let response = session.get(server.url("/b")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_middleware_that_panics_ends_the_call_with_a_service_error() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    fn panics<'a>(
        _: Request,
        _: &'a mut http::Extensions,
        _: reqwest_middleware::Next<'a>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'a>> {
        Box::pin(async { panic!("middleware bug") })
    }
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(retrying(2)).unwrap())
        .with(panics)
        .build();
    let error = client.get(server.url("/a")).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(error) = error else {
        panic!("a middleware error");
    };
    let error = error.downcast::<api_toolkit::Error>().unwrap();
    assert_eq!(error.kind(), ErrorKind::Service);
    assert!(error.to_string().contains("middleware bug"));
    assert_eq!(server.count(), 0);
}

/// A middleware that counts the requests it sees.
struct Counting(Arc<AtomicU32>);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Counting {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        self.0.fetch_add(1, Ordering::SeqCst);
        next.run(request, extensions).await
    }
}

/// A middleware that reads the whole body (to sign it) before passing the request on.
fn digest<'a>(
    mut request: Request,
    extensions: &'a mut http::Extensions,
    next: reqwest_middleware::Next<'a>,
) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'a>> {
    let body = request
        .body_mut()
        .take()
        .and_then(|body| body.as_bytes().map(<[u8]>::to_vec));
    let length = body.as_ref().map_or(0, Vec::len);
    request
        .headers_mut()
        .insert("x-digest", length.to_string().parse().unwrap());
    if let Some(body) = body {
        *request.body_mut() = Some(body.into());
    }
    next.run(request, extensions)
}

#[tokio::test]
async fn a_middleware_that_consumes_the_body_gets_the_whole_body_on_every_attempt() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(RetrySettings::idempotent()).unwrap())
        .with(digest)
        .build();
    let response = client
        .put(server.url("/doc"))
        .body("twelve bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let received = server.received();
    assert_eq!(received.len(), 2);
    for request in &received {
        assert_eq!(request.body, b"twelve bytes");
        assert_eq!(request.header("x-digest"), Some("12"));
    }
}

#[tokio::test]
async fn a_streaming_body_through_the_middleware_is_sent_once() {
    let server = TestServer::start(vec![Reply::status(503), Reply::status(200)]).await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(RetrySettings::idempotent()).unwrap())
        .build();
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(b"a"), Ok(b"b")];
    let stream = futures_util::stream::iter(chunks);
    let response = client
        .put(server.url("/stream"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        503,
        "not retried: the stream cannot be replayed"
    );
    assert_eq!(server.count(), 1);
}

/// A service that is not ready while `blocked`.
#[derive(Clone)]
struct Gate {
    blocked: Arc<AtomicBool>,
    client: reqwest::Client,
}

impl Service<Request> for Gate {
    type Response = Response;
    type Error = reqwest::Error;
    type Future = BoxFuture<Result<Response, reqwest::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), reqwest::Error>> {
        if self.blocked.load(Ordering::SeqCst) {
            Poll::Pending // and never wakes: the session's limit must end it
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move { client.execute(request).await })
    }
}

#[tokio::test]
async fn a_service_never_ready_is_bounded_by_the_calls_limits() {
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let blocked = Arc::new(AtomicBool::new(true));
    let gate = Gate {
        blocked: Arc::clone(&blocked),
        client: reqwest::Client::new(),
    };
    let settings = RetrySettings {
        attempt_timeout: Some(Duration::from_millis(100)),
        total_timeout: Some(Duration::from_millis(250)),
        ..retrying(5)
    };
    let session = Session::from_service(gate, settings).unwrap();
    let started = Instant::now();
    let error = session
        .post(server.url("/charge"))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(error.is_timeout(), "{error:?}");
    assert!(took < Duration::from_secs(2), "bounded: {took:?}");
    assert!(
        error.attempt_count() >= 2,
        "never handed the request: retried even for a POST ({error:?})"
    );
    assert!(error
        .record()
        .attempts()
        .iter()
        .all(|a| a.outcome() == AttemptOutcome::Timeout));
    assert_eq!(server.count(), 0);
    blocked.store(false, Ordering::SeqCst);
    let response = session.get(server.url("/after")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the session is usable afterwards");
}

#[tokio::test]
async fn a_slow_service_after_the_request_was_handed_is_a_timeout_after_sending() {
    // A layer that never answers once called: the request may have left, so a POST is not
    // sent again.
    let service = tower::service_fn(|_: Request| async {
        std::future::pending::<Result<Response, reqwest::Error>>().await
    });
    let settings = RetrySettings {
        attempt_timeout: Some(Duration::from_millis(50)),
        ..retrying(3)
    };
    let session = Session::from_service(service, settings).unwrap();
    let error = session
        .post("http://127.0.0.1:9/charge")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout());
    assert_eq!(error.attempt_count(), 1);
}

#[test]
fn a_session_over_a_service_refuses_client_options() {
    let error = Session::builder()
        .user_agent("x")
        .service(reqwest::Client::new())
        .build()
        .unwrap_err();
    let settings = error.settings_error().unwrap();
    assert_eq!(settings.field(), "service");
    assert!(error.to_string().contains("user_agent"), "{error}");
}

#[test]
fn the_retry_layer_refuses_bad_settings_naming_the_field() {
    let error = RetryLayer::new(RetrySettings {
        backoff_factor: f64::NAN,
        ..RetrySettings::default()
    })
    .unwrap_err();
    assert_eq!(error.settings_error().unwrap().field(), "backoff_factor");
    let error = RetryMiddleware::new(RetrySettings {
        backoff_factor: -1.0,
        ..RetrySettings::default()
    })
    .unwrap_err();
    assert_eq!(error.settings_error().unwrap().field(), "backoff_factor");
}
