//! A real `redis-server` on 127.0.0.1, for the fleet's tests: started on a free port without
//! persistence, stopped by its PID when dropped. No mock of Redis.
//!
//! When `redis-server` is not installed (a fresh machine running the README's `cargo test`),
//! [`RedisServer::start`] returns `None` and the fleet's tests say they were skipped; with
//! `ATK_REQUIRE_REDIS=1` (CI, which installs it) they fail instead.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` process of a test.
pub struct RedisServer {
    child: Child,
    port: u16,
    password: Option<String>,
    dir: std::path::PathBuf,
}

impl RedisServer {
    /// Starts a server, or `None` when `redis-server` is not installed and not required.
    ///
    /// # Panics
    ///
    /// If it is required (`ATK_REQUIRE_REDIS=1`) but missing, or does not answer within 10 s.
    pub fn start() -> Option<RedisServer> {
        RedisServer::start_with(None)
    }

    /// [`start`](RedisServer::start), with a password required of every client.
    ///
    /// # Panics
    ///
    /// As [`start`](RedisServer::start).
    pub fn start_with(password: Option<&str>) -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var_os("ATK_REQUIRE_REDIS").is_none(),
                "ATK_REQUIRE_REDIS is set but redis-server is not installed"
            );
            eprintln!("skipped: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("atk-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for redis-server");
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "yes"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(password) = password {
            command.args(["--requirepass", password]);
        }
        let child = command.spawn().expect("start redis-server");
        let server = RedisServer {
            child,
            port,
            password: password.map(str::to_owned),
            dir,
        };
        let started = Instant::now();
        while server.cli(&["PING"]).as_deref() != Some("PONG") {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    /// `redis://127.0.0.1:<port>/`, with the password if one is required.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs a command with `redis-cli`: its output, trimmed, or `None` if it failed.
    pub fn cli(&self, args: &[&str]) -> Option<String> {
        let mut command = Command::new("redis-cli");
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(password) = &self.password {
            command.args(["--no-auth-warning", "-a", password]);
        }
        let output = command.args(args).stderr(Stdio::null()).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The server's count of commands processed so far.
    pub fn commands(&self) -> u64 {
        let info = self.cli(&["INFO", "stats"]).unwrap_or_default();
        info.lines()
            .find_map(|line| line.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("INFO stats has total_commands_processed")
    }

    /// Scripts run so far (`EVALSHA`, `EVAL`): each of the fleet's operations is one.
    pub fn scripts_run(&self) -> u64 {
        let info = self.cli(&["INFO", "commandstats"]).unwrap_or_default();
        info.lines()
            .filter(|line| {
                line.starts_with("cmdstat_evalsha:") || line.starts_with("cmdstat_eval:")
            })
            .filter_map(|line| line.split(['=', ',']).nth(1)?.parse::<u64>().ok())
            .sum()
    }

    /// Every key, with its time to live in ms (-1: none).
    pub fn keys(&self) -> Vec<(String, i64)> {
        let keys = self.cli(&["--scan"]).unwrap_or_default();
        keys.lines()
            .map(|key| {
                let ttl = self
                    .cli(&["PTTL", key])
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(-2);
                (key.to_owned(), ttl)
            })
            .collect()
    }

    /// Kills the server (SIGKILL, by its PID), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
