//! [`Stats`]: lock-free counters of a session's calls, attempts, retries and give-ups.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::record::{AttemptOutcome, GiveUp};
use crate::state::breaker::Transition;
use crate::state::throttle::Shedding;

/// A snapshot of a session's counters, shared by its clones, from [`Session::stats`](crate::Session::stats).
///
/// The counters are independent atomics: a snapshot taken while calls run may be a few
/// increments apart between fields.
///
/// # Examples
///
/// ```
/// use api_toolkit::{RetrySettings, Session};
/// # use std::io::{Read, Write};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("http://{}/orders", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     for reply in ["503 Service Unavailable", "200 OK"] {
/// #         let (mut stream, _) = listener.accept().unwrap();
/// #         let _ = stream.read(&mut [0; 4096]);
/// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
/// #         stream.write_all(head.as_bytes()).unwrap();
/// #     }
/// # });
///
/// let session = Session::new(RetrySettings { max_retries: 2, backoff_factor: 0.02, ..RetrySettings::default() })?;
/// session.clone().get(url).send().await?; // counted for every clone
/// let stats = session.stats();
/// assert_eq!((stats.calls, stats.attempts, stats.give_ups), (1, 2, 0));
/// assert_eq!(stats.retries_by_status.get(&503), Some(&1));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls started.
    pub calls: u64,
    /// Attempts: the calls plus their retries and hedged copies.
    pub attempts: u64,
    /// Retries sent after a response, by its status.
    pub retries_by_status: BTreeMap<u16, u64>,
    /// Retries after a connection could not be established.
    pub retries_on_connect: u64,
    /// Retries after a timeout.
    pub retries_on_timeout: u64,
    /// Retries after the connection failed once the request was sent (reset, closed, or a
    /// redirect's target that could not be connected to).
    pub retries_on_closed: u64,
    /// Calls that stopped retrying an outcome they would otherwise have retried.
    pub give_ups: u64,
    /// Retries the retry budget refused (each also counts as a give-up).
    pub budget_refusals: u64,
    /// Attempts an open circuit breaker refused, nothing sent: calls refused at once (not
    /// counted in `calls`) and retries (each also counts as a give-up).
    pub circuit_refusals: u64,
    /// Times a host's circuit breaker opened (from closed, or again after a failed probe).
    pub circuit_opened: u64,
    /// Times a host's circuit breaker turned half-open, letting probes through.
    pub circuit_half_opened: u64,
    /// Times a host's circuit breaker closed after its probes succeeded.
    pub circuit_closed: u64,
    /// Attempts adaptive throttling refused, nothing sent: calls refused at once (not counted
    /// in `calls`) and retries (each also counts as a give-up).
    pub throttle_refusals: u64,
    /// Times throttling of a host started: it refused enough that some attempts to it are
    /// refused.
    pub throttling_started: u64,
    /// Attempts pacing held back before sending them, because the host's quota was spent
    /// (or, with `spread`, until their slot).
    pub paced_attempts: u64,
    /// The time those attempts were held, added up.
    pub paced_time: std::time::Duration,
    /// Attempts pacing refused, nothing sent, because the quota resets later than the call
    /// may wait: calls refused at once (not counted in `calls`) and retries (each also counts
    /// as a give-up).
    pub pacing_refusals: u64,
    /// Hedged copies sent ([`Hedging`](crate::Hedging)): attempts, counted in `attempts`, but
    /// not retries.
    pub hedges: u64,
    /// Calls whose response came from a hedged copy rather than the attempt it copied.
    pub hedges_won: u64,
    /// Operations on the fleet's store (feature `redis`) that fell back to the process's own
    /// state, because Redis failed, was slow or a write queue was full: the fleet's count,
    /// shared by the sessions of the fleet.
    pub fleet_fallbacks: u64,
}

impl Stats {
    /// All retries, whatever their reason.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let stats = session.stats();
    /// let ratio = stats.retries() as f64 / stats.calls.max(1) as f64; // retries per call
    /// assert_eq!(ratio, 0.0);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn retries(&self) -> u64 {
        self.retries_by_status.values().sum::<u64>()
            + self.retries_on_connect
            + self.retries_on_timeout
            + self.retries_on_closed
    }
}

