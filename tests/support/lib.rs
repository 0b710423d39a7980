//! Test support: a scripted HTTP/1.1 server on 127.0.0.1 that records what it receives.
//!
//! Tests assert what the server saw (how many attempts, which bodies, when), not what the
//! client believes. Each request gets the next [`Reply`] of the script; the last one repeats.
//! A server that must answer by what it received (by path, by `Idempotency-Key`) takes a
//! handler instead of a script: [`TestServer::handle`]. [`call`] sends one request to a
//! scripted server from a session with given settings.
//!
//! [`chaos`] is the same server driven by chance instead of a script: faults injected at
//! configurable rates, counted per kind and per logical call, for soak and load tests.
//!
//! [`payments`] is a payments API that applies a POST once per `Idempotency-Key`, as Stripe
//! does, and counts the charges it applied.

use std::sync::{Arc, Mutex};

use api_toolkit::reqwest::Response;
use api_toolkit::{RequestBuilder, RetrySettings, Session};

// The scripted server is the crate's own test kit (feature `test-util`), which users' connector
// tests use too.
pub use api_toolkit::test_util::{read_request, refused_url, Handler, Received, Reply, TestServer};

pub mod chaos;
pub mod conformance;
pub mod dns;
pub mod heap;
pub mod payments;
pub mod quota;
pub mod redis;

/// One call against a scripted server: starts a server that answers with `script`, sends it
/// the request `request` builds from a session with `settings` and the server (for its URLs),
/// and returns what the call came to and the server, for what it received.
///
/// # Panics
///
/// If `settings` are invalid, `script` is empty or no loopback port can be bound.
pub async fn call(
    settings: RetrySettings,
    script: Vec<Reply>,
    request: impl FnOnce(&Session, &TestServer) -> RequestBuilder,
) -> (api_toolkit::Result<Response>, TestServer) {
    let server = TestServer::start(script).await;
    let session = Session::new(settings).expect("valid settings");
    let result = request(&session, &server).send().await;
    (result, server)
}

/// The formatted tracing output of one test's thread, at every level: see [`capture_tracing`].
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far, as text.
    ///
    /// # Panics
    ///
    /// If what was written is not UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("UTF-8 output")
    }
}

thread_local! {
    static CAPTURING: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// Captures what tracing emits on the calling thread, at every level, until the guard is
/// dropped. Run the calls on this thread (`#[tokio::test]`'s current-thread runtime).
///
/// One global subscriber for the test binary writes each event to the capture of the thread
/// that emitted it. A subscriber set for one thread (`set_default`) is not enough when tests
/// run in parallel: tracing caches globally whether a callsite is enabled, and a test on
/// another thread, with no subscriber, can register a callsite as disabled while this one sets
/// its subscriber up (the span and events then go missing).
pub fn capture_tracing() -> (Captured, CaptureGuard) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_writer(|| ThreadCapture)
            .with_ansi(false)
            .try_init()
            .expect("no other global subscriber in a test binary");
    });
    let captured = Captured::default();
    CAPTURING.with(|current| *current.borrow_mut() = Some(captured.clone()));
    (captured, CaptureGuard(()))
}

/// Ends the calling thread's capture when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURING.with(|current| current.borrow_mut().take());
    }
}

/// Writes to the capture of the current thread, if any.
struct ThreadCapture;

impl std::io::Write for ThreadCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|current| {
            if let Some(captured) = &*current.borrow() {
                captured.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
