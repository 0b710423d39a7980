//! A scripted HTTP/1.1 server on 127.0.0.1 for testing connectors (feature `test-util`): it
//! answers each request with the next [`Reply`] of its script and records what it received,
//! so that a test asserts what the server saw (how many attempts, which methods, bodies and
//! `Idempotency-Key`s, when), not what the client believes.
//!
//! With tokio's clock paused (`#[tokio::test(start_paused = true)]`), the session's waits and
//! the server's delays pass in virtual time: a connector test that backs off for a minute
//! finishes in milliseconds.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use api_toolkit::test_util::{Reply, TestServer};
//! use api_toolkit::{CallRecord, RetrySettings, Session};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
//! // In a test: #[tokio::test(start_paused = true)]
//! let server = TestServer::start(vec![
//!     Reply::status(503).header("retry-after", "30"),
//!     Reply::status(200).body("{\"id\": 7}"),
//! ]).await;
//! let session = Session::new(RetrySettings { max_retries: 1, ..RetrySettings::default() })?;
//! let response = session.get(server.url("/orders/7")).send().await?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(CallRecord::of(&response).attempts()[1].wait_before(), Duration::from_secs(30));
//! assert_eq!(server.methods(), ["GET", "GET"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answers with a response, after an optional delay.
    Respond {
        /// The status code.
        status: u16,
        /// Extra headers (`content-length` is added).
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
        /// How long to wait before answering.
        delay: Duration,
    },
    /// Reads the request, then closes the connection without answering.
    Close,
    /// Reads the request, then resets the connection (a TCP RST) without answering.
    Reset,
    /// Sends the head and half of a promised body, then closes the connection.
    CloseMidBody,
    /// Sends the head with this status and a tenth of a promised body, then sends nothing more
    /// for a minute, holding the connection open.
    StallMidBody(u16),
}

impl Reply {
    /// An empty response with this status.
    pub fn status(status: u16) -> Reply {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// Adds a header (a `Respond` only).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Sets the body (a `Respond` only).
    #[must_use]
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Reply {
        if let Reply::Respond { body, .. } = &mut self {
            *body = bytes.into();
        }
        self
    }

    /// Waits this long before answering (a `Respond` only).
    #[must_use]
    pub fn delay(mut self, wait: Duration) -> Reply {
        if let Reply::Respond { delay, .. } = &mut self {
            *delay = wait;
        }
        self
    }
}

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The method, as sent.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// When the head was complete.
    pub at: Instant,
    /// The same moment on the wall clock, for comparing with instants a server announced
    /// (a rate-limit reset in epoch seconds).
    pub wall: SystemTime,
}

impl Received {
    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Chooses the reply to a request, given the request and how many requests the server
/// received before it (across connections).
pub type Handler = Box<dyn Fn(&Received, usize) -> Reply + Send + Sync>;

/// Where a server's replies come from.
enum Script {
    /// In order; the last one repeats.
    Replies(Vec<Reply>),
    /// Computed per request.
    Handler(Handler),
}

impl Script {
    fn reply(&self, request: &Received, before: usize) -> Reply {
        match self {
            Script::Replies(replies) => replies[before.min(replies.len() - 1)].clone(),
            Script::Handler(handler) => handler(request, before),
        }
    }
}

struct State {
    script: Script,
    received: Mutex<Vec<Received>>,
    connections: Mutex<usize>,
}

/// A scripted server on an ephemeral loopback port; stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Starts a server that answers requests with `script`, in order; the last reply repeats.
    ///
    /// # Panics
    ///
    /// If `script` is empty or no loopback port can be bound.
    pub async fn start(script: Vec<Reply>) -> TestServer {
        assert!(!script.is_empty(), "a script needs at least one reply");
        TestServer::serve(Script::Replies(script)).await
    }

    /// Starts a server that answers each request with what `handler` returns for it, given the
    /// request and how many requests were received before it. The handler runs while the
    /// server's record is locked: requests are handled one at a time, in the order recorded.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub async fn handle(
        handler: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::serve(Script::Handler(Box::new(handler))).await
    }

    async fn serve(script: Script) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State {
            script,
            received: Mutex::default(),
            connections: Mutex::default(),
        });
        let accepting = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *accepting.connections.lock().unwrap() += 1;
                tokio::spawn(serve(stream, Arc::clone(&accepting)));
            }
        });
        TestServer { addr, state, task }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// How many requests were received so far.
    pub fn count(&self) -> usize {
        self.state.received.lock().unwrap().len()
    }

    /// The method of every request received so far, in order.
    pub fn methods(&self) -> Vec<String> {
        let received = self.state.received.lock().unwrap();
        received.iter().map(|r| r.method.clone()).collect()
    }

    /// The `Idempotency-Key` every request received so far carried (`None` for one without),
    /// in order.
    pub fn idempotency_keys(&self) -> Vec<Option<String>> {
        let received = self.state.received.lock().unwrap();
        received
            .iter()
            .map(|r| r.header("idempotency-key").map(str::to_owned))
            .collect()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        *self.state.connections.lock().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback URL where nothing listens: connecting is refused.
pub async fn refused_url(path: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{addr}{path}")
}

async fn serve(stream: TcpStream, state: Arc<State>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader).await {
        let reply = {
            let mut received = state.received.lock().unwrap();
            let reply = state.script.reply(&request, received.len());
            received.push(request);
            reply
        };
        if !write_reply(reader.get_mut(), reply).await {
            return;
        }
    }
}

/// Returns false when the connection must end.
async fn write_reply(stream: &mut TcpStream, reply: Reply) -> bool {
    match reply {
        Reply::Close => false,
        Reply::Reset => {
            // A zero linger makes the close a reset, at once.
            let _ = stream.set_zero_linger();
            false
        }
        Reply::CloseMidBody => {
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.flush().await;
            false
        }
        Reply::StallMidBody(status) => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-length: 100\r\n\r\n0123456789",
                reason(status)
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_secs(60)).await;
            false
        }
        Reply::Respond {
            status,
            headers,
            body,
            delay,
        } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(&body);
            stream.write_all(&bytes).await.is_ok()
        }
    }
}

/// The reason phrase of a status line: the standard one, or any for a code without one.
fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("Whatever")
}

/// Reads one HTTP/1.1 request from a connection, as [`TestServer`] does (for a server of your
/// own): `None` at the end of the connection or on a malformed request.
pub async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut line = String::new();
    reader.read_line(&mut line).await.ok().filter(|&n| n > 0)?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.ok().filter(|&n| n > 0)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let (at, wall) = (Instant::now(), SystemTime::now());
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v): &(String, String)| v.clone())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(reader).await?
    } else {
        let length: usize = find("content-length").map_or(Some(0), |v| v.parse().ok())?;
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.ok()?;
        body
    };
    Some(Received {
        method,
        path,
        headers,
        body,
        at,
        wall,
    })
}

async fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.ok().filter(|&n| n > 0)?;
        let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
        reader.read_exact(&mut chunk).await.ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}
