//! The blocking API (feature `blocking`): the async engine behind a front end that blocks.
//!
//! The scripted servers run on a tokio runtime of the test's own; the blocking calls are made
//! from plain threads, outside any runtime, as blocking code makes them.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_toolkit::{blocking, ApiConnector, Connector, ErrorKind, Method, RetrySettings};
use testkit::{Reply, TestServer};

/// A scripted server on a runtime of its own, so that the calling thread stays outside it.
struct Served {
    server: TestServer,
    runtime: tokio::runtime::Runtime,
}

fn serve(script: Vec<Reply>) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TestServer::start(script));
    Served { server, runtime }
}

fn retrying(max_retries: u32) -> RetrySettings {
    RetrySettings {
        max_retries,
        backoff_factor: 0.0,
        ..RetrySettings::default()
    }
}

/// tracing caches per callsite whether any subscriber wants it, when the callsite is first
/// used: a test that, on another thread, first uses the session's span while the tracing
/// test's subscriber is being set up can leave it cached as wanted by no one. The tracing
/// test takes this lock to write, the others to read: it runs alone.
static TRACING: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn alongside_others() -> std::sync::RwLockReadGuard<'static, ()> {
    TRACING
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn session(settings: RetrySettings) -> blocking::Session {
    blocking::Session::new(settings).unwrap()
}

#[test]
fn get_retried_on_503_then_200() {
    let _tracing = alongside_others();
    let served = serve(vec![Reply::status(503), Reply::status(200).body("ok")]);
    let response = session(retrying(3))
        .get(served.server.url("/orders"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().unwrap(), "ok");
    assert_eq!(served.server.methods(), ["GET", "GET"]);
}

#[test]
fn post_not_retried_on_503_when_not_allowed() {
    let _tracing = alongside_others();
    let served = serve(vec![Reply::status(503), Reply::status(200)]);
    let settings = RetrySettings {
        allowed_methods: vec![Method::GET],
        ..retrying(3)
    };
    let response = session(settings)
        .post(served.server.url("/charges"))
        .body("once")
        .send()
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(served.server.methods(), ["POST"]);
}

#[test]
fn record_and_stats_are_the_async_sessions() {
    let _tracing = alongside_others();
    let served = serve(vec![Reply::status(502), Reply::status(200)]);
    let session = session(retrying(2));
    let response = session.get(served.server.url("/")).send().unwrap();
    assert_eq!(response.record().attempt_count(), 2);
    assert_eq!(response.record().retries(), 1);
    let record = response.record().clone();
    assert_eq!(&record, api_toolkit::CallRecord::of(&response.into_async()));
    let stats = session.stats();
    assert_eq!((stats.calls, stats.attempts, stats.retries()), (1, 2, 1));
    assert_eq!(stats, session.as_async().stats(), "one set of counters");
    assert_eq!(served.server.count(), 2);
}

#[test]
fn total_timeout_bounds_a_call_to_a_server_that_never_answers() {
    let _tracing = alongside_others();
    let served = serve(vec![Reply::status(200).delay(Duration::from_secs(60))]);
    let total = Duration::from_millis(300);
    let session = session(RetrySettings {
        total_timeout: Some(total),
        ..retrying(5)
    });
    let started = Instant::now();
    let error = session.get(served.server.url("/slow")).send().unwrap_err();
    let elapsed = started.elapsed();
    assert!(error.is_timeout(), "{error}");
    assert!(
        elapsed < total * 5,
        "a call bounded by {total:?} took {elapsed:?}"
    );
}

#[derive(Connector)]
#[retry(max_retries = 2, status_forcelist = [503])]
struct Shop {
    session: blocking::Session,
    base_url: String,
}

impl Shop {
    fn new(base_url: &str) -> api_toolkit::Result<Self> {
        Ok(Shop {
            session: Self::new_session()?,
            base_url: base_url.to_owned(),
        })
    }

    fn order(&self, id: u64) -> api_toolkit::Result<blocking::Response> {
        self.session()
            .get(format!("{}/orders/{id}", self.base_url))
            .send()
    }
}

#[test]
fn derived_connector_over_a_blocking_session_gets_its_defaults() {
    let _tracing = alongside_others();
    let defaults = RetrySettings {
        max_retries: 2,
        status_forcelist: vec![503],
        ..RetrySettings::default()
    };
    assert_eq!(Shop::default_retry_settings(), defaults);
    let shop = Shop::new("http://127.0.0.1:1").unwrap();
    assert_eq!(shop.get_retry_settings(), defaults);
    assert_eq!(Shop::new_session().unwrap().retry_settings(), defaults);
}

#[test]
fn derived_connector_over_a_blocking_session_retries() {
    let _tracing = alongside_others();
    let served = serve(vec![Reply::status(503), Reply::status(200).body("order 7")]);
    let shop = Shop::new(&served.server.url("")).unwrap();
    shop.set_retry_settings(RetrySettings {
        backoff_factor: 0.0,
        ..shop.get_retry_settings()
    })
    .unwrap();
    assert_eq!(shop.order(7).unwrap().text().unwrap(), "order 7");
    assert_eq!(served.server.count(), 2);
}

#[test]
fn set_retry_settings_with_a_bad_value_is_refused_and_keeps_the_old() {
    let _tracing = alongside_others();
    let shop = Shop::new("http://127.0.0.1:1").unwrap();
    let error = shop
        .set_retry_settings(RetrySettings {
            status_forcelist: vec![42],
            ..shop.get_retry_settings()
        })
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidSettings);
    let refused = error.settings_error().unwrap();
    assert_eq!(
        (refused.field(), refused.value()),
        ("status_forcelist", "42")
    );
    assert_eq!(shop.get_retry_settings().status_forcelist, [503]);
}

