//! [`CallRecord`]: what happened during one call, attempt by attempt.
//!
//! Every call keeps one, success or failure: it comes with the returned `reqwest::Response`
//! ([`CallRecord::of`]) and with an [`Error`](crate::Error)
//! ([`Error::record`](crate::Error::record)). Read it with [`CallRecord::of`] rather than from
//! the response's extensions: the record of a call that made a single attempt without waiting
//! is not stored there but told by the response's status, which the success path does not pay
//! for.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::StatusCode;
use smallvec::SmallVec;

use crate::ServerHint;

/// The attempts of one call: their outcomes and the waits before them.
///
/// # Examples
///
/// ```
/// use api_toolkit::{AttemptOutcome, CallRecord, RetrySettings, Session, StatusCode};
/// # use std::io::{Read, Write};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("http://{}/orders", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     for reply in ["502 Bad Gateway", "503 Service Unavailable", "200 OK"] {
/// #         let (mut stream, _) = listener.accept().unwrap();
/// #         let _ = stream.read(&mut [0; 4096]);
/// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
/// #         stream.write_all(head.as_bytes()).unwrap();
/// #     }
/// # });
///
/// let session = Session::new(RetrySettings { max_retries: 3, backoff_factor: 0.02, ..RetrySettings::default() })?;
/// let response = session.get(url).send().await?;
/// let record = CallRecord::of(&response);
/// for (n, attempt) in record.attempts().iter().enumerate() {
///     println!("attempt {}: {} after waiting {:?}", n + 1, attempt.outcome(), attempt.wait_before());
/// }
/// assert_eq!(record.attempts()[0].outcome(), AttemptOutcome::Status(StatusCode::BAD_GATEWAY));
/// assert_eq!((record.attempt_count(), record.retries(), record.give_up()), (3, 2, None));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallRecord {
    /// The first `MAX_KEPT` attempts: memory stays bounded whatever `max_retries` is.
    attempts: SmallVec<[AttemptRecord; INLINE]>,
    count: u32,
    give_up: Option<GiveUp>,
    /// Boxed: a record lives in every call's future, and few calls get a hint.
    last_hint: Option<Box<ServerHint>>,
}

/// How many attempts a record keeps in detail.
const MAX_KEPT: usize = 1000;

/// The record of a call whose single attempt returned a response with `status`: made once per
/// status, on first use.
fn first_attempt(status: StatusCode) -> &'static CallRecord {
    /// One per status code, `100..=999`.
    static RECORDS: [OnceLock<CallRecord>; 900] = [const { OnceLock::new() }; 900];
    let index = usize::from(status.as_u16()).saturating_sub(100).min(899);
    RECORDS[index].get_or_init(|| {
        let mut record = CallRecord::default();
        record.push(AttemptRecord::new(
            AttemptOutcome::Status(status),
            Duration::ZERO,
            WaitSource::None,
            Decider::Rules,
        ));
        record
    })
}

/// How many attempts are kept without a heap allocation: a call that succeeds at once records
/// its attempt in place. A record lives in every call's future, whose size each call pays for
/// when the future is moved; a retry, which waits for the network anyway, pays an allocation.
const INLINE: usize = 1;

impl CallRecord {
    /// The record of the call that returned `response`.
    ///
    /// A response that carries no record in its extensions made a single attempt, without
    /// waiting: its record is told by its status. That is also what a response from a plain
    /// `reqwest::Client` gets, which made one attempt too.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{AttemptOutcome, CallRecord, StatusCode};
    /// use api_toolkit::reqwest;
    ///
    /// // A response from a plain reqwest::Client, or built by hand: one attempt, no wait.
    /// let response = reqwest::Response::from(http::Response::builder().status(200).body("")?);
    /// let record = CallRecord::of(&response);
    /// assert_eq!(record.attempt_count(), 1);
    /// assert_eq!(record.attempts()[0].outcome(), AttemptOutcome::Status(StatusCode::OK));
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn of(response: &reqwest::Response) -> &CallRecord {
        response
            .extensions()
            .get::<CallRecord>()
            .unwrap_or_else(|| first_attempt(response.status()))
    }

