"""The Python original's stack under the same load: one requests.Session whose HTTPAdapter
mounts a urllib3 Retry with the same settings as the Rust drivers (3 retries, no backoff,
api-toolkit's default status_forcelist and allowed_methods), called from `--concurrency`
threads.

Protocol with the benchmark (stdin/stdout, one line each): after the warm-up it prints
`warm`, waits for a line on stdin, measures for `--duration` seconds and prints one JSON line.
"""

import argparse
import json
import sys
import threading
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

STATUS_FORCELIST = [408, 413, 429, 500, 502, 503, 504, 521, 522, 524]
ALLOWED_METHODS = ["HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST", "PATCH"]


def new_session(pool):
    retry = Retry(
        total=3,
        backoff_factor=0,
        status_forcelist=STATUS_FORCELIST,
        allowed_methods=ALLOWED_METHODS,
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=pool)
    session = requests.Session()
    session.mount("http://", adapter)
    return session


def worker(session, url, until, latencies, oks):
    ok = 0
    while True:
        started = time.perf_counter()
        try:
            response = session.get(url)
            _ = response.content
            ok += response.status_code == 200
        except requests.RequestException:
            pass
        now = time.perf_counter()
        latencies.append(now - started)
        if now >= until():
            oks.append(ok)
            return


def phase(session, url, concurrency, seconds):
    end = time.perf_counter() + seconds
    latencies, oks = [], []
    threads = [
        threading.Thread(target=worker, args=(session, url, lambda: end, latencies, oks))
        for _ in range(concurrency)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, sum(oks), time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--warmup", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args()

    session = new_session(args.concurrency)
    phase(session, args.url, args.concurrency, args.warmup)
    print("warm", flush=True)
    sys.stdin.readline()
    cpu = time.process_time()
    latencies, ok, elapsed = phase(session, args.url, args.concurrency, args.duration)
    cpu = time.process_time() - cpu
    latencies.sort()

    def quantile(q):
        return latencies[round((len(latencies) - 1) * q)] if latencies else 0.0

    print(json.dumps({
        "calls": len(latencies),
        "ok": ok,
        "elapsed": elapsed,
        "p50": quantile(0.50),
        "p99": quantile(0.99),
        "cpu": cpu,
    }), flush=True)


if __name__ == "__main__":
    main()
