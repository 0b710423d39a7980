//! A chaos server: an HTTP/1.1 server on 127.0.0.1 that injects faults at configurable rates and
//! counts, per kind, what it injected and, per logical call, what it received.
//!
//! A client names each logical call with a [`CALL_ID`] header, the same on every attempt, so
//! the server can count the attempts of each call and compare their bodies: what the server saw,
//! not what the client believes. Each request draws one [`Fault`] (or none: a `200 OK`) from the
//! configured rates; [`Fault::Refused`] is drawn once per call by [`ChaosServer::call_url`], since
//! a refused connection never reaches any server.
//!
//! With a [`Chaos::capacity`], the server also behaves like an overloaded service: at most that
//! many requests are served at once, each taking the service time, and any request beyond them
//! gets an immediate `503` ([`Fault::Overloaded`]).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Received;

/// The header that names a logical call: the same value on every attempt of the call.
pub const CALL_ID: &str = "x-call-id";

/// A fault the server injects into one request (or, for `Refused`, into one call).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// A 500, 502, 503 or 504 without `Retry-After`.
    Status5xx,
    /// A 503 with a valid `Retry-After` in delta-seconds (`1`).
    RetryAfterSeconds,
    /// A 503 with a valid `Retry-After` HTTP-date about one second ahead.
    RetryAfterDate,
    /// A 503 with a malformed `Retry-After` (`soon`, `1.5`, `-1`…).
    RetryAfterMalformed,
    /// A 503 with a `Retry-After` far beyond any sensible cap (delta-seconds or a date).
    RetryAfterHuge,
    /// The request is read, then the connection is reset (RST) before any response.
    Reset,
    /// The head and a tenth of the promised body are sent, then the connection is closed.
    CloseMidBody,
    /// The response comes after [`Chaos::slow_by`], later than the client's timeout.
    Slow,
    /// A kept-alive connection is closed, without a response, when the client reuses it.
    DropOnReuse,
    /// Per call: the call is sent to a loopback port where nothing listens.
    Refused,
    /// With a capacity: the server was full and answered `503` at once.
    Overloaded,
}

impl Fault {
    /// The faults drawn per request, in the order their rates are applied.
    const PER_REQUEST: [Fault; 9] = [
        Fault::Status5xx,
        Fault::RetryAfterSeconds,
        Fault::RetryAfterDate,
        Fault::RetryAfterMalformed,
        Fault::RetryAfterHuge,
        Fault::Reset,
        Fault::CloseMidBody,
        Fault::Slow,
        Fault::DropOnReuse,
    ];
}

/// What the chaos server injects, and how often.
#[derive(Clone, Debug)]
pub struct Chaos {
    rates: BTreeMap<Fault, f64>,
    slow_by: Duration,
    seed: u64,
    capacity: Option<(usize, Duration)>,
}

impl Default for Chaos {
    fn default() -> Self {
        Chaos::new()
    }
}

impl Chaos {
    /// No faults: every request gets a `200 OK`.
    pub fn new() -> Chaos {
        Chaos {
            rates: BTreeMap::new(),
            slow_by: Duration::from_secs(1),
            seed: 0x5eed,
            capacity: None,
        }
    }

    /// Injects `fault` into this share of requests (of calls, for [`Fault::Refused`]; of
    /// requests on a reused connection, for [`Fault::DropOnReuse`]).
    ///
    /// # Panics
    ///
    /// If `rate` is not in `0.0..=1.0`, or the per-request rates add up to more than 1.
    #[must_use]
    pub fn rate(mut self, fault: Fault, rate: f64) -> Chaos {
        assert!((0.0..=1.0).contains(&rate), "a rate is in 0.0..=1.0");
        assert!(fault != Fault::Overloaded, "overload comes from a capacity");
        self.rates.insert(fault, rate);
        let drawn: f64 = Fault::PER_REQUEST
            .iter()
            .filter(|f| **f != Fault::DropOnReuse)
            .filter_map(|f| self.rates.get(f))
            .sum();
        assert!(drawn <= 1.0, "per-request rates add up to {drawn} > 1");
        self
    }

    /// How late a [`Fault::Slow`] response comes (default 1 s).
    #[must_use]
    pub fn slow_by(mut self, delay: Duration) -> Chaos {
        self.slow_by = delay;
        self
    }