    /// Whether the record of a call that made the attempts in `self`, then `last`, and gave up
    /// for `give_up` is told by its response's status (see [`of`](CallRecord::of)): a single
    /// attempt, unwaited, and no give-up. Such a record is neither kept nor attached.
    #[inline]
    pub(crate) fn told_by_status(&self, last: &AttemptRecord, give_up: Option<GiveUp>) -> bool {
        self.count == 0
            && give_up.is_none()
            && last.wait_source == WaitSource::None
            && last.wait_before.is_zero()
            && last.decided_by == Decider::Rules
            && self.last_hint.is_none()
    }

    /// Puts this record in the extensions of the response it led to.
    pub(crate) fn attach(self, response: &mut reqwest::Response) {
        response.extensions_mut().insert(self);
    }

    /// The attempts, in order (the first 1000 of a call that made more); empty when nothing
    /// was sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{CallRecord, WaitSource};
    /// use api_toolkit::reqwest;
    ///
    /// // A response from a plain reqwest::Client, or built by hand: one attempt, no wait.
    /// let response = reqwest::Response::from(http::Response::builder().status(200).body("")?);
    /// let first = CallRecord::of(&response).attempts()[0];
    /// assert_eq!((first.wait_before(), first.wait_source()), (Duration::ZERO, WaitSource::None));
    /// # Ok::<(), http::Error>(())
    /// ```
    #[inline]
    pub fn attempts(&self) -> &[AttemptRecord] {
        &self.attempts
    }

    /// How many attempts were made; [`attempts`](CallRecord::attempts) keeps the first 1000 of
    /// them.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::CallRecord;
    /// use api_toolkit::reqwest;
    ///
    /// // A response from a plain reqwest::Client, or built by hand: one attempt, no wait.
    /// let response = reqwest::Response::from(http::Response::builder().status(200).body("")?);
    /// assert_eq!(CallRecord::of(&response).attempt_count(), 1);
    /// # Ok::<(), http::Error>(())
    /// ```
    #[inline]
    pub fn attempt_count(&self) -> u32 {
        self.count
    }

    /// How many retries were made (attempts after the first).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::CallRecord;
    /// use api_toolkit::reqwest;
    ///
    /// // A response from a plain reqwest::Client, or built by hand: one attempt, no wait.
    /// let response = reqwest::Response::from(http::Response::builder().status(200).body("")?);
    /// assert_eq!(CallRecord::of(&response).retries(), 0);
    /// # Ok::<(), http::Error>(())
    /// ```
    #[inline]
    pub fn retries(&self) -> u32 {
        self.count.saturating_sub(1)
    }

    /// Why the call stopped retrying an outcome it would have retried; `None` when the last
    /// outcome was final (a success, or not retryable).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{CallRecord, GiveUp, RetrySettings, Session};
    /// # use std::io::{Read, Write};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/orders", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     for reply in ["503 Service Unavailable", "503 Service Unavailable"] {
    /// #         let (mut stream, _) = listener.accept().unwrap();
    /// #         let _ = stream.read(&mut [0; 4096]);
    /// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    /// #         stream.write_all(head.as_bytes()).unwrap();
    /// #     }
    /// # });
    ///
    /// let session = Session::new(RetrySettings { max_retries: 1, backoff_factor: 0.0, ..RetrySettings::default() })?;
    /// let response = session.get(url).send().await?; // the last 503, as `Ok`: no raise_on_status
    /// assert_eq!(CallRecord::of(&response).give_up(), Some(GiveUp::Exhausted));
    /// # Ok(()) }
    /// ```
    pub fn give_up(&self) -> Option<GiveUp> {
        self.give_up
    }

    /// The last wait a server asked for that the call read: before a retry, or the one that
    /// ended the retries (beyond `retry_after_max`, or past `total_timeout`). `None` when no
    /// response asked for one, or no retry was wanted.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: api_toolkit::Session) -> api_toolkit::Result<()> {
    /// use api_toolkit::{CallRecord, GiveUp};
    ///
    /// let response = session.get("http://127.0.0.1:8080/search").send().await?;
    /// let record = CallRecord::of(&response);
    /// if let (Some(GiveUp::RetryAfterTooLong), Some(hint)) = (record.give_up(), record.last_hint()) {
    ///     eprintln!("gave up: {} asked for {:?}", hint.header(), hint.wait());
    /// }
    /// for attempt in record.attempts() {
    ///     println!("{} (then decided by {})", attempt.outcome(), attempt.decided_by());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn last_hint(&self) -> Option<ServerHint> {
        self.last_hint.as_deref().copied()
    }

    pub(crate) fn set_hint(&mut self, hint: ServerHint) {
        self.last_hint = Some(Box::new(hint));
    }

    #[inline]
    pub(crate) fn push(&mut self, attempt: AttemptRecord) {
        self.count = self.count.saturating_add(1);
        if self.attempts().len() < MAX_KEPT {
            self.attempts.push(attempt);
        }
    }

    pub(crate) fn set_give_up(&mut self, reason: GiveUp) {
        self.give_up = Some(reason);
    }
}