/// A call's first attempt is counted with the call and each retry as it is sent: one atomic
/// increment per call on the success path.
pub(crate) struct Counters {
    calls: AtomicU64,
    /// Indexed by status − 100.
    retries_by_status: Box<[AtomicU64]>,
    retries_on_connect: AtomicU64,
    retries_on_timeout: AtomicU64,
    retries_on_closed: AtomicU64,
    give_ups: AtomicU64,
    budget_refusals: AtomicU64,
    circuit_refusals: AtomicU64,
    circuit_opened: AtomicU64,
    circuit_half_opened: AtomicU64,
    circuit_closed: AtomicU64,
    throttle_refusals: AtomicU64,
    throttling_started: AtomicU64,
    paced_attempts: AtomicU64,
    paced_nanos: AtomicU64,
    pacing_refusals: AtomicU64,
    hedges: AtomicU64,
    hedges_won: AtomicU64,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Counters {
            calls: AtomicU64::new(0),
            retries_by_status: (100..=599).map(|_| AtomicU64::new(0)).collect(),
            retries_on_connect: AtomicU64::new(0),
            retries_on_timeout: AtomicU64::new(0),
            retries_on_closed: AtomicU64::new(0),
            give_ups: AtomicU64::new(0),
            budget_refusals: AtomicU64::new(0),
            circuit_refusals: AtomicU64::new(0),
            circuit_opened: AtomicU64::new(0),
            circuit_half_opened: AtomicU64::new(0),
            circuit_closed: AtomicU64::new(0),
            throttle_refusals: AtomicU64::new(0),
            throttling_started: AtomicU64::new(0),
            paced_attempts: AtomicU64::new(0),
            paced_nanos: AtomicU64::new(0),
            pacing_refusals: AtomicU64::new(0),
            hedges: AtomicU64::new(0),
            hedges_won: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn call(&self) {
        self.calls.fetch_add(1, Relaxed);
    }

    /// A call counted when it started turned out to send nothing: it is no call.
    #[cold]
    pub(crate) fn unsent(&self) {
        self.calls.fetch_sub(1, Relaxed);
    }

    pub(crate) fn retry(&self, after: AttemptOutcome) {
        if let Some(counter) = self.retry_counter(after) {
            counter.fetch_add(1, Relaxed);
        }
    }

    /// A retry counted after its wait that the circuit breaker then refused: it was not sent.
    #[cold]
    pub(crate) fn retry_refused(&self, after: AttemptOutcome) {
        if let Some(counter) = self.retry_counter(after) {
            counter.fetch_sub(1, Relaxed);
        }
    }

    fn retry_counter(&self, after: AttemptOutcome) -> Option<&AtomicU64> {
        match after {
            AttemptOutcome::Status(status) => self
                .retries_by_status
                .get(usize::from(status.as_u16()).wrapping_sub(100)),
            AttemptOutcome::Connect => Some(&self.retries_on_connect),
            AttemptOutcome::Timeout => Some(&self.retries_on_timeout),
            AttemptOutcome::Closed
            | AttemptOutcome::ConnectAfterRedirect
            | AttemptOutcome::Other
            | AttemptOutcome::Service
            | AttemptOutcome::Cancelled => Some(&self.retries_on_closed),
        }
    }

    pub(crate) fn give_up(&self, reason: GiveUp) {
        self.give_ups.fetch_add(1, Relaxed);
        if let Some(counter) = self.refusals(reason) {
            counter.fetch_add(1, Relaxed);
        }
    }

    /// The counter of the refusals that `reason` names, if it names a refusal.
    fn refusals(&self, reason: GiveUp) -> Option<&AtomicU64> {
        match reason {
            GiveUp::Budget => Some(&self.budget_refusals),
            GiveUp::CircuitOpen => Some(&self.circuit_refusals),
            GiveUp::Throttled => Some(&self.throttle_refusals),
            GiveUp::RateLimited => Some(&self.pacing_refusals),
            _ => None,
        }
    }

    /// A call refused before its first attempt (by the breaker, throttling or pacing, as
    /// `reason` says): no call, one refusal.
    #[cold]
    pub(crate) fn refused_call(&self, reason: GiveUp) {
        self.unsent();
        if let Some(counter) = self.refusals(reason) {
            counter.fetch_add(1, Relaxed);
        }
    }

    #[cold]
    pub(crate) fn shedding(&self, change: Shedding) {
        if change == Shedding::Started {
            self.throttling_started.fetch_add(1, Relaxed);
        }
    }

    /// An attempt pacing held for `held`.
    #[cold]
    pub(crate) fn paced(&self, held: std::time::Duration) {
        self.paced_attempts.fetch_add(1, Relaxed);
        let nanos = u64::try_from(held.as_nanos()).unwrap_or(u64::MAX);
        self.paced_nanos.fetch_add(nanos, Relaxed);
    }

    #[cold]
    pub(crate) fn transition(&self, change: Transition) {
        let counter = match change {
            Transition::Opened => &self.circuit_opened,
            Transition::HalfOpened => &self.circuit_half_opened,
            Transition::Closed => &self.circuit_closed,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// A hedged copy sent.
    #[cold]
    pub(crate) fn hedge(&self) {
        self.hedges.fetch_add(1, Relaxed);
    }

    /// A call answered by a hedged copy.
    #[cold]
    pub(crate) fn hedge_won(&self) {
        self.hedges_won.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let retries_by_status = (100u16..)
            .zip(self.retries_by_status.iter())
            .map(|(status, count)| (status, count.load(Relaxed)))
            .filter(|&(_, count)| count > 0)
            .collect();
        let mut stats = Stats {
            calls: self.calls.load(Relaxed),
            attempts: 0,
            retries_by_status,
            retries_on_connect: self.retries_on_connect.load(Relaxed),
            retries_on_timeout: self.retries_on_timeout.load(Relaxed),
            retries_on_closed: self.retries_on_closed.load(Relaxed),
            give_ups: self.give_ups.load(Relaxed),
            budget_refusals: self.budget_refusals.load(Relaxed),
            circuit_refusals: self.circuit_refusals.load(Relaxed),
            circuit_opened: self.circuit_opened.load(Relaxed),
            circuit_half_opened: self.circuit_half_opened.load(Relaxed),
            circuit_closed: self.circuit_closed.load(Relaxed),
            throttle_refusals: self.throttle_refusals.load(Relaxed),
            throttling_started: self.throttling_started.load(Relaxed),
            paced_attempts: self.paced_attempts.load(Relaxed),
            paced_time: std::time::Duration::from_nanos(self.paced_nanos.load(Relaxed)),
            pacing_refusals: self.pacing_refusals.load(Relaxed),
            hedges: self.hedges.load(Relaxed),
            hedges_won: self.hedges_won.load(Relaxed),
            fleet_fallbacks: 0,
        };
        stats.attempts = stats.calls + stats.retries() + stats.hedges;
        stats
    }
}