    /// The seed of the server's random draws, so that a run can be repeated.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Chaos {
        self.seed = seed;
        self
    }

    /// Serves at most `requests` at once, each taking `service_time`; the others get an
    /// immediate `503` ([`Fault::Overloaded`]).
    #[must_use]
    pub fn capacity(mut self, requests: usize, service_time: Duration) -> Chaos {
        self.capacity = Some((requests, service_time));
        self
    }

    fn rate_of(&self, fault: Fault) -> f64 {
        self.rates.get(&fault).copied().unwrap_or(0.0)
    }
}

/// What the server received for one logical call.
#[derive(Clone, Debug)]
pub struct CallLog {
    /// The method of the first attempt.
    pub method: String,
    /// How many requests carried this call's id.
    pub attempts: u32,
    /// The [`digest`] of the first attempt's body.
    pub body: u64,
    /// Whether every attempt carried the same method and body bytes as the first.
    pub identical: bool,
    /// The faults injected into this call's requests, in order (`None`: a `200 OK`).
    pub faults: Vec<Option<Fault>>,
}

/// A digest of a body, to compare bodies without keeping them.
pub fn digest(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

struct State {
    chaos: Chaos,
    rng: AtomicU64,
    injected: Mutex<BTreeMap<Fault, u64>>,
    calls: Mutex<HashMap<String, CallLog>>,
    requests: AtomicU64,
    connections: AtomicU64,
    live: AtomicUsize,
    in_flight: AtomicUsize,
}

impl State {
    /// A uniform draw from `[0, 1)` (splitmix64: lock-free and repeatable for a seed).
    fn draw(&self) -> f64 {
        let mut z = self
            .rng
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The fault for a request; `reused` when the connection served a request before.
    fn pick(&self, reused: bool) -> Option<Fault> {
        if reused && self.draw() < self.chaos.rate_of(Fault::DropOnReuse) {
            return Some(Fault::DropOnReuse);
        }
        let mut point = self.draw();
        for fault in Fault::PER_REQUEST {
            if fault == Fault::DropOnReuse {
                continue;
            }
            let rate = self.chaos.rate_of(fault);
            if point < rate {
                return Some(fault);
            }
            point -= rate;
        }
        None
    }

    fn count(&self, fault: Fault) {
        *self.injected.lock().unwrap().entry(fault).or_default() += 1;
    }

    fn record(&self, request: &Received, fault: Option<Fault>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(fault) = fault {
            self.count(fault);
        }
        let Some(id) = request.header(CALL_ID) else {
            return;
        };
        let body = digest(&request.body);
        let mut calls = self.calls.lock().unwrap();
        let log = calls.entry(id.to_owned()).or_insert_with(|| CallLog {
            method: request.method.clone(),
            attempts: 0,
            body,
            identical: true,
            faults: Vec::new(),
        });
        log.attempts += 1;
        log.identical &= log.method == request.method && log.body == body;
        log.faults.push(fault);
    }
}

/// A chaos server on an ephemeral loopback port; dropping it closes every connection it holds.
pub struct ChaosServer {
    addr: SocketAddr,
    // Bound but never listening: connecting to it is refused, and no other socket takes it.
    refused: TcpSocket,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ChaosServer {
    /// Starts a server that injects what `chaos` says.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub async fn start(chaos: Chaos) -> ChaosServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let refused = TcpSocket::new_v4().expect("a socket");
        refused
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind 127.0.0.1");
        let state = Arc::new(State {
            rng: AtomicU64::new(chaos.seed),
            chaos,
            injected: Mutex::default(),
            calls: Mutex::default(),
            requests: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            live: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
        });
        let (shutdown, stop) = watch::channel(false);
        let accepting = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepting.connections.fetch_add(1, Ordering::Relaxed);
                let (state, mut stop) = (Arc::clone(&accepting), stop.clone());
                tokio::spawn(async move {
                    let _live = Live::new(&state);
                    tokio::select! {
                        () = serve(stream, &state) => {}
                        _ = stop.wait_for(|stopped| *stopped) => {}
                    }
                });
            }
        });
        ChaosServer {
            addr,
            refused,
            state,
            shutdown,
            task,
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The URL a call should use: this server's, or, at the [`Fault::Refused`] rate, a loopback
    /// port where nothing listens (counted as injected).
    pub fn call_url(&self, path: &str) -> String {
        if self.state.draw() < self.state.chaos.rate_of(Fault::Refused) {
            self.state.count(Fault::Refused);
            let refused = self.refused.local_addr().expect("local address");
            format!("http://{refused}{path}")
        } else {
            self.url(path)
        }
    }

    /// How many faults of each kind were injected so far.
    pub fn injected(&self) -> BTreeMap<Fault, u64> {
        self.state.injected.lock().unwrap().clone()
    }

    /// How many requests were received so far (with or without a call id).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// How many connections are open now.
    pub fn live_connections(&self) -> usize {
        self.state.live.load(Ordering::Relaxed)
    }

    /// What was received per call id so far, emptied: the next round starts afresh.
    pub fn take_calls(&self) -> HashMap<String, CallLog> {
        std::mem::take(&mut *self.state.calls.lock().unwrap())
    }
}

impl Drop for ChaosServer {
    fn drop(&mut self) {
        self.task.abort();
        self.shutdown.send_replace(true);
    }
}

/// Counts a connection as open while it lives.
struct Live<'a>(&'a State);

