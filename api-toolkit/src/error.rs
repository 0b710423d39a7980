//! [`Error`]: what went wrong with a call, how many attempts it took, and the final response
//! when `raise_on_status` turned one into an error.

use std::fmt;

use reqwest::{Response, StatusCode};

use crate::record::{CallRecord, GiveUp};
use crate::transport::{BoxError, Failure};
use crate::SettingsError;

/// `Result` with this crate's [`Error`].
///
/// # Examples
///
/// ```
/// use api_toolkit::{RetrySettings, Session};
///
/// fn shop_session() -> api_toolkit::Result<Session> {
///     Session::new(RetrySettings { max_retries: 3, ..RetrySettings::default() })
/// }
/// # shop_session().unwrap();
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from a [`Session`](crate::Session) call or from refused settings.
///
/// Ask it rather than match on it: [`status`](Error::status), [`attempt_count`](Error::attempt_count),
/// the `is_*` predicates, [`into_response`](Error::into_response) for the final response, and
/// [`source`](std::error::Error::source) for the underlying `reqwest::Error`. Its `Debug` and
/// `Display` never show header values or bodies.
///
/// # Examples
///
/// ```
/// use api_toolkit::{AttemptOutcome, ErrorKind, GiveUp, RetrySettings, Session};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A port nobody listens on: every connect is refused.
/// let url = format!("http://{}/orders", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?);
/// let session = Session::new(RetrySettings { max_retries: 2, backoff_factor: 0.0, ..RetrySettings::default() })?;
/// let error = session.get(&url).send().await.unwrap_err();
/// assert_eq!(error.kind(), ErrorKind::Request);
/// assert!(error.is_connect()); // never reached a server: retried for any method
/// assert_eq!(error.attempt_count(), 3);
/// assert_eq!(error.record().attempts()[0].outcome(), AttemptOutcome::Connect);
/// assert_eq!(error.record().give_up(), Some(GiveUp::Exhausted));
/// assert!(std::error::Error::source(&error).is_some()); // the reqwest::Error
/// # Ok(()) }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Repr,
    record: CallRecord,
}

enum Repr {
    InvalidSettings(SettingsError),
    Status(Response),
    Request(reqwest::Error),
    /// The classifier panicked; its message, if it was a string.
    Classifier(String),
    /// The user's service or middleware failed with an error of its own.
    Service(BoxError),
    /// The user's service or middleware panicked; its message, if it was a string.
    ServicePanicked(String),
    /// The session cut an attempt through the user's service at its limit.
    TimedOut,
    /// A simulated attempt's failure: a connect error or a connection closed.
    #[cfg(feature = "test-util")]
    Scripted(crate::AttemptOutcome),
    /// The circuit breaker of this origin refused the attempt: nothing was sent.
    CircuitOpen(Box<str>),
    /// Adaptive throttling of this origin refused the attempt: nothing was sent.
    Throttled(Box<str>),
    /// Pacing held the attempt longer than the call may wait: nothing was sent.
    RateLimited(Box<str>),
}