/// One attempt: what it produced and how long the call waited before it.
///
/// # Examples
///
/// ```
/// use api_toolkit::{AttemptOutcome, CallRecord, Decider, RetrySettings, Session, StatusCode, WaitSource};
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
/// let session = Session::new(RetrySettings { max_retries: 1, backoff_factor: 0.02, ..RetrySettings::default() })?;
/// let response = session.get(url).send().await?;
/// let [first, retry] = CallRecord::of(&response).attempts() else { panic!("two attempts") };
/// assert_eq!(first.outcome(), AttemptOutcome::Status(StatusCode::SERVICE_UNAVAILABLE));
/// assert_eq!(first.decided_by(), Decider::Rules); // 503 is in status_forcelist
/// assert_eq!(retry.wait_source(), WaitSource::Backoff);
/// assert!(!retry.wait_before().is_zero());
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    outcome: AttemptOutcome,
    wait_before: Duration,
    wait_source: WaitSource,
    decided_by: Decider,
}

impl AttemptRecord {
    #[inline]
    pub(crate) fn new(
        outcome: AttemptOutcome,
        wait_before: Duration,
        wait_source: WaitSource,
        decided_by: Decider,
    ) -> Self {
        AttemptRecord {
            outcome,
            wait_before,
            wait_source,
            decided_by,
        }
    }

    /// What decided what followed this attempt: the retry after it, or the end of the call.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{CallRecord, Decider};
    /// use api_toolkit::reqwest;
    ///
    /// // A response from a plain reqwest::Client, or built by hand: one attempt, no wait.
    /// let response = reqwest::Response::from(http::Response::builder().status(200).body("")?);
    /// assert_eq!(CallRecord::of(&response).attempts()[0].decided_by(), Decider::Rules);
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn decided_by(&self) -> Decider {
        self.decided_by
    }

    pub(crate) fn decided(self, decided_by: Decider) -> Self {
        AttemptRecord { decided_by, ..self }
    }

    /// What the attempt produced.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{AttemptOutcome, CallRecord, StatusCode};
    /// use api_toolkit::reqwest;
    ///
    /// // A response from a plain reqwest::Client, or built by hand: one attempt, no wait.
    /// let response = reqwest::Response::from(http::Response::builder().status(200).body("")?);
    /// assert_eq!(CallRecord::of(&response).attempts()[0].outcome(), AttemptOutcome::Status(StatusCode::OK));
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn outcome(&self) -> AttemptOutcome {
        self.outcome
    }

    /// The wait before this attempt (zero for the first).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::CallRecord;
    /// use api_toolkit::reqwest;
    ///
    /// // A response from a plain reqwest::Client, or built by hand: one attempt, no wait.
    /// let response = reqwest::Response::from(http::Response::builder().status(200).body("")?);
    /// assert_eq!(CallRecord::of(&response).attempts()[0].wait_before(), Duration::ZERO); // the first
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn wait_before(&self) -> Duration {
        self.wait_before
    }

    /// Where that wait came from.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{CallRecord, WaitSource};
    /// use api_toolkit::reqwest;
    ///
    /// // A response from a plain reqwest::Client, or built by hand: one attempt, no wait.
    /// let response = reqwest::Response::from(http::Response::builder().status(200).body("")?);
    /// assert_eq!(CallRecord::of(&response).attempts()[0].wait_source(), WaitSource::None); // the first
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn wait_source(&self) -> WaitSource {
        self.wait_source
    }
}