impl<'a> Live<'a> {
    fn new(state: &'a State) -> Self {
        state.live.fetch_add(1, Ordering::Relaxed);
        Live(state)
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve(stream: TcpStream, state: &State) {
    let mut reader = BufReader::new(stream);
    let mut served = 0u64;
    while let Some(request) = crate::read_request(&mut reader).await {
        served += 1;
        let fault = match state.pick(served > 1) {
            None if state.chaos.capacity.is_some() => admit(state),
            fault => fault,
        };
        state.record(&request, fault);
        let keep_open = match fault {
            None => respond_ok(&mut reader, state).await,
            Some(Fault::Reset) => {
                let _ = reader.get_ref().set_zero_linger();
                false
            }
            Some(Fault::DropOnReuse) => false,
            Some(Fault::CloseMidBody) => {
                let head = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789";
                let _ = reader.get_mut().write_all(head.as_bytes()).await;
                let _ = reader.get_mut().flush().await;
                false
            }
            Some(Fault::Slow) => {
                // Late, unless the client gave up first (then the connection is closed).
                let gone = tokio::select! {
                    () = tokio::time::sleep(state.chaos.slow_by) => false,
                    read = reader.fill_buf() => read.map_or(true, |bytes| bytes.is_empty()),
                };
                !gone && write(&mut reader, 200, &[], b"late").await
            }
            Some(Fault::Overloaded) => write(&mut reader, 503, &[], b"").await,
            Some(fault) => {
                let (status, retry_after) = unavailable(fault, state);
                let headers = retry_after.map(|value| ("retry-after", value));
                write(&mut reader, status, headers.as_slice(), b"").await
            }
        };
        if !keep_open {
            return;
        }
    }
}

/// With a capacity: `None` when a slot is free (taken; [`respond_ok`] frees it), else
/// [`Fault::Overloaded`].
fn admit(state: &State) -> Option<Fault> {
    let (capacity, _) = state.chaos.capacity?;
    let taken = state
        .in_flight
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < capacity).then_some(n + 1)
        });
    taken.is_err().then_some(Fault::Overloaded)
}

async fn respond_ok(reader: &mut BufReader<TcpStream>, state: &State) -> bool {
    if let Some((_, service_time)) = state.chaos.capacity {
        tokio::time::sleep(service_time).await;
        state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
    write(reader, 200, &[], b"ok").await
}

/// The status and `Retry-After` of a 5xx fault.
fn unavailable(fault: Fault, state: &State) -> (u16, Option<String>) {
    let pick = |choices: &[&str]| {
        let index = (state.draw() * choices.len() as f64) as usize;
        choices[index.min(choices.len() - 1)].to_owned()
    };
    match fault {
        Fault::Status5xx => (pick(&["500", "502", "503", "504"]).parse().unwrap(), None),
        Fault::RetryAfterSeconds => (503, Some("1".to_owned())),
        Fault::RetryAfterDate => {
            let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(1));
            (503, Some(date))
        }
        Fault::RetryAfterMalformed => (503, Some(pick(&["soon", "1.5", "-1", "0x10", "1 s"]))),
        Fault::RetryAfterHuge => {
            let in_a_year = SystemTime::now() + Duration::from_secs(365 * 24 * 3600);
            let date = httpdate::fmt_http_date(in_a_year);
            (
                503,
                Some(pick(&["99999999999999999999999", "86400", &date])),
            )
        }
        _ => unreachable!("not a status fault: {fault:?}"),
    }
}

/// Writes a response; false when the connection must end.
async fn write(
    reader: &mut BufReader<TcpStream>,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> bool {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\n",
        api_toolkit::StatusCode::from_u16(status)
            .ok()
            .and_then(|status| status.canonical_reason())
            .unwrap_or("Whatever"),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    reader.get_mut().write_all(&bytes).await.is_ok()
}