/// The broad class of an [`Error`], from [`Error::kind`].
///
/// The predicates ([`Error::is_status`], [`Error::is_invalid_settings`]…) say the same; a
/// `match` needs a wildcard arm, as kinds may be added.
///
/// # Examples
///
/// ```
/// use api_toolkit::{ErrorKind, RetrySettings, Session};
///
/// let error = Session::new(RetrySettings { backoff_factor: f64::NAN, ..RetrySettings::default() }).unwrap_err();
/// let advice = match error.kind() {
///     ErrorKind::InvalidSettings => "fix the configuration",
///     ErrorKind::Status => "the server answered, with an error",
///     _ => "the request did not get through",
/// };
/// assert_eq!(advice, "fix the configuration");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Settings were refused; see [`Error::settings_error`].
    InvalidSettings,
    /// Retries were exhausted on a status of `status_forcelist` with `raise_on_status` on, or
    /// the final status was 400 or more with `error_for_status` on; the response is in
    /// [`Error::into_response`].
    Status,
    /// The request could not be built or sent, or no response arrived (connect failure,
    /// timeout, reset); the `reqwest::Error` is the [`source`](std::error::Error::source).
    Request,
    /// The [`Classifier`](crate::Classifier) panicked: the call ended there, and the outcome it
    /// was asked about was dropped, not retried.
    Classifier,
    /// A tower service or middleware of yours, which the session sends through, failed with an
    /// error of its own (the [`source`](std::error::Error::source)) or panicked. Such a failure
    /// is not retried unless a [`Classifier`](crate::Classifier) says so: the session cannot
    /// tell whether the request left, nor whether another attempt would mend it.
    Service,
    /// The host's circuit breaker is open
    /// ([`RetrySettings::circuit_breaker`](crate::RetrySettings::circuit_breaker)): the attempt
    /// was not sent. When it was a retry, the earlier attempts are in the record, whose
    /// [`give_up`](CallRecord::give_up) is [`GiveUp::CircuitOpen`].
    CircuitOpen,
    /// Adaptive throttling ([`RetrySettings::throttling`](crate::RetrySettings::throttling))
    /// refused the call before its first attempt, as the host kept refusing: nothing was sent.
    /// A retry it refuses ends the call as exhaustion would, with [`GiveUp::Throttled`] in the
    /// record.
    Throttled,
    /// The host's rate limit is spent until a reset later than the call may wait for
    /// ([`RetrySettings::pacing`](crate::RetrySettings::pacing): past `retry_after_max` or the
    /// call's deadline): the attempt was not sent. When it was a retry, the earlier attempts
    /// are in the record, whose [`give_up`](CallRecord::give_up) is [`GiveUp::RateLimited`].
    RateLimited,
}

impl Error {
    pub(crate) fn invalid_settings(error: SettingsError) -> Self {
        Self::new(Repr::InvalidSettings(error), CallRecord::default())
    }

    pub(crate) fn from_status(response: Response, record: CallRecord) -> Self {
        Self::new(Repr::Status(response), record)
    }

    pub(crate) fn from_request(mut error: reqwest::Error, record: CallRecord) -> Self {
        // reqwest's message shows the URL: keep secrets in its query out of logs.
        if let Some(url) = error.url_mut() {
            crate::redact::redact(url);
        }
        Self::new(Repr::Request(error), record)
    }

    /// A reqwest error from before anything was sent (building the client or the request).
    pub(crate) fn not_sent(error: reqwest::Error) -> Self {
        Self::from_request(error, CallRecord::default())
    }

    /// The error of a call whose last attempt failed.
    pub(crate) fn from_failure(failure: Failure, record: CallRecord) -> Self {
        match failure {
            Failure::Reqwest(error) => Self::from_request(error, record),
            Failure::Service(error) => Self::new(Repr::Service(error), record),
            Failure::Panicked(message) => Self::new(Repr::ServicePanicked(message), record),
            Failure::TimedOut { .. } => Self::new(Repr::TimedOut, record),
            #[cfg(feature = "test-util")]
            Failure::Scripted(outcome) => Self::new(Repr::Scripted(outcome), record),
        }
    }

    /// A call (or its retry) that a guard of `origin` refused, nothing sent: the breaker
    /// ([`GiveUp::CircuitOpen`]), throttling ([`GiveUp::Throttled`]) or pacing
    /// ([`GiveUp::RateLimited`]).
    pub(crate) fn refused(reason: GiveUp, origin: &str, record: CallRecord) -> Self {
        let origin = origin.into();
        let repr = match reason {
            GiveUp::Throttled => Repr::Throttled(origin),
            GiveUp::RateLimited => Repr::RateLimited(origin),
            _ => Repr::CircuitOpen(origin),
        };
        Self::new(repr, record)
    }

    pub(crate) fn classifier_panicked(message: String, record: CallRecord) -> Self {
        Self::new(Repr::Classifier(message), record)
    }

    fn new(kind: Repr, record: CallRecord) -> Self {
        Error {
            inner: Box::new(Inner { kind, record }),
        }
    }