/// What one attempt produced.
///
/// # Examples
///
/// ```
/// use api_toolkit::{AttemptOutcome, StatusCode};
///
/// fn reached_server(outcome: AttemptOutcome) -> bool {
///     !matches!(outcome, AttemptOutcome::Connect | AttemptOutcome::Other)
/// }
/// assert!(reached_server(AttemptOutcome::Status(StatusCode::BAD_GATEWAY)));
/// assert!(!reached_server(AttemptOutcome::Connect));
/// assert_eq!(AttemptOutcome::Status(StatusCode::BAD_GATEWAY).to_string(), "status 502");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// A response with this status.
    Status(StatusCode),
    /// The connection could not be established (refused, DNS, TLS, connect timeout, or a
    /// connect cut by the attempt's time limit): the request never reached a server.
    Connect,
    /// A server answered with a redirect, and the connection to its target could not be
    /// established: the request had reached the server that redirected it.
    ConnectAfterRedirect,
    /// No response in time (the request's, the attempt's or the call's timeout).
    Timeout,
    /// The connection failed after the request may have reached the server (reset, closed).
    Closed,
    /// The request could not be built or was refused before sending (invalid URL, redirect loop).
    Other,
    /// The user's tower service or middleware failed with an error of its own, or panicked
    /// (see [`ErrorKind::Service`](crate::ErrorKind::Service)).
    Service,
    /// A hedged copy (or the attempt it copied) still in flight when another one's response
    /// ended the call: dropped, its connection closed ([`Hedging`](crate::Hedging)). The
    /// server may have received it.
    Cancelled,
}

impl fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptOutcome::Status(status) => write!(f, "status {}", status.as_u16()),
            AttemptOutcome::Connect => f.write_str("connect error"),
            AttemptOutcome::ConnectAfterRedirect => f.write_str("connect error after a redirect"),
            AttemptOutcome::Timeout => f.write_str("timeout"),
            AttemptOutcome::Closed => f.write_str("connection closed"),
            AttemptOutcome::Other => f.write_str("error"),
            AttemptOutcome::Service => f.write_str("service error"),
            AttemptOutcome::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// Where a wait before a retry came from.
///
/// # Examples
///
/// ```
/// use api_toolkit::WaitSource;
///
/// // The server chose the wait, rather than the backoff formula.
/// let server_chose = |source| matches!(source, WaitSource::RetryAfter | WaitSource::RetryAfterMs | WaitSource::RateLimitReset);
/// assert!(!server_chose(WaitSource::Backoff));
/// assert_eq!(WaitSource::RetryAfter.to_string(), "retry-after");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitSource {
    /// No wait: the first attempt.
    None,
    /// The backoff formula (with jitter).
    Backoff,
    /// The server's `Retry-After`.
    RetryAfter,
    /// Another call's `Retry-After` for the same host (`share_retry_after`).
    SharedRetryAfter,
    /// The server's `retry-after-ms` (`respect_retry_after_ms`).
    RetryAfterMs,
    /// The server's rate-limit reset (`rate_limit_reset`).
    RateLimitReset,
    /// The classifier's [`Verdict::RetryAfter`](crate::Verdict::RetryAfter).
    Classifier,
    /// Pacing ([`RetrySettings::pacing`](crate::RetrySettings::pacing)): the host's quota was
    /// spent until its reset, or, with `spread`, the attempt waited for its slot. When a retry
    /// was held too, its wait is the backoff (or the server's) plus the hold.
    Pacing,
    /// A hedged copy ([`Hedging`](crate::Hedging)): sent while the attempt before it was still
    /// in flight, after waiting this long for its answer (`hedging.delay`).
    Hedge,
}

impl fmt::Display for WaitSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WaitSource::None => "none",
            WaitSource::Backoff => "backoff",
            WaitSource::RetryAfter => "retry-after",
            WaitSource::SharedRetryAfter => "shared retry-after",
            WaitSource::RetryAfterMs => "retry-after-ms",
            WaitSource::RateLimitReset => "rate-limit reset",
            WaitSource::Classifier => "classifier",
            WaitSource::Pacing => "pacing",
            WaitSource::Hedge => "hedge",
        })
    }
}

/// What decided to retry an attempt, or to end the call after it.
///
/// # Examples
///
/// ```
/// use api_toolkit::Decider;
///
/// assert_eq!(format!("retried by {}", Decider::Classifier), "retried by the classifier");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decider {
    /// The built-in rules: `status_forcelist`, `allowed_methods`, `Retry-After`, connection
    /// failures.
    Rules,
    /// The [`Classifier`](crate::Classifier).
    Classifier,
    /// A server hint: the should-retry header, or a rate-limit reset status.
    Hint,
}

