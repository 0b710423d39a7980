//! The server every driver calls: hyper's HTTP/1.1 server with keep-alive on 127.0.0.1, on a
//! thread and runtime of its own, counting the connections it accepts and the requests it
//! answers (so attempts per call and new connections per retry are what the server saw).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// `GET /small`: a short JSON body.
pub(crate) const SMALL: &str = "/small";
/// `GET /big`: 64 KiB.
pub(crate) const BIG: &str = "/big";
/// `GET /flaky`: 503 for a random 20% of requests, else as `/small`.
pub(crate) const FLAKY: &str = "/flaky";
/// `GET /flaky-page`: as `/flaky`, but the 503 carries a 48 KiB HTML page: more than the
/// client has read with the head, so the connection survives only if the body is drained.
pub(crate) const FLAKY_PAGE: &str = "/flaky-page";

const SMALL_BODY: &[u8] = br#"{"id":42,"status":"shipped","total":"19.99"}"#;
const UNAVAILABLE_BODY: &[u8] = br#"{"error":"service unavailable, try again"}"#;
static BIG_BODY: [u8; 64 * 1024] = [b'x'; 64 * 1024];
static ERROR_PAGE: [u8; 48 * 1024] = [b'e'; 48 * 1024];

/// What the server has seen so far.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub(crate) connections: u64,
    pub(crate) requests: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;

    fn sub(self, earlier: Counts) -> Counts {
        Counts {
            connections: self.connections - earlier.connections,
            requests: self.requests - earlier.requests,
        }
    }
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    requests: AtomicU64,
}

/// A running server; it lives as long as the process.
pub(crate) struct Server {
    addr: SocketAddr,
    counters: Arc<Counters>,
}

impl Server {
    /// Starts the server on its own thread, pinned to `core` if given.
    pub(crate) fn start(core: Option<core_affinity::CoreId>) -> std::io::Result<Server> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let shared = Arc::clone(&counters);
        std::thread::Builder::new()
            .name("server".into())
            .spawn(move || {
                if let Some(core) = core {
                    core_affinity::set_for_current(core);
                }
                runtime.block_on(serve(listener, shared))
            })?;
        Ok(Server { addr, counters })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            connections: self.counters.connections.load(Relaxed),
            requests: self.counters.requests.load(Relaxed),
        }
    }
}

async fn serve(listener: std::net::TcpListener, counters: Arc<Counters>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        counters.connections.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let counters = Arc::clone(&counters);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                counters.requests.fetch_add(1, Relaxed);
                std::future::ready(Ok::<_, Infallible>(respond(&request)))
            });
            // A client closing its connection is not an error worth reporting.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, body) = match request.uri().path() {
        BIG => (StatusCode::OK, Bytes::from_static(&BIG_BODY)),
        FLAKY if fastrand::u8(..5) == 0 => (
            StatusCode::SERVICE_UNAVAILABLE,
            Bytes::from_static(UNAVAILABLE_BODY),
        ),
        FLAKY_PAGE if fastrand::u8(..5) == 0 => (
            StatusCode::SERVICE_UNAVAILABLE,
            Bytes::from_static(&ERROR_PAGE),
        ),
        SMALL | FLAKY | FLAKY_PAGE => (StatusCode::OK, Bytes::from_static(SMALL_BODY)),
        _ => (StatusCode::NOT_FOUND, Bytes::new()),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