    /// The broad class of this error.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{ErrorKind, Session};
    ///
    /// let session = Session::new(Default::default())?;
    /// assert_eq!(session.get("not a url").build().unwrap_err().kind(), ErrorKind::Request);
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self.inner.kind {
            Repr::InvalidSettings(_) => ErrorKind::InvalidSettings,
            Repr::Status(_) => ErrorKind::Status,
            Repr::Request(_) => ErrorKind::Request,
            Repr::Classifier(_) => ErrorKind::Classifier,
            Repr::Service(_) | Repr::ServicePanicked(_) => ErrorKind::Service,
            Repr::TimedOut => ErrorKind::Request,
            #[cfg(feature = "test-util")]
            Repr::Scripted(_) => ErrorKind::Request,
            Repr::CircuitOpen(_) => ErrorKind::CircuitOpen,
            Repr::Throttled(_) => ErrorKind::Throttled,
            Repr::RateLimited(_) => ErrorKind::RateLimited,
        }
    }

    /// How many attempts the call made (`0` when nothing was sent: refused settings or a
    /// request that could not be built). The attempts themselves are in
    /// [`record`](Error::record)`().`[`attempts`](CallRecord::attempts)`()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RetrySettings, Session};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A port nobody listens on: every connect is refused.
    /// let url = format!("http://{}/orders", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?);
    /// let session = Session::new(RetrySettings { max_retries: 1, backoff_factor: 0.0, ..RetrySettings::default() })?;
    /// assert_eq!(session.get(&url).send().await.unwrap_err().attempt_count(), 2);
    /// assert_eq!(session.get("not a url").send().await.unwrap_err().attempt_count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn attempt_count(&self) -> u32 {
        self.inner.record.attempt_count()
    }

    /// The call's attempts, their outcomes and waits, and why it gave up.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{AttemptOutcome, RetrySettings, Session, WaitSource};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A port nobody listens on: every connect is refused.
    /// let url = format!("http://{}/orders", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?);
    /// let session = Session::new(RetrySettings { max_retries: 1, backoff_factor: 0.02, ..RetrySettings::default() })?;
    /// let error = session.get(&url).send().await.unwrap_err();
    /// let retry = error.record().attempts()[1];
    /// assert_eq!((retry.outcome(), retry.wait_source()), (AttemptOutcome::Connect, WaitSource::Backoff));
    /// # Ok(()) }
    /// ```
    pub fn record(&self) -> &CallRecord {
        &self.inner.record
    }

    /// The last wait the server asked for, and the header it came from: see
    /// [`CallRecord::last_hint`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{GiveUp, HintHeader, RetrySettings, Session};
    /// # use std::io::{Read, Write};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/search", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     for reply in ["503 Service Unavailable\r\nretry-after: 3600"] {
    /// #         let (mut stream, _) = listener.accept().unwrap();
    /// #         let _ = stream.read(&mut [0; 4096]);
    /// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    /// #         stream.write_all(head.as_bytes()).unwrap();
    /// #     }
    /// # });
    ///
    /// // The server asks for an hour; the call gives up at once rather than sleep.
    /// let session = Session::new(RetrySettings { max_retries: 2, raise_on_status: true, ..RetrySettings::default() })?;
    /// let error = session.get(url).send().await.unwrap_err();
    /// assert_eq!(error.record().give_up(), Some(GiveUp::RetryAfterTooLong));
    /// let hint = error.last_hint().expect("the server sent a Retry-After");
    /// assert_eq!((hint.header(), hint.wait()), (HintHeader::RetryAfter, Duration::from_secs(3600)));
    /// # Ok(()) }
    /// ```
    pub fn last_hint(&self) -> Option<crate::ServerHint> {
        self.inner.record.last_hint()
    }

    /// The status of the final response, for a [`Status`](ErrorKind::Status) error.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RetrySettings, Session, StatusCode};
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
    /// let settings = RetrySettings { max_retries: 1, backoff_factor: 0.0, raise_on_status: true, ..RetrySettings::default() };
    /// let error = Session::new(settings)?.get(url).send().await.unwrap_err();
    /// assert!(error.is_status());
    /// assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    /// assert_eq!(error.attempt_count(), 2);
    /// # Ok(()) }
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match &self.inner.kind {
            Repr::Status(response) => Some(response.status()),
            Repr::Request(error) => error.status(),
            _ => None,
        }
    }

    /// The final response of a [`Status`](ErrorKind::Status) error, body unread; `None` for
    /// other errors. The call's record goes with it: [`CallRecord::of`] on the response reads
    /// the attempts and the give-up reason, as on a response returned as `Ok`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: api_toolkit::Session) -> Result<(), Box<dyn std::error::Error>> {
    /// match session.get("http://127.0.0.1:8080/orders").send().await {
    ///     Ok(response) => println!("{}", response.text().await?),
    ///     Err(error) if error.is_status() => {
    ///         let response = error.into_response().expect("a status error holds its response");
    ///         eprintln!("gave up on {}: {}", response.status(), response.text().await?);
    ///     }
    ///     Err(error) => return Err(error.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn into_response(self) -> Option<Response> {
        let Inner { kind, record } = *self.inner;
        match kind {
            Repr::Status(mut response) => {
                // The response keeps the call's record: `CallRecord::of` reads it after this.
                record.attach(&mut response);
                Some(response)
            }
            _ => None,
        }
    }

    /// The refused setting, for an [`InvalidSettings`](ErrorKind::InvalidSettings) error.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RetrySettings, Session};
    ///
    /// let error = Session::new(RetrySettings { allowed_methods: vec![], ..RetrySettings::default() }).unwrap_err();
    /// assert_eq!(error.settings_error().map(|e| e.field()), Some("allowed_methods"));
    /// ```
    pub fn settings_error(&self) -> Option<&SettingsError> {
        match &self.inner.kind {
            Repr::InvalidSettings(error) => Some(error),
            _ => None,
        }
    }

    /// Whether the call ended on a status that the settings make an error: retries exhausted
    /// on a forced status with `raise_on_status`, or any status of 400 or more with
    /// `error_for_status`.
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
    /// #     for reply in ["404 Not Found"] {
    /// #         let (mut stream, _) = listener.accept().unwrap();
    /// #         let _ = stream.read(&mut [0; 4096]);
    /// #         let head = format!("HTTP/1.1 {reply}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    /// #         stream.write_all(head.as_bytes()).unwrap();
    /// #     }
    /// # });
    ///
    /// let session = Session::new(RetrySettings { error_for_status: true, ..RetrySettings::default() })?;
    /// let error = session.get(url).send().await.unwrap_err();
    /// assert!(error.is_status() && error.status() == Some(api_toolkit::StatusCode::NOT_FOUND));
    /// # Ok(()) }
    /// ```
    pub fn is_status(&self) -> bool {
        self.kind() == ErrorKind::Status
    }

    /// Whether the classifier panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{Classifier, Session};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A port nobody listens on: every connect is refused.
    /// let url = format!("http://{}/orders", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?);
    /// let session = Session::builder().classify(Classifier::new(|_| unimplemented!())).build()?;
    /// assert!(session.get(&url).send().await.unwrap_err().is_classifier());
    /// # Ok(()) }
    /// ```
    pub fn is_classifier(&self) -> bool {
        self.kind() == ErrorKind::Classifier
    }

    /// Whether settings were refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{RetrySettings, Session};
    ///
    /// let zero = RetrySettings { total_timeout: Some(std::time::Duration::ZERO), ..RetrySettings::default() };
    /// assert!(Session::new(zero).unwrap_err().is_invalid_settings());
    /// ```
    pub fn is_invalid_settings(&self) -> bool {
        self.kind() == ErrorKind::InvalidSettings
    }

    /// Whether the host's circuit breaker refused the call, or its retry: nothing more was
    /// sent. The kind is [`ErrorKind::CircuitOpen`] when the refused attempt left nothing to
    /// return (a call refused at once, or a retry refused after its wait); a retry refused
    /// when it was decided ends the call as exhaustion would, with the last outcome's kind and
    /// [`GiveUp::CircuitOpen`] in the record.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{CircuitBreaker, GiveUp, RetrySettings, Session};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A port nobody listens on: every connect is refused.
    /// let url = format!("http://{}/orders", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?);
    /// let breaker = CircuitBreaker { min_attempts: 1, break_duration: Duration::from_secs(60), ..CircuitBreaker::default() };
    /// let session = Session::new(RetrySettings { circuit_breaker: Some(breaker), ..RetrySettings::default() })?;
    /// assert!(session.get(&url).send().await.unwrap_err().is_connect()); // opens the breaker
    /// let error = session.get(&url).send().await.unwrap_err();
    /// assert!(error.is_circuit_open());
    /// assert_eq!((error.attempt_count(), error.record().give_up()), (0, Some(GiveUp::CircuitOpen)));
    /// # Ok(()) }
    /// ```
    pub fn is_circuit_open(&self) -> bool {
        self.kind() == ErrorKind::CircuitOpen
            || self.inner.record.give_up() == Some(GiveUp::CircuitOpen)
    }

    /// Whether adaptive throttling refused the call, or its retry, as the host kept refusing:
    /// nothing more was sent. The kind is [`ErrorKind::Throttled`] for a call refused before
    /// its first attempt; a retry refused ends the call as exhaustion would, with the last
    /// outcome's kind and [`GiveUp::Throttled`] in the record.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::{GiveUp, RetrySettings, Session, Throttling};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A port nobody listens on: every connect is refused, and soon most calls are not sent.
    /// let url = format!("http://{}/orders", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?);
    /// let throttling = Throttling { k: 1.0, ..Throttling::default() };
    /// let session = Session::new(RetrySettings { throttling: Some(throttling), ..RetrySettings::default() })?;
    /// let mut throttled = 0;
    /// for _ in 0..50 {
    ///     let error = session.get(&url).send().await.unwrap_err();
    ///     if error.is_throttled() {
    ///         assert_eq!(error.attempt_count(), 0);
    ///         throttled += 1;
    ///     }
    /// }
    /// assert!(throttled > 30, "{throttled}");
    /// # Ok(()) }
    /// ```
    pub fn is_throttled(&self) -> bool {
        self.kind() == ErrorKind::Throttled
            || self.inner.record.give_up() == Some(GiveUp::Throttled)
    }

    /// Whether pacing ended the call without sending its next attempt: the host's rate-limit
    /// headers said that nothing remains until a reset later than `retry_after_max` from now,
    /// or at or after the call's deadline ([`RetrySettings::pacing`](crate::RetrySettings::pacing)).
    /// The kind is [`ErrorKind::RateLimited`] when the refused attempt left nothing to return
    /// (a call refused at once, or a retry refused after its wait); a retry refused when it
    /// was decided ends the call as exhaustion would, with the last outcome's kind and
    /// [`GiveUp::RateLimited`] in the record.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{GiveUp, Pacing, RetrySettings, Session};
    /// # use std::io::{Read, Write};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("http://{}/orders", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     let (mut stream, _) = listener.accept().unwrap();
    /// #     let _ = stream.read(&mut [0; 4096]);
    /// #     let head = "HTTP/1.1 200 OK\r\nratelimit: \"default\";r=0;t=600\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    /// #     stream.write_all(head.as_bytes()).unwrap();
    /// # });
    /// let settings = RetrySettings {
    ///     pacing: Some(Pacing::default()),
    ///     retry_after_max: Duration::from_secs(60),
    ///     ..RetrySettings::default()
    /// };
    /// let session = Session::new(settings)?;
    /// // The answer says: nothing remains for 10 minutes.
    /// session.get(&url).send().await?;
    /// let error = session.get(&url).send().await.unwrap_err();
    /// assert!(error.is_rate_limited());
    /// assert_eq!((error.attempt_count(), error.record().give_up()), (0, Some(GiveUp::RateLimited)));
    /// # Ok(()) }
    /// ```
    pub fn is_rate_limited(&self) -> bool {
        self.kind() == ErrorKind::RateLimited
            || self.inner.record.give_up() == Some(GiveUp::RateLimited)
    }

    /// Whether the last attempt timed out (connect, read, or the request's own timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_toolkit::{RetrySettings, Session};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A server that accepts connections and never answers.
    /// let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let url = format!("http://{}/slow", silent.local_addr()?);
    /// let settings = RetrySettings { attempt_timeout: Some(Duration::from_millis(100)), ..RetrySettings::default() };
    /// let error = Session::new(settings)?.get(url).send().await.unwrap_err();
    /// assert!(error.is_timeout() && !error.is_connect());
    /// # Ok(()) }
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Repr::TimedOut)
            || self.reqwest().is_some_and(reqwest::Error::is_timeout)
    }

    /// Whether a tower service or middleware of yours failed or panicked
    /// ([`ErrorKind::Service`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "tower")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use api_toolkit::{reqwest, Session};
    ///
    /// // A tower service whose own error (here: no credentials) is not reqwest's.
    /// let service = tower::service_fn(|_: reqwest::Request| async {
    ///     Err::<reqwest::Response, _>(std::io::Error::other("no credentials"))
    /// });
    /// let session = Session::from_service(service, Default::default())?;
    /// let error = session.get("http://127.0.0.1:8080/").send().await.unwrap_err();
    /// assert!(error.is_service());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "tower"))]
    /// # fn main() {}
    /// ```
    pub fn is_service(&self) -> bool {
        self.kind() == ErrorKind::Service
    }

    /// Whether the last attempt could not connect (refused, DNS, TLS handshake, connect timeout,
    /// a connect cut by the attempt's time limit), so that its request reached no server.
    ///
    /// False when the connect that failed was to a redirect's target: the server that answered
    /// with the redirect had received the request (the record says
    /// [`ConnectAfterRedirect`](crate::AttemptOutcome::ConnectAfterRedirect)). A session over a
    /// client built elsewhere ([`Session::from_client`](crate::Session::from_client)) cannot see
    /// redirects: there, a connect error may come from a redirect's target.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::Session;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A port nobody listens on: every connect is refused.
    /// let url = format!("http://{}/orders", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?);
    /// let error = Session::new(Default::default())?.post(&url).send().await.unwrap_err();
    /// assert!(error.is_connect()); // the POST never left: safe to send again
    /// # Ok(()) }
    /// ```
    pub fn is_connect(&self) -> bool {
        self.reqwest().is_some_and(reqwest::Error::is_connect)
            && self.inner.record.attempts().last().map(|a| a.outcome())
                != Some(crate::AttemptOutcome::ConnectAfterRedirect)
    }

    /// Whether the request could not be built (an invalid URL or header); nothing was sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let session = api_toolkit::Session::new(Default::default())?;
    /// let error = session.get("http://127.0.0.1:8080/").header("x-id", "line\nbreak").build().unwrap_err();
    /// assert!(error.is_builder());
    /// # Ok::<(), api_toolkit::Error>(())
    /// ```
    pub fn is_builder(&self) -> bool {
        self.reqwest().is_some_and(reqwest::Error::is_builder)
    }

    /// The URL of the final attempt, when known; for a [`Request`](ErrorKind::Request) error,
    /// without its query, fragment or credentials (as in the error's message).
    ///
    /// # Examples
    ///
    /// ```
    /// use api_toolkit::Session;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A port nobody listens on: every connect is refused.
    /// let url = format!("http://{}/orders", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?);
    /// let error = Session::new(Default::default())?.get(format!("{url}?token=s3cret")).send().await.unwrap_err();
    /// assert_eq!(error.url().map(|url| url.as_str()), Some(url.as_str()));
    /// assert!(!error.to_string().contains("s3cret"));
    /// # Ok(()) }
    /// ```
    pub fn url(&self) -> Option<&reqwest::Url> {
        match &self.inner.kind {
            Repr::Status(response) => Some(response.url()),
            Repr::Request(error) => error.url(),
            _ => None,
        }
    }

    /// The reqwest error this error holds, or the error itself.
    #[cfg(feature = "reqwest-middleware")]
    pub(crate) fn into_reqwest(self) -> std::result::Result<reqwest::Error, Error> {
        match self.inner.kind {
            Repr::Request(error) => Ok(error),
            kind => Err(Error::new(kind, self.inner.record)),
        }
    }

    fn reqwest(&self) -> Option<&reqwest::Error> {
        match &self.inner.kind {
            Repr::Request(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    /// Describes this error only: the cause, when there is one, is the
    /// [`source`](std::error::Error::source), so that reporters (anyhow, eyre) print it once.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attempts = self.attempt_count();
        let plural = if attempts == 1 { "" } else { "s" };
        // Running out of retries needs no comment; any other reason to stop does.
        let why = match self.inner.record.give_up() {
            Some(reason) if reason != GiveUp::Exhausted => format!(" ({reason})"),
            _ => String::new(),
        };
        match &self.inner.kind {
            // The settings error is this error, not its cause: shown here, and no source.
            Repr::InvalidSettings(error) => error.fmt(f),
            Repr::Status(response) => {
                write!(
                    f,
                    "HTTP status {} after {attempts} attempt{plural}{why}",
                    response.status()
                )
            }
            // A panic's message is no error value: it can only be shown here.
            Repr::Classifier(message) => write!(
                f,
                "the retry classifier panicked after {attempts} attempt{plural}: {message}"
            ),
            Repr::Service(_) => write!(
                f,
                "the service failed after {attempts} attempt{plural}{why}"
            ),
            Repr::ServicePanicked(message) => write!(
                f,
                "the service panicked after {attempts} attempt{plural}: {message}"
            ),
            Repr::TimedOut => write!(
                f,
                "request timed out after {attempts} attempt{plural}{why}: the service did not answer within the attempt's limit"
            ),
            #[cfg(feature = "test-util")]
            Repr::Scripted(outcome) => write!(
                f,
                "request failed after {attempts} attempt{plural}{why} (simulated {outcome})"
            ),
            Repr::CircuitOpen(origin) if attempts == 0 => {
                write!(f, "circuit breaker open for {origin}: request not sent")
            }
            Repr::CircuitOpen(origin) => write!(
                f,
                "circuit breaker open for {origin}: retry not sent after {attempts} attempt{plural}"
            ),
            Repr::Throttled(origin) => write!(
                f,
                "throttled: {origin} kept refusing requests, so this one was not sent"
            ),
            Repr::RateLimited(origin) if attempts == 0 => {
                write!(f, "rate limit of {origin} spent until a reset too far away: request not sent")
            }
            Repr::RateLimited(origin) => write!(
                f,
                "rate limit of {origin} spent until a reset too far away: retry not sent after {attempts} attempt{plural}"
            ),
            Repr::Request(_) if attempts == 0 => f.write_str("request not sent"),
            // reqwest says "error sending request" and leaves "timed out" to its source: say it.
            Repr::Request(error) if error.is_timeout() => {
                write!(f, "request timed out after {attempts} attempt{plural}{why}")
            }
            Repr::Request(_) => {
                write!(f, "request failed after {attempts} attempt{plural}{why}")
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Error");
        out.field("kind", &self.kind())
            .field("attempts", &self.attempt_count());
        match &self.inner.kind {
            Repr::InvalidSettings(error) => out.field("settings", error),
            // A response's Debug shows its headers: only the status and URL are safe to show.
            Repr::Status(response) => out
                .field("status", &response.status())
                .field("url", &crate::redact::redacted(response.url()).as_str()),
            Repr::Request(error) => out.field("source", error),
            Repr::Classifier(message) | Repr::ServicePanicked(message) => {
                out.field("panic", message)
            }
            Repr::Service(error) => out.field("source", error),
            Repr::TimedOut => out.field("timed_out", &true),
            #[cfg(feature = "test-util")]
            Repr::Scripted(outcome) => out.field("simulated", outcome),
            Repr::CircuitOpen(origin) => out.field("circuit_open", origin),
            Repr::Throttled(origin) => out.field("throttled", origin),
            Repr::RateLimited(origin) => out.field("rate_limited", origin),
        };
        out.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.kind {
            Repr::Request(error) => Some(error),
            Repr::Service(error) => Some(&**error),
            _ => None,
        }
    }
}

impl From<SettingsError> for Error {
    fn from(error: SettingsError) -> Self {
        Error::invalid_settings(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_settings_names_field_and_value() {
        let error = Error::from(SettingsError::new("max_retries", 7, "whatever"));
        assert!(error.is_invalid_settings());
        assert_eq!(error.attempt_count(), 0);
        assert_eq!(
            error.settings_error().map(SettingsError::field),
            Some("max_retries")
        );
        assert_eq!(
            error.to_string(),
            "invalid retry setting `max_retries` = 7: whatever"
        );
        assert!(
            std::error::Error::source(&error).is_none(),
            "the message is shown once, by Display"
        );
    }

    #[test]
    fn status_error_keeps_response() {
        let mut record = CallRecord::default();
        for _ in 0..3 {
            let outcome = crate::record::AttemptOutcome::Status(StatusCode::SERVICE_UNAVAILABLE);
            record.push(crate::record::AttemptRecord::new(
                outcome,
                std::time::Duration::ZERO,
                crate::record::WaitSource::None,
                crate::record::Decider::Rules,
            ));
        }
        let error = Error::from_status(http_response(503), record);
        assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(
            error.to_string(),
            "HTTP status 503 Service Unavailable after 3 attempts"
        );
        assert_eq!(
            error.into_response().map(|r| r.status().as_u16()),
            Some(503)
        );
    }

    fn http_response(status: u16) -> reqwest::Response {
        let response = http::Response::builder()
            .status(status)
            .body("kept")
            .unwrap();
        reqwest::Response::from(response)
    }
}