impl fmt::Display for Decider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decider::Rules => "the built-in rules",
            Decider::Classifier => "the classifier",
            Decider::Hint => "a server hint",
        })
    }
}

/// Why a call stopped retrying an outcome it would otherwise have retried: from
/// [`CallRecord::give_up`].
///
/// # Examples
///
/// ```
/// use api_toolkit::GiveUp;
///
/// // A give-up the caller can act on: slow down rather than call again at once.
/// let back_off = |reason| matches!(reason, GiveUp::RetryAfterTooLong | GiveUp::Budget);
/// assert!(back_off(GiveUp::Budget) && !back_off(GiveUp::Exhausted));
/// assert_eq!(GiveUp::Deadline.to_string(), "total_timeout reached");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GiveUp {
    /// `max_retries` retries were made.
    Exhausted,
    /// The server's `Retry-After` (or another wait it asked for: `retry-after-ms`, a rate-limit
    /// reset, the classifier's) was longer than `retry_after_max`.
    RetryAfterTooLong,
    /// The next wait would have ended past `total_timeout`.
    Deadline,
    /// The retry budget refused the retry.
    Budget,
    /// The body was a stream that cannot be sent again: `replay_limit` is 0, or the stream
    /// failed, or the attempt ended before it was read to its end.
    BodyNotReplayable,
    /// The body was a stream longer than `replay_limit`: what was kept of it was dropped as
    /// soon as it passed the limit.
    BodyTooLarge,
    /// The host's circuit breaker is open
    /// ([`RetrySettings::circuit_breaker`](crate::RetrySettings::circuit_breaker)): the retry
    /// was not sent. A call refused before its first attempt has this reason and no attempts.
    CircuitOpen,
    /// Adaptive throttling ([`RetrySettings::throttling`](crate::RetrySettings::throttling))
    /// refused the retry, as the host kept refusing: it was not sent. A call refused before its
    /// first attempt has this reason and no attempts.
    Throttled,
    /// The host's rate limit is spent until a reset later than the call may wait for
    /// ([`RetrySettings::pacing`](crate::RetrySettings::pacing)): the next attempt was not
    /// sent. A call refused before its first attempt has this reason and no attempts.
    RateLimited,
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GiveUp::Exhausted => "retries exhausted",
            GiveUp::RetryAfterTooLong => "Retry-After beyond retry_after_max",
            GiveUp::Deadline => "total_timeout reached",
            GiveUp::Budget => "retry budget exhausted",
            GiveUp::BodyNotReplayable => "streaming body cannot be resent",
            GiveUp::BodyTooLarge => "streaming body longer than replay_limit",
            GiveUp::CircuitOpen => "circuit breaker open",
            GiveUp::Throttled => "throttled: the host kept refusing",
            GiveUp::RateLimited => "rate limit spent until a reset too far away",
        })
    }
}

/// What an `on_retry` hook is told before each wait (see
/// [`SessionBuilder::on_retry`](crate::SessionBuilder::on_retry)).
///
/// Its `Debug` shows the URL without its query, fragment or credentials.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use api_toolkit::{RetrySettings, Session, WaitSource};
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
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let session = Session::builder()
///     .retry_settings(RetrySettings { max_retries: 2, backoff_factor: 0.02, ..RetrySettings::default() })
///     .on_retry(move |event| {
///         let last = event.record().attempts().last().map(|attempt| attempt.outcome().to_string());
///         log.lock().unwrap().push((event.method().clone(), event.url().path().to_owned(), last, event.wait_source()));
///     })
///     .build()?;
/// session.get(url).send().await?;
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen[0].1, "/orders");
/// assert_eq!((seen[0].2.as_deref(), seen[0].3), (Some("status 503"), WaitSource::Backoff));
/// # Ok(()) }
/// ```
pub struct RetryEvent<'a> {
    pub(crate) method: &'a reqwest::Method,
    pub(crate) url: &'a reqwest::Url,
    pub(crate) record: &'a CallRecord,
    pub(crate) wait: Duration,
    pub(crate) wait_source: WaitSource,
}

