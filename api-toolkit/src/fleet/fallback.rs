//! When the fleet's store fails or is slow: every operation is cut at a bound; a failure (the
//! connection lost, an error) makes the next ones fall back at once for a while, rather than
//! each fail in turn. A slow answer makes no such pause: one slow moment on a loaded machine
//! must not blind the process for longer than itself. Every fallback is counted; a warning is
//! logged at most once per interval.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::time::Instant;

/// How long, after a failure, operations fall back without asking the store.
const BACK_OFF: Duration = Duration::from_millis(500);

/// How often at most a fallback is logged.
pub(crate) const WARN_EVERY: Duration = Duration::from_secs(10);

pub(crate) struct Fallback {
    /// The bound of one operation.
    bound: Duration,
    epoch: Instant,
    /// Until when (ms since `epoch`) operations fall back without asking.
    down_until: AtomicU64,
    /// When (ms since `epoch`, plus one) a fallback was last logged; 0: never.
    warned: AtomicU64,
    count: AtomicU64,
}

impl Fallback {
    pub(crate) fn new(bound: Duration) -> Self {
        Fallback {
            bound,
            epoch: Instant::now(),
            down_until: AtomicU64::new(0),
            warned: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub(crate) fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Runs `op` within the bound: `None` (counted, logged) when the store is backed off,
    /// fails or is too slow.
    pub(crate) async fn run<T, E: std::fmt::Display>(
        &self,
        what: &'static str,
        op: impl Future<Output = Result<T, E>>,
    ) -> Option<T> {
        if self.ms() < self.down_until.load(Relaxed) {
            self.fell_back(what, &"the store failed recently");
            return None;
        }
        match tokio::time::timeout(self.bound, op).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                self.failed(what, &error);
                None
            }
            Err(_) => {
                self.fell_back(what, &format_args!("no answer within {:?}", self.bound));
                None
            }
        }
    }

    fn failed(&self, what: &'static str, why: &dyn std::fmt::Display) {
        self.down_until
            .store(self.ms() + BACK_OFF.as_millis() as u64, Relaxed);
        self.fell_back(what, why);
    }

    /// Counts a fallback (a write dropped, a read answered locally) and logs it, at most once
    /// per [`WARN_EVERY`].
    pub(crate) fn fell_back(&self, what: &'static str, why: &dyn std::fmt::Display) {
        self.count.fetch_add(1, Relaxed);
        let now = self.ms() + 1;
        let last = self.warned.load(Relaxed);
        let due = last == 0 || now >= last + WARN_EVERY.as_millis() as u64;
        if due
            && self
                .warned
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            tracing::warn!(
                target: "api_toolkit::fleet",
                operation = what,
                fallbacks = self.count(),
                "fleet store unavailable, using this process's own state: {why}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_operation_is_cut_and_counted() {
        let fallback = Fallback::new(Duration::from_millis(20));
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, String>(1)
        };
        let started = std::time::Instant::now();
        assert_eq!(fallback.run("test", slow).await, None);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(fallback.count(), 1);
        // No pause after a slow answer: the next is asked.
        let next = fallback.run("test", async { Ok::<_, String>(2) }).await;
        assert_eq!(next, Some(2));
    }

    #[tokio::test]
    async fn a_failure_is_counted_then_backed_off() {
        let fallback = Fallback::new(Duration::from_millis(20));
        let failed = fallback
            .run("test", async { Err::<u8, _>("refused") })
            .await;
        assert_eq!(failed, None);
        // Backed off: the next falls back without running.
        let next = fallback.run("test", async { Ok::<_, String>(2) }).await;
        assert_eq!(next, None);
        assert_eq!(fallback.count(), 2);
    }

    #[tokio::test]
    async fn an_answer_in_time_is_no_fallback() {
        let fallback = Fallback::new(Duration::from_millis(20));
        assert_eq!(
            fallback.run("test", async { Ok::<_, String>(2) }).await,
            Some(2)
        );
        assert_eq!(fallback.count(), 0);
    }
}
