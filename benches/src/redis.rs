//! A redis-server of the bench's own for the fleet drivers (feature `fleet`): a child process
//! on a free port of 127.0.0.1, without persistence, killed by its PID when dropped.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to accept a connection.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running redis-server, killed when dropped.
pub(crate) struct RedisServer {
    child: Child,
    url: String,
}

impl RedisServer {
    /// Starts redis-server and waits until a connection to it succeeds. Errs with a message for
    /// the user when redis-server is not installed, exits or does not listen in time.
    pub(crate) async fn start() -> Result<RedisServer, String> {
        // A port nobody holds now (another process may take it before redis-server: then it
        // exits, and this says so).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1 for redis-server: {e}"))?
            .port();
        let port_arg = port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port_arg, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => "the fleet drivers need redis-server, which is not on \
                    the PATH (Debian: apt-get install redis-server)"
                    .to_owned(),
                _ => format!("could not start redis-server: {e}"),
            })?;
        let mut server = RedisServer {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("redis-server on port {port} exited: {status}"));
            }
            if started.elapsed() > READY_WITHIN {
                return Err(format!(
                    "redis-server on port {port} did not listen within {READY_WITHIN:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(server)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // The child's own PID, and nothing else.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