impl fmt::Debug for RetryEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryEvent")
            .field("method", self.method)
            .field("url", &crate::redact::redacted(self.url).as_str())
            .field("record", self.record)
            .field("wait", &self.wait)
            .field("wait_source", &self.wait_source)
            .finish()
    }
}

impl RetryEvent<'_> {
    /// The call's method.
    pub fn method(&self) -> &reqwest::Method {
        self.method
    }

    /// The call's URL (query included: redact it before logging it).
    pub fn url(&self) -> &reqwest::Url {
        self.url
    }

    /// The attempts so far; the last one is being retried.
    pub fn record(&self) -> &CallRecord {
        self.record
    }

    /// The wait about to start.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// Where the wait comes from.
    pub fn wait_source(&self) -> WaitSource {
        self.wait_source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(status: u16) -> AttemptRecord {
        AttemptRecord::new(
            AttemptOutcome::Status(StatusCode::from_u16(status).unwrap()),
            Duration::from_millis(u64::from(status)),
            WaitSource::Backoff,
            Decider::Rules,
        )
    }

    #[test]
    fn attempts_kept_in_order_in_place_and_beyond() {
        let mut record = CallRecord::default();
        let all: Vec<AttemptRecord> = (500..510).map(attempt).collect();
        for (n, &a) in all.iter().enumerate() {
            record.push(a);
            assert_eq!(record.attempts(), &all[..=n]);
        }
        assert_eq!(record.attempt_count(), 10);
    }

    #[test]
    fn equal_records_compare_equal_whatever_their_storage() {
        let mut spilled = CallRecord::default();
        for status in 500..510 {
            spilled.push(attempt(status));
        }
        let mut in_place = CallRecord::default();
        in_place.push(attempt(500));
        assert_ne!(spilled, in_place);
        let mut again = CallRecord::default();
        again.push(attempt(500));
        assert_eq!(in_place, again);
        assert_eq!(spilled.clone(), spilled);
        assert_eq!(CallRecord::default(), CallRecord::default());
    }

    #[test]
    fn at_most_max_kept_attempts_detailed() {
        let mut record = CallRecord::default();
        for _ in 0..MAX_KEPT + 5 {
            record.push(attempt(503));
        }
        assert_eq!(record.attempts().len(), MAX_KEPT);
        assert_eq!(record.attempt_count(), MAX_KEPT as u32 + 5);
    }

    fn response(status: u16) -> reqwest::Response {
        let response = http::Response::builder().status(status).body("").unwrap();
        reqwest::Response::from(response)
    }

    #[test]
    fn record_of_a_single_attempt_read_back_from_the_status() {
        let mut record = CallRecord::default();
        record.push(AttemptRecord::new(
            AttemptOutcome::Status(StatusCode::CREATED),
            Duration::ZERO,
            WaitSource::None,
            Decider::Rules,
        ));
        let mut created = response(201);
        record.clone().attach(&mut created);
        assert_eq!(CallRecord::of(&created), &record);
        assert_eq!(CallRecord::of(&response(201)), &record, "a plain response");
    }

    #[test]
    fn record_of_several_attempts_a_wait_or_a_give_up_kept_whole() {
        let mut retried = CallRecord::default();
        retried.push(attempt(503));
        retried.push(attempt(200));
        let mut ok = response(200);
        retried.clone().attach(&mut ok);
        assert_eq!(CallRecord::of(&ok), &retried);

        let mut refused = CallRecord::default();
        refused.push(attempt(503));
        refused.set_give_up(GiveUp::Budget);
        let mut unavailable = response(503);
        refused.clone().attach(&mut unavailable);
        assert_eq!(CallRecord::of(&unavailable), &refused);

        let mut held_back = CallRecord::default();
        held_back.push(AttemptRecord::new(
            AttemptOutcome::Status(StatusCode::OK),
            Duration::from_secs(1),
            WaitSource::SharedRetryAfter,
            Decider::Rules,
        ));
        let mut ok = response(200);
        held_back.clone().attach(&mut ok);
        assert_eq!(CallRecord::of(&ok), &held_back);
    }

    #[test]
    fn debug_shows_the_attempts_not_the_storage() {
        let mut record = CallRecord::default();
        record.push(attempt(503));
        let text = format!("{record:?}");
        assert!(
            text.starts_with("CallRecord { attempts: [AttemptRecord {"),
            "{text}"
        );
        assert!(!text.contains("slots"), "{text}");
    }
}
