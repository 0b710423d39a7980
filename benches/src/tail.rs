//! `--hedging`: the tail-latency figure of hedged requests (issue 18). A server of its own
//! answers in 1 ms, and in 100 ms every 20th request (5%); the same sequential calls are made
//! without hedging and with a copy after 5 ms, and the latencies' percentiles reported with the
//! requests the server received per call.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_toolkit::{Hedging, RetrySettings, Session};
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;

/// Every `SLOW_EVERY`th request is slow.
const SLOW_EVERY: u64 = 20;
const FAST: Duration = Duration::from_millis(1);
const SLOW: Duration = Duration::from_millis(100);

/// Runs `calls` calls per setting and prints one line per setting.
pub(crate) fn run(calls: usize, server_core: Option<core_affinity::CoreId>) {
    let requests = Arc::new(AtomicU64::new(0));
    let url = start(Arc::clone(&requests), server_core);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "tail latency: {calls} sequential GETs, the server answers in 1 ms, 100 ms every \
         {SLOW_EVERY}th request"
    );
    for (label, hedging) in [
        ("without hedging", None),
        (
            "hedging 5 ms, 1 copy",
            Some(Hedging {
                delay: Duration::from_millis(5),
                max_hedged: 1,
                quantile: None,
            }),
        ),
    ] {
        let session = Session::new(RetrySettings {
            max_retries: 2,
            hedging,
            ..RetrySettings::default()
        })
        .expect("valid settings");
        let before = requests.load(Relaxed);
        let mut took = runtime.block_on(async {
            let mut took = Vec::with_capacity(calls);
            for _ in 0..calls {
                let started = Instant::now();
                let response = session.get(&url).send().await.expect("a response");
                let _ = response.bytes().await;
                took.push(started.elapsed());
            }
            took
        });
        let sent = requests.load(Relaxed) - before;
        took.sort();
        let at = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)];
        println!(
            "{label:<22} p50 {:>9.3?}  p90 {:>9.3?}  p99 {:>9.3?}  p99.9 {:>9.3?}  max {:>9.3?}  \
             {:.3} requests/call ({} hedges won)",
            at(0.50),
            at(0.90),
            at(0.99),
            at(0.999),
            took[took.len() - 1],
            sent as f64 / calls as f64,
            session.stats().hedges_won,
        );
    }
}

/// The server, on a thread and runtime of its own; its URL.
fn start(requests: Arc<AtomicU64>, core: Option<core_affinity::CoreId>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}/tail", listener.local_addr().expect("an address"));
    std::thread::Builder::new()
        .name("tail-server".into())
        .spawn(move || {
            if let Some(core) = core {
                core_affinity::set_for_current(core);
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    let requests = Arc::clone(&requests);
                    tokio::spawn(async move {
                        let service = service_fn(move |_| {
                            let n = requests.fetch_add(1, Relaxed);
                            async move {
                                let slow = n % SLOW_EVERY == SLOW_EVERY - 1;
                                tokio::time::sleep(if slow { SLOW } else { FAST }).await;
                                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                                    b"{}",
                                ))))
                            }
                        });
                        let _ = http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })
        .expect("a server thread");
    url
}
