//! Scripted origins for the conformance suite: each path has its own script, so that each hop
//! of a redirect chain counts its own arrivals.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// How many bytes of its promised 100 a body cut short delivers.
pub const MID_BODY_SENT: usize = 10;

/// What an origin does with one request, its redirect targets already turned into URLs.
#[derive(Clone, Debug)]
pub enum Step {
    /// Answers with this status and headers; `mid_body` promises a body, sends part of it and
    /// closes the connection.
    Respond {
        /// The status code.
        status: u16,
        /// Extra headers (`content-length` is added).
        headers: Vec<(String, String)>,
        /// Whether the body is cut short.
        mid_body: bool,
    },
    /// Reads the request, then closes the connection without answering.
    Reset,
    /// Reads the request and never answers, until the client goes away.
    Hang,
}

/// A request as an origin received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrived {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
}

struct State {
    scripts: HashMap<String, Vec<Step>>,
    seen: Mutex<HashMap<String, usize>>,
    received: Mutex<Vec<Arrived>>,
}

/// A bound loopback port, whose URL is known before its scripts are.
pub struct Bound(TcpListener);

impl Bound {
    /// Binds an ephemeral loopback port.
    ///
    /// # Panics
    ///
    /// If no port can be bound.
    pub async fn new() -> Bound {
        Bound(
            TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1"),
        )
    }

    /// Its address.
    ///
    /// # Panics
    ///
    /// If the socket has none.
    pub fn addr(&self) -> SocketAddr {
        self.0.local_addr().expect("local address")
    }

    /// Starts serving `scripts`: the n-th request at a path gets the n-th step of that path's
    /// script (the last repeats); an unknown path gets a 404.
    pub fn serve(self, scripts: HashMap<String, Vec<Step>>) -> Origin {
        let state = Arc::new(State {
            scripts,
            seen: Mutex::default(),
            received: Mutex::default(),
        });
        let accepting = Arc::clone(&state);
        let listener = self.0;
        let task = tokio::spawn(async move {
            // Owned here, so that stopping the origin stops its connections too.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve(stream, Arc::clone(&accepting)));
                while connections.try_join_next().is_some() {}
            }
        });
        Origin { state, task }
    }
}

/// A loopback port that refuses connections, reserved for as long as this lives.
///
/// Binding a port and closing it, as `refused_url` does, frees the port for the next server
/// that binds one: with scenarios running side by side, a "refused" hop then reached another
/// scenario's server. A socket bound without `SO_REUSEADDR` and never listening keeps the
/// port to itself, and the kernel answers connections to it with a reset.
pub struct Refusing(TcpSocket);

impl Refusing {
    /// Reserves an ephemeral loopback port.
    ///
    /// # Panics
    ///
    /// If no port can be bound.
    pub fn new() -> Refusing {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1");
        Refusing(socket)
    }

    /// Its address.
    ///
    /// # Panics
    ///
    /// If the socket has none.
    pub fn addr(&self) -> SocketAddr {
        self.0.local_addr().expect("local address")
    }
}

impl Default for Refusing {
    fn default() -> Self {
        Refusing::new()
    }
}

/// A running origin; stops, with its connections, when dropped.
pub struct Origin {
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Origin {
    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Arrived> {
        self.state.received.lock().unwrap().clone()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: TcpStream, state: Arc<State>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = crate::read_request(&mut reader).await {
        let head = request.method == "HEAD";
        let step = {
            let mut seen = state.seen.lock().unwrap();
            let count = seen.entry(request.path.clone()).or_default();
            let step = state
                .scripts
                .get(&request.path)
                .map(|script| script[(*count).min(script.len() - 1)].clone());
            *count += 1;
            state.received.lock().unwrap().push(Arrived {
                method: request.method.clone(),
                path: request.path.clone(),
                body: request.body.clone(),
                idempotency_key: request.header("idempotency-key").map(str::to_owned),
            });
            step.unwrap_or(Step::Respond {
                status: 404,
                headers: Vec::new(),
                mid_body: false,
            })
        };
        match step {
            Step::Reset => return,
            Step::Hang => {
                let mut rest = [0; 512];
                while matches!(reader.read(&mut rest).await, Ok(n) if n > 0) {}
                return;
            }
            Step::Respond {
                status,
                headers,
                mid_body,
            } => {
                let length = if mid_body { 100 } else { 0 };
                let mut text =
                    format!("HTTP/1.1 {status} Scripted\r\ncontent-length: {length}\r\n");
                if mid_body {
                    // Said, so that the client does not pool a connection about to close: a
                    // HEAD response is complete without its body, and the next call would
                    // otherwise race the close.
                    text.push_str("connection: close\r\n");
                }
                for (name, value) in headers {
                    text.push_str(&format!("{name}: {value}\r\n"));
                }
                text.push_str("\r\n");
                if mid_body && !head {
                    text.push_str(&"0123456789"[..MID_BODY_SENT]);
                }
                let stream = reader.get_mut();
                if stream.write_all(text.as_bytes()).await.is_err() || mid_body {
                    let _ = stream.flush().await;
                    return;
                }
            }
        }
    }
}