#[test]
fn one_session_used_from_eight_threads_at_once() {
    let _tracing = alongside_others();
    const THREADS: usize = 8;
    const CALLS: usize = 25;
    let served = serve(vec![Reply::status(200).body("ok")]);
    let session = session(retrying(0));
    let url = served.server.url("/");
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (session, url) = (session.clone(), url.clone());
            std::thread::spawn(move || {
                for _ in 0..CALLS {
                    let response = session.get(&url).send().unwrap();
                    assert_eq!(response.text().unwrap(), "ok");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(served.server.count(), THREADS * CALLS);
    assert_eq!(session.stats().calls, (THREADS * CALLS) as u64);
}

#[tokio::test]
async fn dropping_a_blocking_session_inside_a_runtime_does_not_panic() {
    let session = session(retrying(0));
    let clone = session.clone();
    drop(session);
    drop(clone);

    // The last holder of a session's runtime may be a response, dropped here too.
    let server = TestServer::start(vec![Reply::status(200)]).await;
    let url = server.url("/");
    let response = tokio::task::spawn_blocking(move || {
        let session = blocking::Session::new(RetrySettings::default()).unwrap();
        session.get(url).send().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    drop(response);
}

#[tokio::test]
async fn send_inside_a_runtime_panics_as_documented() {
    let session = session(retrying(0));
    let request = session.get("http://127.0.0.1:1/");
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| request.send()))
        .expect_err("a blocking call inside a runtime panics");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        message.contains("Cannot start a runtime from within a runtime"),
        "{message}"
    );
}

#[test]
fn on_retry_hook_and_tracing_fire_with_the_callers_subscriber() {
    let _alone = TRACING
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let served = serve(vec![
        Reply::status(500),
        Reply::status(500),
        Reply::status(200),
    ]);
    let hooked = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&hooked);
    let session = blocking::Session::builder()
        .retry_settings(retrying(3))
        .on_retry(move |event| {
            assert_eq!(event.url().path(), "/orders");
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    // A subscriber of the calling thread only: the call, run on the session's runtime thread,
    // must report to it all the same.
    let output = Buffer::default();
    let writer = output.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let response = tracing::subscriber::with_default(subscriber, || {
        session.get(served.server.url("/orders")).send().unwrap()
    });
    assert_eq!(response.status(), 200);
    assert_eq!(hooked.load(Ordering::SeqCst), 2, "one call per retry");
    let output = output.text();
    assert!(output.contains("http.request.method=GET"), "{output}");
    assert_eq!(
        output.matches("api_toolkit: retrying").count(),
        2,
        "one event per retry: {output}"
    );
}

/// What a subscriber wrote.
#[derive(Clone, Default)]
struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn body_read_through_io_read_then_the_rest_as_text() {
    let _tracing = alongside_others();
    let body = "x".repeat(10_000) + "end";
    let served = serve(vec![Reply::status(200).body(body.clone())]);
    let mut response = session(retrying(0))
        .get(served.server.url("/report"))
        .send()
        .unwrap();
    assert_eq!(response.content_length(), Some(body.len() as u64));
    let mut first = [0; 100];
    response.read_exact(&mut first).unwrap();
    assert_eq!(first, [b'x'; 100]);
    let rest = response.text().unwrap();
    assert_eq!(rest, body[100..], "nothing fetched by Read is lost");
}

#[test]
fn into_async_after_a_partial_read_keeps_the_rest_the_url_and_the_record() {
    let _tracing = alongside_others();
    let body = "y".repeat(10_000);
    let served = serve(vec![
        Reply::status(503),
        Reply::status(200).body(body.clone()),
    ]);
    let session = session(retrying(1));
    let mut response = session.get(served.server.url("/report")).send().unwrap();
    let mut first = [0; 10];
    response.read_exact(&mut first).unwrap();
    let response = response.into_async();
    assert_eq!(response.url().path(), "/report");
    assert_eq!(api_toolkit::CallRecord::of(&response).attempt_count(), 2);
    // Read on another runtime while the session, whose runtime drives the connection, lives.
    let rest = served.runtime.block_on(response.text()).unwrap();
    assert_eq!(rest, body[10..]);
}

#[test]
fn body_read_whole_through_io_read() {
    let _tracing = alongside_others();
    let served = serve(vec![Reply::status(200).body("a whole body")]);
    let mut response = session(retrying(0))
        .get(served.server.url("/"))
        .send()
        .unwrap();
    let mut text = String::new();
    response.read_to_string(&mut text).unwrap();
    assert_eq!(text, "a whole body");
}

#[test]
fn response_of_a_status_error_read_through_the_session() {
    let _tracing = alongside_others();
    let served = serve(vec![Reply::status(503).body("down")]);
    let session = session(RetrySettings {
        raise_on_status: true,
        ..retrying(1)
    });
    let error = session.get(served.server.url("/")).send().unwrap_err();
    assert_eq!(error.attempt_count(), 2);
    let response = session.response(error.into_response().unwrap());
    assert_eq!(response.status(), 503);
    assert!(response.error_for_status().unwrap_err().status() == Some(503.try_into().unwrap()));
    let again = session.get(served.server.url("/")).no_retry().send();
    let response = session.response(again.unwrap_err().into_response().unwrap());
    assert_eq!(response.text().unwrap(), "down");
}

#[test]
fn json_body_and_per_request_settings_forwarded() {
    let _tracing = alongside_others();
    let served = serve(vec![
        Reply::status(409),
        Reply::status(200)
            .header("content-type", "application/json")
            .body(r#"{"id": 7}"#),
    ]);
    let response = session(retrying(0))
        .put(served.server.url("/orders/7"))
        .json(&serde_json::json!({"sku": 7}))
        .retry_settings(RetrySettings {
            status_forcelist: vec![409],
            ..retrying(1)
        })
        .send()
        .unwrap();
    let order: serde_json::Value = response.json().unwrap();
    assert_eq!(order["id"], 7);
    let received = served.server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].body, br#"{"sku":7}"#);
    assert_eq!(received[1].header("content-type"), Some("application/json"));
}
