//! The Python driver: `python/driver.py` (requests.Session + urllib3 Retry) in a child
//! process, measured the same way, against the same server.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::load::Sample;
use crate::server::Server;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/driver.py");

/// Whether `python3` can import requests and urllib3; the reason when it cannot.
pub(crate) fn available() -> Result<String, String> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import requests, urllib3, sys; print(requests.__version__, urllib3.__version__, sys.version.split()[0])",
        ])
        .output()
        .map_err(|error| format!("python3 could not be started: {error}"))?;
    if output.status.success() {
        let versions = String::from_utf8_lossy(&output.stdout);
        let mut parts = versions.split_whitespace();
        let (requests, urllib3, python) = (
            parts.next().unwrap_or("?"),
            parts.next().unwrap_or("?"),
            parts.next().unwrap_or("?"),
        );
        Ok(format!(
            "Python {python}, requests {requests}, urllib3 {urllib3}"
        ))
    } else {
        Err(format!(
            "python3 cannot import requests: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Runs one segment in a fresh Python process.
pub(crate) fn run(
    server: &Server,
    url: &str,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Sample, String> {
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .args(["--url", url])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--warmup", &warmup.as_secs_f64().to_string()])
        .args(["--duration", &duration.as_secs_f64().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("python3: {error}"))?;
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .map_err(|error| error.to_string())?;
    if line.trim() != "warm" {
        let _ = child.kill();
        return Err(format!("python driver: unexpected {line:?}"));
    }
    let before = server.counts();
    let mut stdin = child.stdin.take().expect("piped");
    writeln!(stdin, "go").map_err(|error| error.to_string())?;
    line.clear();
    stdout
        .read_line(&mut line)
        .map_err(|error| error.to_string())?;
    let server_counts = server.counts() - before;
    let status = child.wait().map_err(|error| error.to_string())?;
    if !status.success() {
        return Err(format!("python driver exited with {status}"));
    }
    let result: serde_json::Value =
        serde_json::from_str(&line).map_err(|error| format!("python driver: {error}"))?;
    let number = |key: &str| result[key].as_f64().unwrap_or(0.0);
    Ok(Sample {
        calls: number("calls") as u64,
        ok: number("ok") as u64,
        elapsed: Duration::from_secs_f64(number("elapsed")),
        p50: Duration::from_secs_f64(number("p50")),
        p99: Duration::from_secs_f64(number("p99")),
        server: server_counts,
        swaps: 0,
        client_cpu: result["cpu"].as_f64().map(Duration::from_secs_f64),
    })
}
